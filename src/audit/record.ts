// CloudTrail-format records (reference §7.1–7.2). requestParameters and responseElements are
// built from an allow-list per operation, so plaintext, ciphertext blobs, key material,
// data keys and secrets can never reach a record.

export const EVENT_VERSION = "1.08";

export interface UserIdentity {
  type: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  invokedBy?: string;
}

// JSON values, to a fixed depth (a recursive type is too deep for the RPC type mapping):
// what a record's free-form members hold.
type JsonLeaf = string | number | boolean | null;
type Json1 = JsonLeaf | JsonLeaf[] | { [key: string]: JsonLeaf | JsonLeaf[] };
type Json2 = Json1 | Json1[] | { [key: string]: Json1 };
type Json3 = Json2 | Json2[] | { [key: string]: Json2 };
export type JsonObject = { [key: string]: Json3 };

export interface CloudTrailRecord {
  eventVersion: string;
  userIdentity: UserIdentity;
  eventTime: string;
  eventSource: "kms.amazonaws.com";
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: JsonObject | null;
  responseElements: JsonObject | null;
  additionalEventData?: JsonObject;
  serviceEventDetails?: JsonObject;
  requestID?: string;
  eventID: string;
  /** The same for the copies of one cross-account event in both accounts. */
  sharedEventID?: string;
  readOnly: boolean;
  resources?: { accountId: string; type: "AWS::KMS::Key"; ARN: string }[];
  eventType: "AwsApiCall" | "AwsServiceEvent";
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: "Management";
}

/**
 * A record as the AuditLog receives it: its key `r:<eventTime>:<eventID>` (ordered by event
 * time) and its JSON text, encoded once where the record is completed (docs/formats.md,
 * "Audit storage"). A row holds several (rowRecords); a shard forwards a row as one
 * EncodedRecord whose `json` holds its records' texts joined by newlines.
 */
export interface EncodedRecord { key: string; json: string }

export const encodeRecord = (r: CloudTrailRecord): EncodedRecord => ({ key: `r:${r.eventTime}:${r.eventID}`, json: JSON.stringify(r) });

/** A log object's body, `{"Records":[…]}`, from the records' JSON texts: the bytes JSON.stringify({ Records }) gives. */
export const logBody = (recordsJson: string[]): Uint8Array => new TextEncoder().encode(`{"Records":[${recordsJson.join(",")}]}`);

/**
 * The JSON texts of the records in a stored row (docs/formats.md, "Audit storage"): v3 rows
 * join one commit's records with newlines, which JSON.stringify never emits (it escapes them
 * inside strings); a v2 row is one text; a v1 row is the record object itself.
 */
export const rowRecords = (row: unknown): string[] => (typeof row === "string" ? row.split("\n") : [JSON.stringify(row)]);

/** A row's value from its records' JSON texts. */
export const joinRecords = (jsons: string[]): string => jsons.join("\n");

/** A record before the outcome is known; the vault or the handler completes it. */
export type AuditDraft = Omit<CloudTrailRecord, "errorCode" | "errorMessage" | "responseElements" | "resources">;

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

// Request members that may appear in requestParameters, per operation. Anything not listed
// (Plaintext, CiphertextBlob, Policy text, grant tokens…) is left out.
const REQUEST_MEMBERS: Record<string, string[]> = {
  CreateKey: ["Description", "KeyUsage", "KeySpec", "CustomerMasterKeySpec", "Origin", "BypassPolicyLockoutSafetyCheck", "Tags", "MultiRegion"],
  DescribeKey: ["KeyId"],
  ListKeys: ["Limit", "Marker"],
  EnableKey: ["KeyId"],
  DisableKey: ["KeyId"],
  ScheduleKeyDeletion: ["KeyId", "PendingWindowInDays"],
  CancelKeyDeletion: ["KeyId"],
  UpdateKeyDescription: ["KeyId", "Description"],
  Encrypt: ["KeyId", "EncryptionContext", "EncryptionAlgorithm"],
  Decrypt: ["KeyId", "EncryptionContext", "EncryptionAlgorithm"],
  ReEncrypt: ["SourceKeyId", "DestinationKeyId", "SourceEncryptionContext", "DestinationEncryptionContext", "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"],
  GenerateDataKey: ["KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext"],
  GenerateDataKeyWithoutPlaintext: ["KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext"],
  GenerateRandom: ["NumberOfBytes"],
  CreateAlias: ["AliasName", "TargetKeyId"],
  UpdateAlias: ["AliasName", "TargetKeyId"],
  DeleteAlias: ["AliasName"],
  ListAliases: ["KeyId", "Limit", "Marker"],
  TagResource: ["KeyId", "Tags"],
  UntagResource: ["KeyId", "TagKeys"],
  ListResourceTags: ["KeyId", "Limit", "Marker"],
  EnableKeyRotation: ["KeyId", "RotationPeriodInDays"],
  DisableKeyRotation: ["KeyId"],
  GetKeyRotationStatus: ["KeyId"],
  RotateKeyOnDemand: ["KeyId"],
  ListKeyRotations: ["KeyId", "IncludeKeyMaterial", "Limit", "Marker"],
  GetKeyPolicy: ["KeyId", "PolicyName"],
  PutKeyPolicy: ["KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"],
  ListKeyPolicies: ["KeyId", "Limit", "Marker"],
  CreateGrant: ["KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Constraints", "Name"],
  ListGrants: ["KeyId", "GrantId", "GranteePrincipal", "Limit", "Marker"],
  ListRetirableGrants: ["RetiringPrincipal", "Limit", "Marker"],
  RetireGrant: ["KeyId", "GrantId"],
  RevokeGrant: ["KeyId", "GrantId"],
};

/** Only strings, numbers, booleans and lists/maps of them: a blob never passes (it would be a Uint8Array). */
function plain(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && !(v instanceof Uint8Array) && !ArrayBuffer.isView(v)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), plain(x)]));
  }
  return undefined;
}

export function requestParameters(eventName: string, input: Record<string, unknown> | undefined): JsonObject | null {
  const members = REQUEST_MEMBERS[eventName];
  if (!members || !input) return null;
  const out: Record<string, unknown> = {};
  for (const m of members) {
    if (input[m] === undefined) continue;
    const v = plain(input[m]);
    if (v !== undefined) out[camel(m)] = m.endsWith("EncryptionContext") ? input[m] : v;
  }
  if (eventName === "Decrypt" || eventName === "Encrypt") out.encryptionAlgorithm ??= "SYMMETRIC_DEFAULT";
  // plain() keeps only JSON values, as deep as the validated request members go (at most three levels).
  return Object.keys(out).length ? (out as JsonObject) : null;
}

// Read-only operations (CloudTrail readOnly): describe/list/get and the cryptographic operations.
const READ_ONLY = new Set(["ListGrants", "ListRetirableGrants", "GetKeyPolicy", "ListKeyPolicies", "DescribeKey", "ListKeys", "ListAliases", "ListResourceTags", "GetKeyRotationStatus", "ListKeyRotations", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom"]);

export const isReadOnly = (eventName: string): boolean => READ_ONLY.has(eventName);

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function completeRecord(
  draft: AuditDraft,
  outcome: { errorCode?: string; errorMessage?: string; responseElements?: JsonObject | null; keyArn?: string },
): CloudTrailRecord {
  const rec: CloudTrailRecord = { ...draft, responseElements: outcome.errorCode ? null : (outcome.responseElements ?? null) };
  if (outcome.errorCode) {
    rec.errorCode = outcome.errorCode;
    rec.errorMessage = outcome.errorMessage ?? "";
  }
  if (outcome.keyArn) {
    const account = outcome.keyArn.split(":")[4];
    rec.resources = [{ accountId: account, type: "AWS::KMS::Key", ARN: outcome.keyArn }];
  }
  return rec;
}

/** Internal events (RotateKey, DeleteKey) carry no caller. */
export function serviceEvent(eventName: "RotateKey" | "DeleteKey", region: string, account: string, keyArn: string, now: number): CloudTrailRecord {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: "AWSService", accountId: account, invokedBy: "AWS Internal" },
    eventTime: isoSeconds(now),
    eventSource: "kms.amazonaws.com",
    eventName,
    awsRegion: region,
    sourceIPAddress: "AWS Internal",
    userAgent: "AWS Internal",
    requestParameters: null,
    responseElements: null,
    serviceEventDetails: { keyId: keyArn.split("/").pop() ?? "" },
    eventID: crypto.randomUUID(),
    readOnly: false,
    resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: keyArn }],
    eventType: "AwsServiceEvent",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
}
