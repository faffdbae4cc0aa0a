// The export as a stream of lines, one per event, in JSON Lines or CSV. It is pulled: a page
// of rows is read from the store only when the reply has taken the previous one (the stream's
// reader asks), so memory holds one page however long the export, and a client that stops
// reading stops the reads. The API route and the portal's download both send it.
import { Readable } from 'node:stream';
import type { Db } from '../store/db.js';
import {
  type ExportedEvent,
  type ExportPosition,
  exportPage,
  tenantEndpointIds,
} from '../store/eventExport.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Rows read per page: a few thousand, a few hundred KiB of text. */
export const EXPORT_PAGE = 2000;

export interface ExportRequest {
  tenantId: string;
  since: Date;
  until: Date;
  format: ExportFormat;
  pageSize?: number;
}

function jsonLine(e: ExportedEvent): string {
  return `${JSON.stringify({
    id: e.id,
    type: e.type,
    created_at: e.created_at.toISOString(),
    channels: e.channels,
    payload_sha256: e.payload_sha256,
    deliveries: e.deliveries.map((d) => ({
      endpoint_id: d.endpoint_id,
      state: d.state,
      attempts: d.attempts,
      succeeded_at: d.succeeded_at ? d.succeeded_at.toISOString() : null,
    })),
  })}\n`;
}

/** RFC 4180: quoted when it holds a comma, a quote or a line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvHeader(endpoints: string[]): string {
  const cols = ['id', 'type', 'created_at', 'channels', 'payload_sha256'];
  for (const ep of endpoints) cols.push(`${ep}.state`, `${ep}.attempts`, `${ep}.succeeded_at`);
  return `${cols.map(csvField).join(',')}\r\n`;
}

function csvLine(e: ExportedEvent, endpoints: string[]): string {
  const cells = [e.id, e.type, e.created_at.toISOString(), JSON.stringify(e.channels), e.payload_sha256];
  const byEndpoint = new Map(e.deliveries.map((d) => [d.endpoint_id, d]));
  for (const ep of endpoints) {
    const d = byEndpoint.get(ep);
    cells.push(d?.state ?? '', d ? String(d.attempts) : '', d?.succeeded_at?.toISOString() ?? '');
  }
  return `${cells.map(csvField).join(',')}\r\n`;
}

/** The export's text, a page at a time. */
export async function* exportChunks(db: Db, r: ExportRequest): AsyncGenerator<string> {
  // CSV has a column group per endpoint: the tenant's endpoints now. An endpoint created later
  // can only have deliveries of events published after it, so a window that has ended is whole.
  const endpoints = r.format === 'csv' ? await tenantEndpointIds(db, r.tenantId) : [];
  if (r.format === 'csv') yield csvHeader(endpoints);
  let after: ExportPosition | null = null;
  const size = r.pageSize ?? EXPORT_PAGE;
  for (;;) {
    const page = await exportPage(db, r.tenantId, r.since, r.until, after, size);
    if (page.length === 0) return;
    let text = '';
    for (const e of page) text += r.format === 'csv' ? csvLine(e, endpoints) : jsonLine(e);
    yield text;
    if (page.length < size) return;
    const last = page[page.length - 1]!;
    after = { createdUs: last.created_us, seq: last.seq };
  }
}

/** A byte stream of the export, for reply.send (backpressure: pulled as the socket drains). */
export function exportStream(db: Db, r: ExportRequest): Readable {
  return Readable.from(exportChunks(db, r), { objectMode: false, highWaterMark: 64 * 1024 });
}

export function exportContentType(format: ExportFormat): string {
  return format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
}

/** `events-acme-20240501T000000Z-20240502T000000Z.jsonl` */
export function exportFileName(r: ExportRequest): string {
  const stamp = (d: Date) =>
    d
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
  const tenant = r.tenantId.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `events-${tenant}-${stamp(r.since)}-${stamp(r.until)}.${r.format}`;
}
