// The top-level members of a JSON object text, as spans, for code that splices a payload's
// text (key order, number formatting, big integers kept). The scanning itself is
// src/json/scan.ts, the one JSON scanner of the project; nesting depth is checked where
// bodies are parsed (server.ts, json/depth.ts).
import { objectMembers } from './scan.js';

export interface Scan {
  /** Key → [start, end) of its value's text; a repeated key keeps the last, as JSON.parse does. */
  members: Map<string, [number, number]>;
}

/** Undefined when the text is not a JSON object. */
export function scanTopLevel(text: string): Scan | undefined {
  const members = objectMembers(text);
  if (!members) return undefined;
  return { members: new Map(members.map((m) => [m.key, [m.start, m.end]])) };
}

/** The exact text of member `key`, or undefined. */
export function memberText(text: string, scan: Scan, key: string): string | undefined {
  const span = scan.members.get(key);
  return span ? text.slice(span[0], span[1]) : undefined;
}
