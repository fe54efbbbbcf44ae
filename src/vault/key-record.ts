// The key record (docs/formats.md, "Key record") and the key-state table: what a vault stores
// about its key besides grants and the audit outbox, and which states allow which calls.
// https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
import { defaultKeyPolicy } from "./key-policy.js";
import { keyTypeOf } from "./key-types/index.js";
import { nextExpiry } from "./imports.js";
import { isReplica, multiRegionMetadata, type Handover, type MultiRegionConfig } from "./multi-region.js";
import { fail, type KeyMetadata, type KeyState, type Tag, type VaultResult } from "./types.js";

export const RECORD = "key";
/**
 * v1 predates key policies; v2 added the policy; v3 names the key spec, usage and origin; v4
 * keys may be asymmetric or HMAC keys, whose material versions carry the public key; v5 keys may
 * hold imported material (origin EXTERNAL) or be multi-Region keys, and record their last use.
 */
export const RECORD_VERSION = 5;

/** A version of the key material, stored wrapped (docs/formats.md, "Key record"). */
export interface Material {
  version: number;
  id: string; // KeyMaterialId: 64 hex
  created: number;
  rotationType?: "AUTOMATIC" | "ON_DEMAND";
  /** AES-KWP(region root key, key material); absent while imported material is not (or no longer) present. */
  wrapped?: Uint8Array;
  /** An asymmetric key's public key, DER SubjectPublicKeyInfo (not secret: stored in the clear). */
  publicKey?: Uint8Array;
  /** Imported material (origin EXTERNAL): its import state and expiry. */
  imported?: ImportedMaterial;
}

/** What ImportKeyMaterial said about a version of imported material (ListKeyRotations shows it). */
export interface ImportedMaterial {
  state: "IMPORTED" | "PENDING_IMPORT";
  expirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  /** When the material expires (ms), with KEY_MATERIAL_EXPIRES. */
  validTo?: number;
  description?: string;
  /** New material imported for an on-demand rotation that has not happened yet (not yet bound to the key). */
  pendingRotation?: boolean;
}

export interface KeyRecord {
  recordVersion: number;
  keyId: string;
  arn: string;
  account: string;
  region: string;
  description: string;
  creationDate: number;
  state: KeyState;
  deletionDate?: number;
  keySpec: string;
  keyUsage: string;
  origin: string;
  tags: Tag[];
  rotationEnabled: boolean;
  rotationPeriodDays?: number;
  nextRotation?: number;
  onDemandRotations: number;
  currentVersion: number;
  materials: Material[];
  keyManager?: "CUSTOMER" | "AWS";
  /** Aliases that point at the key (kms:ResourceAliases), kept by the alias operations. */
  aliases?: string[];
  /** The key policy, as text (GetKeyPolicy returns it verbatim), and its version. */
  policy: string;
  policyVersion: number;
  /** The check value of the root secret its material is wrapped under (root-key.ts, rootCheck); absent before it is first used. */
  rootCheck?: string;
  /** A multi-Region key (multi-region.ts): its primary's and replicas' Regions and the sync version. */
  multiRegion?: MultiRegionConfig;
  /** A multi-Region primary: the replicas it still owes a push (Region → sync version to reach), stored with the change. */
  replicaSync?: Record<string, number>;
  /** A primary Updating (UpdatePrimaryRegion): the Region it hands its role to. */
  handover?: Handover;
  /** PendingReplicaDeletion: the waiting period (days) that starts when the last replica is deleted. */
  pendingWindowDays?: number;
}

/** What a new key record is made of (CreateKey, or a multi-Region replica made by ReplicateKey). */
export interface NewKey {
  keyId: string;
  arn: string;
  account: string;
  region: string;
  description: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  tags: Tag[];
  /** The key policy text; the default key policy when absent. */
  policy?: string;
  now: number;
  rootCheck: string;
}

/** A new key's record: an EXTERNAL key is PendingImport with no material (its first import is version 1). */
export function newKeyRecord(k: NewKey): KeyRecord {
  const external = k.origin === "EXTERNAL";
  return {
    recordVersion: RECORD_VERSION,
    keyId: k.keyId,
    arn: k.arn,
    account: k.account,
    region: k.region,
    description: k.description,
    creationDate: k.now,
    state: external ? "PendingImport" : "Enabled",
    keySpec: k.keySpec,
    keyUsage: k.keyUsage,
    origin: k.origin,
    tags: k.tags,
    rotationEnabled: false,
    onDemandRotations: 0,
    currentVersion: external ? 0 : 1,
    materials: [],
    policy: k.policy ?? defaultKeyPolicy(k.account),
    policyVersion: 1,
    rootCheck: k.rootCheck,
  };
}

/** A stored record of any version, brought to the current one (older versions are only read). */
export function upgradeRecord(stored: Partial<KeyRecord> & { recordVersion: number; account: string } | undefined): KeyRecord | undefined {
  if (!stored) return undefined;
  if (stored.recordVersion >= RECORD_VERSION) return stored as KeyRecord;
  return {
    // v1 and v2 keys were all symmetric encryption keys of AWS_KMS origin.
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    origin: "AWS_KMS",
    // v1 predates key policies: such a key gets the default policy.
    ...(stored.policy === undefined ? { policy: defaultKeyPolicy(stored.account), policyVersion: 1 } : {}),
    ...stored,
    recordVersion: RECORD_VERSION,
  } as KeyRecord;
}

const STATE_TEXT: Record<KeyState, string> = {
  Enabled: "is enabled",
  Disabled: "is disabled",
  PendingDeletion: "is pending deletion",
  PendingReplicaDeletion: "is pending replica deletion",
  PendingImport: "is pending import",
  Unavailable: "is unavailable",
  Creating: "is creating",
  Updating: "is updating",
};

/** The error for a call the key's state refuses. */
export function stateError(rec: KeyRecord): VaultResult<never> {
  if (rec.state === "Disabled") return fail("Disabled", `${rec.arn} is disabled.`);
  return fail("InvalidState", `${rec.arn} ${STATE_TEXT[rec.state]}.`);
}

/** Which states a call accepts (the key-state table). */
export const STATES = {
  any: (_s: KeyState) => true,
  /** Cryptographic operations, rotation changes and CreateGrant. */
  enabled: (s: KeyState) => s === "Enabled",
  /** Changes refused only while the key waits for deletion (description, tags, policy), or for its replicas' deletion. */
  notPendingDeletion: (s: KeyState) => s !== "PendingDeletion" && s !== "PendingReplicaDeletion",
  /** EnableKey and DisableKey. */
  enabledOrDisabled: (s: KeyState) => s === "Enabled" || s === "Disabled",
  /** GetParametersForImport and ImportKeyMaterial. */
  importable: (s: KeyState) => s === "Enabled" || s === "Disabled" || s === "PendingImport",
  /** DeleteImportedKeyMaterial (a key pending deletion keeps its state). */
  deletableMaterial: (s: KeyState) => s === "Enabled" || s === "Disabled" || s === "PendingImport" || s === "PendingDeletion" || s === "PendingReplicaDeletion",
} as const;

export function metadata(rec: KeyRecord): KeyMetadata {
  const type = keyTypeOf(rec.keySpec);
  const symmetric = rec.keySpec === "SYMMETRIC_DEFAULT";
  return {
    AWSAccountId: rec.account,
    KeyId: rec.keyId,
    Arn: rec.arn,
    CreationDate: rec.creationDate / 1000,
    Enabled: rec.state === "Enabled",
    Description: rec.description,
    KeyUsage: rec.keyUsage,
    KeySpec: rec.keySpec,
    ...(type.customerMasterKeySpec ? { CustomerMasterKeySpec: rec.keySpec } : {}),
    KeyState: rec.state,
    ...(rec.state === "PendingDeletion" && rec.deletionDate !== undefined ? { DeletionDate: rec.deletionDate / 1000 } : {}),
    ...(rec.state === "PendingReplicaDeletion" && rec.pendingWindowDays !== undefined ? { PendingDeletionWindowInDays: rec.pendingWindowDays } : {}),
    Origin: rec.origin,
    KeyManager: rec.keyManager ?? "CUSTOMER",
    ...type.algorithms(rec.keyUsage),
    ...multiRegionMetadata(rec),
    // AWS names the current material of symmetric keys only.
    ...(symmetric ? { CurrentKeyMaterialId: rec.materials.find((m) => m.version === rec.currentVersion)?.id } : {}),
    ...(rec.origin === "EXTERNAL" ? importedMetadata(rec) : {}),
  };
}

/** ExpirationModel and ValidTo of an EXTERNAL key: its current material's, once it has been imported. */
function importedMetadata(rec: KeyRecord): Pick<KeyMetadata, "ExpirationModel" | "ValidTo"> {
  const m = rec.materials.find((x) => x.version === rec.currentVersion)?.imported;
  if (!m?.expirationModel) return {};
  return { ExpirationModel: m.expirationModel, ...(m.validTo !== undefined ? { ValidTo: m.validTo / 1000 } : {}) };
}

/** When the key's alarm must next run for its own sake (deletion, or rotation of an Enabled key). */
export function keyAlarmDue(rec: KeyRecord | undefined, clockOffsetMs: number): number | undefined {
  if (rec?.state === "PendingDeletion" && rec.deletionDate !== undefined) return rec.deletionDate - clockOffsetMs;
  // Imported material is deleted at its ValidTo, whatever the key's state.
  const expiry = nextExpiry(rec);
  const other = keyDueOtherwise(rec, clockOffsetMs);
  if (expiry === undefined) return other;
  return other === undefined ? expiry - clockOffsetMs : Math.min(other, expiry - clockOffsetMs);
}

function keyDueOtherwise(rec: KeyRecord | undefined, clockOffsetMs: number): number | undefined {
  // Only an Enabled key rotates: a Disabled key whose rotation is due would otherwise re-arm its
  // alarm in the past forever. EnableKey rotates a key that missed its date. A multi-Region
  // replica never rotates: its primary does, and pushes the new material (multi-region.ts).
  if (rec?.state === "Enabled" && rec.rotationEnabled && rec.nextRotation !== undefined && !isReplica(rec)) return rec.nextRotation - clockOffsetMs;
  return undefined;
}
