// Every admin call, allowed or denied, is on the record, as CloudTrail records IAM calls
// (docs/audit.md, "Admin calls on the record"), and no record carries a secret access key.
import { describe, expect, it } from "vitest";
import { env as testEnv, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { ACCOUNT, admin, call, newAccount, newUser, ok } from "./kms.js";
import { MAX_TAIL_CHARS } from "../../src/audit/audit-log.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { vaultName } from "../../src/placement.js";

interface Rec {
  eventSource: string; eventName: string; requestID?: string; errorCode?: string; sharedEventID?: string; recipientAccountId: string;
  userIdentity: { arn?: string }; requestParameters: Record<string, unknown> | null; responseElements: Record<string, unknown> | null;
}
const tail = async (account?: string) =>
  (await admin<{ Entries: { Record: Rec }[] }>("AuditTail", { Limit: 10_000, ...(account ? { Account: account } : {}) })).body.Entries.map((e) => e.Record);
const recordOf = (records: Rec[], r: { headers: Headers }) => records.filter((x) => x.requestID === r.headers.get("x-amzn-RequestId"));

describe("admin calls on the record", () => {
  it("IAM changes are recorded with the caller and their parameters, never a secret access key", async () => {
    const name = `recorded-${Date.now()}`;
    const created = await admin("CreateUser", { UserName: name });
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*" }] });
    const put = await admin("PutUserPolicy", { UserName: name, PolicyName: "enc", PolicyDocument: policy });
    const key = await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: name });
    const deleted = await admin("DeleteAccessKey", { AccessKeyId: key.body.AccessKeyId });
    const records = await tail();
    const [c] = recordOf(records, created);
    expect(c).toMatchObject({ eventSource: "iam.amazonaws.com", eventName: "CreateUser", requestParameters: { userName: name }, userIdentity: { arn: `arn:aws:iam::${ACCOUNT}:root` } });
    expect(recordOf(records, put)[0]).toMatchObject({ eventName: "PutUserPolicy", requestParameters: { userName: name, policyName: "enc", policyDocument: policy } });
    const [k] = recordOf(records, key);
    expect(k).toMatchObject({ eventName: "CreateAccessKey", responseElements: { accessKey: { accessKeyId: key.body.AccessKeyId, userName: name } } });
    expect(recordOf(records, deleted)[0]).toMatchObject({ eventName: "DeleteAccessKey", requestParameters: { accessKeyId: key.body.AccessKeyId } });
    expect(JSON.stringify(records)).not.toContain(key.body.SecretAccessKey);
  });

  it("a denied admin call is recorded in the caller's trail with the error", async () => {
    const name = `nobody-${Date.now()}`;
    await admin("CreateUser", { UserName: name });
    const k = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: name })).body;
    const denied = await admin("CreateUser", { UserName: `${name}-x` }, { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey });
    expect(denied.body.__type).toBe("AccessDeniedException");
    const [r] = recordOf(await tail(), denied);
    expect(r).toMatchObject({ eventSource: "iam.amazonaws.com", eventName: "CreateUser", errorCode: "AccessDeniedException", userIdentity: { arn: `arn:aws:iam::${ACCOUNT}:user/${name}` } });
  });

  it("the operator's call on another account is in both trails with one shared event id; CreateAccount names no secret", async () => {
    const acct = await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount", {});
    const made = await admin("CreateUser", { Account: acct.body.AccountId, UserName: "theirs" });
    const [mine] = recordOf(await tail(), made);
    const [theirs] = recordOf(await tail(acct.body.AccountId), made);
    expect(mine.recipientAccountId).toBe(ACCOUNT);
    expect(theirs.recipientAccountId).toBe(acct.body.AccountId);
    expect(mine.sharedEventID).toBeDefined();
    expect(mine.sharedEventID).toBe(theirs.sharedEventID);
    const [account] = recordOf(await tail(), acct);
    expect(account).toMatchObject({ eventSource: "organizations.amazonaws.com", eventName: "CreateAccount", responseElements: { accountId: acct.body.AccountId, accessKeyId: acct.body.AccessKeyId } });
    expect(JSON.stringify(await tail())).not.toContain(acct.body.SecretAccessKey);
  });
});

describe("AuditTail of large records", () => {
  it(`answers within ${MAX_TAIL_CHARS} characters of records, however large the records a principal of the account made, with every filter`, async () => {
    const acct = await newAccount();
    const user = await newUser(undefined, acct.account, acct); // no policy: each Encrypt is denied, and recorded
    const key = (await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", {}, acct)).KeyMetadata.Arn;
    const context: Record<string, string> = {};
    for (let i = 0; i < 60; i++) context[`k${i}`] = "v".repeat(1000);
    // About 36 MB of records, over a Durable Object's 32 MiB answer, in the AuditLog's undelivered rows.
    for (let i = 0; i < 600; i += 50) {
      const denied = await Promise.all(Array.from({ length: 50 }, () => call("Encrypt", { KeyId: key, Plaintext: "AA==", EncryptionContext: context }, user)));
      expect(denied.map((r) => r.body.__type)).toEqual(Array(50).fill("AccessDeniedException"));
    }
    for (const input of [{ Limit: 10_000 }, { Limit: 1, Principal: user.name }, { Limit: 1000, KeyId: key }, { Limit: 3, EventName: "Encrypt" }]) {
      const r = await admin<{ Entries: { Record: Rec }[]; Truncated: boolean }>("AuditTail", input, acct);
      expect(r.status, JSON.stringify(input)).toBe(200);
      expect(JSON.stringify(r.body.Entries.map((e) => e.Record)).length, JSON.stringify(input)).toBeLessThanOrEqual(MAX_TAIL_CHARS + r.body.Entries.length);
      expect(r.body.Truncated, JSON.stringify(input)).toBe(true);
      // The newest: Limit of them, or as many as fit (records of about 62,000 characters here).
      if (input.Limit <= 3) expect(r.body.Entries.length, JSON.stringify(input)).toBe(input.Limit);
      else expect(r.body.Entries.length, JSON.stringify(input)).toBeGreaterThan(MAX_TAIL_CHARS / 64_000);
      expect(r.body.Entries.every((e) => e.Record.eventName === "Encrypt" && e.Record.errorCode === "AccessDeniedException"), JSON.stringify(input)).toBe(true);
    }
  });

  it("answers within the budget however many large records wait in a vault's outbox", async () => {
    const acct = await newAccount();
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {}, acct)).KeyMetadata.KeyId;
    const [made] = (await admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 10, EventName: "CreateKey" }, acct)).body.Entries;
    // State changes' records wait in the vault's outbox until the AuditLog takes them: 1,200 of
    // about 33,000 characters (a PutKeyPolicy's, the policy up to 32 KB), 40 MB, as while the
    // AuditLog is unreachable. They are stored as the outbox stores them, with no forwarding due,
    // so that they stay there.
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "x".repeat(32_000), Effect: "Allow", Principal: { AWS: acct.account }, Action: "kms:*", Resource: "*" }] });
    const env = testEnv as unknown as Env;
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
    await runInDurableObject(vault, async (_i: unknown, state: DurableObjectState) => {
      for (let i = 0; i < 1200; i += 100) {
        const rows: Record<string, CloudTrailRecord> = {};
        for (let j = i; j < i + 100; j++) {
          const eventTime = new Date(Date.parse(made.Record.eventTime) + 1000 + j * 1000).toISOString().replace(/\.\d+Z$/, "Z");
          rows[`audit:${eventTime}:${String(j).padStart(8, "0")}`] = { ...made.Record, eventName: "PutKeyPolicy", eventTime, eventID: `outbox-${j}`, requestParameters: { keyId, policyName: "default", policy } };
        }
        await state.storage.put(rows);
      }
    });
    for (const input of [{ Limit: 10_000 }, { Limit: 10_000, KeyId: keyId }, { Limit: 2, EventName: "PutKeyPolicy" }]) {
      const r = await admin<{ Entries: { Record: CloudTrailRecord }[]; Truncated: boolean }>("AuditTail", input, acct);
      expect(r.status, JSON.stringify(input)).toBe(200);
      expect(JSON.stringify(r.body.Entries.map((e) => e.Record)).length, JSON.stringify(input)).toBeLessThanOrEqual(MAX_TAIL_CHARS + r.body.Entries.length);
      expect(r.body.Truncated, JSON.stringify(input)).toBe(true);
      // The newest of them, in order.
      const ids = r.body.Entries.filter((e) => e.Record.eventName === "PutKeyPolicy").map((e) => e.Record.eventID);
      expect(ids.length, JSON.stringify(input)).toBe(input.Limit === 2 ? 2 : ids.length);
      expect(ids.length, JSON.stringify(input)).toBeGreaterThan(input.Limit === 2 ? 1 : MAX_TAIL_CHARS / 40_000); // as many as fit
      expect(ids.at(-1), JSON.stringify(input)).toBe("outbox-1199");
      expect(ids, JSON.stringify(input)).toEqual(Array.from({ length: ids.length }, (_, k) => `outbox-${1200 - ids.length + k}`));
    }
  });
});
