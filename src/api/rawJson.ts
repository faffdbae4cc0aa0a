// Finds the exact text of each top-level member of a JSON object, so that a payload goes
// out byte for byte as the producer sent it (key order, number formatting, big integers),
// which JSON.parse + JSON.stringify would not keep. Runs on text JSON.parse accepted.

export interface Scan {
  /** Key → [start, end) of its value's text; a repeated key keeps the last, as JSON.parse does. */
  members: Map<string, [number, number]>;
  /** Deepest nesting of objects and arrays. */
  depth: number;
}

export function scanTopLevel(text: string): Scan | undefined {
  let i = 0;
  let depth = 0;
  let maxDepth = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t'))
      i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++; // closing quote
  };
  const skipValue = () => {
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      i++;
      while (i < text.length) {
        const d = text[i];
        if (d === '"') skipString();
        else if (d === '{' || d === '[') {
          depth++;
          if (depth > maxDepth) maxDepth = depth;
          i++;
        } else if (d === '}' || d === ']') {
          depth--;
          i++;
          if (depth === 1) return;
        } else i++;
      }
      return;
    }
    while (i < text.length && !',}] \n\r\t'.includes(text[i]!)) i++;
  };
  ws();
  if (text[i] !== '{') return undefined;
  depth = 1;
  maxDepth = 1;
  i++;
  const members = new Map<string, [number, number]>();
  ws();
  if (text[i] === '}') return { members, depth: maxDepth };
  while (i < text.length) {
    ws();
    const keyStart = i;
    skipString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    ws();
    i++; // colon
    ws();
    const start = i;
    skipValue();
    members.set(key, [start, i]);
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    break;
  }
  return { members, depth: maxDepth };
}

/** The exact text of member `key`, or undefined. */
export function memberText(text: string, scan: Scan, key: string): string | undefined {
  const span = scan.members.get(key);
  return span ? text.slice(span[0], span[1]) : undefined;
}
