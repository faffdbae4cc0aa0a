// What an attempt keeps of the body it sent: the sha256 of the exact bytes, and the bytes
// themselves compressed (for TIDINGS_BODY_RETENTION_DAYS), brotli at quality 2.
//
// Measured (docs/audit.md, "Cost"): a 1 KiB JSON body costs ~15 µs of CPU compressed on the
// event loop, and ~270 µs of CPU in all when the same call goes to libuv's thread pool (the
// hand-off, a fresh encoder per call on another thread, contention at 64 in flight): the
// first version's thread-pool compression was a fifth of the service's CPU (a 32 KB body: ~200
// µs in place, ~900 µs through the pool). Bodies are therefore compressed in place; only bodies
// above SYNC_LIMIT (whose compression would hold the event loop for more than ~0.25 ms) still
// go to the thread pool. Quality 2 shrinks 1 KiB bodies to about a quarter, and large ones as
// well as quality 4 at a third of its cost.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, brotliDecompress, constants } from 'node:zlib';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Bodies up to this many bytes are compressed on the event loop. */
export const SYNC_LIMIT = 64 * 1024;

// A 256 KiB window instead of the default 4 MiB: webhook bodies are small, and the window is
// allocated per call.
const options = (size: number) => ({
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 2,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_LGWIN]: 18,
    [constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

export interface KeptBody {
  /** sha256 (hex) of the UTF-8 bytes sent. */
  sha256: string;
  /** Those bytes, brotli-compressed. */
  packed: Buffer;
}

export function bodySha256(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Hashes now; compresses now (small bodies) or on the thread pool (large ones). A compression
 * that fails (it should not) keeps the hash alone: the attempt is recorded either way.
 */
export function keepBody(body: string): { sha256: string; packed: Promise<Buffer | null> } {
  const bytes = Buffer.from(body, 'utf8');
  return { sha256: bodySha256(bytes), packed: pack(bytes) };
}

function pack(bytes: Buffer): Promise<Buffer | null> {
  if (bytes.length > SYNC_LIMIT) return compress(bytes, options(bytes.length)).catch(() => null);
  try {
    return Promise.resolve(brotliCompressSync(bytes, options(bytes.length)));
  } catch {
    return Promise.resolve(null);
  }
}

/** The exact text that was sent. */
export async function openKeptBody(packed: Buffer): Promise<string> {
  return (await decompress(packed)).toString('utf8');
}
