// KeyVault: one Durable Object per KMS key — our HSM partition. It holds the key's
// metadata and every version of its material, wrapped (AES-KWP) under the region root key;
// material is unwrapped only here, and only ciphertext leaves (plus data keys, to the caller
// the API returns them to). All calls on one key serialise here; calls on different keys
// run in different vaults. See docs/architecture.md.
import { DurableObject } from "cloudflare:workers";
import { aesGcmOpen, aesGcmSeal, aesKeyUnwrapPad, aesKeyWrapPad, AuthenticationError } from "../crypto/index.js";
import { timingSafeEqual } from "../crypto/compare.js";
import { b64url, grantToken, parseGrantToken } from "./grant-token.js";
import type { Env } from "../env.js";
import { regionStub } from "../env.js";
import { encodeHeader, decodeHeader, HEADER_LENGTH, IV_LENGTH } from "./blob.js";
import { encodeContext } from "./context.js";
import { deriveRootKey } from "./root-key.js";
import { auditLogName, catalogName, vaultName } from "./naming.js";
import { OneAtATime, forwardInBatches } from "./group-commit.js";
import { completeRecord, encodeRecord, serviceEvent, type CloudTrailRecord, type JsonObject } from "../audit/record.js";
import { parsePolicy, PolicyError, type PolicyDocument } from "../policy/document.js";
import { DAY_MS, MAX_GRANTS_PER_KEY, MAX_KEY_POLICY_BYTES, MAX_ON_DEMAND_ROTATIONS, MAX_TAGS_PER_KEY, ON_DEMAND_CONFLICT_WINDOW_MS } from "../kms/limits.js";
import { evaluateKeyPolicy } from "../policy/evaluate.js";
import { identityDecision } from "../auth/identity-policy.js";
import { defaultKeyPolicy } from "./key-policy.js";
import {
  fail, ok, VAULT_ERROR_TYPES,
  type CreateGrantParams, type GrantListEntry, type CreateKeyParams, type KeyMetadata, type KeyState, type RotationEntry, type Tag, type VaultCaller, type VaultResult,
} from "./types.js";


const RECORD = "key";
const RECORD_VERSION = 2;
/** Actions another account may perform on a key whose policy allows it (reference §2, X-acct). */
const CROSS_ACCOUNT_ACTIONS = new Set(["DescribeKey", "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GetKeyRotationStatus", "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant"]);
/** Operations whose grant constraints apply: those that take an encryption context. */
const EC_OPERATIONS = new Set(["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "CreateGrant"]);

/** A stored grant (docs/formats.md, "Grants"). */
interface Grant extends GrantListEntry { tokenSecret: string }


const OUTBOX = "audit:";
const OUTBOX_BATCH = "audit-batch";
/** How soon outbox records are forwarded to the account's AuditLog. */
const FORWARD_DELAY_MS = 1000;
const FORWARD_BATCH = 500;
const DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set.";

/** Records the success of a state change: called where the change is saved, so both share one write. */
type SuccessRecord = (responseElements?: JsonObject | null) => CloudTrailRecord[] | undefined;

/** A version of the key material, stored wrapped (docs/formats.md, "Key record"). */
interface Material {
  version: number;
  id: string; // KeyMaterialId: 64 hex
  created: number;
  rotationType?: "AUTOMATIC" | "ON_DEMAND";
  wrapped: Uint8Array; // AES-KWP(region root key, 32-byte AES-256 key)
}

interface KeyRecord {
  recordVersion: number;
  keyId: string;
  arn: string;
  account: string;
  region: string;
  description: string;
  creationDate: number;
  state: KeyState;
  deletionDate?: number;
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
}

export interface EncryptResult { blob: Uint8Array; keyArn: string; keyMaterialId: string }
export interface DecryptResult { plaintext: Uint8Array; keyArn: string; keyMaterialId: string }
export interface DataKeyResult { blob: Uint8Array; plaintext?: Uint8Array; keyArn: string; keyMaterialId: string }
export interface ReEncryptResult { blob: Uint8Array; sourceKeyArn: string; destinationKeyArn: string; sourceKeyMaterialId: string; destinationKeyMaterialId: string }
export interface RotationStatus { KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: number }

/** ReEncrypt needs kms:ReEncryptTo on the destination key. */
const destinationCaller = (c: VaultCaller, keyAccount: string): VaultCaller => ({ ...c, keyAccount, ...(c.action ? { action: "ReEncryptTo" } : {}) });

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

export class KeyVault extends DurableObject<Env> {
  private rec: KeyRecord | undefined;
  private rootKey: Uint8Array | undefined;
  private readonly plainMaterial = new Map<number, Uint8Array>();
  /** The key's grants (storage keys "grant:<id>"), kept in memory. */
  private grants = new Map<string, Grant>();
  /** The key policy parsed once per policy version. */
  private parsedPolicy: { version: number; doc: PolicyDocument } | undefined;
  /** Real time at which the outbox is to be forwarded, when it holds records. */
  private outboxDue: number | undefined;
  /** Forwarding runs one pass at a time: alarm and flush queue behind each other. */
  private readonly forwarding = new OneAtATime();
  /** Milliseconds added to the wall clock; tests move time forward with it. */
  clockOffsetMs = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<KeyRecord>(RECORD);
      // Records of version 1 predate key policies: they get the default policy.
      this.rec = stored && stored.policy === undefined ? { ...stored, policy: defaultKeyPolicy(stored.account), policyVersion: 1, recordVersion: RECORD_VERSION } : stored;
      if ((await ctx.storage.list({ prefix: OUTBOX, limit: 1 })).size) this.outboxDue = Date.now();
      for (const g of (await ctx.storage.list<Grant>({ prefix: "grant:" })).values()) this.grants.set(g.GrantId, g);
    });
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  // ---- helpers -------------------------------------------------------------------------

  private async regionRootKey(region: string): Promise<Uint8Array> {
    this.rootKey ??= await deriveRootKey(this.env.KMS_ROOT_SECRET, "key-material", region);
    return this.rootKey;
  }

  private async newMaterial(rec: Pick<KeyRecord, "region">, version: number, rotationType?: Material["rotationType"]): Promise<Material> {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = aesKeyWrapPad(await this.regionRootKey(rec.region), key);
    this.plainMaterial.set(version, key);
    return { version, id: hex(crypto.getRandomValues(new Uint8Array(32))), created: this.now(), rotationType, wrapped };
  }

  private async material(rec: KeyRecord, version: number): Promise<Uint8Array | undefined> {
    const cached = this.plainMaterial.get(version);
    if (cached) return cached;
    const m = rec.materials.find((x) => x.version === version);
    if (!m) return undefined;
    const key = aesKeyUnwrapPad(await this.regionRootKey(rec.region), m.wrapped);
    this.plainMaterial.set(version, key);
    return key;
  }

  /**
   * Saves the key record, and the request's audit record with it: both puts are issued
   * without an await between them, so they commit in one transaction, and the output gate
   * holds the response until that transaction is durable.
   */
  private async save(rec: KeyRecord, audit?: CloudTrailRecord | CloudTrailRecord[]): Promise<void> {
    this.rec = rec;
    const writes = [this.ctx.storage.put(RECORD, rec)];
    for (const record of audit === undefined ? [] : Array.isArray(audit) ? audit : [audit]) {
      writes.push(this.ctx.storage.put(OUTBOX + `${record.eventTime}:${record.eventID}`, record));
      this.outboxDue ??= Date.now() + FORWARD_DELAY_MS;
    }
    writes.push(this.scheduleAlarm(rec));
    await Promise.all(writes);
  }

  private async scheduleAlarm(rec: KeyRecord | undefined): Promise<void> {
    const due = [
      rec?.state === "PendingDeletion" && rec.deletionDate !== undefined ? rec.deletionDate - this.clockOffsetMs : undefined,
      rec?.rotationEnabled && rec.state !== "PendingDeletion" && rec.nextRotation !== undefined ? rec.nextRotation - this.clockOffsetMs : undefined,
      this.outboxDue,
    ].filter((x): x is number => x !== undefined);
    if (due.length) await this.ctx.storage.setAlarm(Math.min(...due));
    else await this.ctx.storage.deleteAlarm();
  }

  // ---- audit -------------------------------------------------------------------------

  /**
   * Runs one operation and completes the record of its outcome when the caller passed an audit
   * draft and the key is the caller's (otherwise the handler completes it). State changes store
   * their success record through `success`, in the same write as the change; everything else
   * (reads, crypto, failures) returns its records, which the Worker appends to the key's
   * AuditLog ingest shard (group commit there) before it answers.
   */
  private async audited<T>(caller: VaultCaller, body: (success: SuccessRecord) => Promise<VaultResult<T>>, dryRun = false): Promise<VaultResult<T>> {
    let recorded = false;
    const withBasis = (record: CloudTrailRecord): CloudTrailRecord => {
      const basis = this.basis.get(caller);
      return basis ? { ...record, additionalEventData: { ...(record.additionalEventData ?? {}), authorization: basis } } : record;
    };
    // Cross-account use is recorded in both accounts (one shared event id); a call the key's
    // policy refused only in the caller's (reference §7.1).
    const bothAccounts = (record: CloudTrailRecord): CloudTrailRecord[] => {
      const owner = this.rec?.account;
      if (owner === undefined || owner === caller.account || record.errorCode === "AccessDeniedException") return [record];
      record.sharedEventID = record.eventID;
      return [record, { ...record, eventID: crypto.randomUUID(), recipientAccountId: owner }];
    };
    const success: SuccessRecord = (responseElements) => {
      if (!caller.audit || !this.rec) return undefined;
      recorded = true;
      return bothAccounts(withBasis(completeRecord(caller.audit, { responseElements, keyArn: this.rec.arn })));
    };
    const result = await body(success);
    if (!caller.audit) return result;
    if (recorded) return { ...result, audited: true };
    const rec = this.rec;
    if (!rec) return result;
    const named = caller.keyAccount ?? caller.account;
    if (named !== "*" && named !== rec.account) return result;
    if (rec.account !== caller.account && !(caller.action && CROSS_ACCOUNT_ACTIONS.has(caller.action))) return result;
    const record = withBasis(!result.ok
      ? completeRecord(caller.audit, { errorCode: VAULT_ERROR_TYPES[result.code], errorMessage: result.detail ?? result.message, keyArn: rec.arn })
      : dryRun
        ? completeRecord(caller.audit, { errorCode: "DryRunOperationException", errorMessage: DRY_RUN_MESSAGE, keyArn: rec.arn })
        : completeRecord(caller.audit, { keyArn: rec.arn }));
    return { ...result, records: bothAccounts(record) };
  }

  private auditLog(region: string, account: string) {
    return regionStub(this.env.AUDIT_LOG, this.env.REGIONS[region] ?? {}, auditLogName(region, account));
  }

  /** Records still waiting in the outbox (for `audit tail`). */
  async pendingAudit(limit: number): Promise<CloudTrailRecord[]> {
    return [...(await this.ctx.storage.list<CloudTrailRecord>({ prefix: OUTBOX, limit })).values()];
  }

  /**
   * Hands the outbox to the account's AuditLog, in batches. A batch's id and members are stored
   * before it is sent, so a retry after a crash resends exactly that batch, which the AuditLog
   * recognises by its id and does not take twice.
   */
  forwardAudit(): Promise<number> {
    return this.forwarding.run(() => this.forwardOutbox());
  }

  private async forwardOutbox(): Promise<number> {
    // Cleared first: a record written while this runs schedules its own alarm, so it cannot
    // be left behind if it lands after the last listing below.
    this.outboxDue = undefined;
    try {
      return await this.forwardBatches();
    } catch (e) {
      this.outboxDue = Date.now() + 10 * FORWARD_DELAY_MS;
      await this.scheduleAlarm(this.rec);
      throw e;
    }
  }

  private forwardBatches(): Promise<number> {
    return forwardInBatches<CloudTrailRecord>(this.ctx.storage, { prefix: OUTBOX, batchKey: OUTBOX_BATCH, limit: FORWARD_BATCH }, async (batchId, rows) => {
      // One AuditLog per account and region: a vault's records share the region, but
      // cross-account use adds records for the caller's account.
      const byAccount = new Map<string, CloudTrailRecord[]>();
      for (const r of rows.values()) byAccount.set(r.recipientAccountId, [...(byAccount.get(r.recipientAccountId) ?? []), r]);
      for (const [account, group] of byAccount) {
        await this.auditLog(group[0].awsRegion, account).append(group[0].awsRegion, account, group.map(encodeRecord), `${batchId}:${account}`);
      }
    });
  }

  /**
   * The key record if it exists and the call is allowed: by the key policy for the caller's
   * account, or — for the operations AWS allows across accounts — for another account's caller
   * whom the key policy admits.
   */
  private owned(caller: VaultCaller): VaultResult<KeyRecord> {
    const rec = this.rec;
    if (!rec) return fail("NotFound", "Key does not exist");
    const named = caller.keyAccount ?? caller.account;
    if (named !== "*" && named !== rec.account) return fail("NotFound", "Key does not exist");
    if (rec.account !== caller.account && !(caller.action && CROSS_ACCOUNT_ACTIONS.has(caller.action))) return fail("NotFound", "Key does not exist");
    if (caller.action) {
      const denied = this.authorize(rec, caller, caller.action);
      if (denied) return denied;
    }
    return ok(rec);
  }

  private allowedBy(caller: VaultCaller, basis: string): undefined {
    this.basis.set(caller, basis);
    return undefined;
  }

  /** The id of a grant that gives the caller this operation, its constraints met (reference §2.7), or "". */
  private grantAllows(caller: VaultCaller, principal: string, action: string): string {
    const ec = caller.encryptionContext ?? {};
    for (const g of this.grants.values()) {
      if (g.GranteePrincipal !== principal && g.GranteePrincipal !== caller.account && g.GranteePrincipal !== `arn:aws:iam::${caller.account}:root`) continue;
      if (!g.Operations.includes(action)) continue;
      const c = g.Constraints;
      if (c && EC_OPERATIONS.has(action)) {
        if (c.EncryptionContextEquals) {
          const want = Object.entries(c.EncryptionContextEquals);
          if (want.length !== Object.keys(ec).length || want.some(([k, v]) => ec[k] !== v)) continue;
        }
        if (c.EncryptionContextSubset && Object.entries(c.EncryptionContextSubset).some(([k, v]) => ec[k] !== v)) continue;
      }
      return g.GrantId;
    }
    return "";
  }

  private policyOf(rec: KeyRecord): PolicyDocument {
    if (this.parsedPolicy?.version !== rec.policyVersion) this.parsedPolicy = { version: rec.policyVersion, doc: parsePolicy(rec.policy) };
    return this.parsedPolicy.doc;
  }

  /**
   * The decision of reference §6.2: an explicit Deny in the key policy or the caller's identity
   * policies wins; otherwise the key policy must allow the caller itself, or allow the caller's
   * account (delegation) with the caller being the account root or allowed by its identity policies.
   */
  /** What allowed each caller's last authorized action (for its audit record). */
  private readonly basis = new WeakMap<VaultCaller, string>();

  private authorize(rec: KeyRecord, caller: VaultCaller, action: string): VaultResult<never> | undefined {
    const principal = caller.principalArn ?? `arn:aws:iam::${caller.account}:root`;
    const context: Record<string, string | string[]> = { ...(caller.context ?? {}) };
    context["kms:keyspec"] = "SYMMETRIC_DEFAULT";
    context["kms:keyusage"] = "ENCRYPT_DECRYPT";
    context["kms:keyorigin"] = "AWS_KMS";
    context["kms:calleraccount"] = caller.account;
    for (const t of rec.tags) context[`aws:resourcetag/${t.TagKey.toLowerCase()}`] = t.TagValue;
    context["kms:resourcealiases"] = rec.aliases ?? [];
    const keyPolicy = evaluateKeyPolicy(this.policyOf(rec), { action: `kms:${action}`, resource: rec.arn, principal: { arn: principal, accountId: caller.account, ...(caller.service ? { service: caller.service } : {}) }, context });
    const identity = identityDecision(
      { type: caller.principalType ?? "Root", arn: principal, accountId: caller.account, accessKeyId: "", policies: caller.policies },
      action, rec.arn, context,
    );
    let why: string | undefined;
    if (keyPolicy === "Deny") why = "with an explicit deny in a resource-based policy";
    else if (identity === "Deny") why = "with an explicit deny in an identity-based policy";
    else if (keyPolicy === "AllowPrincipal") return this.allowedBy(caller, "key policy");
    else if (keyPolicy === "AllowAccount" && identity === "Root") return this.allowedBy(caller, "key policy (account root)");
    else if (keyPolicy === "AllowAccount" && identity === "Allow") return this.allowedBy(caller, "key policy and identity policy");
    else if (this.grantAllows(caller, principal, action)) return this.allowedBy(caller, `grant ${this.grantAllows(caller, principal, action)}`);
    else if (keyPolicy === "AllowAccount") why = `because no identity-based policy allows the kms:${action} action`;
    else why = `because no resource-based policy allows the kms:${action} action`;
    return fail("AccessDenied", `User: ${principal} is not authorized to perform: kms:${action} on resource: ${rec.arn} ${why}`);
  }

  private stateError(rec: KeyRecord): VaultResult<never> {
    if (rec.state === "Disabled") return fail("Disabled", `${rec.arn} is disabled.`);
    const text: Record<string, string> = {
      PendingDeletion: "is pending deletion",
      PendingImport: "is pending import",
      Unavailable: "is unavailable",
      Creating: "is creating",
      Updating: "is updating",
      Enabled: "is enabled",
    };
    return fail("InvalidState", `${rec.arn} ${text[rec.state]}.`);
  }

  /** Encrypt, Decrypt, ReEncrypt and GenerateDataKey* need an Enabled key (reference §8.3). */
  private usable(caller: VaultCaller): VaultResult<KeyRecord> {
    const r = this.owned(caller);
    if (!r.ok) return r;
    return r.value.state === "Enabled" ? r : this.stateError(r.value);
  }

  /** Operations refused only while the key is pending deletion. */
  private notPendingDeletion(caller: VaultCaller): VaultResult<KeyRecord> {
    const r = this.owned(caller);
    if (!r.ok) return r;
    return r.value.state === "PendingDeletion" ? this.stateError(r.value) : r;
  }

  private metadata(rec: KeyRecord): KeyMetadata {
    return {
      AWSAccountId: rec.account,
      KeyId: rec.keyId,
      Arn: rec.arn,
      CreationDate: rec.creationDate / 1000,
      Enabled: rec.state === "Enabled",
      Description: rec.description,
      KeyUsage: "ENCRYPT_DECRYPT",
      KeySpec: "SYMMETRIC_DEFAULT",
      CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
      KeyState: rec.state,
      ...(rec.state === "PendingDeletion" && rec.deletionDate !== undefined ? { DeletionDate: rec.deletionDate / 1000 } : {}),
      Origin: "AWS_KMS",
      KeyManager: rec.keyManager ?? "CUSTOMER",
      EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
      MultiRegion: false,
      CurrentKeyMaterialId: rec.materials.find((m) => m.version === rec.currentVersion)?.id,
    };
  }

  private async seal(rec: KeyRecord, plaintext: Uint8Array, context: Record<string, string> | undefined): Promise<{ blob: Uint8Array; keyMaterialId: string }> {
    const version = rec.currentVersion;
    const key = await this.material(rec, version);
    if (!key) throw new Error("current key material missing");
    const iv = crypto.getRandomValues(new Uint8Array(IV_LENGTH));
    const header = encodeHeader(rec.keyId, version, iv);
    const sealed = aesGcmSeal(key, iv, plaintext, concat(header, encodeContext(context)));
    return { blob: concat(header, sealed), keyMaterialId: rec.materials.find((m) => m.version === version)!.id };
  }

  private async open(rec: KeyRecord, blob: Uint8Array, context: Record<string, string> | undefined): Promise<VaultResult<{ plaintext: Uint8Array; keyMaterialId: string }>> {
    const header = decodeHeader(blob);
    if (!header) return fail("InvalidCiphertext", "", "not a v1 ciphertext blob");
    if (header.keyId !== rec.keyId) return fail("IncorrectKey", "", `blob is for key ${header.keyId}`);
    const key = await this.material(rec, header.materialVersion);
    if (!key) return fail("InvalidCiphertext", "", `unknown key material version ${header.materialVersion}`);
    try {
      const aad = concat(blob.subarray(0, HEADER_LENGTH), encodeContext(context));
      const plaintext = aesGcmOpen(key, header.iv, blob.subarray(HEADER_LENGTH), aad);
      return ok({ plaintext, keyMaterialId: rec.materials.find((m) => m.version === header.materialVersion)!.id });
    } catch (e) {
      if (e instanceof AuthenticationError) return fail("InvalidCiphertext", "", "authentication tag mismatch (tampered blob or wrong encryption context)");
      throw e;
    }
  }

  private async rotate(rec: KeyRecord, type: "AUTOMATIC" | "ON_DEMAND"): Promise<KeyRecord> {
    const version = Math.max(...rec.materials.map((m) => m.version)) + 1;
    const material = await this.newMaterial(rec, version, type);
    // The new version is stored in the same write that makes it current (docs/architecture.md).
    return { ...rec, materials: [...rec.materials, material], currentVersion: version };
  }

  // ---- lifecycle ---------------------------------------------------------------------

  async create(caller: VaultCaller, p: CreateKeyParams, arn: string): Promise<VaultResult<KeyMetadata>> {
    return this.audited(caller, (success) => this.createKey(caller, p, arn, success));
  }

  private async createKey(caller: VaultCaller, p: CreateKeyParams, arn: string, success: SuccessRecord): Promise<VaultResult<KeyMetadata>> {
    if (this.rec) return fail("AlreadyExists", "Key already exists");
    if (p.policy !== undefined) {
      const bad = this.checkPolicy({ policy: p.policy, policyVersion: 1, tags: p.tags, arn, account: p.account } as KeyRecord, caller, p.bypassPolicyLockoutSafetyCheck ?? false);
      if (bad) return bad;
    }
    const material = await this.newMaterial(p, 1);
    const rec: KeyRecord = {
      recordVersion: RECORD_VERSION,
      keyId: p.keyId,
      arn,
      account: p.account,
      region: p.region,
      description: p.description,
      creationDate: this.now(),
      state: "Enabled",
      tags: p.tags,
      rotationEnabled: false,
      onDemandRotations: 0,
      currentVersion: 1,
      materials: [material],
      policy: p.policy ?? defaultKeyPolicy(p.account),
      policyVersion: 1,
      ...(p.keyManager === "AWS" ? { keyManager: "AWS" as const, rotationEnabled: true, rotationPeriodDays: 365, nextRotation: this.now() + 365 * DAY_MS } : {}),
    };
    this.rec = rec;
    await this.save(rec, success({ keyMetadata: { ...this.metadata(rec) } }));
    return ok(this.metadata(rec));
  }

  async describe(caller: VaultCaller): Promise<VaultResult<KeyMetadata>> {
    return this.audited<KeyMetadata>(caller, async () => {
      const r = this.owned(caller);
      return r.ok ? ok(this.metadata(r.value)) : r;
    });
  }

  async enable(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (r.value.state !== "Enabled" && r.value.state !== "Disabled") return this.stateError(r.value);
      let rec: KeyRecord = { ...r.value, state: "Enabled" };
      // A key that missed its rotation while disabled rotates as soon as it is enabled (§8.2).
      if (rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation <= this.now()) {
        rec = await this.rotate(rec, "AUTOMATIC");
        rec.nextRotation = this.now() + rec.rotationPeriodDays! * DAY_MS;
      }
      await this.save(rec, success());
      return ok(null);
    });
  }

  async disable(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (r.value.state !== "Enabled" && r.value.state !== "Disabled") return this.stateError(r.value);
      await this.save({ ...r.value, state: "Disabled" }, success());
      return ok(null);
    });
  }

  async scheduleDeletion(caller: VaultCaller, days: number): Promise<VaultResult<{ keyArn: string; deletionDate: number; state: KeyState }>> {
    return this.audited<{ keyArn: string; deletionDate: number; state: KeyState }>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (r.value.state === "PendingDeletion") return this.stateError(r.value);
      const deletionDate = this.now() + days * DAY_MS;
      await this.save({ ...r.value, state: "PendingDeletion", deletionDate }, success({ keyId: r.value.arn, keyState: "PendingDeletion", deletionDate: new Date(deletionDate).toISOString() }));
      return ok({ keyArn: r.value.arn, deletionDate: deletionDate / 1000, state: "PendingDeletion" as KeyState });
    });
  }

  async cancelDeletion(caller: VaultCaller): Promise<VaultResult<{ keyArn: string }>> {
    return this.audited<{ keyArn: string }>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (r.value.state !== "PendingDeletion") return fail("InvalidState", `${r.value.arn} is not pending deletion.`);
      const rec: KeyRecord = { ...r.value, state: "Disabled" };
      delete rec.deletionDate;
      await this.save(rec, success());
      return ok({ keyArn: rec.arn });
    });
  }

  async updateDescription(caller: VaultCaller, description: string): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.notPendingDeletion(caller);
      if (!r.ok) return r;
      await this.save({ ...r.value, description }, success());
      return ok(null);
    });
  }

  /** Alarm: forward audit records; destroy the key at the end of its deletion window, or rotate it when due. */
  async alarm(): Promise<void> {
    if (this.outboxDue !== undefined && this.outboxDue <= Date.now()) {
      try {
        await this.forwardAudit();
      } catch (e) {
        console.error(`audit forwarding failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const rec = this.rec;
    const now = this.now();
    if (rec?.state === "PendingDeletion" && rec.deletionDate !== undefined && rec.deletionDate <= now) {
      await this.destroy(rec);
      return;
    }
    if (rec?.state === "Enabled" && rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation <= now) {
      const rotated = await this.rotate(rec, "AUTOMATIC");
      rotated.nextRotation = now + rec.rotationPeriodDays! * DAY_MS;
      await this.save(rotated, serviceEvent("RotateKey", rec.region, rec.account, rec.arn, now));
      return;
    }
    await this.scheduleAlarm(rec);
  }

  /** End of the deletion window: audit first (outbox, then the DeleteKey event), then destroy. */
  private async destroy(rec: KeyRecord): Promise<void> {
    await this.forwardAudit();
    await this.auditLog(rec.region, rec.account).append(rec.region, rec.account, [encodeRecord(serviceEvent("DeleteKey", rec.region, rec.account, rec.arn, this.now()))]);
    const catalog = regionStub(this.env.CATALOG, this.env.REGIONS[rec.region] ?? {}, catalogName(rec.region, rec.account));
    await catalog.removeKey(rec.keyId);
    for (const k of this.plainMaterial.values()) k.fill(0);
    this.plainMaterial.clear();
    this.rec = undefined;
    this.grants.clear();
    this.outboxDue = undefined;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  // ---- cryptographic operations ------------------------------------------------------

  async encrypt(caller: VaultCaller, plaintext: Uint8Array, context: Record<string, string> | undefined, dryRun = false): Promise<VaultResult<EncryptResult>> {
    return this.audited<EncryptResult>(caller, async () => {
      const r = this.usable(caller);
      if (!r.ok) return r;
      if (dryRun) return ok({ blob: new Uint8Array(0), keyArn: r.value.arn, keyMaterialId: "" });
      const { blob, keyMaterialId } = await this.seal(r.value, plaintext, context);
      return ok({ blob, keyArn: r.value.arn, keyMaterialId });
    }, dryRun);
  }

  async decrypt(caller: VaultCaller, blob: Uint8Array, context: Record<string, string> | undefined, dryRun = false): Promise<VaultResult<DecryptResult>> {
    return this.audited<DecryptResult>(caller, async () => {
      const r = this.usable(caller);
      if (!r.ok) return r;
      const opened = await this.open(r.value, blob, context);
      if (!opened.ok) return opened;
      if (dryRun) {
        opened.value.plaintext.fill(0);
        return ok({ plaintext: new Uint8Array(0), keyArn: r.value.arn, keyMaterialId: opened.value.keyMaterialId });
      }
      return ok({ ...opened.value, keyArn: r.value.arn });
    }, dryRun);
  }

  async generateDataKey(caller: VaultCaller, numberOfBytes: number, context: Record<string, string> | undefined, withPlaintext: boolean, dryRun = false): Promise<VaultResult<DataKeyResult>> {
    return this.audited<DataKeyResult>(caller, async () => {
      const r = this.usable(caller);
      if (!r.ok) return r;
      if (dryRun) return ok({ blob: new Uint8Array(0), keyArn: r.value.arn, keyMaterialId: "" });
      const dataKey = crypto.getRandomValues(new Uint8Array(numberOfBytes));
      const { blob, keyMaterialId } = await this.seal(r.value, dataKey, context);
      if (!withPlaintext) dataKey.fill(0);
      return ok({ blob, keyArn: r.value.arn, keyMaterialId, ...(withPlaintext ? { plaintext: dataKey } : {}) });
    }, dryRun);
  }

  /** ReEncrypt from this (source) key straight to the destination vault: plaintext never leaves the vaults. */
  async reEncrypt(
    caller: VaultCaller,
    blob: Uint8Array,
    sourceContext: Record<string, string> | undefined,
    destination: { region: string; keyId: string; account: string },
    destinationContext: Record<string, string> | undefined,
    dryRun = false,
  ): Promise<VaultResult<ReEncryptResult>> {
    return this.audited<ReEncryptResult>(caller, async () => {
      const r = this.usable(caller);
      if (!r.ok) return r;
      const opened = await this.open(r.value, blob, sourceContext);
      if (!opened.ok) return opened;
      const sameKey = destination.keyId === r.value.keyId;
      try {
        // The destination encryption is part of this request: its record is this vault's.
        let dest: VaultResult<EncryptResult>;
        if (sameKey) {
          dest = await this.encrypt({ ...destinationCaller(caller, destination.account), encryptionContext: destinationContext, audit: undefined }, opened.value.plaintext, destinationContext, dryRun);
        } else {
          const stub = regionStub(this.env.KEY_VAULT, this.env.REGIONS[destination.region] ?? {}, vaultName(destination.region, destination.keyId));
          dest = (await stub.encrypt({ ...destinationCaller(caller, destination.account), encryptionContext: destinationContext, audit: undefined }, opened.value.plaintext, destinationContext, dryRun)) as VaultResult<EncryptResult>;
        }
        if (!dest.ok) return dest;
        return ok({
          blob: dest.value.blob,
          sourceKeyArn: r.value.arn,
          destinationKeyArn: dest.value.keyArn,
          sourceKeyMaterialId: opened.value.keyMaterialId,
          destinationKeyMaterialId: dest.value.keyMaterialId,
        });
      } finally {
        opened.value.plaintext.fill(0);
      }
    }, dryRun);
  }

  // ---- tags --------------------------------------------------------------------------

  async tag(caller: VaultCaller, tags: Tag[]): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.notPendingDeletion(caller);
      if (!r.ok) return r;
      for (const t of tags) if (t.TagKey.startsWith("aws:")) return fail("Tag", "Tag keys cannot start with the reserved prefix 'aws:'");
      const merged = new Map(r.value.tags.map((t) => [t.TagKey, t.TagValue]));
      for (const t of tags) merged.set(t.TagKey, t.TagValue);
      if (merged.size > MAX_TAGS_PER_KEY) return fail("LimitExceeded", `A key can have at most ${MAX_TAGS_PER_KEY} tags`);
      await this.save({ ...r.value, tags: [...merged].map(([TagKey, TagValue]) => ({ TagKey, TagValue })) }, success());
      return ok(null);
    });
  }

  async untag(caller: VaultCaller, keys: string[]): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.notPendingDeletion(caller);
      if (!r.ok) return r;
      const drop = new Set(keys);
      await this.save({ ...r.value, tags: r.value.tags.filter((t) => !drop.has(t.TagKey)) }, success());
      return ok(null);
    });
  }

  async listTags(caller: VaultCaller): Promise<VaultResult<Tag[]>> {
    return this.audited<Tag[]>(caller, async () => {
      const r = this.owned(caller);
      return r.ok ? ok(r.value.tags) : r;
    });
  }

  // ---- rotation ----------------------------------------------------------------------

  private rotationChange(caller: VaultCaller): VaultResult<KeyRecord> {
    const r = this.owned(caller);
    if (!r.ok) return r;
    return r.value.state === "Enabled" ? r : this.stateError(r.value);
  }

  async enableRotation(caller: VaultCaller, periodDays: number): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.rotationChange(caller);
      if (!r.ok) return r;
      const rec = r.value;
      // Re-enabling keeps the schedule if the period is unchanged; otherwise it starts now.
      const nextRotation = rec.rotationEnabled && rec.rotationPeriodDays === periodDays && rec.nextRotation !== undefined
        ? rec.nextRotation
        : this.now() + periodDays * DAY_MS;
      await this.save({ ...rec, rotationEnabled: true, rotationPeriodDays: periodDays, nextRotation }, success());
      return ok(null);
    });
  }

  async disableRotation(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.rotationChange(caller);
      if (!r.ok) return r;
      const rec: KeyRecord = { ...r.value, rotationEnabled: false };
      delete rec.nextRotation;
      await this.save(rec, success());
      return ok(null);
    });
  }

  async rotationStatus(caller: VaultCaller): Promise<VaultResult<RotationStatus & { keyArn: string }>> {
    return this.audited<RotationStatus & { keyArn: string }>(caller, async () => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      const rec = r.value;
      const enabled = rec.rotationEnabled && rec.state !== "PendingDeletion";
      return ok({
        keyArn: rec.arn,
        KeyRotationEnabled: enabled,
        ...(enabled ? { RotationPeriodInDays: rec.rotationPeriodDays, NextRotationDate: rec.nextRotation! / 1000 } : {}),
      });
    });
  }

  async rotateOnDemand(caller: VaultCaller): Promise<VaultResult<{ keyArn: string }>> {
    return this.audited<{ keyArn: string }>(caller, async (success) => {
      const r = this.rotationChange(caller);
      if (!r.ok) return r;
      const rec = r.value;
      if (rec.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
        return fail("LimitExceeded", `${rec.arn} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
      }
      if (rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation - this.now() < ON_DEMAND_CONFLICT_WINDOW_MS) {
        return fail("Conflict", `An automatic rotation of ${rec.arn} is in progress or about to start.`);
      }
      const rotated = await this.rotate(rec, "ON_DEMAND");
      await this.save({ ...rotated, onDemandRotations: rec.onDemandRotations + 1 }, success());
      return ok({ keyArn: rec.arn });
    });
  }

  /** Rotations, oldest first; with includeAll, the original material too. */
  async listRotations(caller: VaultCaller, includeAll = false): Promise<VaultResult<RotationEntry[]>> {
    return this.audited<RotationEntry[]>(caller, async () => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      const rec = r.value;
      return ok(
        rec.materials
          .filter((m) => includeAll || m.rotationType)
          .map((m) => ({
            KeyId: rec.arn,
            KeyMaterialId: m.id,
            KeyMaterialState: m.version === rec.currentVersion ? ("CURRENT" as const) : ("NON_CURRENT" as const),
            ...(m.rotationType ? { RotationDate: m.created / 1000, RotationType: m.rotationType } : {}),
          })),
      );
    });
  }

  // ---- grants ------------------------------------------------------------------------

  private catalogFor(account: string) {
    return regionStub(this.env.CATALOG, this.env.REGIONS[this.rec!.region] ?? {}, catalogName(this.rec!.region, account));
  }

  private retirementIndex(g: Grant): { account: string; entry: string } | undefined {
    const account = g.RetiringPrincipal ? /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(g.RetiringPrincipal)?.[1] ?? (/^\d{12}$/.test(g.RetiringPrincipal) ? g.RetiringPrincipal : undefined) : undefined;
    return account ? { account, entry: `${g.RetiringPrincipal}|${g.KeyId}|${g.GrantId}` } : undefined;
  }

  async createGrant(caller: VaultCaller, p: CreateGrantParams, dryRun = false): Promise<VaultResult<{ GrantId: string; GrantToken: string }>> {
    return this.audited<{ GrantId: string; GrantToken: string }>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (r.value.state === "Disabled") return this.stateError(r.value);
      if (r.value.state !== "Enabled") return this.stateError(r.value);
      if (dryRun) return ok({ GrantId: "", GrantToken: "" });
      const same = p.name !== undefined ? [...this.grants.values()].find((g) => g.Name === p.name) : undefined;
      if (same && same.GranteePrincipal === p.granteePrincipal && JSON.stringify([same.Operations, same.Constraints ?? null, same.RetiringPrincipal ?? null]) === JSON.stringify([p.operations, p.constraints ?? null, p.retiringPrincipal ?? null])) {
        return ok({ GrantId: same.GrantId, GrantToken: grantToken(r.value.keyId, same.GrantId, same.tokenSecret) });
      }
      if (this.grants.size >= MAX_GRANTS_PER_KEY) return fail("LimitExceeded", `${r.value.arn} has reached the limit of ${MAX_GRANTS_PER_KEY} grants.`);
      const grantId = hex(crypto.getRandomValues(new Uint8Array(32)));
      const grant: Grant = {
        KeyId: r.value.arn,
        GrantId: grantId,
        ...(p.name !== undefined ? { Name: p.name } : {}),
        CreationDate: this.now() / 1000,
        GranteePrincipal: p.granteePrincipal,
        ...(p.retiringPrincipal !== undefined ? { RetiringPrincipal: p.retiringPrincipal } : {}),
        IssuingAccount: `arn:aws:iam::${caller.account}:root`,
        Operations: p.operations,
        ...(p.constraints ? { Constraints: p.constraints } : {}),
        tokenSecret: b64url(crypto.getRandomValues(new Uint8Array(24))),
      };
      this.grants.set(grantId, grant);
      this.ctx.storage.put(`grant:${grantId}`, grant);
      const index = this.retirementIndex(grant);
      if (index) await this.catalogFor(index.account).indexRetirableGrant(index.entry, true);
      await this.save(r.value, success({ grantId }));
      return ok({ GrantId: grantId, GrantToken: grantToken(r.value.keyId, grantId, grant.tokenSecret) });
    }, dryRun);
  }

  async listGrants(caller: VaultCaller, filter: { grantId?: string; granteePrincipal?: string }): Promise<VaultResult<GrantListEntry[]>> {
    return this.audited<GrantListEntry[]>(caller, async () => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      if (filter.grantId !== undefined && !this.grants.has(filter.grantId)) return fail("InvalidGrantId", `Grant ${filter.grantId} does not exist on ${r.value.arn}.`);
      return ok([...this.grants.values()]
        .filter((g) => (filter.grantId === undefined || g.GrantId === filter.grantId) && (filter.granteePrincipal === undefined || g.GranteePrincipal === filter.granteePrincipal))
        .map(({ tokenSecret: _secret, ...entry }) => entry));
    });
  }

  /** Grants named in the retirement index (for ListRetirableGrants). */
  async describeGrants(grantIds: string[]): Promise<GrantListEntry[]> {
    return grantIds.map((id) => this.grants.get(id)).filter((g): g is Grant => g !== undefined).map(({ tokenSecret: _secret, ...entry }) => entry);
  }

  private async dropGrant(g: Grant): Promise<void> {
    this.grants.delete(g.GrantId);
    this.ctx.storage.delete(`grant:${g.GrantId}`);
    const index = this.retirementIndex(g);
    if (index) await this.catalogFor(index.account).indexRetirableGrant(index.entry, false);
  }

  /**
   * RetireGrant: by the retiring principal, by the grantee when the grant includes RetireGrant,
   * or by the account that created the grant (reference §2.7). A token must be this key's.
   */
  async retireGrant(caller: VaultCaller, by: { grantId?: string; token?: string }, dryRun = false): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const rec = this.rec;
      if (!rec) return fail("NotFound", "Key does not exist");
      let grantId = by.grantId;
      if (by.token !== undefined) {
        const t = parseGrantToken(by.token);
        if (!t || t.keyId !== rec.keyId) return fail("InvalidGrantToken", "The grant token is not valid.");
        const g = this.grants.get(t.grantId);
        if (g && !timingSafeEqual(g.tokenSecret, t.secret)) return fail("InvalidGrantToken", "The grant token is not valid.");
        grantId = t.grantId;
      }
      const g = grantId !== undefined ? this.grants.get(grantId) : undefined;
      if (!g) return fail("NotFound", `Grant ${grantId} does not exist on ${rec.arn}.`);
      const principal = caller.principalArn ?? `arn:aws:iam::${caller.account}:root`;
      // The issuing account: its root, or a principal of it that the policies allow kms:RetireGrant.
      const issuer = g.IssuingAccount === `arn:aws:iam::${caller.account}:root`
        && (caller.principalType === "Root" || this.authorize(rec, caller, "RetireGrant") === undefined);
      const may = g.RetiringPrincipal === principal
        || (g.GranteePrincipal === principal && g.Operations.includes("RetireGrant"))
        || issuer;
      if (!may) return fail("AccessDenied", `User: ${principal} is not authorized to perform: kms:RetireGrant on resource: ${rec.arn}`);
      if (dryRun) return ok(null);
      await this.dropGrant(g);
      await this.save(rec, success());
      return ok(null);
    }, dryRun);
  }

  async revokeGrant(caller: VaultCaller, grantId: string, dryRun = false): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.owned(caller);
      if (!r.ok) return r;
      const g = this.grants.get(grantId);
      if (!g) return fail("InvalidGrantId", `Grant ${grantId} does not exist on ${r.value.arn}.`);
      if (dryRun) return ok(null);
      await this.dropGrant(g);
      await this.save(r.value, success());
      return ok(null);
    }, dryRun);
  }

  // ---- key policy --------------------------------------------------------------------

  /**
   * Checks a new key policy (in `rec`): the 32 KB quota, well-formedness, and — unless bypassed —
   * the lockout safety check: the policy must still let the caller call PutKeyPolicy.
   */
  private checkPolicy(rec: KeyRecord, caller: VaultCaller, bypassLockoutCheck: boolean): VaultResult<never> | undefined {
    if (new TextEncoder().encode(rec.policy).length > MAX_KEY_POLICY_BYTES) return fail("LimitExceeded", `The key policy exceeds ${MAX_KEY_POLICY_BYTES} bytes.`);
    let doc: PolicyDocument;
    try {
      doc = parsePolicy(rec.policy);
    } catch (e) {
      if (e instanceof PolicyError) return fail("MalformedPolicy", e.message);
      throw e;
    }
    if (bypassLockoutCheck) return undefined;
    const saved = this.parsedPolicy;
    this.parsedPolicy = { version: rec.policyVersion, doc };
    const locked = this.authorize(rec, caller, "PutKeyPolicy");
    this.parsedPolicy = saved;
    return locked ? fail("MalformedPolicy", "The new key policy will not allow you to update the key policy in the future.") : undefined;
  }

  async getPolicy(caller: VaultCaller): Promise<VaultResult<string>> {
    return this.audited<string>(caller, async () => {
      const r = this.owned(caller);
      return r.ok ? ok(r.value.policy) : r;
    });
  }

  /**
   * Replaces the key policy. Unless bypassed, the lockout safety check requires that the new
   * policy still lets the caller call PutKeyPolicy.
   */
  async putPolicy(caller: VaultCaller, policy: string, bypassLockoutCheck: boolean): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.notPendingDeletion(caller);
      if (!r.ok) return r;
      const next: KeyRecord = { ...r.value, policy, policyVersion: r.value.policyVersion + 1 };
      const bad = this.checkPolicy(next, caller, bypassLockoutCheck);
      if (bad) return bad;
      await this.save(next, success());
      return ok(null);
    });
  }

  /** Records that an alias now points at this key, or no longer does (kms:ResourceAliases). */
  async aliasChanged(aliasName: string, present: boolean): Promise<void> {
    const rec = this.rec;
    if (!rec) return;
    const aliases = new Set(rec.aliases ?? []);
    if (present) aliases.add(aliasName);
    else aliases.delete(aliasName);
    await this.save({ ...rec, aliases: [...aliases].sort() });
  }

  /** For alias checks: the key's state and usage, if the caller's account owns it. */
  async aliasTarget(caller: VaultCaller): Promise<VaultResult<{ state: KeyState; keyUsage: string; arn: string }>> {
    return this.audited<{ state: KeyState; keyUsage: string; arn: string }>(caller, async () => {
      const r = this.owned(caller);
      return r.ok ? ok({ state: r.value.state, keyUsage: "ENCRYPT_DECRYPT", arn: r.value.arn }) : r;
    });
  }
}
