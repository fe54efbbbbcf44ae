// The audit trail: one record per request, durable before the response, delivered to R2
// exactly once, never holding secrets; digests signed and chained.
import { describe, expect, it } from "vitest";
import { SELF, env as testEnv, abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { auditShards } from "../../src/placement.js";
import { gunzip } from "../../src/audit/objects.js";
import { encodeRecord, type CloudTrailRecord } from "../../src/audit/record.js";
import { MAX_DELIVERY_CHARS, MAX_STORED_ROW_CHARS, RECENT_READ_CHARS, RECENT_RECORDS, type AuditLog } from "../../src/audit/audit-log.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { auditLogName, auditShardName, vaultName } from "../../src/placement.js";
import { MAX_ROW_CHARS } from "../../src/vault/group-commit.js";
import { ACCOUNT, ENDPOINT, admin, b64, call, newAccount, ok, unb64 } from "./kms.js";

const env = testEnv as unknown as Env;

/** The records delivered to a bucket (the account's, in every region of the non-EU bucket by default). */
async function deliveredRecords(bucket = env.AUDIT_BUCKET, prefix = `AWSLogs/${ACCOUNT}/CloudTrail/`): Promise<CloudTrailRecord[]> {
  const out: CloudTrailRecord[] = [];
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix, cursor });
    for (const o of listed.objects) {
      const obj = await bucket.get(o.key);
      const { Records } = JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await obj!.arrayBuffer()))));
      out.push(...Records);
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return out;
}

/** The AuditLog's stored rows (values of its `r:` keys). */
const storedRows = (log: DurableObjectStub<AuditLog>) =>
  runInDurableObject(log, async (_i: AuditLog, state: DurableObjectState) => [...(await state.storage.list<string>({ prefix: "r:" })).values()]);

async function flush(): Promise<void> {
  const r = await admin("AuditFlush");
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/**
 * Delivers the account's us-east-1 records to R2 as the alarms do (shards forward, the AuditLog's
 * alarm delivers), without the digest a flush writes: a flush within a second of the previous
 * digest waits for the next second (AuditLog.writeDigest), which loops of flushes would add up.
 */
async function deliver(): Promise<void> {
  for (let shard = 1; shard < auditShards(env); shard++) await env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, shard))).forward();
  await runDurableObjectAlarm(env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT))));
}

/** A complete record of a request that never happened, for storage-level tests. */
const draftRecord = (requestID: string): CloudTrailRecord => ({
  eventVersion: "1.08", userIdentity: { type: "Root", accountId: ACCOUNT }, eventTime: "2026-01-01T00:00:00Z", eventSource: "kms.amazonaws.com",
  eventName: "ListKeys", awsRegion: "us-east-1", sourceIPAddress: "127.0.0.1", userAgent: "test", requestParameters: null, responseElements: null,
  requestID, eventID: crypto.randomUUID(), readOnly: true, eventType: "AwsApiCall", managementEvent: true,
  recipientAccountId: ACCOUNT, eventCategory: "Management",
});

const byRequestId = (records: CloudTrailRecord[]) => {
  const m = new Map<string, CloudTrailRecord[]>();
  for (const r of records) if (r.requestID) m.set(r.requestID, [...(m.get(r.requestID) ?? []), r]);
  return m;
};

/**
 * A request's record, and the us-east-1 AuditLog with `fault` armed and a flush that failed on it
 * (the record in R2 already when the fault is after-r2-put). Shards forward what they hold with `forward`.
 */
async function flushFailingAt(fault: "r2-put" | "after-r2-put", times = 1) {
  const r = await call("GenerateRandom", { NumberOfBytes: 8 });
  const id = r.headers.get("x-amzn-RequestId")!;
  const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT)));
  await runInDurableObject(log, (instance: AuditLog) => instance.faults.arm(fault, times));
  expect((await admin("AuditFlush")).status).toBeGreaterThanOrEqual(500);
  const forward = async () => {
    for (let n = 1; n < auditShards(env); n++) await env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, n))).forward();
  };
  return { id, log, forward };
}

/**
 * An AuditLog of an account no other test uses (its id starts with `first`), and records of its
 * account: a request's record of event `eventID`, failed with `errorCode` when given (a handler's
 * stand-in) or not (the vault's own record of the event); `delivered`: its delivered records by request id.
 */
function ownLog(first: string) {
  const region = "us-east-1";
  const account = `${first}${String(Date.now()).slice(-11)}`;
  const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, account)));
  const rec = (id: string, eventID: string, errorCode?: string): CloudTrailRecord =>
    ({ ...draftRecord(id), eventName: "CreateKey", readOnly: false, recipientAccountId: account, eventID, ...(errorCode ? { errorCode, errorMessage: "An internal error occurred." } : {}) });
  const delivered = async () => byRequestId(await deliveredRecords(env.AUDIT_BUCKET, `AWSLogs/${account}/CloudTrail/${region}/`));
  return { region, account, log, rec, delivered };
}

/** The AuditLog's group commit waits `ms` longer than its own timer before it stores. */
const holdCommit = (log: DurableObjectStub<AuditLog>, ms = 150) =>
  runInDurableObject(log, (i: AuditLog) => {
    const commit = (i as unknown as { commit: { flush: () => Promise<void> } }).commit;
    const original = commit.flush.bind(commit);
    commit.flush = async () => { await new Promise((r) => setTimeout(r, ms)); return original(); };
  });

describe("audit trail", () => {
  it("N concurrent mixed requests leave exactly N records, each with its request id", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const kinds = [
      () => call("Encrypt", { KeyId: key, Plaintext: b64("audit me") }),
      () => call("GenerateDataKey", { KeyId: key, KeySpec: "AES_256" }),
      () => call("DescribeKey", { KeyId: "alias/none" }),
      () => call("Encrypt", { KeyId: key, Plaintext: 42 }),
      () => call("ListKeys", {}, { secretAccessKey: "wrong" }),
      () => call("ListKeys", {}, { accessKeyId: "AKIAUNKNOWNKEY000000" }),
      () => call("Decrypt", { CiphertextBlob: b64(new Uint8Array(60)) }),
      () => call("NoSuchOperation", {}),
    ];
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => kinds[i % kinds.length]()));
    const ids = responses.map((r) => r.headers.get("x-amzn-RequestId")!);
    expect(new Set(ids).size).toBe(40);
    await flush();
    const records = byRequestId(await deliveredRecords());
    for (const [i, id] of ids.entries()) {
      const rs = records.get(id) ?? [];
      expect(rs, `request ${i} (${responses[i].status} ${responses[i].body.__type ?? "ok"})`).toHaveLength(1);
      const rec = rs[0];
      expect(rec.errorCode).toBe(responses[i].body.__type);
      expect(rec).toMatchObject({ eventVersion: "1.08", eventSource: "kms.amazonaws.com", managementEvent: true, eventCategory: "Management", eventType: "AwsApiCall" });
    }
    const enc = records.get(ids[0])![0];
    expect(enc).toMatchObject({ eventName: "Encrypt", awsRegion: "us-east-1", readOnly: true, recipientAccountId: ACCOUNT, responseElements: null });
    expect(enc.userIdentity).toMatchObject({ type: "Root", accountId: ACCOUNT, accessKeyId: "AKIAEDGEKMSTEST00001" });
    expect(enc.requestParameters).toMatchObject({ keyId: key, encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    expect(enc.resources![0].ARN).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${key}`);
    const badSig = records.get(ids[4])![0];
    expect(badSig.errorCode).toBe("InvalidSignatureException");
    expect(badSig.userIdentity.accessKeyId).toBe("AKIAEDGEKMSTEST00001");
    const unknownKey = records.get(ids[5])![0];
    expect(unknownKey.userIdentity).toMatchObject({ type: "Unknown", accessKeyId: "AKIAUNKNOWNKEY000000" });
  });

  it("records are durable before the response: aborting every Durable Object loses none", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 15 }, () => call("Encrypt", { KeyId: key, Plaintext: b64("x") })));
      ids.push(...rs.map((r) => r.headers.get("x-amzn-RequestId")!));
      await abortAllDurableObjects();
    }
    await flush();
    const records = byRequestId(await deliveredRecords());
    for (const id of ids) expect(records.get(id), id).toHaveLength(1);
  });

  it("R2 failures are retried by the alarm, and every record is delivered once", async () => {
    const { id, log } = await flushFailingAt("r2-put", 2); // the put fails
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(0);
    expect(await runDurableObjectAlarm(log)).toBe(true); // the alarm set by the append retries; it fails too
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(0);
    expect(await runDurableObjectAlarm(log)).toBe(true); // the failure armed another retry, which delivers before any manual flush
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
  });

  it("a crash after the R2 write and before the rows are deleted delivers the object again under the same name: once", async () => {
    const { id, log, forward } = await flushFailingAt("after-r2-put");
    // The object is in R2 already, and its rows are still in the AuditLog.
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(true);
    // New records reach the AuditLog before the retry: the retry must still write the stored
    // batch under its stored name, not a new batch (which would deliver the first records twice).
    for (let i = 0; i < 3; i++) await call("GenerateRandom", { NumberOfBytes: 8 });
    await forward();
    expect(await runDurableObjectAlarm(log)).toBe(true);
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(false);
    await flush();
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
  });

  it("an object written before a crash is taken as delivered when R2 refuses to write it again (a bucket lock)", async () => {
    const { id, log, forward } = await flushFailingAt("after-r2-put");
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
    // From now on every write is refused, as a locked bucket refuses to overwrite: the retry must not need one.
    await runInDurableObject(log, (instance: AuditLog) => instance.faults.arm("r2-put", 100));
    await forward();
    expect(await runDurableObjectAlarm(log)).toBe(true);
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(false);
    await runInDurableObject(log, (instance: AuditLog) => instance.faults.disarm());
    await flush();
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
  });

  it("group commit: records appended together are stored as one row, and each is delivered once", async () => {
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("eu-west-1", ACCOUNT)));
    const records = Array.from({ length: 5 }, (_, i) => ({ ...draftRecord(`row-${i}`), awsRegion: "eu-west-1", userAgent: `line ${i}\nnot a separator` }));
    // Appends made in one turn of the object (its metadata loaded first): over RPC, calls arrive
    // when the machine lets them, and a slow one (CI) committed each before the next came.
    await runInDurableObject(log, async (instance: AuditLog) => {
      await (instance as unknown as { ensureMeta(region: string, account: string): Promise<unknown> }).ensureMeta("eu-west-1", ACCOUNT);
      await Promise.all(records.map((r) => instance.append("eu-west-1", ACCOUNT, [encodeRecord(r)])));
    });
    const rows = await storedRows(log);
    expect(rows).toHaveLength(1); // concurrent appends share one commit's row
    expect(rows.flatMap((row) => row.split("\n")).map((j) => JSON.parse(j))).toEqual(expect.arrayContaining(records));
    expect((await log.flush()).objects).toHaveLength(1);
    const delivered = await deliveredRecords(env.AUDIT_BUCKET_EU, `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/`);
    for (const r of records) expect(delivered.filter((d) => d.eventID === r.eventID)).toEqual([r]);
  });

  it("a log object is gzip at zlib's fastest level, and the object's oldest and newest event times are its records' (appended out of order)", async () => {
    const { region, account, log, rec } = ownLog("7");
    const times = ["2026-03-04T05:06:07Z", "2025-12-31T23:59:59Z", "2026-11-30T00:00:00Z", "2026-01-01T00:00:00Z"];
    const records = times.map((t, i) => ({ ...rec(`order-${i}`, crypto.randomUUID()), eventTime: t }));
    for (const r of records) await log.append(region, account, [encodeRecord(r)]);
    const { objects, digest } = await log.flush();
    expect(objects).toHaveLength(1);
    const stored = new Uint8Array(await (await env.AUDIT_BUCKET.get(objects[0]))!.arrayBuffer());
    // RFC 1952: ID1 ID2 CM=8 (deflate) …, XFL (byte 8) = 4 for the fastest compression.
    expect([stored[0], stored[1], stored[2], stored[8]]).toEqual([0x1f, 0x8b, 8, 4]);
    const digestBody = new Uint8Array(await (await env.AUDIT_BUCKET.get(digest!))!.arrayBuffer());
    const { logFiles } = JSON.parse(new TextDecoder().decode(await gunzip(digestBody))) as { logFiles: { s3Object: string; oldestEventTime: string; newestEventTime: string }[] };
    expect(logFiles).toEqual([expect.objectContaining({ s3Object: objects[0], oldestEventTime: "2025-12-31T23:59:59Z", newestEventTime: "2026-11-30T00:00:00Z" })]);
  });

  it("group commit: a commit past MAX_ROW_CHARS continues in a new row, and every record is delivered once", async () => {
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("eu-central-1", ACCOUNT)));
    const big = Array.from({ length: 3 }, (_, i) => ({ ...draftRecord(`big-${i}`), awsRegion: "eu-central-1", userAgent: String(i).repeat(MAX_ROW_CHARS / 2 - 1000) }));
    await log.append("eu-central-1", ACCOUNT, big.map(encodeRecord));
    const rows = await storedRows(log);
    // rows are listed by key, their first record's, whose eventID is random: compare as a set
    expect(rows.map((row) => row.split("\n").map((j) => (JSON.parse(j) as CloudTrailRecord).requestID).join()).sort()).toEqual(["big-0,big-1", "big-2"]);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(MAX_ROW_CHARS + 1);
    await log.flush();
    const delivered = await deliveredRecords(env.AUDIT_BUCKET_EU, `AWSLogs/${ACCOUNT}/CloudTrail/eu-central-1/`);
    for (const r of big) expect(delivered.filter((d) => d.eventID === r.eventID)).toEqual([r]);
  });

  it("a log object ends at MAX_DELIVERY_CHARS of records, so large records are delivered in several objects, each once", async () => {
    // An account of its own: the digest test below checks every digest of ACCOUNT with one region's key.
    const region = "us-east-1";
    const account = `9${String(Date.now()).slice(-11)}`;
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, account)));
    // Records of half a row each (as a request with a large encryption context makes), past the cap in all.
    const per = MAX_ROW_CHARS / 2 - 1000;
    const n = Math.ceil(MAX_DELIVERY_CHARS / per) + 4;
    const big = Array.from({ length: n }, (_, i) => ({ ...draftRecord(`cap-${i}`), awsRegion: region, userAgent: "c".repeat(per) }));
    for (let i = 0; i < n; i += 8) await log.append(region, account, big.slice(i, i + 8).map(encodeRecord));
    const { objects } = await log.flush();
    expect(objects.length).toBeGreaterThan(1);
    const delivered = await deliveredRecords(env.AUDIT_BUCKET, `AWSLogs/${account}/CloudTrail/${region}/`);
    const ids = new Set(big.map((r) => r.eventID));
    expect(delivered.filter((d) => ids.has(d.eventID))).toHaveLength(n);
    for (const key of objects) {
      const o = await env.AUDIT_BUCKET.get(key);
      expect(new TextDecoder().decode(await gunzip(new Uint8Array(await o!.arrayBuffer()))).length).toBeLessThan(MAX_DELIVERY_CHARS + MAX_ROW_CHARS);
    }
  }, 60_000);

  it("one record can be longer than MAX_ROW_CHARS, never than MAX_STORED_ROW_CHARS: a BatchReEncrypt entry whose two encryption contexts are all control characters", async () => {
    // An outsider's review: each context fills its limit (MAX_BODY_BYTES characters) with characters JSON writes as 6.
    const acct = await newAccount();
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {}, acct)).KeyMetadata;
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x") }, acct)).CiphertextBlob;
    const entry = { CiphertextBlob: blob, SourceEncryptionContext: { a: "\x01".repeat(65535) }, DestinationKeyId: key.KeyId, DestinationEncryptionContext: { b: "\u20ac" + "\x01".repeat(65534) } };
    const r = await call<{ Results: { ErrorCode?: string }[] }>("EdgeKMSBatch.BatchReEncrypt", { Entries: [entry] }, acct);
    expect(r.status).toBe(200);
    let longest = 0;
    for (let n = 0; n < auditShards(env); n++) {
      const name = n === 0 ? auditLogName("us-east-1", acct.account) : auditShardName("us-east-1", acct.account, n);
      for (const row of await storedRows(env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(name)))) longest = Math.max(longest, row.length);
    }
    expect(longest).toBeGreaterThan(MAX_ROW_CHARS);
    expect(longest).toBeLessThanOrEqual(MAX_STORED_ROW_CHARS);
  }, 60_000);

  it("a delivery after small rows reads long ones a few at a time: no page holds more rows than the object's characters left allow at MAX_STORED_ROW_CHARS each", async () => {
    const region = "us-east-1";
    const account = `8${String(Date.now()).slice(-11)}`;
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, account)));
    const rec = (id: string, eventTime: string, userAgent = "test") => ({ ...draftRecord(id), awsRegion: region, recipientAccountId: account, eventTime, userAgent });
    // Single requests first (a row each, listed first by event time), then rows of one long record
    // each (as the test above makes: about 786 Ki characters).
    for (let i = 0; i < 8; i++) await log.append(region, account, [encodeRecord(rec(`small-${i}`, "2026-01-01T00:00:00Z"))]);
    const long = "\u20ac" + "\x01".repeat(131_000);
    for (let i = 0; i < 24; i++) await log.append(region, account, [encodeRecord(rec(`long-${i}`, "2026-01-01T00:00:01Z", long))]);
    await runInDurableObject(log, (i: AuditLog, state: DurableObjectState) => {
      const pages: { limit: number; chars: number }[] = [];
      const list = state.storage.list.bind(state.storage);
      (state.storage as { list: unknown }).list = async (options?: DurableObjectListOptions) => {
        const page = await list(options);
        if (options?.prefix === "r:") pages.push({ limit: options.limit ?? Infinity, chars: [...page.values()].reduce((n: number, v) => n + (v as string).length, 0) });
        return page;
      };
      (i as unknown as { pages: unknown }).pages = pages;
    });
    await log.flush();
    const pages = await runInDurableObject(log, (i: AuditLog) => (i as unknown as { pages: { limit: number; chars: number }[] }).pages);
    expect(pages.length).toBeGreaterThan(2);
    // The first page's 8 rows held 8 records: sized by them alone, the next asked for DELIVERY_BATCH - 8
    // rows, and with MAX_ROW_CHARS as the longest row for 63, which read all 24 long rows (18.9 Mi characters).
    for (const page of pages) {
      expect(page.limit).toBeLessThanOrEqual(Math.floor(MAX_DELIVERY_CHARS / MAX_STORED_ROW_CHARS));
      expect(page.chars).toBeLessThanOrEqual(MAX_DELIVERY_CHARS);
    }
    const delivered = await deliveredRecords(env.AUDIT_BUCKET, `AWSLogs/${account}/CloudTrail/${region}/`);
    expect(delivered).toHaveLength(8 + 24);
  }, 120_000);

  it("a tail reads delivered objects newest first and stops at the one that reaches RECENT_RECORDS records", async () => {
    const region = "us-east-1";
    const account = `7${String(Date.now()).slice(-11)}`;
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, account)));
    const per = Math.ceil((RECENT_RECORDS * 3) / 5); // three objects of 3,000 records: two reach RECENT_RECORDS
    const objects: string[][] = [];
    for (let o = 0; o < 3; o++) {
      // One append a round, so that its records go in one object whether the flush or the alarm
      // (DELIVERY_BATCH records appended since the last alarm bring it forward) delivers them.
      const records = Array.from({ length: per }, (_, j) => ({ ...draftRecord(`tail-${o}-${j}`), recipientAccountId: account, eventTime: `2026-01-01T00:00:0${o}Z` }));
      await log.append(region, account, records.map(encodeRecord));
      await log.flush();
      objects.push(records.map((r) => r.eventID));
    }
    expect(await runInDurableObject(log, async (_i: AuditLog, state: DurableObjectState) => ((await state.storage.get<string[]>("recent")) ?? []).length)).toBe(3);
    const tail = await log.recent({} as never, 10_000);
    if (!tail.ok) throw new Error(tail.message);
    const listed = new Set(tail.value.entries.map((e) => e.record.eventID));
    // The two newest objects, whole; none of the oldest (all three were read before).
    expect(listed.size).toBe(2 * per);
    for (const id of [...objects[1], ...objects[2]]) expect(listed.has(id)).toBe(true);
    expect(objects[0].some((id) => listed.has(id))).toBe(false);
  }, 120_000);

  it("a tail reads at most RECENT_READ_CHARS of records (and one row or object more), newest first, and says it was truncated", async () => {
    // An outsider's review: a tail of Limit 1 read and parsed every pending row, tens of MiB of one principal's long records.
    const region = "us-east-1";
    const account = `6${String(Date.now()).slice(-11)}`;
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, account)));
    const long = "x".repeat(200_000);
    const rec = (id: string, second: number) => ({ ...draftRecord(id), recipientAccountId: account, eventTime: `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`, userAgent: long });
    // Four delivered objects of 3 Mi characters each (a flush each), then 10 Mi characters of pending rows.
    for (let o = 0; o < 4; o++) {
      for (let i = 0; i < 15; i++) await log.append(region, account, [encodeRecord(rec(`object-${o}-${i}`, o))]);
      await log.flush();
    }
    for (let i = 0; i < 50; i++) await log.append(region, account, [encodeRecord(rec(`pending-${i}`, 10 + i))]);
    await runInDurableObject(log, (i: AuditLog, state: DurableObjectState) => {
      const reads = { rows: 0, objects: 0 };
      const list = state.storage.list.bind(state.storage);
      (state.storage as { list: unknown }).list = async (options?: DurableObjectListOptions) => {
        const page = await list(options);
        if (options?.prefix === "r:") for (const v of page.values()) reads.rows += (v as string).length;
        return page;
      };
      const bucket = (i as unknown as { env: Env }).env.AUDIT_BUCKET;
      const get = bucket.get.bind(bucket);
      (bucket as { get: unknown }).get = (key: string, o?: R2GetOptions) => { reads.objects++; return get(key, o as never); };
      (i as unknown as { reads: unknown }).reads = reads;
    });
    const first = await log.recent({} as never, 1);
    if (!first.ok) throw new Error(first.message);
    const reads = await runInDurableObject(log, (i: AuditLog) => (i as unknown as { reads: { rows: number; objects: number } }).reads);
    // The pending rows alone pass the bound: no object is read, and the newest record is the answer.
    expect(reads.rows).toBeGreaterThan(RECENT_READ_CHARS);
    expect(reads.rows).toBeLessThanOrEqual(RECENT_READ_CHARS + MAX_STORED_ROW_CHARS);
    expect(reads.objects).toBe(0);
    expect(first.value.entries.map((e) => e.record.requestID)).toEqual(["pending-49"]);
    expect(first.value.truncated).toBe(true);
    // Delivered, the same records: objects are read newest first until the bound, not all five.
    await log.flush();
    await runInDurableObject(log, (i: AuditLog) => { const r = (i as unknown as { reads: { rows: number; objects: number } }).reads; r.rows = 0; r.objects = 0; });
    const second = await log.recent({} as never, 10_000);
    if (!second.ok) throw new Error(second.message);
    const after = await runInDurableObject(log, (i: AuditLog) => (i as unknown as { reads: { rows: number; objects: number } }).reads);
    expect(after.objects).toBeLessThan(5);
    expect(second.value.truncated).toBe(true);
    expect(second.value.entries.some((e) => e.record.requestID === "pending-49")).toBe(true);
    expect(second.value.entries.some((e) => e.record.requestID?.startsWith("object-0-"))).toBe(false);
  }, 120_000);

  it("ingest shards: records spread over them; a shard that crashed after sending a batch resends it, and the AuditLog takes it once", async () => {
    expect(auditShards(env)).toBeGreaterThan(1); // vitest.config.ts sets AUDIT_SHARDS for these tests
    const shard = (n: number) => env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, n)));
    // The crash, armed before the records come: every forwarding pass of a shard (its alarm's,
    // SHARD_FORWARD_MS after a record, as well as the one below) sends its batch and dies before
    // deleting it, so that a slow machine's alarm cannot forward the records first (CI found it).
    for (let n = 1; n < auditShards(env); n++) await runInDurableObject(shard(n), (instance: AuditLog) => instance.faults.arm("after-batch-sent", 1_000));
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await call("GenerateRandom", { NumberOfBytes: 8 })).headers.get("x-amzn-RequestId")!);
    // records without a key are spread by request id: some of the 12 reached shards other than 0
    let used = 0;
    for (let n = 1; n < auditShards(env); n++) {
      if (await runInDurableObject(shard(n), async (_i: AuditLog, state: DurableObjectState) => (await state.storage.get("meta")) !== undefined)) used++;
    }
    expect(used).toBeGreaterThan(0);

    // A shard that holds records sends its batch, and dies before deleting it.
    let crashed = 0;
    for (let n = 1; n < auditShards(env); n++) {
      const r = await shard(n).forward().then(() => "", (e: Error) => e.message);
      if (r.includes("after-batch-sent")) crashed++;
      await runInDurableObject(shard(n), (instance: AuditLog) => instance.faults.disarm());
    }
    expect(crashed).toBeGreaterThan(0);
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT)));
    await log.flush(); // the sent records are delivered (and leave the AuditLog) before the resend
    await flush(); // every shard resends its batch: the AuditLog does not take it twice
    const delivered = byRequestId(await deliveredRecords());
    for (const id of ids) expect(delivered.get(id), id).toHaveLength(1);
  });

  it("a vault that crashed after sending its outbox batch resends it, and the AuditLog takes it once", async () => {
    const created = await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", { Description: "outbox crash" });
    const keyId = created.KeyMetadata.KeyId;
    const tagged = await call("TagResource", { KeyId: keyId, Tags: [{ TagKey: "t", TagValue: "v" }] });
    const id = tagged.headers.get("x-amzn-RequestId")!;
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
    await runInDurableObject(vault, (instance: KeyVault) => instance.faults.arm("after-batch-sent"));
    expect(await vault.forwardAudit().then(() => "", (e: Error) => e.message)).toContain("after-batch-sent");
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT)));
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(true); // the AuditLog took the batch
    await log.flush(); // and delivered it
    expect(await vault.forwardAudit()).toBe(2); // the vault resends the batch it still holds…
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(false); // …which the AuditLog does not take again
    await flush();
    expect((await deliveredRecords()).filter((x) => x.requestID === id)).toHaveLength(1);
  });

  it("tail lists a record held in two places at once (a vault's outbox and the AuditLog, after a crash) exactly once", async () => {
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const id = (await call("UpdateKeyDescription", { KeyId: keyId, Description: "twice" })).headers.get("x-amzn-RequestId")!;
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
    await runInDurableObject(vault, (instance: KeyVault) => instance.faults.arm("after-batch-sent"));
    expect(await vault.forwardAudit().then(() => "", (e: Error) => e.message)).toContain("after-batch-sent");
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT)));
    expect((await storedRows(log)).some((row) => row.includes(id))).toBe(true);
    expect((await vault.pendingAudit("admin operation decided by the authorizer", 100)).records.some((r) => r.requestID === id)).toBe(true);
    const tail = await admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 10_000, KeyId: keyId });
    expect(tail.body.Entries.filter((e) => e.Record.requestID === id)).toHaveLength(1);
  });

  it("never records plaintext, data keys, ciphertext or secrets", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const secret = "top-secret-plaintext-0123456789";
    const enc = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key, Plaintext: b64(secret), EncryptionContext: { purpose: "scan" } });
    const dk = await ok<{ Plaintext: string; CiphertextBlob: string }>("GenerateDataKey", { KeyId: key, NumberOfBytes: 32 });
    await ok("Decrypt", { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: "scan" } });
    const rnd = await ok<{ Plaintext: string }>("GenerateRandom", { NumberOfBytes: 32 });
    await flush();
    const text = JSON.stringify(await deliveredRecords());
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    for (const needle of [secret, b64(secret), enc.CiphertextBlob, dk.Plaintext, hex(unb64(dk.Plaintext)), dk.CiphertextBlob, rnd.Plaintext, "test-secret-access-key-for-the-workers-tests/0001"]) {
      expect(text.includes(needle), `record contains ${needle.slice(0, 12)}…`).toBe(false);
    }
    expect(text).toContain('"purpose":"scan"'); // encryption context is logged in clear, as in AWS
  });

  it("rotation and deletion leave AwsServiceEvent records", async () => {
    const { KeyId } = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    await ok("EnableKeyRotation", { KeyId, RotationPeriodInDays: 90 });

    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", KeyId)));
    await runInDurableObject(vault, (i: { clockOffsetMs: number }) => { i.clockOffsetMs += 91 * 86_400_000; });
    await runDurableObjectAlarm(vault);
    await ok("ScheduleKeyDeletion", { KeyId, PendingWindowInDays: 7 });
    await runInDurableObject(vault, (i: { clockOffsetMs: number }) => { i.clockOffsetMs += 8 * 86_400_000; });
    await runDurableObjectAlarm(vault);
    await flush();
    const events = (await deliveredRecords()).filter((r) => r.eventType === "AwsServiceEvent" && r.serviceEventDetails?.keyId === KeyId);
    expect(events.map((e) => e.eventName).sort()).toEqual(["DeleteKey", "RotateKey"]);
    expect(events[0].userIdentity).toMatchObject({ invokedBy: "AWS Internal" });
  });

  it("digests list every log object with its hash, chain to the previous one, and verify with the public key", async () => {
    await call("GenerateRandom", { NumberOfBytes: 4 });
    await flush();
    await call("GenerateRandom", { NumberOfBytes: 4 });
    const last = await admin<{ Objects: string[]; Digest: string }>("AuditFlush");
    expect(last.status).toBe(200);
    expect(last.body.Objects.length).toBeGreaterThan(0);
    const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail-Digest/`, include: ["customMetadata"] });
    const digests = await Promise.all(listed.objects.map(async (o) => {
      const obj = await env.AUDIT_BUCKET.get(o.key);
      const raw = await gunzip(new Uint8Array(await obj!.arrayBuffer()));
      return { key: o.key, raw, json: JSON.parse(new TextDecoder().decode(raw)), signature: obj!.customMetadata!.signature };
    }));
    digests.sort((a, b) => a.json.digestEndTime.localeCompare(b.json.digestEndTime) || a.key.localeCompare(b.key));
    expect(digests.length).toBeGreaterThanOrEqual(2);
    // The digest this flush wrote lists every object it delivered (the loop below checks each hash).
    const latest = digests.find((d) => d.key === last.body.Digest);
    expect(latest?.json.logFiles.map((f: { s3Object: string }) => f.s3Object)).toEqual(expect.arrayContaining(last.body.Objects));
    const pk = await admin<{ PublicKey: string }>("AuditPublicKey");
    const key = await crypto.subtle.importKey("spki", unb64(pk.body.PublicKey), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const hex = async (b: Uint8Array) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", b)), (x) => x.toString(16).padStart(2, "0")).join("");
    for (const [i, d] of digests.entries()) {
      const hash = await hex(d.raw);
      const signed = `${d.json.digestEndTime}\nedgekms-audit/${d.key}\n${hash}\n${d.json.previousDigestSignature ?? ""}`;
      const sig = Uint8Array.from(d.signature.match(/../g)!.map((h: string) => parseInt(h, 16)));
      expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, sig, new TextEncoder().encode(signed)), d.key).toBe(true);
      if (i > 0) {
        expect(d.json.previousDigestS3Object).toBe(digests[i - 1].key);
        expect(d.json.previousDigestHashValue).toBe(await hex(digests[i - 1].raw));
        expect(d.json.previousDigestSignature).toBe(digests[i - 1].signature);
      }
      for (const f of d.json.logFiles) {
        const obj = await env.AUDIT_BUCKET.get(f.s3Object);
        expect(await hex(await gunzip(new Uint8Array(await obj!.arrayBuffer())))).toBe(f.hashValue);
      }
    }
  });

  it("digests flushed in quick succession never end ahead of the clock, and each ends after the one before", async () => {
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      await call("GenerateRandom", { NumberOfBytes: 4 });
      const r = await admin<{ Digest: string }>("AuditFlush");
      expect(r.status).toBe(200);
      keys.push(r.body.Digest);
    }
    const done = Date.now();
    const ends = await Promise.all(keys.map(async (k) => {
      const obj = await env.AUDIT_BUCKET.get(k);
      return JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await obj!.arrayBuffer())))).digestEndTime as string;
    }));
    for (const end of ends) expect(Date.parse(end), `${end} after ${new Date(done).toISOString()}`).toBeLessThanOrEqual(done);
    expect([...ends].sort()).toEqual(ends);
    expect(new Set(ends).size).toBe(3);
  });

  it("the admin API is the operator's only, and tail shows undelivered records", async () => {
    const r = await call("EncryptNothing", {});
    const id = r.headers.get("x-amzn-RequestId")!;
    const tail = await admin<{ Entries: { Delivered: boolean; Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 1000 });
    expect(tail.status).toBe(200);
    expect(tail.body.Entries.find((e) => e.Record.requestID === id)?.Delivered).toBe(false);
    await flush();
    const after = await admin<{ Entries: { Delivered: boolean; Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 1000 });
    expect(after.body.Entries.find((e) => e.Record.requestID === id)?.Delivered).toBe(true);
    const res = await SELF.fetch(`${ENDPOINT}admin`, { method: "POST", body: "{}" });
    expect(res.status).toBe(400);
  });

  it("tail lists a record that is being forwarded or delivered at the same moment exactly once", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName("us-east-1", ACCOUNT)));
    const shards = Array.from({ length: auditShards(env) - 1 }, (_, i) => env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, i + 1))));
    const missed: string[] = [];
    // The record moves (shard to AuditLog to R2) while tail reads, a little later each round.
    for (let delay = 0; delay < 24; delay++) {
      const id = (await call("Encrypt", { KeyId: key, Plaintext: b64(`moving ${delay}`) })).headers.get("x-amzn-RequestId")!;
      const move = async () => {
        await new Promise((r) => setTimeout(r, delay));
        for (const shard of shards) await shard.forward();
        await runDurableObjectAlarm(log); // delivery, as deliver() (no digest)
      };
      const [tail] = await Promise.all([admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 1000, KeyId: key }), move()]);
      const listed = tail.body.Entries.filter((e) => e.Record.requestID === id).length;
      if (listed !== 1) missed.push(`${id} listed ${listed} times`);
    }
    expect(missed).toEqual([]);
  });

  it("a request that failed inside a vault is recorded once: the vault's own record of the event replaces the handler's stand-in, or is dropped once the stand-in is delivered", async () => {
    const { region, account, log, rec, delivered } = ownLog("8");
    // The stand-in still waits when the vault's record comes: the vault's (the truth: the key was made) stays.
    const e1 = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-1", e1, "KMSInternalException")), e1);
    await log.append(region, account, [encodeRecord(rec("req-1", e1))], `vault-batch-1:${account}`);
    // The stand-in is delivered before the vault's record comes: that one is dropped.
    const e2 = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-2", e2, "KMSInternalException")), e2);
    await log.flush();
    await log.append(region, account, [encodeRecord(rec("req-2", e2)), encodeRecord(rec("req-3", crypto.randomUUID()))], `vault-batch-2:${account}`);
    // A batch whose every record was dropped is still taken: resent (its vault crashed after sending it), it adds nothing.
    const e5 = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-5", e5, "KMSInternalException")), e5);
    await log.flush();
    for (let i = 0; i < 2; i++) await log.append(region, account, [encodeRecord(rec("req-5", e5))], `vault-batch-5:${account}`);
    // A stand-in whose vault recorded nothing (it failed first) is the request's record.
    const e4 = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-4", e4, "KMSInternalException")), e4);
    await log.flush();
    const byRequest = await delivered();
    expect(byRequest.get("req-1")?.map((r) => r.errorCode ?? "ok")).toEqual(["ok"]);
    expect(byRequest.get("req-2")?.map((r) => r.errorCode ?? "ok")).toEqual(["KMSInternalException"]);
    expect(byRequest.get("req-3")).toHaveLength(1); // the rest of the vault's batch is taken as ever
    expect(byRequest.get("req-4")?.map((r) => r.errorCode ?? "ok")).toEqual(["KMSInternalException"]);
    expect(byRequest.get("req-5")?.map((r) => r.errorCode ?? "ok")).toEqual(["KMSInternalException"]);
    // Marks are gone once used; the unused one stays until it ages out.
    const marks = await runInDurableObject(log, async (_i: AuditLog, state: DurableObjectState) => [...(await state.storage.list({ prefix: "x:" })).keys()]);
    expect(marks).toEqual([`x:${e4}`]);
  });

  it("a stand-in that a vault's record is replacing is not delivered by a pass that lists the rows before the replacement is stored: the event is delivered once", async () => {
    const { region, account, log, rec, delivered } = ownLog("7");
    const e = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-held", e, "KMSInternalException")), e);
    // The group commit that stores the replacement (the stand-in's row deleted, the vault's record
    // added) waits for a timer, as it always does, here a longer one; a flush delivers meanwhile.
    await holdCommit(log);
    // Another record first, whose key names the row: the stand-in's row and a row of only its
    // replacement share a key, and two deliveries of that key in one minute share an object name.
    const append = log.append(region, account, [encodeRecord(rec("req-other", crypto.randomUUID())), encodeRecord(rec("req-held", e))], `vault-batch-held:${account}`);
    await new Promise((r) => setTimeout(r, 40));
    await log.flush();
    await append;
    await log.flush();
    const trail = await delivered();
    expect(trail.get("req-held")?.map((r) => r.errorCode ?? "ok")).toEqual(["ok"]);
    expect(trail.get("req-other")).toHaveLength(1);
  });

  it("a vault batch whose append failed partway through its stand-ins is taken whole when sent again: no event lost", async () => {
    const { region, account, log, rec, delivered } = ownLog("4");
    const [e1, e2] = [crypto.randomUUID(), crypto.randomUUID()];
    await log.appendStandIn(region, account, encodeRecord(rec("req-1", e1, "KMSInternalException")), e1);
    await log.appendStandIn(region, account, encodeRecord(rec("req-2", e2, "KMSInternalException")), e2);
    // The second stand-in's row cannot be read, once: the append fails after deciding on the first.
    const secondRow = await runInDurableObject(log, async (_i: AuditLog, state: DurableObjectState) => {
      const rows = [...(await state.storage.list<string>({ prefix: "r:" })).entries()];
      const key = rows.find(([, row]) => String(row).includes(e2))![0];
      const storage = state.storage as unknown as { get: (...a: unknown[]) => Promise<unknown> };
      const get = storage.get.bind(storage);
      let failed = false;
      storage.get = async (...a: unknown[]) => {
        if (a[0] === key && !failed) { failed = true; throw new Error("storage read failed"); }
        return get(...a);
      };
      return key;
    });
    expect(secondRow).toMatch(/^r:/);
    const batch = [encodeRecord(rec("req-other", crypto.randomUUID())), encodeRecord(rec("req-1", e1)), encodeRecord(rec("req-2", e2))];
    await runInDurableObject(log, async (i: AuditLog) => {
      await expect(i.append(region, account, batch, `vault-batch-partway:${account}`)).rejects.toThrow(/storage read failed/);
    });
    await log.append(region, account, batch, `vault-batch-partway:${account}`);
    await log.flush();
    const trail = await delivered();
    expect([trail.get("req-1")?.map((r) => r.errorCode ?? "ok"), trail.get("req-2")?.map((r) => r.errorCode ?? "ok")]).toEqual([["ok"], ["ok"]]);
  });

  it("a vault batch sent again while its first append waits for its commit is stored once", async () => {
    const { region, account, log, rec, delivered } = ownLog("5");
    // The first append's commit (its records and the batch's mark) waits for a longer timer than
    // usual; the sender, its call taken for failed, sends the same batch again meanwhile.
    await holdCommit(log);
    const batch = [encodeRecord(rec("req-resent-1", crypto.randomUUID())), encodeRecord(rec("req-resent-2", crypto.randomUUID()))];
    const first = log.append(region, account, batch, `vault-batch-resent:${account}`);
    await new Promise((r) => setTimeout(r, 40));
    await log.append(region, account, batch, `vault-batch-resent:${account}`);
    await first;
    await log.flush();
    const trail = await delivered();
    expect([trail.get("req-resent-1")?.length, trail.get("req-resent-2")?.length]).toEqual([1, 1]);
  });

  it("a vault's record that comes while a delivery has listed its stand-in, before the delivery's batch mark is stored, is dropped: the event is delivered once", async () => {
    const { region, account, log, rec, delivered } = ownLog("6");
    const e = crypto.randomUUID();
    await log.appendStandIn(region, account, encodeRecord(rec("req-listed", e, "KMSInternalException")), e);
    // The delivery's batch mark is stored a while after its rows are listed (the order its awaits
    // can take when an append's storage reads interleave with them), and the vault's record comes then.
    await runInDurableObject(log, (_i: AuditLog, state: DurableObjectState) => {
      const storage = state.storage as unknown as { put: (...a: unknown[]) => Promise<void> };
      const put = storage.put.bind(storage);
      storage.put = async (...a: unknown[]) => {
        if (a[0] === "batch") await new Promise((r) => setTimeout(r, 150));
        return put(...a);
      };
    });
    const delivery = log.flush();
    await new Promise((r) => setTimeout(r, 40));
    await log.append(region, account, [encodeRecord(rec("req-other", crypto.randomUUID())), encodeRecord(rec("req-listed", e))], `vault-batch-listed:${account}`);
    await delivery;
    await log.flush();
    const trail = await delivered();
    expect(trail.get("req-listed")?.map((r) => r.errorCode ?? "ok")).toEqual(["KMSInternalException"]);
    expect(trail.get("req-other")).toHaveLength(1);
  });

  it("tail keeps records of the same second in the order they were made, wherever each one waits", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", key)));
    const encrypt = async (n: string) => (await call("Encrypt", { KeyId: key, Plaintext: b64(n) })).headers.get("x-amzn-RequestId")!;
    let sameSecond = 0;
    // eventTime has whole seconds: the three records share one in most rounds, and then only
    // where each waits (R2, the AuditLog, the vault's outbox) tells their order.
    for (let round = 0; round < 8 && sameSecond < 2; round++) {
      const delivered = await encrypt("first");
      await deliver();
      const forwarded = await encrypt("second");
      await vault.forwardAudit();
      const waiting = await encrypt("third");
      const tail = await admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 1000, KeyId: key });
      const mine = tail.body.Entries.map((e) => e.Record).filter((r) => [delivered, forwarded, waiting].includes(r.requestID!));
      expect(mine.map((r) => r.requestID), `round ${round}`).toEqual([delivered, forwarded, waiting]);
      if (new Set(mine.map((r) => r.eventTime)).size === 1) sameSecond++;
    }
    expect(sameSecond).toBeGreaterThan(0);
  });
});

describe("audit jurisdiction", () => {
  it("records of EU regions are delivered to the EU bucket only", async () => {
    const r = await call("GenerateRandom", { NumberOfBytes: 4 }, { region: "eu-west-1" });
    const id = r.headers.get("x-amzn-RequestId")!;
    expect((await admin("AuditFlush", {}, { region: "eu-west-1" })).status).toBe(200);
    const find = async (bucket: R2Bucket) => {
      const listed = await bucket.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/` });
      for (const o of listed.objects) {
        const { Records } = JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer()))));
        if (Records.some((x: CloudTrailRecord) => x.requestID === id)) return true;
      }
      return false;
    };
    expect(await find(env.AUDIT_BUCKET_EU)).toBe(true);
    expect(await find(env.AUDIT_BUCKET)).toBe(false);
  });
});
