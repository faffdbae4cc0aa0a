// Fresh data before a reminder fires (a rule's optional refresh_url): Tidings POSTs what it
// is about to fire to the producer, which answers with the current payload or says that the
// anchor is resolved ("minimum payment covered"), so "min pay at the time the webhook was
// sent" stays true. The request goes through the same DNS-pinned, SSRF-checked dispatcher
// as deliveries, and is made outside any database transaction.
//
// The producer answers:
//   2xx {"payload": {...}}      fire with this payload (its text is kept exactly)
//   2xx {"resolved": true}      resolve the anchor instead of firing
//   204, or 2xx with no body    fire with the stored payload
//   404 or 410                  the anchor is gone: resolve it
//   anything else, or no answer try again later (the slot backs off; nothing fires stale)
import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import { createOutboundAgent, outboundAgentOptions } from '../delivery/pinnedAgent.js';
import { send } from '../delivery/sender.js';
import { memberText, scanTopLevel } from '../json/raw.js';

export type RefreshAnswer =
  | { kind: 'payload'; payloadText: string }
  | { kind: 'stored' }
  | { kind: 'resolved'; why: string }
  | { kind: 'failed'; error: string };

export interface RefreshQuestion {
  url: string;
  tenantId: string;
  anchorId: string;
  eventType: string;
  subject: string;
  at: Date;
  /** The slots about to fire. */
  slots: { key: string; due_at: Date }[];
  /** The stored payload text. */
  payloadText: string;
}

export const REFRESH_ANSWER_HELP = 'answer {"payload": {...}}, {"resolved": true}, 204, or 404/410';

export function createRefreshAgent(
  config: Pick<Config, 'allowPrivateTargets' | 'requestTimeoutMs' | 'httpProxy'>,
): Dispatcher {
  return createOutboundAgent(outboundAgentOptions(config));
}

export async function askProducer(
  dispatcher: Dispatcher,
  question: RefreshQuestion,
  o: { timeoutMs: number; maxPayloadBytes: number },
): Promise<RefreshAnswer> {
  const head = JSON.stringify({
    tenant_id: question.tenantId,
    anchor_id: question.anchorId,
    event_type: question.eventType,
    subject: question.subject,
    at: question.at.toISOString(),
    slots: question.slots.map((s) => ({ key: s.key, due_at: s.due_at.toISOString() })),
  });
  const body = `${head.slice(0, -1)},"payload":${question.payloadText}}`;
  // One byte over the limit tells a payload that is too big from one that just fits.
  const limit = o.maxPayloadBytes + 64 * 1024 + 1;
  const res = await send(dispatcher, {
    url: question.url,
    headers: { 'content-type': 'application/json', 'user-agent': 'Tidings-Scheduler' },
    body,
    timeoutMs: o.timeoutMs,
    bodyLimit: limit,
  });
  if (res.status === 404 || res.status === 410) {
    return { kind: 'resolved', why: `refresh_url answered ${res.status}` };
  }
  if (!res.ok) return { kind: 'failed', error: `refresh_url: ${res.error ?? 'no answer'}` };
  const text = res.body ?? '';
  if (res.status === 204 || text.trim() === '') return { kind: 'stored' };
  if (Buffer.byteLength(text) >= limit) {
    return { kind: 'failed', error: `refresh_url: the answer is larger than ${limit - 1} bytes` };
  }
  return readAnswer(text);
}

/** Reads a 2xx answer's body. */
export function readAnswer(text: string): RefreshAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'failed', error: `refresh_url: the answer is not JSON; ${REFRESH_ANSWER_HELP}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { kind: 'failed', error: `refresh_url: the answer is not a JSON object; ${REFRESH_ANSWER_HELP}` };
  }
  const answer = parsed as { resolved?: unknown; payload?: unknown };
  if (answer.resolved === true) return { kind: 'resolved', why: 'refresh_url answered resolved' };
  const p = answer.payload;
  if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
    const scan = scanTopLevel(text);
    const payloadText = scan && memberText(text, scan, 'payload');
    return { kind: 'payload', payloadText: payloadText ?? JSON.stringify(p) };
  }
  return {
    kind: 'failed',
    error: `refresh_url: no "payload" object and not resolved; ${REFRESH_ANSWER_HELP}`,
  };
}

/** Wait before asking again after a failed refresh: 5 s doubling to 10 min. */
export function refreshBackoffMs(attempts: number): number {
  return Math.min(600_000, 5_000 * 2 ** Math.min(attempts, 10));
}
