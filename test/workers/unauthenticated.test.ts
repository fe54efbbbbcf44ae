// Requests that fail authentication: their records name no principal and hold no more than a
// bounded amount of what the caller chose, and a flood of them from one source cannot flood
// the trail. Also the source address itself: no header a client sends can choose it.
// Each test uses its own region, so its records and counters are its own (one AuditLog each).
import { describe, expect, it } from "vitest";
import { SELF, env as testEnv, abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { gunzip } from "../../src/audit/objects.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE, type AuditLog } from "../../src/audit/audit-log.js";
import { MAX_RECORDED_ERROR_MESSAGE_CHARS, MAX_USER_AGENT_CHARS, aggregationSource } from "../../src/audit/trail.js";
import { auditLogName } from "../../src/placement.js";
import { ACCESS_KEY_ID, ACCOUNT, ENDPOINT, admin, call, ok } from "./kms.js";
import { MAX_SHOWN_REGION } from "../../src/protocol/sigv4.js";

const env = testEnv as unknown as Env;
const THRESHOLD = UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE;

/** Delivers the region's records and returns every record delivered there so far. */
async function delivered(region: string): Promise<CloudTrailRecord[]> {
  const r = await admin("AuditFlush", {}, { region });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const bucket = env.REGIONS[region].jurisdiction === "eu" ? env.AUDIT_BUCKET_EU : env.AUDIT_BUCKET;
  return deliveredIn(bucket, region);
}

async function deliveredIn(bucket: R2Bucket, region: string): Promise<CloudTrailRecord[]> {
  const out: CloudTrailRecord[] = [];
  const listed = await bucket.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/${region}/` });
  for (const o of listed.objects) {
    const obj = await bucket.get(o.key);
    out.push(...(JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await obj!.arrayBuffer())))) as { Records: CloudTrailRecord[] }).Records);
  }
  return out;
}

const requestId = (r: { headers: Headers }) => r.headers.get("x-amzn-RequestId")!;

/** Waits for the next minute when this one is nearly over, so that a burst of requests falls in one minute. */
async function startOfAMinute(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

/** The records of aggregated requests (no request id of their own) and the individual ones. */
const split = (records: CloudTrailRecord[]) => ({
  aggregates: records.filter((r) => r.additionalEventData?.aggregatedUnauthenticatedRequests !== undefined),
  individual: records.filter((r) => r.additionalEventData?.aggregatedUnauthenticatedRequests === undefined),
});

describe("records of requests that fail authentication", () => {
  it("a wrong signature with a real access key id: only that id and the error, no principal", async () => {
    const r = await call("ListKeys", {}, { secretAccessKey: "not-the-secret" });
    expect(r.body.__type).toBe("InvalidSignatureException");
    const rec = (await delivered("us-east-1")).find((x) => x.requestID === requestId(r));
    expect(rec).toBeDefined();
    expect(rec!.userIdentity).toEqual({ type: "Unknown", accessKeyId: ACCESS_KEY_ID });
    expect(rec).toMatchObject({ errorCode: "InvalidSignatureException", eventName: "ListKeys", requestParameters: null, recipientAccountId: ACCOUNT });
    expect(rec!.errorMessage).toMatch(/signature/);
    expect(JSON.stringify(rec)).not.toContain(`arn:aws:iam::${ACCOUNT}`);
  });

  it("caller-chosen fields are capped: User-Agent, X-Amz-Target, the access key id, the echoed header", async () => {
    const region = "us-west-2";
    const userAgent = "u".repeat(10 * 1024);
    const junkTarget = `TrentService.${"j".repeat(5 * 1024)}`;
    const capped = await call(junkTarget, {}, { region, secretAccessKey: "not-the-secret", extraHeaders: { "user-agent": userAgent } });
    expect(capped.body.__type).toBe("InvalidSignatureException");
    const lowerCaseKey = await call("ListKeys", {}, { region, accessKeyId: `akia${"k".repeat(60)}` });
    const longKey = await call("ListKeys", {}, { region, accessKeyId: "AKIA" + "K".repeat(200) });
    // a malformed Authorization header is named in the error message (as AWS does), at most MAX_SHOWN_REGION characters of it
    const echoed = await SELF.fetch(ENDPOINT, {
      method: "POST",
      headers: { authorization: `AWS4-HMAC-SHA256 ${"x".repeat(8 * 1024)}`, "x-amz-target": "TrentService.Encrypt", "x-amz-date": "20260101T000000Z" },
      body: "{}",
    });
    const message = ((await echoed.json()) as { message: string }).message;
    expect(message).toContain("x".repeat(MAX_SHOWN_REGION));
    expect(message).not.toContain("x".repeat(MAX_SHOWN_REGION + 1));
    const records = await delivered(region);
    const byId = (res: { headers: Headers }) => records.find((x) => x.requestID === requestId(res))!;

    const a = byId(capped);
    expect(a.userAgent).toBe(userAgent.slice(0, MAX_USER_AGENT_CHARS));
    expect(a.eventName).toBe("Unknown");
    expect(a.userIdentity).toEqual({ type: "Unknown", accessKeyId: ACCESS_KEY_ID });
    expect(JSON.stringify(a).length).toBeLessThan(4096);
    expect(byId(lowerCaseKey).userIdentity).toEqual({ type: "Unknown" });
    expect(byId(longKey).userIdentity).toEqual({ type: "Unknown" });
    // with no credential scope to go by, the record goes to the first served region
    const b = (await delivered("us-east-1")).find((x) => x.requestID === requestId(echoed))!;
    expect(b).toMatchObject({ errorCode: "IncompleteSignatureException", eventName: "Encrypt", userIdentity: { type: "Unknown" } });
    expect(b.errorMessage!.length).toBeLessThanOrEqual(MAX_RECORDED_ERROR_MESSAGE_CHARS);
    expect(JSON.stringify(b).length).toBeLessThan(4096);
  });

  it(`a flood from one source leaves at most ${THRESHOLD} records and one aggregate per minute, durable across restarts`, async () => {
    const region = "ap-southeast-2";
    const n = 3 * THRESHOLD + 5;
    await startOfAMinute();
    const bad = () => call("ListKeys", {}, { region, secretAccessKey: "not-the-secret" });
    const first = await Promise.all(Array.from({ length: Math.ceil(n / 2) }, bad));
    await abortAllDurableObjects(); // the counts so far must survive
    const second = await Promise.all(Array.from({ length: n - first.length }, bad));
    for (const r of [...first, ...second]) expect(r.body.__type).toBe("InvalidSignatureException");
    expect(new Set([...first, ...second].map(requestId)).size).toBe(n); // each caller still gets its request id

    const { aggregates, individual } = split((await delivered(region)).filter((r) => r.sourceIPAddress === "127.0.0.1"));
    expect(individual).toHaveLength(THRESHOLD);
    expect(aggregates).toHaveLength(1);
    const agg = aggregates[0];
    expect(agg.additionalEventData).toMatchObject({ aggregatedUnauthenticatedRequests: n - THRESHOLD });
    expect(agg).toMatchObject({ userIdentity: { type: "Unknown" }, errorCode: "InvalidSignatureException", eventName: "ListKeys", requestParameters: null });
    const { firstEventTime, lastEventTime } = agg.additionalEventData as { firstEventTime: string; lastEventTime: string };
    expect(firstEventTime <= lastEventTime).toBe(true);

    // The rest of the minute is still aggregated after a flush: no new individual records.
    const more = await Promise.all(Array.from({ length: 3 }, bad));
    const after = split((await delivered(region)).filter((r) => r.sourceIPAddress === "127.0.0.1"));
    expect(after.individual.filter((r) => more.some((m) => requestId(m) === r.requestID))).toEqual([]);
    expect(after.aggregates.reduce((s, r) => s + (r.additionalEventData!.aggregatedUnauthenticatedRequests as number), 0)).toBe(n - THRESHOLD + 3);
  });

  it("without a flush, the aggregate is delivered by the AuditLog's alarm once its minute has passed", async () => {
    const region = "eu-central-1";
    await startOfAMinute();
    await Promise.all(Array.from({ length: THRESHOLD + 7 }, () => call("ListKeys", {}, { region, secretAccessKey: "not-the-secret" })));
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, ACCOUNT)));
    await runInDurableObject(log, (instance: AuditLog) => { instance.clockOffsetMs = 60_000; });
    expect(await runDurableObjectAlarm(log)).toBe(true);
    const { aggregates, individual } = split(await deliveredIn(env.AUDIT_BUCKET_EU, region));
    expect(individual).toHaveLength(THRESHOLD);
    expect(aggregates.map((r) => r.additionalEventData!.aggregatedUnauthenticatedRequests)).toEqual([7]);
  });

  it("a credential scope naming a member of Object.prototype is no region: the record goes to the first served region", async () => {
    const first = Object.keys(env.REGIONS)[0];
    const sent: [string, string][] = [];
    for (const region of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const r = await call("ListKeys", {}, { region, secretAccessKey: "not-the-secret" });
      expect([r.status, r.body.__type], region).toEqual([400, "InvalidSignatureException"]);
      sent.push([region, requestId(r)]);
    }
    const records = await delivered(first);
    for (const [region, id] of sent) {
      expect(records.find((x) => x.requestID === id)?.awsRegion, region).toBe(first);
      // No AuditLog of that name was written, which no operator could read or flush.
      const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(region, ACCOUNT)));
      expect(await runInDurableObject(log, async (_: AuditLog, state) => (await state.storage.list()).size), region).toBe(0);
    }
  });

  it("an authenticated request is recorded in full as before", async () => {
    const r = await call("ListKeys", {}, { region: "eu-west-1" });
    expect(r.status).toBe(200);
    const rec = (await delivered("eu-west-1")).find((x) => x.requestID === requestId(r))!;
    expect(rec.userIdentity).toMatchObject({ type: "Root", accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: ACCESS_KEY_ID });
  });

  it("IPv6 sources aggregate by /64, as one holder of a /64 can use any address in it", () => {
    expect(aggregationSource("203.0.113.7")).toBe("203.0.113.7");
    expect(aggregationSource("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(aggregationSource("2001:db8:1:2::99")).toBe("2001:db8:1:2::/64");
    expect(aggregationSource("2001:0db8::1")).toBe("2001:db8:0:0::/64");
  });
});

describe("the source address", () => {
  for (const header of ["x-real-ip", "x-forwarded-for", "cf-connecting-ip"]) {
    it(`a client's ${header} changes neither sourceIPAddress nor aws:SourceIp`, async () => {
      const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
      const doc = JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
          { Effect: "Deny", Principal: "*", Action: "kms:GenerateDataKey", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } } },
        ],
      });
      await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc });
      const forged = { [header]: "10.1.2.3" };
      const gdk = await call("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256" }, { extraHeaders: forged });
      expect(gdk.body.__type).toBe("AccessDeniedException");
      const unauth = await call("ListKeys", {}, { secretAccessKey: "not-the-secret", extraHeaders: forged });
      const records = await delivered("us-east-1");
      for (const r of [gdk, unauth]) expect(records.find((x) => x.requestID === requestId(r))?.sourceIPAddress).toBe("127.0.0.1");
    });
  }
});
