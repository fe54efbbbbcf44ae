// Encryption of delivered audit objects: the service-managed alias/aws/cloudtrail key (what
// customers may not do with it) and a customer managed key; transparent decryption through the
// service for principals the key allows, and a clear refusal for others.
import { describe, expect, it } from "vitest";
import { env as testEnv } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { gunzip } from "../../src/audit/objects.js";
import { ACCOUNT, admin, b64, call, newAccount, ok } from "./kms.js";

const env = testEnv as unknown as Env;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

async function latestLogObject(): Promise<{ key: string; bytes: Uint8Array; meta: Record<string, string> }> {
  const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/`, include: ["customMetadata"] });
  const o = listed.objects.sort((a, b) => a.uploaded.getTime() - b.uploaded.getTime()).pop()!;
  const obj = await env.AUDIT_BUCKET.get(o.key);
  return { key: o.key, bytes: new Uint8Array(await obj!.arrayBuffer()), meta: obj!.customMetadata ?? {} };
}

const sha256 = async (b: Uint8Array) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", b)), (x) => x.toString(16).padStart(2, "0")).join("");

describe("audit log encryption", () => {
  it("the service-managed key: created on first use, used through the service only, not changeable by the customer", async () => {
    const on = await admin<{ Enabled: boolean; KeyId: string }>("AuditSetEncryption", {});
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const keyArn = on.body.KeyId;
    const md = (await ok<{ KeyMetadata: Record<string, unknown> }>("DescribeKey", { KeyId: "alias/aws/cloudtrail" })).KeyMetadata;
    expect(md).toMatchObject({ Arn: keyArn, KeyManager: "AWS", KeyState: "Enabled" });
    expect(await ok("GetKeyRotationStatus", { KeyId: keyArn })).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 365 });
    expect((await ok<{ Keys: { KeyArn: string }[] }>("ListKeys", { Limit: 1000 })).Keys.map((k) => k.KeyArn)).toContain(keyArn);
    expect((await admin<{ KeyId: string }>("AuditSetEncryption", {})).body.KeyId).toBe(keyArn); // same key the second time
    for (const [op, input] of [
      ["DisableKey", { KeyId: keyArn }], ["ScheduleKeyDeletion", { KeyId: keyArn }], ["RotateKeyOnDemand", { KeyId: keyArn }],
      ["PutKeyPolicy", { KeyId: keyArn, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }] }) }],
      ["Encrypt", { KeyId: keyArn, Plaintext: b64("direct use") }],
    ] as const) {
      expect((await call(op, input)).body.__type, op).toBe("AccessDeniedException");
    }
    expect((await call("CreateAlias", { AliasName: "alias/aws/mine", TargetKeyId: keyArn })).body.__type).toBe("InvalidAliasNameException");
    expect((await call("DeleteAlias", { AliasName: "alias/aws/cloudtrail" })).body.__type).toBe("NotFoundException");

    // delivered objects are encrypted; tail decrypts them for the account; the digest hashes the stored bytes
    const r = await call("GenerateRandom", { NumberOfBytes: 8 });
    const id = r.headers.get("x-amzn-RequestId")!;
    expect((await admin("AuditFlush")).status).toBe(200);
    const obj = await latestLogObject();
    expect(obj.meta["edgekms-sse-kms-key"]).toBe(keyArn);
    await expect(gunzip(obj.bytes)).rejects.toThrow();
    expect(new TextDecoder().decode(obj.bytes)).not.toContain(id);
    const tail = await admin<{ Entries: { Delivered: boolean; Record: { requestID?: string } }[] }>("AuditTail", { Limit: 1000 });
    expect(tail.body.Entries.find((e) => e.Record.requestID === id)?.Delivered).toBe(true);
    const got = await admin<{ Decrypted?: string }>("AuditGet", { Key: obj.key });
    expect(new TextDecoder().decode(await gunzip(Uint8Array.from(atob(got.body.Decrypted!), (c) => c.charCodeAt(0))))).toContain(id);
    // Asked for in another Region (whose AuditLog delivered nothing yet, then again): not there, never a 500.
    for (let i = 0; i < 2; i++) expect((await admin("AuditGet", { Key: obj.key }, { region: "us-west-2" })).body.__type).toBe("NotFoundException");
    const digests = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail-Digest/` });
    const last = digests.objects.sort((a, b) => a.key.localeCompare(b.key)).pop()!;
    const digest = JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await (await env.AUDIT_BUCKET.get(last.key))!.arrayBuffer()))));
    const entry = digest.logFiles.find((f: { s3Object: string }) => f.s3Object === obj.key);
    expect(entry).toMatchObject({ encryptedWith: keyArn, hashValue: await sha256(obj.bytes) });
  });

  it("a customer managed key that denies Decrypt: delivery works, reading fails clearly", async () => {
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Principal: { AWS: ROOT }, NotAction: "kms:Decrypt", Resource: "*" },
      { Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "kms:GenerateDataKey*", Resource: "*" },
    ] });
    const key = (await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", { Policy: policy })).KeyMetadata.Arn;
    expect((await admin("AuditSetEncryption", { KeyId: key })).status).toBe(200);
    await call("GenerateRandom", { NumberOfBytes: 8 });
    expect((await admin("AuditFlush")).status).toBe(200);
    const obj = await latestLogObject();
    expect(obj.meta["edgekms-sse-kms-key"]).toBe(key);
    const tail = await admin("AuditTail", { Limit: 1000 });
    expect(tail.body.__type).toBe("AccessDeniedException");
    expect(tail.body.message).toContain("kms:Decrypt");
    expect((await admin("AuditGet", { Key: obj.key })).body.__type).toBe("AccessDeniedException");
    expect((await admin("AuditList", {})).status).toBe(200);
    expect((await admin("AuditSetEncryption", { Enabled: false })).body).toMatchObject({ Enabled: false });
  });

  it("the service's own call has the global condition keys: a Deny on the time stops it as it stops a caller, and without the Deny it delivers", async () => {
    const outcome = async (deny: boolean) => {
      const acct = await newAccount();
      const root = `arn:aws:iam::${acct.account}:root`;
      const policy = JSON.stringify({ Version: "2012-10-17", Statement: [
        { Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" },
        { Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "kms:GenerateDataKey*", Resource: "*" },
        // "Frozen since 2020": a Deny on aws:CurrentTime, which the service's call lacked.
        ...(deny ? [{ Effect: "Deny", Principal: "*", Action: "kms:GenerateDataKey*", Resource: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } } }] : []),
      ] });
      const key = (await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", { Policy: policy }, acct)).KeyMetadata.Arn;
      expect((await call("GenerateDataKey", { KeyId: key, KeySpec: "AES_256" }, acct)).body.__type ?? "ok").toBe(deny ? "AccessDeniedException" : "ok");
      const set = await admin("AuditSetEncryption", { KeyId: key }, acct);
      await call("GenerateRandom", { NumberOfBytes: 8 }, acct);
      await admin("AuditFlush", {}, acct);
      const delivered = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${acct.account}/CloudTrail/`, include: ["customMetadata"] });
      const encrypted = delivered.objects.filter((o) => o.customMetadata?.["edgekms-sse-kms-key"] === key);
      return { set: set.status, encrypted: encrypted.length };
    };
    expect((await outcome(false)).encrypted).toBeGreaterThan(0);
    expect((await outcome(true)).encrypted).toBe(0);
  });
});
