// Shapes shared between the vault Durable Objects and their callers. Vaults report
// failures as coded results (the protocol layer maps codes to AWS error types).
import type { CloudTrailRecord } from "../audit/record.js";

export type KeyState = "Enabled" | "Disabled" | "PendingDeletion" | "PendingImport" | "Unavailable" | "Creating" | "Updating";

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
  | "InvalidGrantToken";

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
};

export interface GrantConstraints {
  EncryptionContextSubset?: Record<string, string>;
  EncryptionContextEquals?: Record<string, string>;
}

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
 * Who calls a vault: the caller's account; for authorization, the principal, the KMS action
 * and the request's condition context; and the request's audit draft when the vault is to
 * record it. Without `action`, the call is part of a request whose authorization the vault
 * checked in another call (or that needs none).
 */
export interface VaultCaller {
  account: string;
  /**
   * The account the request named the key in: an ARN's account, the caller's own for a key id
   * or alias (the default), or "*" when a ciphertext blob identified the key.
   */
  keyAccount?: string;
  principalArn?: string;
  /** A service principal acting on its own behalf (e.g. the audit trail generating data keys). */
  service?: string;
  action?: string;
  context?: Record<string, string | string[]>;
  /** The request's encryption context, as given (grant constraints compare it exactly). */
  encryptionContext?: Record<string, string>;
  /** For authorization: an account root, or an IAM user with its identity policies (evaluated by the vault against the key's ARN). */
  principalType?: "Root" | "IAMUser";
  policies?: string[];
  audit?: import("../audit/record.js").AuditDraft;
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
  CustomerMasterKeySpec: string;
  KeyState: KeyState;
  DeletionDate?: number;
  Origin: string;
  KeyManager: string;
  EncryptionAlgorithms: string[];
  MultiRegion: boolean;
  CurrentKeyMaterialId?: string;
}

export interface RotationEntry {
  KeyId: string;
  KeyMaterialId: string;
  RotationDate?: number;
  RotationType?: "AUTOMATIC" | "ON_DEMAND";
  KeyMaterialState: "CURRENT" | "NON_CURRENT";
}

export interface CreateKeyParams {
  keyId: string;
  account: string;
  region: string;
  description: string;
  tags: Tag[];
  /** The key policy text; the default key policy when absent. */
  policy?: string;
  bypassPolicyLockoutSafetyCheck?: boolean;
  /** "AWS" for a service-managed key (rotated yearly, its policy fixed). */
  keyManager?: "CUSTOMER" | "AWS";
}

/** Where another vault lives (for vault-to-vault ReEncrypt). */
export interface VaultAddress {
  region: string;
  keyId: string;
}
