// The public types of edgekms/envelope (docs/envelope.md). Environment-neutral: no Node built-ins.

/**
 * Algorithm suite ids of the AWS Encryption SDK message format (docs/envelope.md, "Algorithm suites").
 * 0x0478 and 0x0578 commit to the key (message format version 2); the others are version 1.
 */
export type SuiteId =
  | 0x0578 // AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384 (SHA-384)
  | 0x0478 // AES-256-GCM, HKDF-SHA512, key commitment (the default)
  | 0x0378 // AES-256-GCM, HKDF-SHA384, ECDSA P-384
  | 0x0346 // AES-192-GCM, HKDF-SHA384, ECDSA P-384
  | 0x0214 // AES-128-GCM, HKDF-SHA256, ECDSA P-256
  | 0x0178 // AES-256-GCM, HKDF-SHA256
  | 0x0146 // AES-192-GCM, HKDF-SHA256
  | 0x0114 // AES-128-GCM, HKDF-SHA256
  | 0x0078 // AES-256-GCM, no key derivation
  | 0x0046 // AES-192-GCM, no key derivation
  | 0x0014; // AES-128-GCM, no key derivation

export type CommitmentPolicy =
  | "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
  | "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
  | "FORBID_ENCRYPT_ALLOW_DECRYPT";

export interface EncryptedDataKey {
  /** Key provider id (UTF-8), e.g. "aws-kms" or a raw keyring's key namespace. */
  providerId: string;
  /** Key provider info as text (for KMS: the key ARN). Lossy when the bytes are not UTF-8: see rawInfo. */
  providerInfo: string;
  /**
   * The exact provider-info bytes. Set by the parser for every data key read from a message and by
   * keyrings whose provider info is binary (the raw AES keyring appends the IV); when absent the
   * UTF-8 encoding of providerInfo is written.
   */
  rawInfo?: Uint8Array;
  /** The encrypted data key (opaque to the format). */
  ciphertext: Uint8Array;
}

export interface EncryptionMaterials {
  suite: SuiteId;
  encryptionContext: Record<string, string>;
  /** The plaintext data key; a keyring generates it when absent. */
  dataKey?: Uint8Array;
  encryptedDataKeys: EncryptedDataKey[];
  /** ECDSA private key (P-384, or P-256 for 0x0214) for the signed suites. */
  signingKey?: CryptoKey;
}

export interface DecryptionMaterials {
  suite: SuiteId;
  encryptionContext: Record<string, string>;
  /** Set by the keyring that could decrypt one of the encrypted data keys. */
  dataKey?: Uint8Array;
  /** ECDSA public key for the signed suites (from the encryption context's aws-crypto-public-key). */
  verificationKey?: CryptoKey;
}

export interface Keyring {
  /** Generates the data key (if materials have none) and/or adds encrypted data keys. */
  onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials>;
  /** Sets dataKey if it can decrypt one of edks; returns the materials unchanged otherwise. */
  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: EncryptedDataKey[]): Promise<DecryptionMaterials>;
}

export interface EncryptionRequest {
  suite: SuiteId;
  encryptionContext: Record<string, string>;
  /** Upper bound of the plaintext length when known (the caching manager caches only then). */
  plaintextLength?: number;
}

export interface DecryptionRequest {
  suite: SuiteId;
  encryptionContext: Record<string, string>;
  encryptedDataKeys: EncryptedDataKey[];
}

export interface MaterialsManager {
  getEncryptionMaterials(request: EncryptionRequest): Promise<EncryptionMaterials>;
  decryptMaterials(request: DecryptionRequest): Promise<DecryptionMaterials>;
}

/** One AES-GCM key (a message's derived key): seals and opens frames synchronously. */
export interface AesGcmKey {
  /** Writes ciphertext (src.length bytes) then the 16-byte tag into out at offset. */
  seal(iv: Uint8Array, aad: Uint8Array, src: Uint8Array, out: Uint8Array, offset: number): void;
  /**
   * Verifies sealed (ciphertext then 16-byte tag) and writes its plaintext into out at offset.
   * Returns false if the tag does not verify, leaving no plaintext in out (nothing written, or zeroes).
   */
  open(iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, offset: number): boolean;
  /** Forgets the key. */
  dispose(): void;
}

/** Where AES-GCM runs: node:crypto (AES-NI) in Node, the WASM core elsewhere (docs/envelope.md, "Which AES-GCM runs where"). */
export interface AesGcmProvider {
  readonly name: string;
  importKey(key: Uint8Array): AesGcmKey;
}

export interface EncryptOptions {
  /** A keyring (wrapped in a DefaultMaterialsManager) or a materials manager: exactly one. */
  keyring?: Keyring;
  materials?: MaterialsManager;
  encryptionContext?: Record<string, string>;
  /** Default 0x0478 (0x0378 under FORBID_ENCRYPT_ALLOW_DECRYPT). */
  suite?: SuiteId;
  /** Plaintext bytes per frame, 1..2^32-1; default 4096 (as the AWS Encryption SDK). */
  frameLength?: number;
  /** Fail when the materials carry more encrypted data keys than this. */
  maxEncryptedDataKeys?: number;
  /** Default REQUIRE_ENCRYPT_REQUIRE_DECRYPT. */
  commitmentPolicy?: CommitmentPolicy;
  /** The plaintext length if known: passed to the materials manager; more input than this fails. */
  plaintextLength?: number;
  /** AES-GCM implementation; default: the entry point's (node:crypto under the "node" condition, WASM elsewhere). */
  aes?: AesGcmProvider;
}

export interface DecryptOptions {
  keyring?: Keyring;
  materials?: MaterialsManager;
  /** Fail before any key is decrypted when the header lists more encrypted data keys than this; default DEFAULT_MAX_DECRYPT_EDKS (10), at most 65535. */
  maxEncryptedDataKeys?: number;
  /** Default REQUIRE_ENCRYPT_REQUIRE_DECRYPT. */
  commitmentPolicy?: CommitmentPolicy;
  /** Pairs the message's encryption context must contain (same key and value). */
  requiredEncryptionContext?: Record<string, string>;
  /** Keys the message's encryption context must contain (any value). */
  requiredEncryptionContextKeys?: string[];
  /** Largest non-framed (version 1, content type 1) body accepted, held in memory to verify before release; default 64 MiB. */
  maxNonFramedBodyLength?: number;
  /** Largest frame length accepted (a frame is held in memory until its tag verifies); default 64 MiB. */
  maxFrameLength?: number;
  aes?: AesGcmProvider;
}

export interface MessageHeader {
  version: 1 | 2;
  suite: SuiteId;
  messageId: Uint8Array;
  encryptionContext: Record<string, string>;
  encryptedDataKeys: EncryptedDataKey[];
  /** Plaintext bytes per frame (0 for a non-framed version 1 message). */
  frameLength: number;
  /** 2 = framed, 1 = non-framed (version 1 only). */
  contentType: 1 | 2;
  /** Header bytes including the header authentication. */
  headerLength: number;
}
