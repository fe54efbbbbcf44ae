// KeyVault: one Durable Object per KMS key — our HSM partition. This class is the shell: RPC
// methods, storage and alarms. What it holds lives in small modules: the key record and state
// table (key-record.ts), key material (material.ts), the key type (key-types/), grants
// (grants.ts), the audit outbox (outbox.ts) and a multi-Region key's calls to its related keys
// (replication.ts). Who may do what is decided by the one
// authorizer (src/authz), which every call names a permission for, or a reason to skip.
// Material is unwrapped only here; only ciphertext leaves (plus data keys, to the caller the
// API returns them to). All calls on one key serialise here. See docs/architecture.md.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import { auditLogStub, catalogStub, vaultStub } from "../placement.js";
import { issueGrantToken, verifyGrantToken } from "./grant-token.js";
import { newEventId, completeRecord, encodeRecord, serviceEvent, type AuditDraft, type CloudTrailRecord } from "../audit/record.js";
import { parsePolicy, PolicyError, type PolicyDocument } from "../policy/document.js";
import { authorize, type AuthzCaller, type AuthzRequest, type KeyFacts, type Permission } from "../authz/authorize.js";
import { batchGroupSteps, MATCH_STEPS_PER_AUTHORIZATION, stepsLeft, type MatchBudget } from "../policy/conditions.js";
import { identityPolicies } from "../authz/identity-policies.js";
import { DAY_MS, MAX_BATCH_ENTRIES, MAX_GRANTS_PER_KEY, MAX_KEY_POLICY_BYTES, MAX_ON_DEMAND_ROTATIONS, MAX_TAGS_PER_KEY, ON_DEMAND_CONFLICT_WINDOW_MS } from "../kms/limits.js";
import { keyAlarmDue, metadata, newKeyRecord, RECORD, STATES, stateError, upgradeRecord, type ImportedMaterial, type KeyRecord, type Material } from "./key-record.js";
import { findKeyType, keyTypeOf } from "./key-types/index.js";
import type { KeyAlgorithms, LoadedKey, MessageType } from "./key-types/types.js";
import { EXTERNAL_MU_LENGTH } from "./key-types/ml-dsa.js";
import { openSymmetric, sealSymmetric, symmetricHeader } from "./key-types/symmetric.js";
import { MaterialStore } from "./material.js";
import {
  allMaterialPresent, decodeImportToken, encodeImportToken, IMPORT_PARAMETERS, IMPORT_PARAMETERS_VALID_MS, importedMaterialId, MAX_IMPORT_PARAMETERS, newWrappingKey, unwrapImported,
  type ImportParameters, type WrappingAlgorithm, type WrappingKeySpec,
} from "./imports.js";
import { bytesEqual } from "../crypto/compare.js";
import { LastUsageTracker, TRACKED_OPERATIONS, TRACKING_EPOCH_MS, type KeyLastUsage } from "./last-usage.js";
import { RootSecretMismatch, ROOT_SECRET_MISMATCH, rootCheck, rootSecrets } from "./root-key.js";
import { GrantStore, grantFacts, listEntry, retirementIndex, type Grant } from "./grants.js";
import { AuditOutbox } from "./outbox.js";
import { Faults, runChaos, type ChaosAnswer, type ChaosCommand } from "./faults.js";
import { runBatch, type BatchCalls, type BatchReply, type BatchStats } from "./batch.js";
import { isPrimary, isReplica, newPrimary, owesReplicas, syncedRecord, type ReplicaParams, type SharedState } from "./multi-region.js";
import { Replication, SYNC_RETRY_MS, type ReplicateParams, type ReplicaResult } from "./replication.js";
import {
  fail, ok, SKIP, VAULT_ERROR_TYPES,
  type CreateGrantParams, type GrantListEntry, type CreateKeyParams, type ImportMaterialParams, type KeyMetadata, type KeyState, type RotationEntry, type SuccessRecord, type Tag, type VaultCaller, type VaultResult,
} from "./types.js";

const DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set.";
/** How soon a rotation postponed for a root-secret mismatch is tried again. */
const ROOT_MISMATCH_RETRY_MS = 3_600_000;
/** Storage key: set when the catalog found this vault without the key it registered (claimUnmade); create() then refuses. */
const ABANDONED = "abandoned";
/** How long a batch request's ReEncrypt destination budget is kept (KeyVault.destinationBudgets): longer than a batch call runs. */
const DESTINATION_BUDGET_MS = 120_000;
/** At most this many requests' destination budgets are kept (the oldest go first). */
const DESTINATION_BUDGETS = 1024;

/** keyMaterialId is named for symmetric keys only (AWS returns KeyMaterialId for those). */
export interface EncryptResult { blob: Uint8Array; keyArn: string; keyMaterialId?: string }
export interface DecryptResult { plaintext: Uint8Array; keyArn: string; keyMaterialId?: string }
export interface DataKeyResult { blob: Uint8Array; plaintext?: Uint8Array; keyArn: string; keyMaterialId: string }
export interface DataKeyPairResult { privateKeyBlob: Uint8Array; privateKey?: Uint8Array; publicKey: Uint8Array; keyArn: string; keyMaterialId: string }
export interface ReEncryptResult { blob: Uint8Array; sourceKeyArn: string; destinationKeyArn: string; sourceKeyMaterialId?: string; destinationKeyMaterialId?: string }
export interface PublicKeyResult { keyArn: string; publicKey: Uint8Array; keySpec: string; keyUsage: string; algorithms: KeyAlgorithms; customerMasterKeySpec: boolean }
export interface SharedSecretResult { keyArn: string; sharedSecret: Uint8Array; ciphertext?: Uint8Array }
export interface RotationStatus { KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: number }

/** A key's algorithm lists, made once per spec and usage (they are read on every crypto call). */
const ALGORITHMS = new Map<string, KeyAlgorithms>();
function algorithmsOf(spec: string, usage: string): KeyAlgorithms {
  const id = `${spec} ${usage}`;
  let a = ALGORITHMS.get(id);
  if (!a) ALGORITHMS.set(id, (a = keyTypeOf(spec).algorithms(usage)));
  return a;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const checked = (caller: VaultCaller): Permission | undefined => ("check" in caller.authz ? caller.authz.check : undefined);

export class KeyVault extends DurableObject<Env> {
  private rec: KeyRecord | undefined;
  private readonly material: MaterialStore;
  private readonly grants: GrantStore;
  private readonly outbox: AuditOutbox;
  private readonly lastUsage: LastUsageTracker;
  /** The key policy parsed once per policy version. */
  private parsedPolicy: { version: number; doc: PolicyDocument } | undefined;
  /** What allowed each caller's authorized call (for its audit record). */
  private readonly basis = new WeakMap<VaultCaller, string>();
  /** A batch entry's caller: the match steps its group has left (runBatch). */
  private readonly matchBudgets = new WeakMap<VaultCaller, MatchBudget>();
  /**
   * The match steps ReEncrypt destination halves of one batch request (by its request id) have left
   * in this vault, whatever source keys' groups they come from: without it, a request spreading its
   * entries over 40 source keys ran 40 groups' steps here (a second outsider's review). Kept for
   * DESTINATION_BUDGET_MS, at most DESTINATION_BUDGETS of them.
   */
  private readonly destinationBudgets = new Map<string, { budget: MatchBudget; until: number }>();
  /** Milliseconds added to the wall clock; tests move time forward with it. */
  clockOffsetMs = 0;
  /** Named fault points tests arm (faults.ts). */
  readonly faults = new Faults();
  /** The alarm is destroying the key (its waiting period is over): its deletion can no longer be cancelled. */
  private destroying = false;
  /** Multi-Region keys: the calls between this key's vault and its related keys' (replication.ts). */
  private readonly replication: Replication;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.material = new MaterialStore(() => rootSecrets(env));
    this.grants = new GrantStore(ctx.storage);
    this.outbox = new AuditOutbox(ctx.storage, (region, account, records, batchId) =>
      this.auditLog(region, account).append(region, account, records.map(encodeRecord), batchId), this.faults);
    // KEY_LAST_USAGE = "off" turns tracking off (for bench:last-usage's comparison only).
    this.lastUsage = new LastUsageTracker(ctx.storage, env.KEY_LAST_USAGE !== "off");
    this.replication = new Replication({
      env,
      faults: this.faults,
      material: this.material,
      rec: () => this.rec,
      now: () => this.now(),
      save: (rec, audit, sync) => this.save(rec, audit, sync),
      scheduleAlarm: (rec) => this.scheduleAlarm(rec),
      retryAt: (at) => ctx.storage.setAlarm(at),
      audited: (caller, body) => this.audited(caller, body),
      access: (caller, states) => this.access(caller, states),
      underCurrentRoot: (rec) => this.underCurrentRoot(rec),
      checkPolicy: (rec, caller, lockout) => this.checkPolicy(rec, caller, lockout),
    });
    ctx.blockConcurrencyWhile(async () => {
      this.rec = upgradeRecord(await ctx.storage.get<KeyRecord>(RECORD));
      await this.outbox.load();
      await this.grants.load();
      await this.lastUsage.load();
      if (owesReplicas(this.rec) || this.rec?.handover) this.replication.syncDue = Date.now();
    });
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  // ---- storage and alarms ------------------------------------------------------------

  /**
   * Saves the key record, and the request's audit records with it: the puts are issued without
   * an await between them, so they commit in one transaction, and the output gate holds the
   * response until that transaction is durable.
   */
  private async save(rec: KeyRecord, audit?: CloudTrailRecord[], sync: { acked?: Record<string, number>; push?: boolean } = {}): Promise<void> {
    // A multi-Region key's record is merged with the stored one, and what a primary's change owes
    // its replicas is stored in this same write, then pushed (multi-region.ts; the alarm retries).
    const synced = syncedRecord(this.rec, rec, sync.acked);
    rec = synced.rec;
    if (synced.owed) this.replication.syncDue = Date.now() + SYNC_RETRY_MS;
    this.rec = rec;
    this.lastUsage.flush();
    const writes = [this.ctx.storage.put(RECORD, rec), ...this.outbox.put(audit ?? [])];
    writes.push(this.scheduleAlarm(rec));
    await Promise.all(writes);
    if (synced.owed && sync.push !== false) await this.replication.pushReplicas();
  }

  /**
   * A call that changes something beside the key record (its grants) stores its audit records
   * with the record as it is now: the call awaited since it read it (the catalog's retirement
   * index), and the record it read would undo what other calls saved meanwhile (an outsider's
   * review saw a rotation and a DisableKey lost that way).
   */
  private async saveUnchanged(audit: () => CloudTrailRecord[] | undefined): Promise<VaultResult<never> | undefined> {
    // Destroyed meanwhile (its alarm ran): the caller's handler records the refusal.
    if (!this.rec) return fail("NotFound", "Key does not exist");
    await this.save(this.rec, audit());
    return undefined;
  }

  private async scheduleAlarm(rec: KeyRecord | undefined): Promise<void> {
    const due = [keyAlarmDue(rec, this.clockOffsetMs), this.outbox.due, this.replication.syncDue].filter((x): x is number => x !== undefined);
    if (due.length) await this.ctx.storage.setAlarm(Math.min(...due));
    else await this.ctx.storage.deleteAlarm();
  }

  /** Alarm: forward audit records; destroy the key at the end of its deletion window, or rotate it when due. */
  async alarm(): Promise<void> {
    this.lastUsage.flush();
    if (this.outbox.due !== undefined && this.outbox.due <= Date.now()) {
      try {
        await this.forwardAudit();
      } catch (e) {
        console.error(`audit forwarding failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // A multi-Region primary: a handover a crash interrupted is finished or undone, and what its
    // replicas have not acknowledged is pushed again.
    if (this.rec?.handover) await this.replication.finishHandover();
    if (owesReplicas(this.rec)) await this.replication.pushReplicas();
    else if (!this.rec?.handover) this.replication.syncDue = undefined;
    const rec = this.rec;
    const now = this.now();
    if (rec?.state === "PendingDeletion" && rec.deletionDate !== undefined && rec.deletionDate <= now) {
      await this.destroy(rec);
      return;
    }
    if (rec && (await this.expireMaterial(rec, now))) return;
    if (rec?.state === "Enabled" && rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation <= now && !isReplica(rec)) {
      let rotated: KeyRecord | undefined;
      try {
        rotated = await this.rotate(rec, "AUTOMATIC", rec);
      } catch (e) {
        if (!(e instanceof RootSecretMismatch)) throw e;
        // No new material under a root secret that does not open the old: retry in an hour, not in a loop.
        console.error(`rotation of ${rec.arn} postponed: ${e.message}`);
        await this.ctx.storage.setAlarm(Date.now() + ROOT_MISMATCH_RETRY_MS);
        return;
      }
      if (!rotated) {
        // The key changed while its material was made: the alarm looks at it again.
        await this.scheduleAlarm(this.rec);
        return;
      }
      rotated.nextRotation = now + rec.rotationPeriodDays! * DAY_MS;
      await this.save(rotated, [serviceEvent("RotateKey", rec.region, rec.account, rec.arn, now)]);
      return;
    }
    await this.scheduleAlarm(rec);
  }

  /** End of the deletion window: audit first (outbox, then the DeleteKey event), then destroy. */
  private async destroy(rec: KeyRecord): Promise<void> {
    // Its calls to other objects let other calls on the key in: CancelKeyDeletion is refused
    // meanwhile (cancelDeletion), or it would answer ok for a key destroyed a moment later (an
    // outsider's review). Once the DeleteKey record is sent, for good in this instance.
    this.destroying = true;
    let recorded = false;
    try {
      // A multi-Region replica tells its primary first, which drops it from the configuration.
      if (isReplica(rec) && !(await this.replication.replicaGone(rec))) return;
      await this.forwardAudit();
      // The record is sent as a batch of its own, named for this destruction: if the vault dies
      // before the key is gone, the alarm's retry sends it again and the AuditLog drops it (DeleteKey
      // once; npm run chaos's regression test, test/workers/chaos-audit.test.ts).
      const deleteKey = encodeRecord(serviceEvent("DeleteKey", rec.region, rec.account, rec.arn, this.now()));
      await this.auditLog(rec.region, rec.account).append(rec.region, rec.account, [deleteKey], `destroy:${rec.arn}:${rec.deletionDate}`);
      recorded = true;
      this.faults.hit("after-delete-record");
      await this.catalogFor(rec.account).removeKey(rec.keyId);
      this.material.wipe();
      this.rec = undefined;
      this.grants.clear();
      this.outbox.clear();
      this.lastUsage.clear();
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    } finally {
      if (!recorded) this.destroying = false;
    }
  }

  private auditLog(region: string, account: string) {
    return auditLogStub(this.env, region, account);
  }

  private catalogFor(account: string) {
    return catalogStub(this.env, this.rec!.region, account);
  }

  // ---- chaos -------------------------------------------------------------------------

  /**
   * The chaos driver's hook (docs/chaos.md): refused unless CHAOS = "on". Reached only over
   * Durable Object RPC from the driver (no route of the Worker calls it); it runs no KMS
   * operation and answers only counts and sizes, never a record or material.
   */
  async chaos(cmd: ChaosCommand): Promise<ChaosAnswer> {
    return runChaos(this.env, this, {
      abort: () => this.ctx.abort("chaos: abort"),
      // The alarm is set in real time from the key's dates on this clock, so it is set again.
      clockMoved: () => this.scheduleAlarm(this.rec),
      stats: async (withRows) => {
        const dbBytes = this.ctx.storage.sql.databaseSize;
        if (!withRows) return { dbBytes };
        const outbox = await this.ctx.storage.list({ prefix: "audit:" });
        return { dbBytes, rows: { "audit:": outbox.size }, records: outbox.size };
      },
    }, cmd);
  }

  // ---- audit -------------------------------------------------------------------------

  /** The newest records still waiting in the outbox, as the tail chooses them (for `audit tail`, which the authorizer decided). */
  async pendingAudit(_decided: typeof SKIP.admin, limit: number): Promise<{ records: CloudTrailRecord[]; truncated: boolean }> {
    return this.outbox.pending(limit);
  }

  async forwardAudit(): Promise<number> {
    try {
      return await this.outbox.forward();
    } catch (e) {
      await this.scheduleAlarm(this.rec);
      throw e;
    }
  }

  /**
   * Runs one operation and completes the record of its outcome when the caller passed an audit
   * draft and the key is one the caller may know of (otherwise the handler completes it). State
   * changes store their success record through `success`, in the same write as the change;
   * everything else (reads, crypto, failures) returns its records, which the Worker appends to
   * the key's AuditLog ingest shard (group commit there) before it answers.
   */
  private async audited<T>(caller: VaultCaller, body: (success: SuccessRecord) => Promise<VaultResult<T>>, dryRun = false): Promise<VaultResult<T>> {
    let recorded = false;
    // Cross-account use is recorded in both accounts (one shared event id); a call the authorizer
    // did not allow (refused, or failing before it was asked) only in the caller's, so no other
    // account can write into the key owner's trail
    // (https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html).
    const bothAccounts = (record: CloudTrailRecord): CloudTrailRecord[] => {
      const owner = this.rec?.account;
      if (owner === undefined || owner === caller.account || !this.basis.has(caller)) return [record];
      record.sharedEventID = record.eventID;
      return [record, { ...record, eventID: newEventId(), recipientAccountId: owner }];
    };
    const success: SuccessRecord = (responseElements) => {
      if (!caller.audit || !this.rec) return undefined;
      recorded = true;
      return bothAccounts(completeRecord(caller.audit, { responseElements, keyArn: this.rec.arn, authorization: this.basis.get(caller) }));
    };
    let result: VaultResult<T>;
    try {
      result = await body(success);
    } catch (e) {
      // Material sealed under another root secret: a clear answer, not an internal error.
      if (!(e instanceof RootSecretMismatch)) throw e;
      result = fail("KeyUnavailable", ROOT_SECRET_MISMATCH);
    }
    if (!caller.audit) return result;
    if (recorded) return { ...result, audited: true };
    // Records another vault completed for this request (ReEncrypt's destination key owner).
    const others = result.records ?? [];
    const rec = this.rec;
    if (!rec || !this.visibleTo(caller, rec)) return result;
    // What allowed the call (none for a call refused or failing before the authorizer) goes in the record.
    const authorization = this.basis.get(caller);
    const record = !result.ok
      ? completeRecord(caller.audit, { errorCode: VAULT_ERROR_TYPES[result.code], errorMessage: result.detail ?? result.message, keyArn: rec.arn, authorization })
      : dryRun
        ? completeRecord(caller.audit, { errorCode: "DryRunOperationException", errorMessage: DRY_RUN_MESSAGE, keyArn: rec.arn, authorization })
        : completeRecord(caller.audit, { keyArn: rec.arn, authorization });
    for (const other of others) other.sharedEventID = record.eventID;
    const records = bothAccounts(record);
    // Last usage: a successful cryptographic call, with the event id of the key owner's record.
    if (result.ok && !dryRun && TRACKED_OPERATIONS.has(record.eventName)) {
      const own = records.find((x) => x.recipientAccountId === rec.account) ?? record;
      this.lastUsage.note({ operation: record.eventName, at: this.now(), eventId: own.eventID, requestId: record.requestID ?? "" });
    }
    return { ...result, records: [...records, ...others] };
  }

  // ---- authorization -----------------------------------------------------------------

  /** Whether the caller may learn that this key exists: named in its account, or across accounts for a cross-account permission. */
  private visibleTo(caller: VaultCaller, rec: KeyRecord): boolean {
    const named = caller.keyAccount ?? caller.account;
    if (named !== "*" && named !== rec.account) return false;
    return rec.account === caller.account || checked(caller)?.crossAccount === true;
  }

  private policyOf(rec: KeyRecord): PolicyDocument {
    if (this.parsedPolicy?.version !== rec.policyVersion) this.parsedPolicy = { version: rec.policyVersion, doc: parsePolicy(rec.policy, "stored-key") };
    return this.parsedPolicy.doc;
  }

  /**
   * The key's facts for the authorizer, made once per record and policy (records are replaced, not
   * changed, when the key changes): a batch's entries then share one object, and the authorizer
   * one key context (authorize.ts).
   */
  private keyFacts(rec: KeyRecord, policy: PolicyDocument): KeyFacts {
    const last = this.lastKeyFacts;
    if (last && last.rec === rec && last.facts.policy === policy) return last.facts;
    const facts: KeyFacts = {
      arn: rec.arn, account: rec.account, policy, keySpec: rec.keySpec, keyUsage: rec.keyUsage, origin: rec.origin, tags: rec.tags, aliases: rec.aliases ?? [],
      ...(rec.multiRegion ? { multiRegionKeyType: isPrimary(rec) ? ("PRIMARY" as const) : ("REPLICA" as const) } : {}),
    };
    this.lastKeyFacts = { rec, facts };
    return facts;
  }
  private lastKeyFacts: { rec: KeyRecord; facts: KeyFacts } | undefined;

  /**
   * The caller as the authorizer sees it (its identity policies parsed), made again only when the
   * caller differs from the last one: a batch's entries share their principal and its list of
   * policies (one object in the call, src/vault/batch.ts). The authorizer reads it, never changes it.
   */
  private authzCaller(caller: VaultCaller): AuthzCaller {
    const last = this.lastAuthzCaller;
    if (last && last.from.policies === caller.policies && last.from.principalArn === caller.principalArn && last.from.account === caller.account
      && last.from.principalType === caller.principalType && last.from.service === caller.service) return last.made;
    const made: AuthzCaller = { arn: caller.principalArn, accountId: caller.account, type: caller.principalType, policies: identityPolicies(caller.policies), ...(caller.service ? { service: caller.service } : {}) };
    this.lastAuthzCaller = { from: { policies: caller.policies, principalArn: caller.principalArn, account: caller.account, principalType: caller.principalType, service: caller.service }, made };
    return made;
  }
  private lastAuthzCaller: { from: Pick<VaultCaller, "policies" | "principalArn" | "account" | "principalType" | "service">; made: AuthzCaller } | undefined;

  /** What the authorizer needs to decide `permission` for the caller on this key. */
  private request(rec: KeyRecord, policy: PolicyDocument, caller: VaultCaller, permission: Permission): AuthzRequest {
    return {
      caller: this.authzCaller(caller),
      permission,
      resource: rec.arn,
      resourceAccount: rec.account,
      key: this.keyFacts(rec, policy),
      grants: this.grants.facts(),
      context: caller.context,
      ...(caller.encryptionContext ? { encryptionContext: caller.encryptionContext } : {}),
      matchBudget: this.matchBudgetOf(caller),
    };
  }

  /**
   * A batch entry's group budget (runBatch), or, for a ReEncrypt's destination half, one of the steps
   * its source vault sent, charged to its request's budget in this vault as well.
   */
  private matchBudgetOf(caller: VaultCaller): MatchBudget | undefined {
    let budget = this.matchBudgets.get(caller);
    if (!budget && caller.matchStepsLeft !== undefined) {
      budget = { left: stepsLeft(caller.matchStepsLeft), also: this.destinationBudget(caller.audit?.requestID ?? "") };
      this.matchBudgets.set(caller, budget);
    }
    return budget;
  }

  private destinationBudget(requestId: string): MatchBudget {
    const now = Date.now();
    const kept = this.destinationBudgets.get(requestId);
    if (kept && kept.until > now) return kept.budget;
    if (this.destinationBudgets.size >= DESTINATION_BUDGETS) {
      for (const [id, b] of this.destinationBudgets) if (b.until <= now) this.destinationBudgets.delete(id);
      // Still full: the oldest goes (a Map iterates in insertion order).
      if (this.destinationBudgets.size >= DESTINATION_BUDGETS) this.destinationBudgets.delete(this.destinationBudgets.keys().next().value!);
    }
    const budget = { left: batchGroupSteps(MAX_BATCH_ENTRIES) };
    this.destinationBudgets.delete(requestId);
    this.destinationBudgets.set(requestId, { budget, until: now + DESTINATION_BUDGET_MS });
    return budget;
  }

  /**
   * The key record if it exists, the caller may know of it, its state allows the call, and the
   * authorizer allows the caller's permission (or the call names why none is checked).
   */
  private access(caller: VaultCaller, states: (s: KeyState) => boolean, extra?: Partial<AuthzRequest>): VaultResult<KeyRecord> {
    const rec = this.rec;
    if (!rec || !this.visibleTo(caller, rec)) return fail("NotFound", "Key does not exist");
    const permission = checked(caller);
    if (permission) {
      const request = this.request(rec, this.policyOf(rec), caller, permission);
      // A copy only when something is added (CreateGrant's new grant, RetireGrant's grant): not per batch entry.
      const decision = authorize(extra ? { ...request, ...extra } : request);
      if (!decision.allow) return decision.hidden ? fail("NotFound", "Key does not exist") : fail("AccessDenied", decision.message);
      this.basis.set(caller, decision.basis);
    }
    return states(rec.state) ? ok(rec) : stateError(rec);
  }

  // ---- material ----------------------------------------------------------------------

  /**
   * The record as the current root secret seals it (rewrapped and saved during a rotation of the
   * secret). Saved only over the record it was made from: a call that changed the key while the
   * root keys were derived, or since the caller read `rec` (a DisableKey, a tag), would be undone,
   * and a key destroyed meanwhile stored again. Not saved, the rewrap serves this call, and the
   * next call rewraps the record as it is then.
   */
  private async underCurrentRoot(rec: KeyRecord): Promise<KeyRecord> {
    const out = await this.material.ensureCurrent(rec);
    if (out !== rec && this.rec === rec) {
      await this.save(out);
      this.material.stored();
    }
    return out;
  }

  /** On-demand rotation of an EXTERNAL key: the material imported for it (ImportType NEW_KEY_MATERIAL) becomes current. */
  private rotateToImported(rec: KeyRecord): VaultResult<KeyRecord> {
    const pending = rec.materials.find((m) => m.imported?.pendingRotation);
    if (!pending) return fail("UnsupportedOperation", `${rec.arn} has no key material pending rotation; import it first (ImportKeyMaterial with ImportType NEW_KEY_MATERIAL).`);
    const { pendingRotation: _bound, ...imported } = pending.imported!;
    const materials = rec.materials.map((m) => (m === pending ? { ...m, imported, rotationType: "ON_DEMAND" as const, created: this.now() } : m));
    return ok({ ...rec, materials, currentVersion: pending.version });
  }

  /**
   * `current` with a new material version, current; or undefined if the stored record changed
   * while the material was made. Making it awaits, and other calls on the key run meanwhile (a
   * DisableKey, a key policy, a push or a handover of a multi-Region key): saving a rotation made
   * from the record before them would undo them, and a version number taken from it may have been
   * given to other material since (a push). The caller refuses (or, the alarm, tries again).
   */
  private async rotate(current: KeyRecord, type: "AUTOMATIC" | "ON_DEMAND", read = this.rec): Promise<KeyRecord | undefined> {
    const rec = await this.underCurrentRoot(current);
    // `read` is the record the caller decided on; underCurrentRoot saves `rec` itself when it
    // rewraps the material under a new root secret, a write of this call's own.
    const unchanged = () => this.rec === read || this.rec === rec;
    if (!unchanged()) return undefined;
    const version = Math.max(...rec.materials.map((m) => m.version)) + 1;
    const material = await this.material.create(keyTypeOf(rec.keySpec), rec.keyUsage, rec.region, version, this.now(), type);
    if (!unchanged()) {
      // Made for nothing: the store kept it unwrapped under this version number, which a push may
      // have given other material meanwhile. Forgotten, that version is unwrapped from the record.
      this.material.forget(version);
      return undefined;
    }
    // The new version is stored in the same write that makes it current (docs/architecture.md).
    return { ...rec, materials: [...rec.materials, material], currentVersion: version };
  }

  private materialId(rec: KeyRecord, version: number): string {
    return rec.materials.find((m: Material) => m.version === version)!.id;
  }

  // seal and open: after a vault's first call the root secret is checked and the material
  // unwrapped, so they wait on nothing then (a batch runs up to 1,000 entries one after another,
  // and each await was a few promises and a microtask turn per entry).
  private async seal(current: KeyRecord, plaintext: Uint8Array, context: Record<string, string> | undefined): Promise<{ blob: Uint8Array; keyMaterialId: string }> {
    const rec = this.material.currentIfVerified(current) ?? (await this.underCurrentRoot(current));
    const key = this.material.cached(rec.currentVersion) ?? (await this.material.get(rec, rec.currentVersion));
    if (!key) throw new Error("current key material missing");
    return { blob: sealSymmetric(key, rec.keyId, rec.currentVersion, plaintext, context), keyMaterialId: this.materialId(rec, rec.currentVersion) };
  }

  private async open(current: KeyRecord, blob: Uint8Array, context: Record<string, string> | undefined): Promise<VaultResult<{ plaintext: Uint8Array; keyMaterialId: string }>> {
    const rec = this.material.currentIfVerified(current) ?? (await this.underCurrentRoot(current));
    const header = symmetricHeader(blob);
    if (!header) return fail("InvalidCiphertext", "", "not a v1 ciphertext blob");
    if (header.keyId !== rec.keyId) return fail("IncorrectKey", "", `blob is for key ${header.keyId}`);
    // The version is looked up in the record first: the store's cache must not answer for a version the key does not have.
    const m = rec.materials.find((x: Material) => x.version === header.materialVersion);
    const key = m && (this.material.cached(header.materialVersion) ?? (await this.material.get(rec, header.materialVersion)));
    if (!m || !key) return fail("InvalidCiphertext", "", `unknown key material version ${header.materialVersion}`);
    const opened = openSymmetric(key, header, blob, context);
    if (!opened.ok) return fail("InvalidCiphertext", "", opened.reason);
    return ok({ plaintext: opened.value, keyMaterialId: m.id });
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /**
   * The catalog's check of a registration (catalog.ts, VERIFY_REGISTRATION_MS): whether this vault
   * holds its key; if not, its CreateKey died after registering it, and this vault refuses to
   * make the key from now on, so that the catalog may drop the listing.
   */
  async claimUnmade(_decided: typeof SKIP.noKeyYet): Promise<"exists" | "abandoned"> {
    if (this.rec) return "exists";
    await this.ctx.storage.put(ABANDONED, true);
    return "abandoned";
  }

  async create(caller: VaultCaller, p: CreateKeyParams, arn: string): Promise<VaultResult<KeyMetadata>> {
    return this.audited(caller, async (success) => {
      if (this.rec) return fail("AlreadyExists", "Key already exists");
      if (await this.ctx.storage.get(ABANDONED)) return fail("AlreadyExists", "This key's creation was abandoned; create the key again");
      const type = keyTypeOf(p.keySpec);
      const draft: KeyRecord = {
        ...newKeyRecord({
          ...p, arn, keySpec: type.spec, origin: p.origin ?? "AWS_KMS", now: this.now(), rootCheck: await rootCheck(rootSecrets(this.env).current, p.region),
        }),
        ...(p.keyManager === "AWS" ? { keyManager: "AWS" as const, rotationEnabled: true, rotationPeriodDays: 365, nextRotation: this.now() + 365 * DAY_MS } : {}),
        // A multi-Region primary key, with no replicas yet (ReplicateKey).
        ...(p.multiRegion ? { multiRegion: newPrimary(p.region) } : {}),
      };
      if (p.policy !== undefined) {
        const bad = this.checkPolicy(draft, caller, p.lockout);
        if (bad) return bad;
      }
      // An EXTERNAL key has no material until ImportKeyMaterial.
      const rec: KeyRecord = p.origin === "EXTERNAL" ? draft : { ...draft, materials: [await this.material.create(type, p.keyUsage, p.region, 1, this.now())] };
      this.rec = rec;
      await this.save(rec, success({ keyMetadata: { ...metadata(rec) } }));
      return ok(metadata(rec));
    });
  }

  async describe(caller: VaultCaller): Promise<VaultResult<KeyMetadata>> {
    return this.audited<KeyMetadata>(caller, async () => {
      const r = this.access(caller, STATES.any);
      return r.ok ? ok(metadata(r.value)) : r;
    });
  }

  async enable(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.enabledOrDisabled);
      if (!r.ok) return r;
      // Only a key with all its material can be Enabled (an EXTERNAL key without it waits for an import).
      if (r.value.origin === "EXTERNAL" && !allMaterialPresent(r.value)) return fail("InvalidState", `${r.value.arn} is pending import.`);
      let rec: KeyRecord = { ...r.value, state: "Enabled" };
      // A key that missed its rotation while disabled rotates as soon as it is enabled (a replica's primary rotates it).
      if (rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation <= this.now() && !isReplica(rec)) {
        const rotated = await this.rotate(rec, "AUTOMATIC");
        if (!rotated) return fail("InvalidState", `${rec.arn} changed while it was being enabled; retry.`);
        rec = rotated;
        rec.nextRotation = this.now() + rec.rotationPeriodDays! * DAY_MS;
      }
      await this.save(rec, success());
      return ok(null);
    });
  }

  async disable(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.enabledOrDisabled);
      if (!r.ok) return r;
      await this.save({ ...r.value, state: "Disabled" }, success());
      return ok(null);
    });
  }

  async scheduleDeletion(caller: VaultCaller, days: number): Promise<VaultResult<{ keyArn: string; deletionDate?: number; state: KeyState }>> {
    return this.audited<{ keyArn: string; deletionDate?: number; state: KeyState }>(caller, async (success) => {
      const r = this.access(caller, STATES.notPendingDeletion);
      if (!r.ok) return r;
      // A primary handing over its role (UpdatePrimaryRegion) cannot be scheduled for deletion meanwhile.
      if (r.value.state === "Updating") return stateError(r.value);
      // Nor while a ReplicateKey is making it a replica: the replica would outlive its primary.
      if (isPrimary(r.value) && this.replication.replicatingNow) return fail("InvalidState", `${r.value.arn} is being replicated (a ReplicateKey is in progress); retry once it is done.`);
      // A multi-Region primary with replicas waits for them to be deleted; its own waiting period
      // starts when the last one is (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-delete.html).
      if (isPrimary(r.value) && r.value.multiRegion!.replicaRegions.length) {
        await this.save({ ...r.value, state: "PendingReplicaDeletion", pendingWindowDays: days }, success({ keyId: r.value.arn, keyState: "PendingReplicaDeletion", pendingWindowInDays: days }));
        return ok({ keyArn: r.value.arn, state: "PendingReplicaDeletion" as KeyState });
      }
      const deletionDate = this.now() + days * DAY_MS;
      await this.save({ ...r.value, state: "PendingDeletion", deletionDate }, success({ keyId: r.value.arn, keyState: "PendingDeletion", deletionDate: new Date(deletionDate).toISOString() }));
      return ok({ keyArn: r.value.arn, deletionDate: deletionDate / 1000, state: "PendingDeletion" as KeyState });
    });
  }

  async cancelDeletion(caller: VaultCaller): Promise<VaultResult<{ keyArn: string }>> {
    return this.audited<{ keyArn: string }>(caller, async (success) => {
      const r = this.access(caller, STATES.any);
      if (!r.ok) return r;
      if (r.value.state !== "PendingDeletion" && r.value.state !== "PendingReplicaDeletion") return fail("InvalidState", `${r.value.arn} is not pending deletion.`);
      if (this.destroying) return fail("InvalidState", `${r.value.arn} is being deleted: its waiting period is over.`);
      // Disabled, as AWS; but an EXTERNAL key missing any of its material (never imported, or
      // deleted or expired while pending deletion) is PendingImport: it cannot be used.
      const rec: KeyRecord = { ...r.value, state: r.value.origin === "EXTERNAL" && !allMaterialPresent(r.value) ? "PendingImport" : "Disabled" };
      delete rec.deletionDate;
      delete rec.pendingWindowDays;
      await this.save(rec, success());
      return ok({ keyArn: rec.arn });
    });
  }

  async updateDescription(caller: VaultCaller, description: string): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.notPendingDeletion);
      if (!r.ok) return r;
      await this.save({ ...r.value, description }, success());
      return ok(null);
    });
  }

  // ---- cryptographic operations ------------------------------------------------------
  // Each checks, after access: the key's usage allows the operation, the algorithm is one of the
  // key's, and the message suits the algorithm — then uses the key type (key-types/).

  /** The operation is one the key's usage allows (InvalidKeyUsageException otherwise). */
  private usage(rec: KeyRecord, operation: string, usage: string, symmetric?: boolean): VaultResult<never> | undefined {
    if (rec.keyUsage !== usage) return fail("InvalidKeyUsage", `${rec.arn} key usage is ${rec.keyUsage} which is not valid for ${operation}.`);
    if (symmetric !== undefined && symmetric !== (rec.keySpec === "SYMMETRIC_DEFAULT")) {
      return fail("InvalidKeyUsage", `${rec.arn} is a ${rec.keySpec} key; ${operation} requires a symmetric encryption key (SYMMETRIC_DEFAULT).`);
    }
    return undefined;
  }

  /** The algorithm is one of the key's (InvalidKeyUsageException otherwise). */
  private algorithm(rec: KeyRecord, list: keyof KeyAlgorithms, algorithm: string): VaultResult<never> | undefined {
    if (rec.keySpec === "SYMMETRIC_DEFAULT" && algorithm === "SYMMETRIC_DEFAULT") return undefined;
    const allowed = algorithmsOf(rec.keySpec, rec.keyUsage)[list] ?? [];
    return allowed.includes(algorithm) ? undefined : fail("InvalidKeyUsage", `Algorithm ${algorithm} is incompatible with key spec ${rec.keySpec}. Its algorithms: ${allowed.join(", ")}.`);
  }

  /** The current material of an asymmetric or HMAC key, loaded by its key type. */
  private async loaded(current: KeyRecord): Promise<LoadedKey> {
    // Loaded once: after that, no root-secret check or promise chain per call.
    const ready = this.material.ready(current.currentVersion);
    if (ready) return ready;
    const rec = await this.underCurrentRoot(current);
    const key = await this.material.load(rec, keyTypeOf(rec.keySpec), rec.currentVersion);
    if (!key) throw new Error("current key material missing");
    return key;
  }

  /** Asymmetric keys take no encryption context (AWS: it is for symmetric keys only). */
  private static noContext(context: Record<string, string> | undefined): VaultResult<never> | undefined {
    return context && Object.keys(context).length
      ? fail("Validation", "EncryptionContext is not supported with asymmetric KMS keys.")
      : undefined;
  }

  encrypt(
    caller: VaultCaller, plaintext: Uint8Array, context: Record<string, string> | undefined, dryRun = false, algorithm = "SYMMETRIC_DEFAULT",
  ): Promise<VaultResult<EncryptResult> & { matchStepsLeft?: number }> {
    const result = this.encryptAudited(caller, plaintext, context, dryRun, algorithm);
    if (caller.matchStepsLeft === undefined) return result; // not a ReEncrypt's destination half: no extra turn
    return result.then((r) => ({ ...r, matchStepsLeft: this.matchBudgets.get(caller)?.left ?? caller.matchStepsLeft }));
  }

  private encryptAudited(caller: VaultCaller, plaintext: Uint8Array, context: Record<string, string> | undefined, dryRun: boolean, algorithm: string): Promise<VaultResult<EncryptResult>> {
    return this.audited<EncryptResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const rec = r.value;
      const bad = this.usage(rec, "Encrypt", "ENCRYPT_DECRYPT") ?? this.algorithm(rec, "EncryptionAlgorithms", algorithm);
      if (bad) return bad;
      if (rec.keySpec !== "SYMMETRIC_DEFAULT") {
        const max = keyTypeOf(rec.keySpec).maxPlaintext!(algorithm);
        const refused = KeyVault.noContext(context)
          ?? (plaintext.length > max ? fail("Validation", `Plaintext is ${plaintext.length} bytes; ${algorithm} with ${rec.keySpec} takes at most ${max}.`) : undefined);
        if (refused) return refused;
        if (dryRun) return ok({ blob: new Uint8Array(0), keyArn: rec.arn });
        return ok({ blob: await (await this.loaded(rec)).encrypt!(algorithm, plaintext), keyArn: rec.arn });
      }
      if (dryRun) return ok({ blob: new Uint8Array(0), keyArn: rec.arn, keyMaterialId: "" });
      const { blob, keyMaterialId } = await this.seal(rec, plaintext, context);
      return ok({ blob, keyArn: rec.arn, keyMaterialId });
    }, dryRun);
  }

  /** Opens a symmetric blob or an RSA ciphertext under this key (its usage and algorithm checked). */
  private async openAny(rec: KeyRecord, blob: Uint8Array, context: Record<string, string> | undefined, algorithm: string): Promise<VaultResult<{ plaintext: Uint8Array; keyMaterialId?: string }>> {
    const bad = this.usage(rec, "Decrypt", "ENCRYPT_DECRYPT") ?? this.algorithm(rec, "EncryptionAlgorithms", algorithm);
    if (bad) return bad;
    if (rec.keySpec === "SYMMETRIC_DEFAULT") return this.open(rec, blob, context);
    const refused = KeyVault.noContext(context);
    if (refused) return refused;
    const opened = await (await this.loaded(rec)).decrypt!(algorithm, blob);
    return opened.ok ? ok({ plaintext: opened.value }) : fail("InvalidCiphertext", "", opened.reason);
  }

  async decrypt(caller: VaultCaller, blob: Uint8Array, context: Record<string, string> | undefined, dryRun = false, algorithm = "SYMMETRIC_DEFAULT"): Promise<VaultResult<DecryptResult>> {
    return this.audited<DecryptResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const opened = await this.openAny(r.value, blob, context, algorithm);
      if (!opened.ok) return opened;
      if (dryRun) {
        opened.value.plaintext.fill(0);
        return ok({ plaintext: new Uint8Array(0), keyArn: r.value.arn, ...(opened.value.keyMaterialId ? { keyMaterialId: opened.value.keyMaterialId } : {}) });
      }
      return ok({ ...opened.value, keyArn: r.value.arn });
    }, dryRun);
  }

  /**
   * A DryRun of a cryptographic call that names no ciphertext (Decrypt with IGNORE_CIPHERTEXT):
   * whether the caller may and the key's state allows, recorded as the dry run it is.
   */
  async dryRun(caller: VaultCaller): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      return r.ok ? ok(null) : r;
    }, true);
  }

  async generateDataKey(caller: VaultCaller, numberOfBytes: number, context: Record<string, string> | undefined, withPlaintext: boolean, dryRun = false): Promise<VaultResult<DataKeyResult>> {
    return this.audited<DataKeyResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const bad = this.usage(r.value, withPlaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext", "ENCRYPT_DECRYPT", true);
      if (bad) return bad;
      if (dryRun) return ok({ blob: new Uint8Array(0), keyArn: r.value.arn, keyMaterialId: "" });
      const dataKey = crypto.getRandomValues(new Uint8Array(numberOfBytes));
      const { blob, keyMaterialId } = await this.seal(r.value, dataKey, context);
      if (!withPlaintext) dataKey.fill(0);
      return ok({ blob, keyArn: r.value.arn, keyMaterialId, ...(withPlaintext ? { plaintext: dataKey } : {}) });
    }, dryRun);
  }

  /**
   * GenerateDataKeyPair(WithoutPlaintext): a key pair of `pairSpec` made here, its private key
   * (PKCS#8) sealed under this symmetric key like any ciphertext blob.
   */
  async generateDataKeyPair(caller: VaultCaller, pairSpec: string, context: Record<string, string> | undefined, withPlaintext: boolean, dryRun = false): Promise<VaultResult<DataKeyPairResult>> {
    return this.audited<DataKeyPairResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const bad = this.usage(r.value, withPlaintext ? "GenerateDataKeyPair" : "GenerateDataKeyPairWithoutPlaintext", "ENCRYPT_DECRYPT", true);
      if (bad) return bad;
      const pairType = findKeyType(pairSpec);
      if (!pairType?.dataKeyPair) return fail("UnsupportedOperation", `KeyPairSpec ${pairSpec} is not supported by EdgeKMS.`);
      if (dryRun) return ok({ privateKeyBlob: new Uint8Array(0), publicKey: new Uint8Array(0), keyArn: r.value.arn, keyMaterialId: "" });
      const pair = await pairType.dataKeyPair();
      const { blob, keyMaterialId } = await this.seal(r.value, pair.privateKey, context);
      if (!withPlaintext) pair.privateKey.fill(0);
      return ok({ privateKeyBlob: blob, publicKey: pair.publicKey, keyArn: r.value.arn, keyMaterialId, ...(withPlaintext ? { privateKey: pair.privateKey } : {}) });
    }, dryRun);
  }

  /**
   * ReEncrypt from this (source) key straight to the destination vault: plaintext never leaves
   * the vaults. `destinationCaller` is decided there, for kms:ReEncryptTo with the destination
   * encryption context.
   */
  async reEncrypt(
    caller: VaultCaller,
    blob: Uint8Array,
    sourceContext: Record<string, string> | undefined,
    destination: { region: string; keyId: string; algorithm?: string },
    destinationCaller: VaultCaller,
    destinationContext: Record<string, string> | undefined,
    dryRun = false,
    sourceAlgorithm = "SYMMETRIC_DEFAULT",
  ): Promise<VaultResult<ReEncryptResult>> {
    return this.audited<ReEncryptResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const opened = await this.openAny(r.value, blob, sourceContext, sourceAlgorithm);
      if (!opened.ok) return opened;
      try {
        // The destination encryption is part of this request: its record is this vault's, and a
        // copy goes to the destination key's owner when that is a third account.
        // A batch entry's destination half is charged to the entry's group, in this vault or another.
        const budget = this.matchBudgets.get(caller);
        const toDestination = { ...destinationCaller, audit: caller.audit, ...(budget ? { matchStepsLeft: budget.left } : {}) };
        const algorithm = destination.algorithm ?? "SYMMETRIC_DEFAULT";
        let dest: VaultResult<EncryptResult> & { matchStepsLeft?: number };
        try {
          dest = destination.keyId === r.value.keyId
            ? await this.encrypt(toDestination, opened.value.plaintext, destinationContext, dryRun, algorithm)
            : ((await vaultStub(this.env, destination.region, destination.keyId)
              .encrypt(toDestination, opened.value.plaintext, destinationContext, dryRun, algorithm)) as VaultResult<EncryptResult> & { matchStepsLeft?: number });
        } catch (e) {
          // No answer of what it took: charged as much as it could have.
          if (budget) budget.left = Math.max(0, budget.left - MATCH_STEPS_PER_AUTHORIZATION);
          throw e;
        }
        if (budget && dest.matchStepsLeft !== undefined) budget.left = Math.min(budget.left, stepsLeft(dest.matchStepsLeft));
        if (!dest.ok) return { ...dest, records: undefined };
        const covered = new Set([caller.account, r.value.account]);
        const forOwner = (dest.records ?? []).filter((x) => !covered.has(x.recipientAccountId));
        return { ...ok({
          blob: dest.value.blob,
          sourceKeyArn: r.value.arn,
          destinationKeyArn: dest.value.keyArn,
          ...(opened.value.keyMaterialId ? { sourceKeyMaterialId: opened.value.keyMaterialId } : {}),
          ...(dest.value.keyMaterialId ? { destinationKeyMaterialId: dest.value.keyMaterialId } : {}),
        }), ...(forOwner.length ? { records: forOwner } : {}) };
      } finally {
        opened.value.plaintext.fill(0);
      }
    }, dryRun);
  }

  /** The public key of an asymmetric key (GetPublicKey); symmetric and HMAC keys have none. */
  async getPublicKey(caller: VaultCaller): Promise<VaultResult<PublicKeyResult>> {
    return this.audited<PublicKeyResult>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const rec = r.value;
      const publicKey = rec.materials.find((m) => m.version === rec.currentVersion)?.publicKey;
      if (!publicKey) return fail("UnsupportedOperation", `${rec.arn} is a ${rec.keySpec} key, which has no public key.`);
      const type = keyTypeOf(rec.keySpec);
      return ok({ keyArn: rec.arn, publicKey, keySpec: rec.keySpec, keyUsage: rec.keyUsage, algorithms: type.algorithms(rec.keyUsage), customerMasterKeySpec: type.customerMasterKeySpec });
    });
  }

  /** Sign and Verify's checks: usage, algorithm, and the message for its MessageType. */
  private signable(rec: KeyRecord, operation: string, algorithm: string, messageType: MessageType, message: Uint8Array): VaultResult<never> | undefined {
    const bad = this.usage(rec, operation, "SIGN_VERIFY") ?? this.algorithm(rec, "SigningAlgorithms", algorithm);
    if (bad) return bad;
    const type = keyTypeOf(rec.keySpec);
    if (!type.messageTypes!(algorithm).includes(messageType)) return fail("Validation", `MessageType ${messageType} is not valid for ${algorithm}.`);
    const expected = messageType === "DIGEST" ? type.digestLength!(algorithm) : messageType === "EXTERNAL_MU" ? EXTERNAL_MU_LENGTH : undefined;
    if (expected !== undefined && message.length !== expected) {
      return fail("Validation", `Digest is invalid length for algorithm ${algorithm}: ${messageType} messages must be ${expected} bytes.`);
    }
    return undefined;
  }

  async sign(caller: VaultCaller, algorithm: string, messageType: MessageType, message: Uint8Array, dryRun = false): Promise<VaultResult<{ keyArn: string; signature: Uint8Array }>> {
    return this.audited<{ keyArn: string; signature: Uint8Array }>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const bad = this.signable(r.value, "Sign", algorithm, messageType, message);
      if (bad) return bad;
      if (dryRun) return ok({ keyArn: r.value.arn, signature: new Uint8Array(0) });
      return ok({ keyArn: r.value.arn, signature: await (await this.loaded(r.value)).sign!(algorithm, messageType, message) });
    }, dryRun);
  }

  /** Verify: a signature that does not verify is KMSInvalidSignatureException (never SignatureValid false). */
  async verify(caller: VaultCaller, algorithm: string, messageType: MessageType, message: Uint8Array, signature: Uint8Array, dryRun = false): Promise<VaultResult<{ keyArn: string }>> {
    return this.audited<{ keyArn: string }>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const bad = this.signable(r.value, "Verify", algorithm, messageType, message);
      if (bad) return bad;
      if (dryRun) return ok({ keyArn: r.value.arn });
      const valid = await (await this.loaded(r.value)).verify!(algorithm, messageType, message, signature);
      return valid ? ok({ keyArn: r.value.arn }) : fail("InvalidSignature", "The signature is not valid for this message and key.", `the signature does not verify (${algorithm}, ${messageType})`);
    }, dryRun);
  }

  /**
   * One call of an asymmetric or HMAC key's operation: access (state Enabled, the permission),
   * the usage and algorithm checks, then `body` with the loaded key — or, in a dry run, `dry`
   * (without one, `body` runs in dry runs too: it checks input only the key can judge).
   */
  private useKey<T>(
    caller: VaultCaller,
    operation: string,
    usage: string,
    list: keyof KeyAlgorithms,
    algorithm: string,
    dryRun: boolean,
    body: (key: LoadedKey, rec: KeyRecord) => Promise<VaultResult<T>>,
    dry?: (rec: KeyRecord) => T,
  ): Promise<VaultResult<T>> {
    return this.audited<T>(caller, async () => {
      const r = this.access(caller, STATES.enabled);
      if (!r.ok) return r;
      const bad = this.usage(r.value, operation, usage) ?? this.algorithm(r.value, list, algorithm);
      if (bad) return bad;
      if (dryRun && dry) return ok(dry(r.value));
      return body(await this.loaded(r.value), r.value);
    }, dryRun);
  }

  async generateMac(caller: VaultCaller, algorithm: string, message: Uint8Array, dryRun = false): Promise<VaultResult<{ keyArn: string; mac: Uint8Array }>> {
    return this.useKey(caller, "GenerateMac", "GENERATE_VERIFY_MAC", "MacAlgorithms", algorithm, dryRun,
      async (key, rec) => ok({ keyArn: rec.arn, mac: await key.generateMac!(algorithm, message) }),
      (rec) => ({ keyArn: rec.arn, mac: new Uint8Array(0) }));
  }

  /** VerifyMac: a MAC that does not match is KMSInvalidMacException (never MacValid false). */
  async verifyMac(caller: VaultCaller, algorithm: string, message: Uint8Array, mac: Uint8Array, dryRun = false): Promise<VaultResult<{ keyArn: string }>> {
    return this.useKey(caller, "VerifyMac", "GENERATE_VERIFY_MAC", "MacAlgorithms", algorithm, dryRun,
      async (key, rec) => (await key.verifyMac!(algorithm, message, mac)) ? ok({ keyArn: rec.arn }) : fail("InvalidMac", "The MAC is not valid for this message and key.", `the MAC does not match (${algorithm})`),
      (rec) => ({ keyArn: rec.arn }));
  }

  /** DeriveSharedSecret: a DryRun still checks the peer's public key (it is part of the request's validity). */
  async deriveSharedSecret(caller: VaultCaller, algorithm: string, peerPublicKey: Uint8Array, dryRun = false): Promise<VaultResult<SharedSecretResult>> {
    return this.useKey(caller, "DeriveSharedSecret", "KEY_AGREEMENT", "KeyAgreementAlgorithms", algorithm, dryRun,
      async (key, rec) => {
        const derived = await key.deriveSharedSecret!(peerPublicKey);
        if (!derived.ok) return fail("Validation", `PublicKey is not valid for ${rec.keySpec}: ${derived.reason}.`);
        if (!dryRun) return ok({ keyArn: rec.arn, sharedSecret: derived.value });
        derived.value.fill(0);
        return ok({ keyArn: rec.arn, sharedSecret: new Uint8Array(0) });
      });
  }

  async encapsulate(caller: VaultCaller, algorithm: string, dryRun = false): Promise<VaultResult<SharedSecretResult>> {
    return this.useKey(caller, "Encapsulate", "ENCAPSULATE_DECAPSULATE", "EncapsulationAlgorithms", algorithm, dryRun,
      async (key, rec) => ok({ keyArn: rec.arn, ...key.encapsulate!() }),
      (rec) => ({ keyArn: rec.arn, sharedSecret: new Uint8Array(0), ciphertext: new Uint8Array(0) }));
  }

  /** Decapsulate: a DryRun still checks the ciphertext. */
  async decapsulate(caller: VaultCaller, algorithm: string, ciphertext: Uint8Array, dryRun = false): Promise<VaultResult<SharedSecretResult>> {
    return this.useKey(caller, "Decapsulate", "ENCAPSULATE_DECAPSULATE", "EncapsulationAlgorithms", algorithm, dryRun,
      async (key, rec) => {
        const opened = key.decapsulate!(ciphertext);
        if (!opened.ok) return fail("InvalidCiphertext", "", opened.reason);
        if (!dryRun) return ok({ keyArn: rec.arn, sharedSecret: opened.value });
        opened.value.fill(0);
        return ok({ keyArn: rec.arn, sharedSecret: new Uint8Array(0) });
      });
  }

  // ---- tags --------------------------------------------------------------------------

  async tag(caller: VaultCaller, tags: Tag[]): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.notPendingDeletion);
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
      const r = this.access(caller, STATES.notPendingDeletion);
      if (!r.ok) return r;
      const drop = new Set(keys);
      await this.save({ ...r.value, tags: r.value.tags.filter((t) => !drop.has(t.TagKey)) }, success());
      return ok(null);
    });
  }

  async listTags(caller: VaultCaller): Promise<VaultResult<Tag[]>> {
    return this.audited<Tag[]>(caller, async () => {
      const r = this.access(caller, STATES.any);
      return r.ok ? ok(r.value.tags) : r;
    });
  }

  // ---- rotation ----------------------------------------------------------------------

  /**
   * Access for a rotation call: only symmetric keys rotate (UnsupportedOperationException for
   * the others, whatever their state), then the state the call needs. `primaryOnly`: a call that
   * changes rotation, which a multi-Region replica refuses (its primary manages rotation,
   * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
   */
  private rotatable(caller: VaultCaller, states: (s: KeyState) => boolean, primaryOnly = false): VaultResult<KeyRecord> {
    const r = this.access(caller, STATES.any);
    if (!r.ok) return r;
    if (!keyTypeOf(r.value.keySpec).rotates) return fail("UnsupportedOperation", `${r.value.arn} is a ${r.value.keySpec} key; only symmetric encryption keys rotate.`);
    if (primaryOnly && isReplica(r.value)) return fail("UnsupportedOperation", `${r.value.arn} is a multi-Region replica key; rotation is managed on its primary key, in ${r.value.multiRegion!.primaryRegion}.`);
    return states(r.value.state) ? r : stateError(r.value);
  }

  /** Automatic rotation: keys of AWS_KMS origin only (imported material rotates on demand). */
  private autoRotatable(caller: VaultCaller): VaultResult<KeyRecord> {
    const r = this.rotatable(caller, STATES.any, true);
    if (r.ok && r.value.origin === "EXTERNAL") return fail("UnsupportedOperation", `${r.value.arn} origin is EXTERNAL which is not valid for this operation.`);
    if (!r.ok) return r;
    return STATES.enabled(r.value.state) ? r : stateError(r.value);
  }

  async enableRotation(caller: VaultCaller, periodDays: number): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.autoRotatable(caller);
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
      const r = this.autoRotatable(caller);
      if (!r.ok) return r;
      const rec: KeyRecord = { ...r.value, rotationEnabled: false };
      delete rec.nextRotation;
      await this.save(rec, success());
      return ok(null);
    });
  }

  async rotationStatus(caller: VaultCaller): Promise<VaultResult<RotationStatus & { keyArn: string }>> {
    return this.audited<RotationStatus & { keyArn: string }>(caller, async () => {
      const r = this.rotatable(caller, STATES.any);
      if (!r.ok) return r;
      const rec = r.value;
      const enabled = rec.rotationEnabled && rec.state !== "PendingDeletion" && rec.state !== "PendingReplicaDeletion";
      return ok({
        keyArn: rec.arn,
        KeyRotationEnabled: enabled,
        ...(enabled ? { RotationPeriodInDays: rec.rotationPeriodDays, NextRotationDate: rec.nextRotation! / 1000 } : {}),
      });
    });
  }

  async rotateOnDemand(caller: VaultCaller): Promise<VaultResult<{ keyArn: string }>> {
    return this.audited<{ keyArn: string }>(caller, async (success) => {
      const r = this.rotatable(caller, STATES.enabled, true);
      if (!r.ok) return r;
      const rec = r.value;
      if (rec.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
        return fail("LimitExceeded", `${rec.arn} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
      }
      if (rec.rotationEnabled && rec.nextRotation !== undefined && rec.nextRotation - this.now() < ON_DEMAND_CONFLICT_WINDOW_MS) {
        return fail("Conflict", `An automatic rotation of ${rec.arn} is in progress or about to start.`);
      }
      let rotated: VaultResult<KeyRecord>;
      if (rec.origin === "EXTERNAL") rotated = this.rotateToImported(rec);
      else {
        const made = await this.rotate(rec, "ON_DEMAND");
        rotated = made ? ok(made) : fail("Conflict", `${rec.arn} changed while it was being rotated; retry.`);
      }
      if (!rotated.ok) return rotated;
      await this.save({ ...rotated.value, onDemandRotations: rec.onDemandRotations + 1 }, success());
      return ok({ keyArn: rec.arn });
    });
  }

  /** Rotations, oldest first; with includeAll, the original material too. */
  async listRotations(caller: VaultCaller, includeAll = false): Promise<VaultResult<RotationEntry[]>> {
    return this.audited<RotationEntry[]>(caller, async () => {
      const r = this.rotatable(caller, STATES.any);
      if (!r.ok) return r;
      const rec = r.value;
      return ok(
        rec.materials
          .filter((m) => includeAll || m.rotationType)
          .map((m): RotationEntry => ({
            KeyId: rec.arn,
            KeyMaterialId: m.id,
            KeyMaterialState: m.imported?.pendingRotation ? "PENDING_ROTATION" : m.version === rec.currentVersion ? "CURRENT" : "NON_CURRENT",
            ...(m.rotationType ? { RotationDate: m.created / 1000, RotationType: m.rotationType } : {}),
            ...(m.imported
              ? {
                ImportState: m.imported.state,
                ...(m.imported.expirationModel ? { ExpirationModel: m.imported.expirationModel } : {}),
                ...(m.imported.validTo !== undefined ? { ValidTo: m.imported.validTo / 1000 } : {}),
                ...(m.imported.description !== undefined ? { KeyMaterialDescription: m.imported.description } : {}),
              }
              : {}),
          })),
      );
    });
  }

  // ---- last usage --------------------------------------------------------------------

  /** GetKeyLastUsage: the last successful cryptographic call (from memory), and since when calls are tracked. */
  async keyLastUsage(caller: VaultCaller): Promise<VaultResult<{ keyId: string; usage?: KeyLastUsage; trackingStart: number; creationDate: number }>> {
    return this.audited<{ keyId: string; usage?: KeyLastUsage; trackingStart: number; creationDate: number }>(caller, async () => {
      const r = this.access(caller, STATES.any);
      if (!r.ok) return r;
      const usage = this.lastUsage.last;
      return ok({ keyId: r.value.keyId, ...(usage ? { usage } : {}), trackingStart: Math.max(r.value.creationDate, TRACKING_EPOCH_MS), creationDate: r.value.creationDate });
    });
  }

  // ---- imported key material (origin EXTERNAL) ---------------------------------------
  // https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html; imports.ts holds
  // the wrapping key, token and unwrapping; the key type checks the material (importMaterial).

  /** Access for an import call: the key's origin must be EXTERNAL (UnsupportedOperationException otherwise), then its state. */
  private importable(caller: VaultCaller, states: (s: KeyState) => boolean): VaultResult<KeyRecord> {
    const r = this.access(caller, STATES.any);
    if (!r.ok) return r;
    if (r.value.origin !== "EXTERNAL") return fail("UnsupportedOperation", `${r.value.arn} origin is ${r.value.origin} which is not valid for this operation.`);
    return states(r.value.state) ? r : stateError(r.value);
  }

  private async importParameters(): Promise<ImportParameters[]> {
    return (await this.ctx.storage.get<ImportParameters[]>(IMPORT_PARAMETERS)) ?? [];
  }

  async getParametersForImport(caller: VaultCaller, algorithm: WrappingAlgorithm, spec: WrappingKeySpec): Promise<VaultResult<{ keyArn: string; importToken: Uint8Array; publicKey: Uint8Array; validTo: number }>> {
    return this.audited<{ keyArn: string; importToken: Uint8Array; publicKey: Uint8Array; validTo: number }>(caller, async () => {
      const r = this.importable(caller, STATES.importable);
      if (!r.ok) return r;
      const rec = await this.underCurrentRoot(r.value);
      const { privateKey, publicKey, tokenId } = await newWrappingKey(spec);
      const validTo = this.now() + IMPORT_PARAMETERS_VALID_MS;
      const params: ImportParameters = { tokenId, algorithm, spec, validTo, wrappedPrivateKey: await this.material.wrap(rec.region, privateKey) };
      privateKey.fill(0);
      await this.ctx.storage.put(IMPORT_PARAMETERS, [...(await this.importParameters()), params].slice(-MAX_IMPORT_PARAMETERS));
      return ok({ keyArn: rec.arn, importToken: encodeImportToken(rec.keyId, tokenId), publicKey, validTo });
    });
  }

  async importKeyMaterial(caller: VaultCaller, p: ImportMaterialParams): Promise<VaultResult<{ keyArn: string; keyMaterialId: string }>> {
    return this.audited<{ keyArn: string; keyMaterialId: string }>(caller, async (success) => {
      const r = this.importable(caller, STATES.importable);
      if (!r.ok) return r;
      const rec = await this.underCurrentRoot(r.value);
      const type = keyTypeOf(rec.keySpec);
      if (p.importType !== undefined && !type.rotates) return fail("UnsupportedOperation", `${rec.arn} is a ${rec.keySpec} key; ImportType applies to symmetric encryption keys only.`);
      // A replica takes only the material its primary is bound to: new material goes into the
      // primary first (https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html).
      if (isReplica(rec) && p.importType === "NEW_KEY_MATERIAL") return fail("UnsupportedOperation", `${rec.arn} is a multi-Region replica key; import new key material into its primary key, in ${rec.multiRegion!.primaryRegion}, then the same material here.`);
      if (isReplica(rec) && !rec.materials.length) return fail("Validation", `${rec.arn} is a multi-Region replica key; import the key material into its primary key, in ${rec.multiRegion!.primaryRegion}, first.`);
      // The token: this key's, one of its kept parameters, not expired.
      const token = decodeImportToken(p.importToken);
      if (!token || token.keyId !== rec.keyId) return fail("InvalidImportToken", "The import token is not valid for this KMS key.", token ? `token of key ${token.keyId}` : "not an import token");
      const params = (await this.importParameters()).find((x) => x.tokenId === token.tokenId);
      if (!params) return fail("InvalidImportToken", "The import token is not valid for this KMS key.", "unknown or superseded token");
      if (params.validTo <= this.now()) return fail("ExpiredImportToken", "The import token has expired. Get new parameters with GetParametersForImport.");
      const privateKey = await this.material.unwrap(rec.region, params.wrappedPrivateKey);
      if (!privateKey) return fail("InvalidImportToken", "The import token is not valid for this KMS key.", "wrapping key sealed under another root secret");
      const unwrapped = await unwrapImported(privateKey, params, p.encryptedKeyMaterial);
      privateKey.fill(0);
      if (!unwrapped.ok) return fail("InvalidCiphertext", "The wrapped key material could not be decrypted with the import parameters.", unwrapped.reason);
      const checked = await type.importMaterial!(unwrapped.value, rec.keyUsage);
      unwrapped.value.fill(0);
      if (!checked.ok) return fail("IncorrectKeyMaterial", `The key material is not valid for a ${rec.keySpec} key.`, checked.reason);
      const { material, publicKey } = checked.value;
      let id: string, wrapped: Uint8Array;
      try {
        id = await importedMaterialId(rec.keyId, material);
        wrapped = await this.material.wrap(rec.region, material);
      } finally {
        material.fill(0);
      }
      // Everything asynchronous is done: decide on the record as it is now (another call may have
      // changed it meanwhile), so nothing it changed is written back stale.
      const again = this.importable(caller, STATES.importable);
      if (!again.ok) return again;
      return this.bindImported(again.value, p, id, wrapped, publicKey, success);
    });
  }

  /** ImportKeyMaterial's change to the record, made synchronously on the current record. */
  private async bindImported(
    rec: KeyRecord, p: ImportMaterialParams, id: string, wrapped: Uint8Array, publicKey: Uint8Array | undefined, success: SuccessRecord,
  ): Promise<VaultResult<{ keyArn: string; keyMaterialId: string }>> {
    const imported: ImportedMaterial = {
      state: "IMPORTED",
      expirationModel: p.expirationModel,
      ...(p.validTo !== undefined ? { validTo: p.validTo } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
    };
    let materials: Material[];
    let currentVersion = rec.currentVersion;
    if (p.importType === "NEW_KEY_MATERIAL") {
      if (!rec.materials.length) return fail("Validation", `${rec.arn} has no key material yet; import its first key material with ImportType EXISTING_KEY_MATERIAL.`);
      if (rec.materials.some((m) => m.imported?.pendingRotation)) return fail("Validation", `${rec.arn} already has key material pending rotation; rotate (RotateKeyOnDemand) or delete it first.`);
      if (rec.materials.some((m) => m.id === id)) return fail("IncorrectKeyMaterial", "This key material is already associated with the KMS key.");
      const version = Math.max(...rec.materials.map((m) => m.version)) + 1;
      materials = [...rec.materials, { version, id, created: this.now(), wrapped, imported: { ...imported, pendingRotation: true } }];
    } else if (!rec.materials.length) {
      // The first material becomes current and is bound to the key for good.
      if (p.keyMaterialId !== undefined && p.keyMaterialId !== id) return fail("IncorrectKeyMaterial", "The key material does not match the KeyMaterialId.");
      materials = [{ version: 1, id, created: this.now(), wrapped, imported, ...(publicKey ? { publicKey } : {}) }];
      currentVersion = 1;
    } else {
      const target = rec.materials.find((m) => m.id === (p.keyMaterialId ?? this.materialId(rec, rec.currentVersion)));
      if (!target) return fail("Validation", `${rec.arn} has no key material ${p.keyMaterialId}.`);
      // Reimport: the same material only (compared by its id, a digest of key id and material).
      if (!bytesEqual(new TextEncoder().encode(target.id), new TextEncoder().encode(id))) {
        return fail("IncorrectKeyMaterial", "The key material is not the key material previously imported into this KMS key.");
      }
      materials = rec.materials.map((m) => (m === target ? { ...m, wrapped, imported: { ...imported, ...(m.imported?.pendingRotation ? { pendingRotation: true } : {}) } } : m));
    }
    const next: KeyRecord = { ...rec, materials, currentVersion };
    if (next.state === "PendingImport" && allMaterialPresent(next)) next.state = "Enabled";
    await this.save(next, success({ keyId: rec.arn, keyMaterialId: id }));
    return ok({ keyArn: rec.arn, keyMaterialId: id });
  }

  async deleteImportedKeyMaterial(caller: VaultCaller, keyMaterialId: string | undefined): Promise<VaultResult<{ keyArn: string; keyMaterialId?: string }>> {
    return this.audited<{ keyArn: string; keyMaterialId?: string }>(caller, async (success) => {
      const r = this.importable(caller, STATES.deletableMaterial);
      if (!r.ok) return r;
      const rec = r.value;
      if (!rec.materials.length) {
        if (keyMaterialId !== undefined) return fail("Validation", `${rec.arn} has no key material ${keyMaterialId}.`);
        await this.save(rec, success({ keyId: rec.arn }));
        return ok({ keyArn: rec.arn });
      }
      const target = rec.materials.find((m) => m.id === (keyMaterialId ?? this.materialId(rec, rec.currentVersion)));
      if (!target) return fail("Validation", `${rec.arn} has no key material ${keyMaterialId}.`);
      const next = this.withoutMaterial(rec, target);
      await this.save(next, success({ keyId: rec.arn, keyMaterialId: target.id }));
      return ok({ keyArn: rec.arn, keyMaterialId: target.id });
    });
  }

  /**
   * The record with a version of imported material deleted: material pending rotation is
   * dropped (it is not bound to the key); bound material waits to be imported again, and the
   * key with it (PendingImport, unless it is pending deletion).
   */
  private withoutMaterial(rec: KeyRecord, target: Material): KeyRecord {
    this.material.forget(target.version);
    if (target.imported?.pendingRotation) return { ...rec, materials: rec.materials.filter((m) => m !== target) };
    const materials = rec.materials.map((m) => {
      if (m !== target) return m;
      const { wrapped: _gone, ...rest } = m;
      return { ...rest, imported: { ...(m.imported ?? {}), state: "PENDING_IMPORT" as const } };
    });
    return { ...rec, materials, state: rec.state === "PendingDeletion" || rec.state === "PendingReplicaDeletion" ? rec.state : "PendingImport" };
  }

  /** Alarm: imported material past its ValidTo is deleted (CloudTrail DeleteExpiredKeyMaterial). */
  private async expireMaterial(rec: KeyRecord, now: number): Promise<boolean> {
    const expired = rec.materials.filter((m) => m.wrapped && m.imported?.validTo !== undefined && m.imported.validTo <= now);
    if (!expired.length) return false;
    let next = rec;
    for (const m of expired) next = this.withoutMaterial(next, next.materials.find((x) => x.version === m.version)!);
    await this.save(next, [serviceEvent("DeleteExpiredKeyMaterial", rec.region, rec.account, rec.arn, now)]);
    return true;
  }

  // ---- grants ------------------------------------------------------------------------

  async createGrant(caller: VaultCaller, p: CreateGrantParams, dryRun = false): Promise<VaultResult<{ GrantId: string; GrantToken: string }>> {
    return this.audited<{ GrantId: string; GrantToken: string }>(caller, async (success) => {
      // A grant-authorized CreateGrant may only narrow the grant it comes from (the authorizer checks).
      const r = this.access(caller, STATES.enabled, { newGrant: { operations: p.operations, ...(p.constraints ? { constraints: p.constraints } : {}) } });
      if (!r.ok) return r;
      const invalid = p.operations.filter((op) => !keyTypeOf(r.value.keySpec).grantOperations(r.value.keyUsage).has(op));
      if (invalid.length) return fail("Validation", `Grant operations ${invalid.join(", ")} are not valid for a ${r.value.keySpec} key with usage ${r.value.keyUsage}.`);
      // Encryption-context constraints govern operations that take an encryption context, which
      // only symmetric keys do (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html).
      if (p.constraints && r.value.keySpec !== "SYMMETRIC_DEFAULT") return fail("Validation", `Grant constraints are not valid for a ${r.value.keySpec} key: encryption context is for symmetric keys only.`);
      if (dryRun) return ok({ GrantId: "", GrantToken: "" });
      const token = (g: Grant) => issueGrantToken(this.env.KMS_ROOT_SECRET, r.value.region, { keyId: r.value.keyId, grantId: g.GrantId, grantee: g.GranteePrincipal });
      const same = this.grants.sameNamed(p);
      if (same) return ok({ GrantId: same.GrantId, GrantToken: await token(same) });
      if (this.grants.size >= MAX_GRANTS_PER_KEY) return fail("LimitExceeded", `${r.value.arn} has reached the limit of ${MAX_GRANTS_PER_KEY} grants.`);
      const grant: Grant = {
        KeyId: r.value.arn,
        GrantId: hex(crypto.getRandomValues(new Uint8Array(32))),
        ...(p.name !== undefined ? { Name: p.name } : {}),
        CreationDate: this.now() / 1000,
        GranteePrincipal: p.granteePrincipal,
        ...(p.retiringPrincipal !== undefined ? { RetiringPrincipal: p.retiringPrincipal } : {}),
        IssuingAccount: `arn:aws:iam::${caller.account}:root`,
        Operations: p.operations,
        ...(p.constraints ? { Constraints: p.constraints } : {}),
      };
      this.grants.add(grant);
      const index = retirementIndex(grant);
      if (index) await this.catalogFor(index.account).indexRetirableGrant(index.entry, true);
      const gone = await this.saveUnchanged(() => success({ grantId: grant.GrantId }));
      if (gone) return gone;
      return ok({ GrantId: grant.GrantId, GrantToken: await token(grant) });
    }, dryRun);
  }

  async listGrants(caller: VaultCaller, filter: { grantId?: string; granteePrincipal?: string }): Promise<VaultResult<GrantListEntry[]>> {
    return this.audited<GrantListEntry[]>(caller, async () => {
      const r = this.access(caller, STATES.any);
      if (!r.ok) return r;
      if (filter.grantId !== undefined && !this.grants.get(filter.grantId)) return fail("InvalidGrantId", `Grant ${filter.grantId} does not exist on ${r.value.arn}.`);
      return ok(this.grants.list(filter));
    });
  }

  /** Grants named in the retirement index (ListRetirableGrants, after the authorizer allowed it). */
  async describeGrants(_decided: typeof SKIP.retirementIndex, grantIds: string[]): Promise<GrantListEntry[]> {
    return grantIds.flatMap((id) => {
      const g = this.grants.get(id);
      return g ? [listEntry(g)] : [];
    });
  }

  private async dropGrant(g: Grant): Promise<void> {
    this.grants.remove(g);
    const index = retirementIndex(g);
    if (index) await this.catalogFor(index.account).indexRetirableGrant(index.entry, false);
  }

  /**
   * RetireGrant: by the retiring principal, by the grantee when the grant includes RetireGrant,
   * or by the account that created the grant (the authorizer decides). A token must be genuine and this key's.
   */
  async retireGrant(caller: VaultCaller, by: { grantId?: string; token?: string }, dryRun = false): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const rec = this.rec;
      if (!rec) return fail("NotFound", "Key does not exist");
      let grantId = by.grantId;
      if (by.token !== undefined) {
        const t = await verifyGrantToken(rootSecrets(this.env), rec.region, by.token);
        if (!t || t.keyId !== rec.keyId) return fail("InvalidGrantToken", "The grant token is not valid.");
        grantId = t.grantId;
      }
      const g = grantId !== undefined ? this.grants.get(grantId) : undefined;
      if (!g) return fail("NotFound", `Grant ${grantId} does not exist on ${rec.arn}.`);
      const r = this.access(caller, STATES.any, { retiring: grantFacts(g) });
      if (!r.ok) return r;
      if (dryRun) return ok(null);
      await this.dropGrant(g);
      const gone = await this.saveUnchanged(() => success());
      if (gone) return gone;
      return ok(null);
    }, dryRun);
  }

  async revokeGrant(caller: VaultCaller, grantId: string, dryRun = false): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.any);
      if (!r.ok) return r;
      const g = this.grants.get(grantId);
      if (!g) return fail("InvalidGrantId", `Grant ${grantId} does not exist on ${r.value.arn}.`);
      if (dryRun) return ok(null);
      await this.dropGrant(g);
      const gone = await this.saveUnchanged(() => success());
      if (gone) return gone;
      return ok(null);
    }, dryRun);
  }

  // ---- key policy --------------------------------------------------------------------

  /**
   * Checks a new key policy (in `rec`): the 32 KB quota, well-formedness, and — unless the check
   * is bypassed (no `lockout` permission) — that the policy still lets the caller put a key policy.
   */
  private checkPolicy(rec: KeyRecord, caller: VaultCaller, lockout: Permission | undefined): VaultResult<never> | undefined {
    if (new TextEncoder().encode(rec.policy).length > MAX_KEY_POLICY_BYTES) return fail("LimitExceeded", `The key policy exceeds ${MAX_KEY_POLICY_BYTES} bytes.`);
    let doc: PolicyDocument;
    try {
      doc = parsePolicy(rec.policy, "key");
    } catch (e) {
      if (e instanceof PolicyError) return fail("MalformedPolicy", e.message);
      throw e;
    }
    if (!lockout) return undefined;
    const decision = authorize({ ...this.request(rec, doc, caller, lockout), grants: [] });
    return decision.allow ? undefined : fail("MalformedPolicy", "The new key policy will not allow you to update the key policy in the future.");
  }

  async getPolicy(caller: VaultCaller): Promise<VaultResult<string>> {
    return this.audited<string>(caller, async () => {
      const r = this.access(caller, STATES.any);
      return r.ok ? ok(r.value.policy) : r;
    });
  }

  /** Replaces the key policy, after the lockout safety check unless `bypassLockoutCheck`. */
  async putPolicy(caller: VaultCaller, policy: string, bypassLockoutCheck: boolean): Promise<VaultResult<null>> {
    return this.audited<null>(caller, async (success) => {
      const r = this.access(caller, STATES.notPendingDeletion);
      if (!r.ok) return r;
      const next: KeyRecord = { ...r.value, policy, policyVersion: r.value.policyVersion + 1 };
      const bad = this.checkPolicy(next, caller, bypassLockoutCheck ? undefined : checked(caller));
      if (bad) return bad;
      await this.save(next, success());
      return ok(null);
    });
  }

  // ---- root secret -------------------------------------------------------------------

  /**
   * Rewraps the key's material under the current root secret if the previous one sealed it
   * (RewrapRootSecret, which the authorizer decided). "rewrapped", "current", or "mismatch".
   */
  async rewrapRootSecret(decided: typeof SKIP.admin): Promise<"rewrapped" | "current" | "mismatch" | "none"> {
    const rec = this.rec;
    if (!rec) return "none";
    try {
      const out = await this.underCurrentRoot(rec);
      if (out === rec) return "current";
      // Not saved if the key changed meanwhile: the operator must not be told it is rewrapped.
      return this.material.currentIfVerified(out) ? "rewrapped" : await this.rewrapRootSecret(decided);
    } catch (e) {
      if (e instanceof RootSecretMismatch) return "mismatch";
      throw e;
    }
  }

  // ---- multi-Region keys (replication.ts) -------------------------------------------------
  // https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html; the
  // design is docs/multi-region.md. Each method is replication.ts's, which decides as it says.

  /** ReplicateKey, on the primary (kms:ReplicateKey decided there; kms:CreateKey in the replica Region by the handler). */
  replicate(caller: VaultCaller, p: ReplicateParams): Promise<VaultResult<ReplicaResult>> {
    return this.replication.replicate(caller, p);
  }

  /** A new replica, made in its own vault from what its primary shares (ReplicateKey). */
  createReplica(caller: VaultCaller & { authz: { skip: typeof SKIP.replication } }, p: ReplicaParams): Promise<VaultResult<ReplicaResult | { existing: string }>> {
    return this.replication.createReplica(caller, p);
  }

  /** A push from the primary. */
  syncReplica(decided: typeof SKIP.replication, s: SharedState): Promise<"applied" | "current" | "missing"> {
    return this.replication.syncReplica(decided, s);
  }

  /** A replica's vault says, before it is destroyed, that the replica is deleted. */
  replicaDeleted(decided: typeof SKIP.replication, region: string): Promise<{ primaryRegion?: string }> {
    return this.replication.replicaDeleted(decided, region);
  }

  /** UpdatePrimaryRegion, on the primary (kms:UpdatePrimaryRegion decided there). */
  updatePrimaryRegion(caller: VaultCaller, region: string, replicaCaller: VaultCaller): Promise<VaultResult<null>> {
    return this.replication.updatePrimaryRegion(caller, region, replicaCaller);
  }

  /** UpdatePrimaryRegion, on the replica that becomes the primary (kms:UpdatePrimaryRegion on this key's policy too). */
  promote(caller: VaultCaller, s: SharedState, draft?: AuditDraft): Promise<VaultResult<null>> {
    return this.replication.promote(caller, s, draft);
  }

  /** Which Region this key knows as the primary, and its sync version. */
  multiRegionRole(decided: typeof SKIP.replication): Promise<{ primaryRegion: string; version: number } | undefined> {
    return this.replication.multiRegionRole(decided);
  }

  // ---- batches (docs/batch.md) -------------------------------------------------------

  /** Test hook: the batch calls this instance ran. */
  readonly batchStats: BatchStats = { calls: 0, entries: 0 };

  /** A batch request's entries for this key, in one call: each through its single operation's method (batch.ts). */
  async cryptoBatch(batch: BatchCalls): Promise<BatchReply> {
    return runBatch(this, batch, this.batchStats, this.matchBudgets);
  }

  // ---- aliases -----------------------------------------------------------------------

  /** Records that an alias now points at this key, or no longer does (kms:ResourceAliases). */
  async aliasChanged(aliasName: string, present: boolean): Promise<void> {
    const rec = this.rec;
    if (!rec) return;
    const aliases = new Set(rec.aliases ?? []);
    if (present) aliases.add(aliasName);
    else aliases.delete(aliasName);
    await this.save({ ...rec, aliases: [...aliases].sort() });
  }

  /** For alias operations: the key's state and usage, if the authorizer allows the caller the alias permission on it. */
  async aliasTarget(caller: VaultCaller): Promise<VaultResult<{ state: KeyState; keyUsage: string; keySpec: string; arn: string }>> {
    return this.audited<{ state: KeyState; keyUsage: string; keySpec: string; arn: string }>(caller, async () => {
      const r = this.access(caller, STATES.any);
      return r.ok ? ok({ state: r.value.state, keyUsage: r.value.keyUsage, keySpec: r.value.keySpec, arn: r.value.arn }) : r;
    });
  }
}
