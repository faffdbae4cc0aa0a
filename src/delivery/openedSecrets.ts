// Opening a sealed secret (AES-256-GCM) on every delivery cost more CPU than signing it. A
// codec that remembers what it opened, keyed by the sealed text itself: a rotation or an
// update writes a new sealed text, so an entry can never be stale, and nothing needs to be
// told to forget. Bounded; the oldest entries go first.
import type { SecretCodec } from '../store/secrets.js';

export function cachingCodec(codec: SecretCodec, max = 10_000): SecretCodec {
  const opened = new Map<string, string>();
  return {
    seal: (plain) => codec.seal(plain),
    open(stored) {
      const hit = opened.get(stored);
      if (hit !== undefined) return hit;
      const plain = codec.open(stored);
      if (opened.size >= max) opened.delete(opened.keys().next().value as string);
      opened.set(stored, plain);
      return plain;
    },
  };
}
