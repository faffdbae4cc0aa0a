// The one way tests wait for a condition: vi.waitFor, polling every 25 ms. The tests check
// what happened, never how fast.
import { vi } from 'vitest';

/**
 * Polls `probe` until it gives a truthy value (returned) or the time is up (the probe's last
 * error, or "timed out waiting for <what>", is thrown). A probe may throw to mean "not yet".
 */
export function until<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe();
      if (!v) throw new Error(`timed out waiting for ${what}`);
      return v;
    },
    { timeout: timeoutMs, interval: 25 },
  );
}
