// How the store keeps secrets at rest. The default codec stores text as given; the
// encrypting codec (AES-256-GCM, see src/security/secretBox.ts) replaces it at boot.
export interface SecretCodec {
  seal(plain: string): string;
  open(stored: string): string;
}

export const plainCodec: SecretCodec = {
  seal: (s) => s,
  open: (s) => s,
};
