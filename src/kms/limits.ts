// Limits of the KMS API (https://docs.aws.amazon.com/kms/latest/developerguide/limits.html and the API Reference's member constraints), as named constants.
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_PLAINTEXT = 4096;
/** Said when Encrypt's Plaintext is longer than MAX_PLAINTEXT: KMS encrypts keys, not data (https://docs.aws.amazon.com/kms/latest/developerguide/kms-cryptography.html#enveloping). */
export const OVER_MAX_PLAINTEXT =
  `Encrypt takes at most ${MAX_PLAINTEXT} bytes. For more data, use envelope encryption: encrypt the data locally under a data key from GenerateDataKey, and keep the data key's encrypted copy with it, https://docs.aws.amazon.com/kms/latest/developerguide/kms-cryptography.html#enveloping`;
export const MAX_CIPHERTEXT_BLOB = 6144;
export const MAX_DATA_KEY_BYTES = 1024;
export const MAX_RANDOM_BYTES = 1024;
export const MAX_DESCRIPTION = 8192;
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;
export const DEFAULT_PENDING_WINDOW_DAYS = 30;
export const MIN_ROTATION_PERIOD_DAYS = 90;
export const MAX_ROTATION_PERIOD_DAYS = 2560;
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 25;
/** RotateKeyOnDemand is refused (ConflictException) this close to an automatic rotation. */
export const ON_DEMAND_CONFLICT_WINDOW_MS = 20 * 60 * 1000;
export const MAX_GRANTS_PER_KEY = 50_000;
/** Service quota on key policy size. */
export const MAX_KEY_POLICY_BYTES = 32 * 1024;
export const MAX_KEYS_PER_ACCOUNT_REGION = 100_000;
export const MAX_ALIASES_PER_KEY = 50;
export const MAX_TAGS_PER_KEY = 50;
export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;
export const MAX_ALIAS_NAME = 256;
export const DAY_MS = 24 * 60 * 60 * 1000;
/** ImportKeyMaterial: ImportToken and EncryptedKeyMaterial at most this many bytes; ValidTo at most this many days ahead. */
export const MAX_IMPORT_BLOB = 6144;
export const MAX_MATERIAL_VALID_DAYS = 365;
export const MAX_KEY_MATERIAL_DESCRIPTION = 256;
export const LIST_KEYS_DEFAULT_LIMIT = 100;
export const LIST_KEYS_MAX_LIMIT = 1000;
export const LIST_ALIASES_DEFAULT_LIMIT = 50;
export const LIST_ALIASES_MAX_LIMIT = 100;
export const LIST_TAGS_DEFAULT_LIMIT = 50;
export const LIST_TAGS_MAX_LIMIT = 50;
export const LIST_ROTATIONS_DEFAULT_LIMIT = 100;
export const LIST_ROTATIONS_MAX_LIMIT = 1000;
/** Sign, Verify, GenerateMac and VerifyMac messages (PlaintextType). */
export const MAX_MESSAGE = 4096;
/** Signatures and MACs (CiphertextType). */
export const MAX_SIGNATURE = 6144;
/** Public keys (PublicKeyType): DeriveSharedSecret's peer key. */
export const MAX_PUBLIC_KEY = 8192;
/**
 * EdgeKMS's batch operations (docs/batch.md): at most this many entries per call, and a body
 * limit of their own; each entry keeps its single operation's limits (MAX_PLAINTEXT…).
 */
export const MAX_BATCH_ENTRIES = 1000;
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;
