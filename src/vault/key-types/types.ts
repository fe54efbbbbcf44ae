// The interface a key type implements: one module per key spec family (symmetric, RSA, NIST
// elliptic curves, secp256k1, Ed25519, HMAC, ML-DSA, ML-KEM). A key type knows its material and
// its algorithms; the vault around it knows storage, state, grants and audit. Nothing here
// imports the vault's Durable Object or the protocol. Which primitive each algorithm uses (the
// runtime's WebCrypto, node:crypto, or a @noble library) is written down in docs/crypto-core.md.

/** The algorithm lists KeyMetadata shows for the key (only the one matching its usage). */
export interface KeyAlgorithms {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  EncapsulationAlgorithms?: string[];
}

/** The result of a cryptographic call of a key type: the value, or why it failed (for the audit record). */
export type CryptoOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/** MessageType of Sign and Verify. */
export type MessageType = "RAW" | "DIGEST" | "EXTERNAL_MU";

/** New key material: what the vault stores (wrapped), and the public key of an asymmetric pair (DER SubjectPublicKeyInfo). */
export interface NewMaterial {
  material: Uint8Array;
  publicKey?: Uint8Array;
}

/**
 * A key's material made ready for use (imported into WebCrypto, expanded from its seed): the
 * vault loads it once per material version and keeps it while it lives. Only the operations
 * the key's usage allows are present; inputs are already checked against the key's algorithms.
 */
export interface LoadedKey {
  encrypt?(algorithm: string, plaintext: Uint8Array): Promise<Uint8Array>;
  decrypt?(algorithm: string, ciphertext: Uint8Array): Promise<CryptoOutcome<Uint8Array>>;
  sign?(algorithm: string, messageType: MessageType, message: Uint8Array): Promise<Uint8Array>;
  /** Whether a signature (made anywhere with the key's private key) verifies; malformed signatures do not. */
  verify?(algorithm: string, messageType: MessageType, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  generateMac?(algorithm: string, message: Uint8Array): Promise<Uint8Array>;
  /** Whether a MAC is the message's (compared in constant time). */
  verifyMac?(algorithm: string, message: Uint8Array, mac: Uint8Array): Promise<boolean>;
  /** The raw shared secret with a peer's public key (DER SubjectPublicKeyInfo), or why the peer key is unusable. */
  deriveSharedSecret?(peerPublicKey: Uint8Array): Promise<CryptoOutcome<Uint8Array>>;
  encapsulate?(): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  decapsulate?(ciphertext: Uint8Array): CryptoOutcome<Uint8Array>;
}

export interface KeyType {
  /** KeySpec on the wire. */
  spec: string;
  /** The KeyUsage values this spec can be created with (AWS requires KeyUsage for every spec but SYMMETRIC_DEFAULT). */
  usages: readonly string[];
  /** The algorithms of a key of this spec with this usage. */
  algorithms(usage: string): KeyAlgorithms;
  /** Grant operations valid for a key of this spec and usage (CreateGrant refuses the others). */
  grantOperations(usage: string): ReadonlySet<string>;
  /** Automatic and on-demand rotation make a new material version (symmetric keys only, as AWS). */
  rotates: boolean;
  /** Whether CustomerMasterKeySpec (deprecated) can name this spec. */
  customerMasterKeySpec: boolean;
  /** Fresh key material, generated in the vault. */
  generate(usage: string): Promise<NewMaterial>;
  /**
   * Key material a user imports (ImportKeyMaterial), checked against this spec and brought to
   * the form `generate` makes; absent where EdgeKMS imports no material into the spec
   * (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html#importing-keys-material-requirements).
   */
  importMaterial?(material: Uint8Array, usage: string): Promise<CryptoOutcome<NewMaterial>>;
  /** The material made ready for the operations of its usage. */
  load(material: Uint8Array, usage: string, publicKey?: Uint8Array): Promise<LoadedKey>;
  /** DIGEST length of a signing algorithm (bytes), where the spec signs digests. */
  digestLength?(algorithm: string): number | undefined;
  /** Which MessageTypes a signing algorithm accepts. */
  messageTypes?(algorithm: string): readonly MessageType[];
  /** Largest plaintext an encryption algorithm takes (RSA OAEP). */
  maxPlaintext?(algorithm: string): number;
  /** A fresh key pair of this spec as GenerateDataKeyPair returns it (DataKeyPairSpec specs only). */
  dataKeyPair?(): Promise<DataKeyPair>;
}

/** A data key pair: the private key as DER PKCS#8 PrivateKeyInfo, the public key as DER SubjectPublicKeyInfo. */
export interface DataKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Grant operations every key accepts. */
export const COMMON_GRANT_OPERATIONS = ["DescribeKey", "CreateGrant", "RetireGrant"] as const;

export const grantSet = (...ops: string[]): ReadonlySet<string> => new Set([...ops, ...COMMON_GRANT_OPERATIONS]);

/** Copies into a fresh ArrayBuffer-backed array (WebCrypto and RPC want exactly the bytes). */
/** A plain Uint8Array over its own memory: a copy of a Uint8Array (a Buffer's slice would share), or a view of a fresh ArrayBuffer. */
export const own = (b: ArrayBuffer | Uint8Array): Uint8Array => new Uint8Array(b);

/** The hash length a signing algorithm's name ends with (SHA_256 → 32 …). */
export function shaLength(algorithm: string): number | undefined {
  if (algorithm.endsWith("SHA_256")) return 32;
  if (algorithm.endsWith("SHA_384")) return 48;
  if (algorithm.endsWith("SHA_512")) return 64;
  return undefined;
}

/** The WebCrypto hash name of a SHA length. */
export const webHash = (bytes: number): string => `SHA-${bytes * 8}`;

/** Bytes of a base64url text (JWK members). */
export function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}
