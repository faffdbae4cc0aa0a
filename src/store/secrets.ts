// How the store keeps secrets at rest. The default codec stores text as given; the
// encrypting codec (AES-256-GCM, see src/security/secretBox.ts) replaces it at boot.
export interface SecretCodec {
  seal(plain: string): string;
  open(stored: string): string;
}

/** The encrypting codec as the key canary and `tidings keys rotate` use it: it can re-seal with its active key. */
export interface ResealingCodec extends SecretCodec {
  /** The value sealed with the active key, or undefined when it already is. */
  reseal(stored: string): string | undefined;
}

export const plainCodec: SecretCodec = {
  seal: (s) => s,
  open: (s) => s,
};
