// AuditLog: one Durable Object per account and region. Receives CloudTrail records (from the
// vaults' outboxes and from the Worker), keeps them durable until they are delivered to R2 as
// gzip'd {"Records":[…]} objects, and writes the signed, chained digests. See docs/audit.md.
import { DurableObject } from "cloudflare:workers";
import { placementOf, type Env } from "../env.js";
import { vaultStub, auditLogStub, signerStub } from "../placement.js";
import { GroupCommit, MAX_ROW_CHARS, OneAtATime, deleteMany, forwardInBatches, getMany } from "../vault/group-commit.js";
import { Faults, runChaos, type ChaosAnswer, type ChaosCommand } from "../vault/faults.js";
import { digestObjectKey, digestSigningString, gunzip, gzip, logObjectKey } from "./objects.js";
import { sha256Hex } from "../crypto/hex.js";
import { MAX_TAIL_CHARS, byEventOrder, encodeRecord, newestWithin, isoSeconds, joinRecords, logObject, rowRecords, unauthenticatedAggregate, type CloudTrailRecord, type EncodedRecord, type UnauthenticatedCount } from "./record.js";
import { DIGEST_SIGNATURE_ALGORITHM } from "./signer.js";
import { aesGcmOpen, aesGcmSeal } from "../crypto/index.js";
import { AUDIT_SERVICE_PRINCIPAL, auditViaService } from "../vault/key-policy.js";
import { fail, ok, type VaultCaller, type VaultResult } from "../vault/types.js";
import type { Permission } from "../authz/authorize.js";
import { callerContext } from "../policy/request-context.js";
import { MAX_BATCH_BODY_BYTES } from "../kms/limits.js";

/** The permission the audit trail uses, as a service, to make each object's data key. */
const SERVICE_GENERATE_DATA_KEY: Permission = { action: "kms:GenerateDataKey", iamOnly: false, crossAccount: false, usesEncryptionContext: true };

export const DELIVERY_INTERVAL_MS = 60_000;
/**
 * Records per log object (and how many pending records bring a delivery forward). Each object
 * costs an R2 write and a head (a Class A and a Class B operation on Cloudflare's network), a
 * digest entry and, under local workerd (whose R2 simulation runs in the same process), about
 * 3.5 ms of CPU: at 1,000 records an object, batch load spent about 3 µs of workerd CPU per
 * record on objects (docs/benchmarks.md,
 * "Log objects of 5,000 records"). CloudTrail sets no size to its log files: "one or more
 * records" each (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html).
 */
export const DELIVERY_BATCH = 5000;
/**
 * A log object also ends at this many characters of records (a row is never split: a larger one
 * goes alone): gzip's input, the object and the strings must fit a Worker's memory whatever the
 * records' size (an encryption context may fill a request body: 64 KiB a record).
 */
export const MAX_DELIVERY_CHARS = 16 * 1024 * 1024;
/**
 * The longest row storage can hold here: MAX_ROW_CHARS of a commit's records, or one longer
 * record alone. A record echoes no more of its request than that request's body (a batch's is at
 * most MAX_BATCH_BODY_BYTES; what JSON escapes in the record was escaped as long in the body),
 * plus members of its own (a user agent of at most MAX_USER_AGENT_CHARS, ARNs, ids): 64 KiB is
 * ample for those. An outsider's review made a 787,654-character record of one BatchReEncrypt
 * entry whose two encryption contexts were all control characters (6 characters each in JSON).
 */
export const MAX_STORED_ROW_CHARS = Math.max(MAX_ROW_CHARS, MAX_BATCH_BODY_BYTES + 64 * 1024);
/** How many rows a listing page may ask for when `chars` characters are left to read: as many as that holds at MAX_STORED_ROW_CHARS a row, and at least one. */
const rowsWithin = (chars: number): number => Math.max(1, Math.floor(chars / MAX_STORED_ROW_CHARS));
export const DIGEST_INTERVAL_MS = 3_600_000;
const DEDUPE_WINDOW_MS = 24 * 3_600_000;
const MAX_BACKOFF_MS = 300_000;
/** How soon a shard forwards its records to the AuditLog, and in batches of how many. */
export const SHARD_FORWARD_MS = 1000;
/** Rows per forwarded batch: a row holds one commit's records, up to MAX_ROW_CHARS. */
const SHARD_FORWARD_BATCH = 16;
/** Rows per page when a delivery picks its rows: the first page, and the most (DELIVERY_BATCH rows at one record each). */
const FIRST_PAGE_ROWS = 8;
const MAX_PAGE_ROWS = DELIVERY_BATCH;
/** How many records a stored row holds (rowRecords(row).length, without splitting it). */
function rowCount(row: unknown): number {
  if (typeof row !== "string") return 1;
  let n = 1;
  for (let i = row.indexOf("\n"); i >= 0; i = row.indexOf("\n", i + 1)) n++;
  return n;
}
/**
 * How many recently delivered objects `recent()` reads back at most, newest first, and after how
 * many of their records it stops: five objects held 5,000 records when an object held 1,000
 * (DELIVERY_BATCH then), and a tail reads no more now that one can hold 5,000.
 */
const RECENT_OBJECTS = 5;
export const RECENT_RECORDS = 5000;
/**
 * The most characters of records one tail reads here (recent()): as many as it may answer
 * (MAX_TAIL_CHARS), give or take one row and one object, each read whole.
 */
export const RECENT_READ_CHARS = MAX_TAIL_CHARS;
/**
 * Records of requests that failed authentication kept one by one per source and minute; the
 * rest of that minute's from the source are counted into one aggregate record (docs/audit.md).
 * Without a key anybody can send such requests, so without a bound they could flood the trail.
 */
export const UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE = 10;
const MINUTE_MS = 60_000;
/** Storage prefix of the (source, minute) counters: `u:<minute start ms>:<source>`. */
const COUNTER_PREFIX = "u:";

/** A (source, minute) counter: all its requests (`seen`), and those past the threshold not yet in an aggregate record. */
interface SourceMinute extends Omit<UnauthenticatedCount, "firstEventTime" | "lastEventTime"> {
  minute: number;
  seen: number;
  firstEventTime?: string;
  lastEventTime?: string;
  /** Set once its minute has passed and its aggregate is written: a commit still pending may store it so, and it is then dropped. */
  closed?: true;
}

/** Encryption of delivered objects under a KMS key (service-managed alias/aws/cloudtrail, or the account's own). */
export interface AuditEncryption { keyId: string; keyArn: string }
/** `shard` is set (≥ 1) on an ingest shard, which forwards its records to the AuditLog (shard 0). */
interface Meta { account: string; region: string; created: number; encryption?: AuditEncryption; shard?: number }

// Object metadata of an encrypted log object (docs/audit.md).
const META_KEY = "edgekms-sse-kms-key";
const META_DATA_KEY = "edgekms-encrypted-data-key";
const META_IV = "edgekms-iv";
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
/** A delivery in progress. `recordKeys` are the keys of its rows (a v2 row held one record). */
interface Batch { objectKey: string; recordKeys: string[] }
/** A stand-in record (appendStandIn): its row's key, and when it was stored. */
interface StandIn { rowKey: string; at: number }
/** Stand-in marks, `x:<eventID>`. */
const STAND_IN_PREFIX = "x:";
/** The member of a record's JSON text that names its event id (as JSON.stringify writes it). */
const EVENT_ID_MEMBER = /"eventID":"([^"\\]*)"/;
interface Delivered { objectKey: string; hashValue: string; oldestEventTime: string; newestEventTime: string; count: number; encryptedWith?: string }
interface LastDigest { objectKey: string; hashValue: string; signature: string; endTime: string }

export interface TailEntry { delivered: boolean; record: CloudTrailRecord }

/** Whether a record is one a tail asked for: of the event name, of the key (an ARN or a key id), and of the principal, when given. */
export const tailMatches = (record: CloudTrailRecord, eventName?: string, keyArn?: string, principal?: string): boolean =>
  (eventName === undefined || record.eventName === eventName) &&
  (keyArn === undefined || (record.resources ?? []).some((r) => r.ARN === keyArn || r.ARN.endsWith(`/${keyArn}`))) &&
  (principal === undefined || principalMatches(record, principal));

/**
 * Whether a record is the principal's: its ARN, its access key id, or an IAM user's name (the
 * last part of the user's ARN; "root" is not a user name, the root is named by its ARN).
 */
function principalMatches(record: CloudTrailRecord, principal: string): boolean {
  const who = record.userIdentity;
  if (who.arn === principal || who.accessKeyId === principal) return true;
  return who.type === "IAMUser" && who.arn !== undefined && who.arn.endsWith(`:user/${principal}`);
}

// The tail's budget and its choice of records live with the records (record.ts): a vault's outbox
// answers the tail by the same rule.
export { MAX_TAIL_CHARS, newestWithin } from "./record.js";

/**
 * The condition keys of the audit trail's own call as a service (GenerateDataKey for a log object):
 * the global keys a request has (an AWS service principal's: PrincipalIsAWSService true, no
 * source address), so that a Deny on one (the time, the Region) applies to it as to a caller.
 */
function serviceContext(account: string, region: string): Record<string, string> {
  // The caller keys of a request (request-context.ts), without a source address or user id.
  const { "aws:sourceip": _address, "aws:userid": _id, ...global } = callerContext({ arn: `arn:aws:iam::${account}:root`, accountId: account }, "", true, Date.now(), region);
  return { ...global, "aws:principaltype": "AWSService", "aws:principalisawsservice": "true", "kms:viaservice": auditViaService(region) };
}

/** Which R2 bucket a region's audit goes to: EU regions stay in the EU bucket. */
export function auditBucket(env: Env, region: string): { bucket: R2Bucket; name: string } {
  return placementOf(env, region)?.jurisdiction === "eu"
    ? { bucket: env.AUDIT_BUCKET_EU, name: env.AUDIT_BUCKET_EU_NAME }
    : { bucket: env.AUDIT_BUCKET, name: env.AUDIT_BUCKET_NAME };
}

export class AuditLog extends DurableObject<Env> {
  private readonly commit = new GroupCommit(this.ctx.storage, joinRecords);
  private meta: Meta | undefined;
  private appendedSinceAlarm = 0;
  /** The alarm as last set (null: none), once read from storage. */
  private alarmAt: number | null | undefined;
  /** When a failed pass (R2 or shard 0 unreachable) is retried: until then, no record moves the alarm earlier. */
  private retryAt: number | undefined;
  /** A shard's forwarding passes, one at a time. */
  private readonly forwarding = new OneAtATime();
  private readonly digesting = new OneAtATime();
  /**
   * Deliveries, one pass at a time: the alarm and a flush each list the oldest rows, and two
   * passes overlapping across an await (R2, a hash) listed the same rows, or nearly, and delivered
   * their records twice (an outsider's review).
   */
  private readonly delivering = new OneAtATime();
  /** Named fault points tests arm (vault/faults.ts). */
  readonly faults = new Faults();
  /** Test hook: shifts the clock that unauthenticated requests are counted by (their minute). */
  clockOffsetMs = 0;
  /**
   * The (source, minute) counters of unauthenticated requests, read from storage once; from then
   * on this map is the truth, and storage gets its counters' states through the group commit.
   */
  private counters: Promise<Map<string, SourceMinute>> | undefined;
  /**
   * The records the handler stored after a call failed inside a vault (appendStandIn), by event
   * id, with their row keys: read from storage once. Usually empty, so that vault batches pay
   * nothing for it.
   */
  private standIns: Promise<Map<string, StandIn>> | undefined;
  /**
   * Stand-in rows an append is replacing, until its commit is stored (the commit waits for the
   * group commit's timer, and other calls run meanwhile): a delivery does not list them.
   */
  private readonly replacing = new Set<string>();
  /**
   * The rows a delivery listed, until it deletes them (or fails): its batch mark is stored only
   * once the listing ends, and an append that found no mark must still see them in delivery.
   */
  private listing: Map<string, unknown> | undefined;
  /**
   * Batches being appended, until their commit is done: their `b:` mark is stored by that commit,
   * after the group commit's timer, and the same batch sent again meanwhile (a sender whose call
   * failed after it arrived) must wait for it rather than find no mark and be stored twice.
   */
  private readonly appending = new Map<string, Promise<void>>();

  private async ensureMeta(region: string, account: string, shard = 0): Promise<Meta> {
    this.meta ??= await this.ctx.storage.get<Meta>("meta");
    if (!this.meta) {
      this.meta = { account, region, created: Date.now(), ...(shard ? { shard } : {}) };
      await this.ctx.storage.put("meta", this.meta);
      if (!shard) await this.ctx.storage.put("digest:next", Date.now() + DIGEST_INTERVAL_MS);
    }
    return this.meta;
  }

  /**
   * The chaos driver's hook (docs/chaos.md): refused unless CHAOS = "on". Reached only over
   * Durable Object RPC from the driver (no route of the Worker calls it); answers counts and
   * sizes, never a record.
   */
  async chaos(cmd: ChaosCommand): Promise<ChaosAnswer> {
    return runChaos(this.env, this, {
      // In-flight appends and deliveries fail.
      abort: () => this.ctx.abort("chaos: abort"),
      deliverNow: () => this.setAlarm(Date.now()),
      stats: async (withRows) => {
        const dbBytes = this.ctx.storage.sql.databaseSize;
        if (!withRows) return { dbBytes };
        const rows: Record<string, number> = {};
        let records = 0;
        for (const prefix of ["r:", COUNTER_PREFIX, "b:", "o:"]) {
          const listed = await this.ctx.storage.list({ prefix });
          rows[prefix] = listed.size;
          if (prefix === "r:") for (const row of listed.values()) records += rowCount(row);
        }
        return { dbBytes, rows, records };
      },
    }, cmd);
  }

  /** Turns encryption of delivered objects on (under the given key) or off. */
  async setEncryption(region: string, account: string, encryption: AuditEncryption | undefined): Promise<void> {
    const meta = await this.ensureMeta(region, account);
    const { encryption: _old, ...rest } = meta;
    this.meta = { ...rest, ...(encryption ? { encryption } : {}) };
    await this.ctx.storage.put("meta", this.meta);
  }

  private keyVault(region: string, keyArn: string) {
    return vaultStub(this.env, region, keyArn.split("/").pop()!);
  }

  /**
   * The stored bytes of a log object as gzip'd JSON: decrypted through the service for `reader`
   * when the object is encrypted, so the key's policies decide whether the reader may.
   */
  async openObject(objectKey: string, stored: Uint8Array, metadata: Record<string, string>, reader: VaultCaller): Promise<VaultResult<Uint8Array>> {
    const keyArn = metadata[META_KEY];
    if (!keyArn) return ok(stored);
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"));
    if (!meta) return fail("NotFound", `No audit object ${objectKey} was delivered here`);
    const caller: VaultCaller = {
      ...reader,
      keyAccount: meta.account,
      // The reader's own kms:Decrypt permission (the admin handler names it), through the service.
      context: { ...reader.context, "kms:viaservice": auditViaService(meta.region), "aws:viaawsservice": "true", "kms:calleraccount": reader.account },
    };
    const r = await this.keyVault(meta.region, keyArn).decrypt(caller, unb64(metadata[META_DATA_KEY]), { "edgekms:audit-object": objectKey });
    if (!r.ok) return fail(r.code, r.message, r.detail);
    try {
      return ok(aesGcmOpen(r.value.plaintext, unb64(metadata[META_IV]), stored, new TextEncoder().encode(objectKey)));
    } finally {
      r.value.plaintext.fill(0);
    }
  }

  /**
   * Stores records durably (group commit: the records of concurrent calls share one commit
   * and one row, docs/formats.md). A batch from a vault or a shard carries an id: a
   * batch already taken (a sender retrying after a crash) is not taken again. `shard` names
   * the ingest shard this object is (0: the AuditLog itself). Each text is one record's, or a
   * row's records joined by newlines (a shard's forwarded row, a batch request's records).
   */
  async append(region: string, account: string, records: EncodedRecord[], batchId?: string, shard = 0): Promise<void> {
    const meta = this.meta ?? (await this.ensureMeta(region, account, shard));
    if (batchId === undefined) return this.store(meta, records, undefined);
    for (;;) {
      const earlier = this.appending.get(batchId);
      if (earlier) {
        await earlier.catch(() => undefined); // stored (its mark answers below), or failed (this one stores it)
        continue;
      }
      if ((await this.ctx.storage.get(`b:${batchId}`)) !== undefined) return;
      if (!this.appending.has(batchId)) break;
    }
    const stored = this.store(meta, records, batchId);
    this.appending.set(batchId, stored);
    try {
      await stored;
    } finally {
      this.appending.delete(batchId);
    }
  }

  /** append's commit: the records, the batch's mark, and the stand-ins they replace. */
  private async store(meta: Meta, records: EncodedRecord[], batchId: string | undefined): Promise<void> {
    const { kept, used, removals, replaced } = batchId !== undefined ? await this.replaceStandIns(records) : { kept: records, used: [], removals: [], replaced: [] };
    try {
      if (kept.length === 0 && used.length === 0) return;
      this.faults.hit("append");
      // One commit: the records, the batch's mark, and the stand-ins they replace (rows and marks).
      const writes = removals.map((k) => this.commit.remove(k));
      if (kept.length > 0) writes.push(this.commit.addToRow(kept.map((r) => ({ key: r.key, line: r.json }))));
      if (batchId !== undefined) writes.push(this.commit.write(`b:${batchId}`, Date.now()));
      // An appended text may hold a row's records (a forwarded row, a batch request's records).
      for (const r of kept) this.appendedSinceAlarm += rowCount(r.json);
      writes.push(this.scheduleNextPass(meta));
      await Promise.all(writes);
      const standIns = await this.loadStandIns();
      for (const id of used) standIns.delete(id);
    } finally {
      // Stored, or not (the vault sends its batch again): a delivery takes the row as it is then.
      for (const k of replaced) this.replacing.delete(k);
    }
  }

  /**
   * Schedules the next pass: a shard's forwarding; the AuditLog's delivery, at once when a batch
   * is full. Not before a pending retry: during an outage every append would otherwise set the
   * alarm to now, and each pass read, gzip and try to write a batch again (npm run chaos found it).
   */
  private async scheduleNextPass(meta: Meta): Promise<void> {
    const due = Math.max(this.retryAt ?? 0, meta.shard
      ? Date.now() + SHARD_FORWARD_MS
      : this.appendedSinceAlarm >= DELIVERY_BATCH ? Date.now() : Date.now() + DELIVERY_INTERVAL_MS);
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > due) await this.setAlarm(due);
  }

  private now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private loadCounters(): Promise<Map<string, SourceMinute>> {
    if (this.counters) return this.counters;
    const loading = this.ctx.storage.list<SourceMinute>({ prefix: COUNTER_PREFIX }).then(async (stored) => {
      const closed = [...stored].filter(([, c]) => c.closed).map(([key]) => key);
      if (closed.length) await deleteMany(this.ctx.storage, closed);
      return new Map([...stored].filter(([, c]) => !c.closed));
    });
    // A failed read is tried again by the next caller.
    loading.catch(() => { if (this.counters === loading) this.counters = undefined; });
    return (this.counters = loading);
  }

  /**
   * The record the handler completed for a request that failed inside a vault call (the vault
   * was reset, or threw): the vault may have stored its own record of the request, with the
   * same event id, in its outbox before it failed, and forwards it here later. So this record
   * is stored in a row of its own, with a mark `x:<eventID>`; when the vault's record of that
   * event comes (append, from a vault's batch), it takes this one's place if this one is still
   * here, and is dropped if this one was delivered already: either way the event is recorded
   * once. Only on the AuditLog itself (shard 0), where vaults send their records.
   */
  async appendStandIn(region: string, account: string, record: EncodedRecord, eventId: string): Promise<void> {
    const meta = this.meta ?? (await this.ensureMeta(region, account));
    this.faults.hit("append");
    const standIns = await this.loadStandIns();
    const mark: StandIn = { rowKey: record.key, at: Date.now() };
    standIns.set(eventId, mark);
    this.appendedSinceAlarm++;
    await Promise.all([this.commit.write(record.key, record.json), this.commit.write(`${STAND_IN_PREFIX}${eventId}`, mark), this.scheduleNextPass(meta)]);
  }

  private loadStandIns(): Promise<Map<string, StandIn>> {
    return (this.standIns ??= this.ctx.storage.list<StandIn>({ prefix: STAND_IN_PREFIX }).then(
      (marks) => new Map([...marks].map(([k, v]) => [k.slice(STAND_IN_PREFIX.length), v])),
    ));
  }

  /**
   * A vault batch's records, each taking the place of a stand-in of its event (appendStandIn), or
   * dropped if that was delivered: those kept, the stand-ins' event ids used, the keys the
   * append's commit deletes (used marks, replaced rows), and the replaced rows, which the caller
   * takes out of `replacing` once that commit is done. Nothing is stored until that commit.
   */
  private async replaceStandIns(records: EncodedRecord[]): Promise<{ kept: EncodedRecord[]; used: string[]; removals: string[]; replaced: string[] }> {
    const standIns = await this.loadStandIns();
    if (standIns.size === 0) return { kept: records, used: [], removals: [], replaced: [] };
    await this.commit.settled(); // a stand-in just appended is stored before it is looked for
    const kept: EncodedRecord[] = [];
    const used: string[] = [];
    const removals: string[] = [];
    const replaced: string[] = [];
    try {
      for (const r of records) {
        const id = EVENT_ID_MEMBER.exec(r.json.slice(r.json.lastIndexOf('"eventID":"')))?.[1];
        const standIn = id === undefined ? undefined : standIns.get(id);
        if (!standIn) {
          kept.push(r);
          continue;
        }
        used.push(id!);
        removals.push(`${STAND_IN_PREFIX}${id}`);
        // Still stored, and not in a delivery under way (whose rows are read again after a crash): replaced.
        const batched = ((await this.ctx.storage.get<Batch>("batch"))?.recordKeys ?? []).includes(standIn.rowKey);
        const stored = (await this.ctx.storage.get(standIn.rowKey)) !== undefined;
        // Decided after the last await, with `listing` and `replacing`: a delivery that listed the row
        // before its batch mark was stored, or another append replacing it (a batch sent again), has
        // it; and from here a delivery sees this one's decision, though its commit is still to come.
        if (stored && !batched && !this.listing?.has(standIn.rowKey) && !this.replacing.has(standIn.rowKey)) {
          this.replacing.add(standIn.rowKey);
          replaced.push(standIn.rowKey);
          removals.push(standIn.rowKey);
          kept.push(r);
        }
      }
    } catch (e) {
      // A storage read failed partway: the rows marked so far are not being replaced after all
      // (left marked, a listing would pass over those stand-ins for as long as this object lives).
      for (const k of replaced) this.replacing.delete(k);
      throw e;
    }
    return { kept, used, removals, replaced };
  }

  /**
   * The record of a request that failed authentication (on the AuditLog itself, shard 0). The
   * first UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE of a source's minute (this object's clock)
   * are stored as records; the rest only add to the (source, minute) counter, which a later
   * pass turns into one aggregate record (closeCounters). The counter is written in the same
   * group commit as the record, so what the caller was answered is counted durably.
   */
  async appendUnauthenticated(region: string, account: string, record: EncodedRecord, source: string, facts: { eventTime: string; eventName: string; errorCode: string }): Promise<void> {
    const meta = this.meta ?? (await this.ensureMeta(region, account));
    const counters = await this.loadCounters();
    const minute = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    const key = `${COUNTER_PREFIX}${minute}:${source}`;
    let c = counters.get(key);
    if (!c) counters.set(key, (c = { source, minute, seen: 0, count: 0, errorCodes: {}, eventNames: {} }));
    c.seen++;
    const writes: Promise<void>[] = [];
    if (c.seen <= UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE) {
      writes.push(this.commit.addToRow([{ key: record.key, line: record.json }]));
      this.appendedSinceAlarm++;
    } else {
      c.count++;
      if (c.firstEventTime === undefined || facts.eventTime < c.firstEventTime) c.firstEventTime = facts.eventTime;
      if (c.lastEventTime === undefined || facts.eventTime > c.lastEventTime) c.lastEventTime = facts.eventTime;
      c.errorCodes[facts.errorCode] = (c.errorCodes[facts.errorCode] ?? 0) + 1;
      c.eventNames[facts.eventName] = (c.eventNames[facts.eventName] ?? 0) + 1;
    }
    // The counter itself, not a copy: the commit stores its state as of the commit.
    writes.push(this.commit.write(key, c), this.scheduleNextPass(meta));
    await Promise.all(writes);
  }

  /**
   * Writes the aggregate record of each counter with requests past the threshold: of the minutes
   * that have passed (an alarm), or also of the current one (`all`, a flush; its counter stays,
   * so the rest of its minute is still counted). Passed minutes' counters are deleted. The
   * records and the counter changes are issued in one turn, so they commit together.
   */
  private async closeCounters(all: boolean): Promise<void> {
    const counters = await this.loadCounters();
    if (counters.size === 0) return;
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"))!;
    const current = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    const puts: Record<string, unknown> = {};
    const deletes: string[] = [];
    for (const [key, c] of counters) {
      const passed = c.minute < current;
      if (!passed && (!all || c.count === 0)) continue;
      if (c.count > 0) {
        const r = encodeRecord(unauthenticatedAggregate(meta.region, meta.account, { ...c, firstEventTime: c.firstEventTime!, lastEventTime: c.lastEventTime! }, UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE));
        puts[r.key] = r.json; // a row of one record
      }
      if (passed) {
        c.closed = true;
        counters.delete(key);
        deletes.push(key);
      } else {
        Object.assign(c, { count: 0, errorCodes: {}, eventNames: {}, firstEventTime: undefined, lastEventTime: undefined });
        puts[key] = { ...c };
      }
    }
    const ops: Promise<void>[] = [];
    const keys = Object.keys(puts);
    for (let i = 0; i < keys.length; i += 128) ops.push(this.ctx.storage.put(Object.fromEntries(keys.slice(i, i + 128).map((k) => [k, puts[k]]))));
    for (let i = 0; i < deletes.length; i += 128) ops.push(this.ctx.storage.delete(deletes.slice(i, i + 128)).then(() => undefined));
    await Promise.all(ops);
  }

  private setAlarm(at: number): Promise<void> {
    this.alarmAt = at;
    return this.ctx.storage.setAlarm(at);
  }

  /** Alarm: a shard forwards its records; the AuditLog delivers them to R2 and writes digests. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"));
    if (!meta) return;
    try {
      if (meta.shard) {
        this.appendedSinceAlarm = 0;
        await this.forward();
        this.retryAt = undefined;
        await this.ctx.storage.delete("attempts");
        return;
      }
      await this.closeCounters(false);
      await this.deliverAll();
      const next = (await this.ctx.storage.get<number>("digest:next")) ?? 0;
      if (next <= Date.now()) await this.writeDigest();
      this.retryAt = undefined;
      await this.ctx.storage.delete("attempts");
      this.appendedSinceAlarm = 0;
      await this.setAlarm(Math.min((await this.ctx.storage.get<number>("digest:next"))!, Date.now() + DELIVERY_INTERVAL_MS));
    } catch (e) {
      const attempts = ((await this.ctx.storage.get<number>("attempts")) ?? 0) + 1;
      await this.ctx.storage.put("attempts", attempts);
      console.error(`audit delivery failed (attempt ${attempts}): ${e instanceof Error ? e.message : String(e)}`);
      this.retryAt = Date.now() + Math.min(1000 * 2 ** attempts, MAX_BACKOFF_MS);
      await this.setAlarm(this.retryAt);
    }
  }

  /**
   * On a shard: hands its records to the AuditLog (shard 0) in batches. A batch's id and
   * members are stored before it is sent, so a retry after a crash resends exactly that
   * batch, which the AuditLog does not take twice. One pass at a time (alarm and flush queue).
   */
  forward(): Promise<number> {
    return this.forwarding.run(() => this.forwardBatches());
  }

  private async forwardBatches(): Promise<number> {
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"));
    if (!meta?.shard) return 0;
    const log = auditLogStub(this.env, meta.region, meta.account);
    return forwardInBatches<unknown>(this.ctx.storage, { prefix: "r:", batchKey: "forward-batch", limit: SHARD_FORWARD_BATCH }, (batchId, rows) =>
      log.append(meta.region, meta.account, [...rows].map(([key, row]) => ({ key, json: joinRecords(rowRecords(row)) })), `shard${meta.shard}:${batchId}`), this.faults);
  }

  /** Delivers every pending record now and writes a digest. */
  async flush(): Promise<{ objects: string[]; digest?: string }> {
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"));
    if (!meta) return { objects: [] };
    if (meta.shard) {
      await this.forward();
      return { objects: [] };
    }
    await this.closeCounters(true);
    const objects = await this.deliverAll();
    const digest = await this.writeDigest();
    return { objects, digest };
  }

  /** Delivers pending records in batches of DELIVERY_BATCH. Returns the object keys written. */
  private deliverAll(): Promise<string[]> {
    return this.delivering.run(async () => {
      const written: string[] = [];
      for (;;) {
        const key = await this.deliverOne();
        if (!key) return written;
        written.push(key);
      }
    });
  }

  /**
   * One batch: the oldest rows, until they hold DELIVERY_BATCH records. Its object name and
   * rows are stored before the R2 write, so a retry after a crash writes the same object again
   * (no duplicate); rows are deleted only after R2 confirms the object.
   */
  private async deliverOne(): Promise<string | undefined> {
    try {
      return await this.deliverBatch();
    } finally {
      // Its rows are deleted, or it failed: then its stored batch mark (if any) answers for them.
      this.listing = undefined;
    }
  }

  private async deliverBatch(): Promise<string | undefined> {
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"))!;
    let batch = await this.ctx.storage.get<Batch>("batch");
    let listed: Map<string, unknown> | undefined;
    if (!batch) {
      // The oldest rows until they hold DELIVERY_BATCH records, listed a page at a time: a row
      // holds one commit's records (a batch request's commit holds hundreds), so listing
      // DELIVERY_BATCH rows at once would read far more than one object takes.
      listed = this.listing = new Map();
      let count = 0;
      let chars = 0;
      let startAfter: string | undefined;
      let limit = FIRST_PAGE_ROWS;
      const full = () => count >= DELIVERY_BATCH || chars >= MAX_DELIVERY_CHARS;
      while (!full()) {
        const page = await this.ctx.storage.list({ prefix: "r:", limit, ...(startAfter !== undefined ? { startAfter } : {}) });
        for (const [key, row] of page) {
          if (this.replacing.has(key)) {
            startAfter = key; // deleted by an append's commit still to come
            continue;
          }
          const size = typeof row === "string" ? row.length : JSON.stringify(row).length;
          if (full() || (listed.size > 0 && chars + size > MAX_DELIVERY_CHARS)) {
            chars = MAX_DELIVERY_CHARS; // this row starts the next object
            break;
          }
          listed.set(key, row);
          count += rowCount(row);
          chars += size;
          startAfter = key;
        }
        if (full() || page.size < limit) break;
        // The next page: about as many rows as the rest needs, at the rows' size so far, and never
        // more than the object's characters left hold at MAX_STORED_ROW_CHARS a row. Sized by the
        // rows so far alone, a page after small rows (single requests) could read thousands of
        // full ones (batches) at once: hundreds of MiB, past a Worker's memory.
        const estimate = Math.ceil(((DELIVERY_BATCH - count) * listed.size) / Math.max(count, 1));
        limit = Math.max(1, Math.min(MAX_PAGE_ROWS, estimate, rowsWithin(MAX_DELIVERY_CHARS - chars)));
      }
      if (listed.size === 0) return undefined;
      const recordKeys = [...listed.keys()];
      const unique = (await sha256Hex(`${recordKeys[0]}\n${recordKeys[recordKeys.length - 1]}\n${recordKeys.length}`)).slice(0, 16);
      batch = { objectKey: logObjectKey(meta.account, meta.region, Date.now(), unique), recordKeys };
      await this.ctx.storage.put("batch", batch);
    }
    // A batch stored by an earlier pass (which a crash interrupted) is read again.
    const rows = listed ?? (await getMany<unknown>(this.ctx.storage, batch.recordKeys));
    const { body, count, oldestEventTime, newestEventTime } = logObject(rows.values());
    const { bucket } = auditBucket(this.env, meta.region);
    // An earlier pass of this batch may have written its object and died before deleting its rows.
    // Under an R2 bucket lock (docs/deploy.md) the object cannot be written again, so it is taken as
    // delivered: only this AuditLog writes this name, a put is all or nothing, and the batch's rows
    // are the stored ones. Unencrypted, its hash is checked against the rows; encrypted, the hash is
    // of the stored bytes (a fresh IV each pass), so its record count is what is checked.
    const earlier = await bucket.head(batch.objectKey);
    const adopted = earlier?.customMetadata?.records === String(count) && earlier.customMetadata.sha256
      && (meta.encryption || earlier.customMetadata.sha256 === (await sha256Hex(body)))
      ? earlier.customMetadata.sha256 : undefined;
    const hashValue = adopted ?? (await this.putLogObject(meta, batch.objectKey, body, count));
    this.faults.hit("after-r2-put");
    const delivered: Delivered = {
      objectKey: batch.objectKey, hashValue, oldestEventTime, newestEventTime, count,
      ...(meta.encryption ? { encryptedWith: meta.encryption.keyArn } : {}),
    };
    this.ctx.storage.put(`o:${batch.objectKey}`, delivered);
    const recent = (await this.ctx.storage.get<string[]>("recent")) ?? [];
    this.ctx.storage.put("recent", [...recent, batch.objectKey].slice(-RECENT_OBJECTS));
    await deleteMany(this.ctx.storage, [...batch.recordKeys, "batch"]);
    return batch.objectKey;
  }

  /** Writes a log object (gzip, and encrypted when the account asked for it); returns the hash its digest lists. */
  private async putLogObject(meta: Meta, objectKey: string, body: Uint8Array, count: number): Promise<string> {
    let stored = await gzip(body);
    const customMetadata: Record<string, string> = { records: String(count) };
    if (meta.encryption) {
      // Envelope encryption: a data key per object from the account's audit key, through the service.
      const dk = await this.keyVault(meta.region, meta.encryption.keyArn).generateDataKey(
        {
          account: meta.account, keyAccount: meta.account, principalArn: `arn:aws:iam::${meta.account}:root`, service: AUDIT_SERVICE_PRINCIPAL,
          principalType: "Root", policies: [],
          // The service acts in the key's own account, on the key's policy alone (or a grant to it).
          authz: { check: SERVICE_GENERATE_DATA_KEY },
          context: serviceContext(meta.account, meta.region),
        },
        32, { "edgekms:audit-object": objectKey }, true,
      );
      if (!dk.ok) throw new Error(`audit encryption key ${meta.encryption.keyArn}: ${dk.code} ${dk.message}`);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      try {
        stored = aesGcmSeal(dk.value.plaintext!, iv, stored, new TextEncoder().encode(objectKey));
      } finally {
        dk.value.plaintext!.fill(0);
      }
      Object.assign(customMetadata, { [META_KEY]: dk.value.keyArn, [META_DATA_KEY]: b64(dk.value.blob), [META_IV]: b64(iv) });
    }
    // Digests list the SHA-256 of the uncompressed log, or of the stored bytes when encrypted,
    // so that they verify without decryption.
    const hashValue = await sha256Hex(meta.encryption ? stored : body);
    customMetadata.sha256 = hashValue;
    const { bucket } = auditBucket(this.env, meta.region);
    this.faults.hit("r2-put");
    await bucket.put(objectKey, stored, {
      httpMetadata: meta.encryption ? { contentType: "application/octet-stream" } : { contentType: "application/json", contentEncoding: "gzip" },
      customMetadata,
    });
    const head = await bucket.head(objectKey);
    if (!head || head.customMetadata?.sha256 !== hashValue) throw new Error(`R2 did not confirm ${objectKey}`);
    return hashValue;
  }

  /** Writes the next digest of the chain (also when no log object was delivered), one at a time (alarm and flush). */
  private writeDigest(): Promise<string> {
    return this.digesting.run(() => this.writeNextDigest());
  }

  private async writeNextDigest(): Promise<string> {
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"))!;
    const { bucket, name } = auditBucket(this.env, meta.region);
    const last = await this.ctx.storage.get<LastDigest>("digest:last");
    // Digest names have one-second precision: each digest ends strictly after the previous one,
    // so that two digests never share an object key. A digest asked for in the same second as
    // the previous one waits for the next second rather than end ahead of the clock: flushes in
    // quick succession pushed end times seconds ahead, and an object delivered meanwhile then
    // looked older than the newest digest (verify: not listed in any digest, rather than pending;
    // npm test failed on it near a minute's end). Only a clock that went back skips ahead.
    const next = last ? Date.parse(last.endTime) + 1000 : 0;
    if (next > Date.now() && next - Date.now() <= 1000) await new Promise((r) => setTimeout(r, next - Date.now()));
    const now = Math.max(Date.now(), next);
    // Listed after the wait: an object delivered during it is in this digest.
    const files = [...(await this.ctx.storage.list<Delivered>({ prefix: "o:" })).values()];
    const key = digestObjectKey(meta.account, meta.region, now);
    const signer = signerStub(this.env, meta.region);
    const publicKey = await signer.publicKey(meta.region);
    const times = files.flatMap((f) => [f.oldestEventTime, f.newestEventTime]).sort();
    const endTime = isoSeconds(now);
    const digest = {
      awsAccountId: meta.account,
      digestStartTime: last?.endTime ?? isoSeconds(meta.created),
      digestEndTime: endTime,
      digestS3Bucket: name,
      digestS3Object: key,
      digestPublicKeyFingerprint: publicKey.fingerprint,
      digestSignatureAlgorithm: DIGEST_SIGNATURE_ALGORITHM,
      newestEventTime: times.length ? times[times.length - 1] : null,
      oldestEventTime: times.length ? times[0] : null,
      previousDigestS3Bucket: last ? name : null,
      previousDigestS3Object: last?.objectKey ?? null,
      previousDigestHashValue: last?.hashValue ?? null,
      previousDigestHashAlgorithm: last ? "SHA-256" : null,
      previousDigestSignature: last?.signature ?? null,
      logFiles: files.map((f) => ({
        s3Bucket: name, s3Object: f.objectKey, hashValue: f.hashValue, hashAlgorithm: "SHA-256", newestEventTime: f.newestEventTime, oldestEventTime: f.oldestEventTime,
        ...(f.encryptedWith ? { encryptedWith: f.encryptedWith } : {}),
      })),
    };
    const body = new TextEncoder().encode(JSON.stringify(digest));
    const hashValue = await sha256Hex(body);
    const signature = await signer.sign(meta.region, digestSigningString(endTime, name, key, hashValue, last?.signature ?? null));
    await bucket.put(key, await gzip(body), {
      httpMetadata: { contentType: "application/json", contentEncoding: "gzip" },
      customMetadata: { signature, "signature-algorithm": DIGEST_SIGNATURE_ALGORITHM },
    });
    if (!(await bucket.head(key))) throw new Error(`R2 did not confirm ${key}`);
    this.ctx.storage.put("digest:last", { objectKey: key, hashValue, signature, endTime } satisfies LastDigest);
    this.ctx.storage.put("digest:next", Date.now() + DIGEST_INTERVAL_MS);
    await deleteMany(this.ctx.storage, files.map((f) => `o:${f.objectKey}`));
    await this.pruneBatchMarks(Date.now());
    return key;
  }

  /** Batch ids are remembered for a day: far longer than any vault retries. */
  private async pruneBatchMarks(now: number): Promise<void> {
    const marks = await this.ctx.storage.list<number>({ prefix: "b:", limit: 10_000 });
    await deleteMany(this.ctx.storage, [...marks].filter(([, t]) => t < now - DEDUPE_WINDOW_MS).map(([k]) => k));
    // Stand-ins whose vault never sent a record of their event (it failed before storing one).
    const standIns = await this.loadStandIns();
    const old = [...standIns].filter(([, m]) => m.at < now - DEDUPE_WINDOW_MS).map(([id]) => id);
    for (const id of old) standIns.delete(id);
    await deleteMany(this.ctx.storage, old.map((id) => `${STAND_IN_PREFIX}${id}`));
  }

  /**
   * Recent records: those of the last few delivered objects, and those not yet delivered; the
   * newest `limit` that match, within MAX_TAIL_CHARS (`truncated` if more matched).
   */
  async recent(reader: VaultCaller, limit: number, eventName?: string, keyArn?: string, principal?: string): Promise<VaultResult<{ entries: TailEntry[]; truncated: boolean }>> {
    const meta = (this.meta ??= await this.ctx.storage.get<Meta>("meta"));
    if (!meta) return ok({ entries: [], truncated: false });
    const out: TailEntry[] = [];
    // What is read here is bounded (RECENT_READ_CHARS): pending rows newest first, a page at a
    // time of no more rows than the characters left hold at MAX_STORED_ROW_CHARS a row, then
    // delivered objects newest first, each whole. What the bound leaves out is older than what
    // was read, and makes the answer truncated. (Reading every pending row let one principal's
    // long records make a tail of Limit 1 read and parse tens of MiB: an outsider's review.)
    let left = RECENT_READ_CHARS;
    let cut = false;
    // Rows before objects: a delivery can finish while the objects are read (R2 reads let other
    // events in), and its records are then in the delivered objects or in the rows read before.
    for (let end: string | undefined; ;) {
      const rows = rowsWithin(left);
      const page = await this.ctx.storage.list({ prefix: "r:", reverse: true, limit: rows, ...(end !== undefined ? { end } : {}) });
      for (const [key, row] of page) {
        for (const json of rowRecords(row)) out.push({ delivered: false, record: JSON.parse(json) as CloudTrailRecord });
        left -= typeof row === "string" ? row.length : JSON.stringify(row).length;
        end = key;
      }
      if (page.size < rows) break;
      if (left <= 0) {
        cut = true;
        break;
      }
    }
    const { bucket } = auditBucket(this.env, meta.region);
    const recent = (await this.ctx.storage.get<string[]>("recent")) ?? [];
    let read = 0;
    for (let k = recent.length - 1; k >= 0 && read < RECENT_RECORDS; k--) {
      if (left <= 0) {
        cut = true;
        break;
      }
      const obj = await bucket.get(recent[k]);
      if (!obj) continue;
      const opened = await this.openObject(recent[k], new Uint8Array(await obj.arrayBuffer()), obj.customMetadata ?? {}, reader);
      if (!opened.ok) return opened;
      const text = new TextDecoder().decode(await gunzip(opened.value));
      left -= text.length;
      const { Records } = JSON.parse(text) as { Records: CloudTrailRecord[] };
      for (const record of Records) out.push({ delivered: true, record });
      read += Records.length;
    }
    const matches = out.filter((e) => tailMatches(e.record, eventName, keyArn, principal));
    const { kept, truncated } = newestWithin(matches.sort((a, b) => byEventOrder(a.record, b.record)), limit, (m) => m.record);
    return ok({ entries: kept, truncated: truncated || cut });
  }
}
