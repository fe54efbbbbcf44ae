// The interface a key type implements: one module per key spec family (symmetric today;
// asymmetric, HMAC, key agreement and post-quantum keys implement the same interface).
// A key type knows its material and its algorithms; the vault around it knows storage,
// state, grants and audit. Nothing here imports the vault's Durable Object or the protocol.

/** The algorithm lists KeyMetadata shows for the key (only the one matching its usage). */
export interface KeyAlgorithms {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
}

export interface KeyType {
  /** KeySpec on the wire. */
  spec: string;
  /** The KeyUsage values this spec can be created with; the first is the default. */
  usages: readonly string[];
  algorithms: KeyAlgorithms;
  /** Grant operations valid for a key of this type (CreateGrant refuses the others). */
  grantOperations: ReadonlySet<string>;
  /** Automatic and on-demand rotation make a new material version. */
  rotates: boolean;
  /** Fresh key material, as the vault stores it (wrapped) and hands it back to the type. */
  generateMaterial(): Uint8Array;
}

/** The result of a cryptographic call of a key type: the value, or why it failed (for the audit record). */
export type CryptoOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };
