// Shapes shared between the vault Durable Objects and their callers. Vaults report
// failures as coded results (the protocol layer maps codes to AWS error types).
import type { AuditDraft, CloudTrailRecord, JsonObject } from "../audit/record.js";
import type { Permission } from "../authz/authorize.js";
import type { RequestContext } from "../policy/conditions.js";

export type KeyState = "Enabled" | "Disabled" | "PendingDeletion" | "PendingReplicaDeletion" | "PendingImport" | "Unavailable" | "Creating" | "Updating";

export type VaultErrorCode =
  | "NotFound"
  | "Disabled"
  | "InvalidState"
  | "InvalidCiphertext"
  | "IncorrectKey"
  | "UnsupportedOperation"
  | "LimitExceeded"
  | "AlreadyExists"
  | "Conflict"
  | "InvalidMarker"
  | "Tag"
  | "Validation"
  | "AccessDenied"
  | "MalformedPolicy"
  | "InvalidGrantId"
  | "InvalidGrantToken"
  | "KeyUnavailable"
  | "InvalidKeyUsage"
  | "InvalidSignature"
  | "InvalidMac"
  | "InvalidImportToken"
  | "ExpiredImportToken"
  | "IncorrectKeyMaterial";

/**
 * `audited` is set when the vault wrote the request's audit record itself (with a state
 * change); `records` carries the records it completed for the caller to store.
 */
export type VaultResult<T> =
  | { ok: true; value: T; audited?: true; records?: CloudTrailRecord[] }
  | { ok: false; code: VaultErrorCode; message: string; detail?: string; audited?: true; records?: CloudTrailRecord[] };

/** The AWS error type of each vault result code (also what audit records name). */
export const VAULT_ERROR_TYPES: Record<VaultErrorCode, string> = {
  NotFound: "NotFoundException",
  Disabled: "DisabledException",
  InvalidState: "KMSInvalidStateException",
  InvalidCiphertext: "InvalidCiphertextException",
  IncorrectKey: "IncorrectKeyException",
  UnsupportedOperation: "UnsupportedOperationException",
  LimitExceeded: "LimitExceededException",
  AlreadyExists: "AlreadyExistsException",
  Conflict: "ConflictException",
  InvalidMarker: "InvalidMarkerException",
  Tag: "TagException",
  Validation: "ValidationException",
  AccessDenied: "AccessDeniedException",
  MalformedPolicy: "MalformedPolicyDocumentException",
  InvalidGrantId: "InvalidGrantIdException",
  InvalidGrantToken: "InvalidGrantTokenException",
  KeyUnavailable: "KeyUnavailableException",
  InvalidKeyUsage: "InvalidKeyUsageException",
  InvalidSignature: "KMSInvalidSignatureException",
  InvalidMac: "KMSInvalidMacException",
  InvalidImportToken: "InvalidImportTokenException",
  ExpiredImportToken: "ExpiredImportTokenException",
  IncorrectKeyMaterial: "IncorrectKeyMaterialException",
};

export type { GrantConstraints } from "../authz/authorize.js";
import type { GrantConstraints } from "../authz/authorize.js";

/** A grant as ListGrants returns it (CreationDate in epoch seconds). */
export interface GrantListEntry {
  KeyId: string;
  GrantId: string;
  Name?: string;
  CreationDate: number;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  IssuingAccount: string;
  Operations: string[];
  Constraints?: GrantConstraints;
}

export interface CreateGrantParams {
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: GrantConstraints;
  name?: string;
}

/**
 * Calls on a key that carry no permission check, each named for why. Everything else names
 * the permission it needs, and the vault has the one authorizer (src/authz) decide it.
 */
export const SKIP = {
  /** CreateKey: there is no key yet; kms:CreateKey was decided by the handler (identity policies). */
  noKeyYet: "no key yet (kms:CreateKey decided by identity policies)",
  /** ListAliases with KeyId: whether the key exists, inside kms:ListAliases, which the handler decided. */
  existence: "existence check of an IAM-only operation",
  /** The admin API, for an account the authorizer admitted it to (the audit trail's key, records and outboxes). */
  admin: "admin operation decided by the authorizer",
  /** ListRetirableGrants: the grants the retirement index names, after kms:ListRetirableGrants was decided. */
  retirementIndex: "grants named by the retirement index (kms:ListRetirableGrants decided by identity policies)",
  /**
   * Multi-Region keys, vault to vault: a primary making, updating or hearing from its replicas
   * (kms:ReplicateKey or kms:UpdatePrimaryRegion was decided on the primary, kms:CreateKey by the
   * handler's identity check in the replica Region; pushes carry only wrapped material).
   */
  replication: "multi-Region key replication, vault to vault (decided on the primary key)",
} as const;
export type SkipReason = (typeof SKIP)[keyof typeof SKIP];

/** A vault call's authorization: the permission to check, or a named reason why none is checked. */
export type Authorization = { readonly check: Permission } | { readonly skip: SkipReason };

/**
 * Who calls a vault: the caller's account and principal, its identity policies and the
 * request's condition keys, the authorization the call needs, and the request's audit draft
 * when the vault is to record it.
 */
export interface VaultCaller {
  account: string;
  /**
   * The account the request named the key in: an ARN's account, the caller's own for a key id
   * or alias (the default), or "*" when a ciphertext blob or grant token identified the key.
   */
  keyAccount?: string;
  principalArn: string;
  principalType: "Root" | "IAMUser";
  /** A service principal acting on its own behalf (e.g. the audit trail generating data keys). */
  service?: string;
  /** The IAM user's identity policies (texts), evaluated against the key's ARN. */
  policies: readonly string[];
  /** Condition keys of the request (lower-cased names). */
  context: RequestContext;
  /** The request's encryption context, as given (grant constraints compare it exactly). */
  encryptionContext?: Record<string, string>;
  authz: Authorization;
  audit?: AuditDraft;
  /**
   * The destination half of a batch entry's ReEncrypt: the match steps the entry's group has left
   * (src/vault/batch.ts). The destination vault authorizes with at most these, and answers with
   * what is left (encrypt's `matchStepsLeft`), which the source vault charges to the group.
   */
  matchStepsLeft?: number;
}

export const ok = <T>(value: T): VaultResult<T> => ({ ok: true, value });
export const fail = (code: VaultErrorCode, message: string, detail?: string): VaultResult<never> => ({ ok: false, code, message, detail });

export interface Tag {
  TagKey: string;
  TagValue: string;
}

/** KeyMetadata as on the wire (timestamps in epoch seconds). */
export interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeySpec: string;
  CustomerMasterKeySpec?: string;
  KeyState: KeyState;
  DeletionDate?: number;
  Origin: string;
  KeyManager: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  EncapsulationAlgorithms?: string[];
  MultiRegion: boolean;
  MultiRegionConfiguration?: MultiRegionConfiguration;
  /** PendingReplicaDeletion only: the waiting period that starts when the last replica is deleted. */
  PendingDeletionWindowInDays?: number;
  CurrentKeyMaterialId?: string;
  ExpirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  ValidTo?: number;
}

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_MultiRegionConfiguration.html */
// A type, not an interface: KeyMetadata goes into audit records' responseElements, which take only plain object types.
export type MultiRegionConfiguration = {
  MultiRegionKeyType: "PRIMARY" | "REPLICA";
  PrimaryKey: { Arn: string; Region: string };
  ReplicaKeys: { Arn: string; Region: string }[];
};

export interface RotationEntry {
  KeyId: string;
  KeyMaterialId: string;
  RotationDate?: number;
  RotationType?: "AUTOMATIC" | "ON_DEMAND";
  KeyMaterialState: "CURRENT" | "NON_CURRENT" | "PENDING_ROTATION";
  /** Symmetric keys of EXTERNAL origin only. */
  ImportState?: "IMPORTED" | "PENDING_IMPORT";
  ExpirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  ValidTo?: number;
  KeyMaterialDescription?: string;
}

/** ImportKeyMaterial's request, checked at the boundary (ValidTo in ms). */
export interface ImportMaterialParams {
  importToken: Uint8Array;
  encryptedKeyMaterial: Uint8Array;
  expirationModel: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  validTo?: number;
  importType?: "EXISTING_KEY_MATERIAL" | "NEW_KEY_MATERIAL";
  description?: string;
  keyMaterialId?: string;
}

export interface CreateKeyParams {
  keyId: string;
  account: string;
  region: string;
  description: string;
  tags: Tag[];
  keySpec: string;
  keyUsage: string;
  /** The key policy text; the default key policy when absent. */
  policy?: string;
  /** The permission the lockout safety check asks the new policy for (absent: the check is bypassed). */
  lockout?: Permission;
  /** "AWS" for a service-managed key (rotated yearly, its policy fixed). */
  keyManager?: "CUSTOMER" | "AWS";
  /** A multi-Region primary key (its key ID is an `mrk-` one). */
  multiRegion?: boolean;
  /** EXTERNAL: the key is made without material, PendingImport until ImportKeyMaterial. */
  origin?: "AWS_KMS" | "EXTERNAL";
}

/** Where another vault lives (for vault-to-vault ReEncrypt). */
export interface VaultAddress {
  region: string;
  keyId: string;
}

/** Records the success of a vault's state change: called where the change is saved, so both share one write. */
export type SuccessRecord = (responseElements?: JsonObject | null) => CloudTrailRecord[] | undefined;
