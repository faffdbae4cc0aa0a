// What an attempt keeps of the body it sent: the sha256 of the exact bytes, and the bytes
// themselves compressed (for TIDINGS_BODY_RETENTION_DAYS). Compression is brotli at a low
// quality, run on libuv's thread pool (the async zlib API) while the request is in flight,
// so the event loop pays for the hash only. Quality 4: JSON webhook bodies shrink to about a
// third, at a small fraction of quality 11's cost (figures in docs/audit.md).
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

// A 256 KiB window instead of the default 4 MiB: webhook bodies are small, and the window is
// allocated per call (a quarter less time per 2–9 KB body measured, the same ratio).
const options = (size: number) => ({
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 4,
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
 * Hashes now; compresses on the thread pool. A compression that fails (it should not) keeps
 * the hash alone: the attempt is recorded either way.
 */
export function keepBody(body: string): { sha256: string; packed: Promise<Buffer | null> } {
  const bytes = Buffer.from(body, 'utf8');
  return {
    sha256: bodySha256(bytes),
    packed: compress(bytes, options(bytes.length)).catch(() => null),
  };
}

/** The exact text that was sent. */
export async function openKeptBody(packed: Buffer): Promise<string> {
  return (await decompress(packed)).toString('utf8');
}
