// Request-rate quotas in workerd (docs/quotas.md): a burst over a quota set through the admin
// API, refill, independent quotas and accounts, the admin operations' authorization, the record
// of a throttled request, the QUOTAS switch, and which quota each operation of the operation table
// counts against. Requests go straight to handleKmsRequest with a chosen `now` (the limiter's
// clock), so refill is tested without waiting; one test goes through the Worker's route.
import { SELF, env as testEnv } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env.js";
import { handleKmsRequest } from "../../src/protocol/handler.js";
import { OPERATIONS } from "../../src/operations/index.js";
import { CONTROL_PLANE_DEFAULTS, SHARED_QUOTAS, quotaOf } from "../../src/quota/table.js";
import { THROTTLED_MESSAGE, backgroundSettled } from "../../src/quota/enforce.js";
import { signRequest } from "../../src/cli/sign.js";
import { ENDPOINT, admin, call, newAccount, newUser, type Creds, type KmsResponse } from "./kms.js";

const env = testEnv as unknown as Env;

// Requests here go to the handler outside a request, so the quota reports they start run on
// after them: the file ends only once none is under way.
afterAll(() => backgroundSettled());

/** A KMS request of `who` handled at `now` (ms). */
async function kmsAt<T = Record<string, unknown>>(now: number, target: string, input: object, who: Creds, e: Env = env): Promise<KmsResponse<T>> {
  const body = JSON.stringify(input);
  const headers = await signRequest(ENDPOINT, target, body, { ...who, region: "us-east-1" });
  const res = await handleKmsRequest(new Request(ENDPOINT, { method: "POST", headers, body }), e, crypto.randomUUID(), now);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** Sets quotas of `account` (as the operator unless `as`). */
const putQuotas = (account: string, quotas: Record<string, number | undefined>, as?: Creds) =>
  admin("PutAccountQuotas", { Account: account, Quotas: Object.entries(quotas).map(([QuotaName, Value]) => ({ QuotaName, ...(Value === undefined ? {} : { Value }) })) }, as);

/** A new account with the quotas `quotas`, and a symmetric key of it (made at `now`). */
async function accountWith(quotas: Record<string, number>, now: number) {
  const acct = await newAccount();
  if (Object.keys(quotas).length) expect((await putQuotas(acct.account, quotas)).status).toBe(200);
  const key = await kmsAt<{ KeyMetadata: { KeyId: string } }>(now, "CreateKey", {}, acct);
  expect(key.status).toBe(200);
  return { ...acct, keyId: key.body.KeyMetadata.KeyId };
}

const encrypt = (now: number, who: Creds & { keyId: string }, extra: object = {}, e?: Env) => kmsAt(now, "Encrypt", { KeyId: who.keyId, Plaintext: btoa("hi"), ...extra }, who, e);
const statuses = (rs: KmsResponse[]) => rs.map((r) => (r.status === 200 ? 200 : r.body.__type));
const count = (rs: KmsResponse[], status: number | string) => statuses(rs).filter((s) => s === status).length;

describe("a burst over a quota", () => {
  it("gets ThrottlingException (HTTP 400, AWS's body) for the excess and 200 for the rest", async () => {
    const now = Date.now();
    const a = await accountWith({ CryptographicOperationsSymmetric: 5 }, now);
    const rs = await Promise.all(Array.from({ length: 8 }, () => encrypt(now, a)));
    expect(count(rs, 200)).toBe(5);
    expect(count(rs, "ThrottlingException")).toBe(3);
    const throttled = rs.find((r) => r.status !== 200)!;
    expect(throttled.status).toBe(400);
    expect(throttled.body).toEqual({ __type: "ThrottlingException", message: THROTTLED_MESSAGE });
    expect(throttled.headers.get("x-amzn-ErrorType")).toBe("ThrottlingException");
  });

  it("refills at the quota's rate: one second gives the quota again, never more than one second's worth", async () => {
    const t0 = Date.now();
    const a = await accountWith({ CryptographicOperationsSymmetric: 5 }, t0);
    expect(count(await Promise.all(Array.from({ length: 6 }, () => encrypt(t0, a))), 200)).toBe(5);
    expect((await encrypt(t0 + 199, a)).body.__type).toBe("ThrottlingException"); // 0.995 of a request
    expect((await encrypt(t0 + 200, a)).status).toBe(200);
    // Ten idle seconds fill the bucket to one second of the quota, not ten.
    expect(count(await Promise.all(Array.from({ length: 12 }, () => encrypt(t0 + 10_200, a))), 200)).toBe(5);
    // A quota below one a second: one request per 1/rate seconds.
    expect((await putQuotas(a.account, { CryptographicOperationsSymmetric: 0.5 })).status).toBe(200);
    const t1 = t0 + 30_000;
    expect(statuses([await encrypt(t1, a), await encrypt(t1 + 1_999, a), await encrypt(t1 + 2_000, a)])).toEqual([200, "ThrottlingException", 200]);
  });

  it("through the Worker's route as well", async () => {
    const acct = await newAccount();
    expect((await putQuotas(acct.account, { CreateAlias: 1 })).status).toBe(200);
    const send = async (target: string, input: object) => {
      const body = JSON.stringify(input);
      const res = await SELF.fetch(ENDPOINT, { method: "POST", headers: await signRequest(ENDPOINT, target, body, { ...acct, region: "us-east-1" }), body });
      return { status: res.status, type: res.headers.get("x-amzn-ErrorType"), body: (await res.json()) as { __type?: string } };
    };
    const key = (await send("CreateKey", {})).body as { KeyMetadata: { KeyId: string } };
    const rs = await Promise.all([1, 2, 3].map((i) => send("CreateAlias", { AliasName: `alias/q-${i}-${Date.now()}`, TargetKeyId: key.KeyMetadata.KeyId })));
    // One a second: in a burst of three, the first is admitted (a second one only if a whole second passed meanwhile).
    expect(rs.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    const throttled = rs.filter((r) => r.status === 400);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    for (const r of throttled) expect([r.type, r.body.__type]).toEqual(["ThrottlingException", "ThrottlingException"]);
  });
});

describe("quotas are independent", () => {
  it("control-plane throttling does not block Encrypt, nor the reverse", async () => {
    const now = Date.now();
    const a = await accountWith({ CreateAlias: 1, CryptographicOperationsSymmetric: 2 }, now);
    const alias = (n: number) => kmsAt(now, "CreateAlias", { AliasName: `alias/independent-${n}-${now}`, TargetKeyId: a.keyId }, a);
    expect(statuses([await alias(1), await alias(2)])).toEqual([200, "ThrottlingException"]);
    expect(statuses([await encrypt(now, a), await encrypt(now, a), await encrypt(now, a)])).toEqual([200, 200, "ThrottlingException"]);
    // Other control-plane operations have quotas of their own.
    expect((await kmsAt(now, "DescribeKey", { KeyId: a.keyId }, a)).status).toBe(200);
    expect((await kmsAt(now, "ListAliases", {}, a)).status).toBe(200);
  });

  it("an RSA key's Encrypt counts against the RSA quota, a symmetric key's against the symmetric one", async () => {
    const now = Date.now();
    const a = await accountWith({ CryptographicOperationsRsa: 1, CryptographicOperationsSymmetric: 100 }, now);
    const rsa = await kmsAt<{ KeyMetadata: { KeyId: string } }>(now, "CreateKey", { KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }, a);
    expect(rsa.status).toBe(200);
    const rsaKey = { ...a, keyId: rsa.body.KeyMetadata.KeyId };
    const oaep = { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" };
    expect(statuses([await encrypt(now, rsaKey, oaep), await encrypt(now, rsaKey, oaep)])).toEqual([200, "ThrottlingException"]);
    expect((await encrypt(now, a)).status).toBe(200);
  });

  it("another account is unaffected by one that is throttled", async () => {
    const now = Date.now();
    const a = await accountWith({ CryptographicOperationsSymmetric: 1 }, now);
    const b = await accountWith({ CryptographicOperationsSymmetric: 1 }, now);
    const c = await accountWith({}, now); // AWS's default (× QUOTA_SCALE in the tests)
    expect(statuses([await encrypt(now, a), await encrypt(now, a)])).toEqual([200, "ThrottlingException"]);
    expect((await encrypt(now, b)).status).toBe(200);
    expect(count(await Promise.all(Array.from({ length: 20 }, () => encrypt(now, c))), 200)).toBe(20);
  });
});

describe("the QUOTAS switch", () => {
  it("QUOTAS=off admits what the quota would throttle", async () => {
    const now = Date.now();
    const a = await accountWith({ CryptographicOperationsSymmetric: 1 }, now);
    expect(statuses([await encrypt(now, a), await encrypt(now, a)])).toEqual([200, "ThrottlingException"]);
    const off = { ...env, QUOTAS: "off" };
    expect(statuses(await Promise.all([1, 2, 3].map(() => encrypt(now, a, {}, off))))).toEqual([200, 200, 200]);
  });
});

describe("the throttled request's record", () => {
  it("is in the caller's trail with errorCode ThrottlingException, naming the quota", async () => {
    const now = Date.now();
    const a = await accountWith({ CryptographicOperationsSymmetric: 1 }, now);
    expect((await encrypt(now, a)).status).toBe(200);
    const r = await encrypt(now, a);
    expect(r.body.__type).toBe("ThrottlingException");
    const requestId = r.headers.get("x-amzn-RequestId");
    const tail = await admin<{ Entries: { Record: Record<string, unknown> }[] }>("AuditTail", { Account: a.account, Limit: 1000, EventName: "Encrypt" });
    const records = tail.body.Entries.map((e) => e.Record).filter((rec) => rec.requestID === requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      eventName: "Encrypt",
      errorCode: "ThrottlingException",
      recipientAccountId: a.account,
      requestParameters: { keyId: a.keyId, encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
    });
    expect(records[0].errorMessage).toContain("Cryptographic operations (symmetric) request rate: 1 per second");
  });
});

describe("the admin API", () => {
  type Quota = { QuotaName: string; Value?: number; Default?: number; Adjusted: boolean };
  const quotasOf = (r: KmsResponse) => Object.fromEntries((r.body.Quotas as Quota[]).map((q) => [q.QuotaName, q]));

  it("GetAccountQuotas lists every quota with its value, default and whether it was set; PutAccountQuotas without Value restores the default", async () => {
    const acct = await newAccount();
    const before = quotasOf(await admin("GetAccountQuotas", { Account: acct.account }));
    expect(before.CreateKey).toMatchObject({ Adjusted: false });
    expect(before.CreateKey.Value).toBe(before.CreateKey.Default);
    expect(before.CryptographicOperationsMlKem.Value).toBeUndefined(); // no default, none set: no limit
    const put = await putQuotas(acct.account, { CreateKey: 2, CryptographicOperationsMlKem: 0.25 });
    expect(put.status).toBe(200);
    expect(quotasOf(put).CreateKey).toMatchObject({ Value: 2, Adjusted: true });
    const after = quotasOf(await admin("GetAccountQuotas", { Account: acct.account }, acct));
    expect(after.CreateKey).toMatchObject({ Value: 2, Adjusted: true });
    expect(after.CryptographicOperationsMlKem).toMatchObject({ Value: 0.25, Adjusted: true });
    const reset = quotasOf(await putQuotas(acct.account, { CreateKey: undefined }));
    expect(reset.CreateKey).toMatchObject({ Value: before.CreateKey.Value, Adjusted: false });
  });

  it("lists a quota for every operation of the operation table", async () => {
    const names = new Set(((await admin("GetAccountQuotas")).body.Quotas as Quota[]).map((q) => q.QuotaName));
    for (const op of OPERATIONS.values()) expect(names.has(quotaOf(op, { KeyPairSpec: "RSA_2048" }))).toBe(true);
    for (const name of Object.keys(SHARED_QUOTAS)) expect(names.has(name)).toBe(true);
  });

  it("refuses unknown quotas and values out of range", async () => {
    const acct = await newAccount();
    const unknown = await putQuotas(acct.account, { NotAQuota: 1 });
    expect([unknown.status, unknown.body.__type]).toEqual([400, "ValidationException"]);
    expect(unknown.body.message).toContain("quotas.1.member.quotaName");
    const negative = await putQuotas(acct.account, { CreateKey: -1 });
    expect(negative.body.__type).toBe("ValidationException");
    const text = await admin("PutAccountQuotas", { Account: acct.account, Quotas: [{ QuotaName: "CreateKey", Value: "9" }] });
    expect(text.body.__type).toBe("SerializationException");
  });

  describe("who may", () => {
    const who: Record<string, Creds & { account: string }> = {};
    beforeAll(async () => {
      who.A = await newAccount();
      who.B = await newAccount();
      who.userOfA = { ...(await newUser([{ Effect: "Allow", Action: "*", Resource: "*" }], who.A.account, who.A)), account: who.A.account };
    });
    const rows: [string, string | undefined, string, "A" | "B" | "none", number | string][] = [
      ["the operator sets any account's", undefined, "PutAccountQuotas", "A", 200],
      ["the operator reads any account's", undefined, "GetAccountQuotas", "B", 200],
      ["an account root reads its own", "A", "GetAccountQuotas", "A", 200],
      ["an account root cannot raise its own", "A", "PutAccountQuotas", "A", "AccessDeniedException"],
      ["an account root cannot read another account's", "A", "GetAccountQuotas", "B", "AccessDeniedException"],
      ["an account root cannot set another account's", "A", "PutAccountQuotas", "B", "AccessDeniedException"],
      ["an IAM user allowed everything cannot read its account's", "userOfA", "GetAccountQuotas", "A", "AccessDeniedException"],
      ["an IAM user allowed everything cannot set its account's", "userOfA", "PutAccountQuotas", "A", "AccessDeniedException"],
      // An account that does not exist has no quotas to set or read (a typo must not set any).
      ["the operator cannot set quotas of an account that does not exist", undefined, "PutAccountQuotas", "none", "NoSuchEntityException"],
      ["the operator cannot read quotas of an account that does not exist", undefined, "GetAccountQuotas", "none", "NoSuchEntityException"],
      ["an account root is denied another, nonexistent account's, before it is looked up", "A", "PutAccountQuotas", "none", "AccessDeniedException"],
    ];
    it.each(rows)("%s", async (_, caller, op, account, expected) => {
      const id = account === "none" ? "999999999998" : who[account].account;
      const input = op === "PutAccountQuotas" ? { Account: id, Quotas: [{ QuotaName: "CreateKey", Value: 1000 }] } : { Account: id };
      const r = await admin(op, input, caller ? who[caller] : undefined);
      expect(r.status === 200 ? 200 : r.body.__type).toBe(expected);
    });
  });

  it("is recorded as every admin call (eventSource servicequotas), denied calls with the error", async () => {
    const a = await newAccount();
    const denied = await putQuotas(a.account, { CreateKey: 1000 }, a);
    expect(denied.body.__type).toBe("AccessDeniedException");
    const tail = await admin<{ Entries: { Record: Record<string, unknown> }[] }>("AuditTail", { Account: a.account, Limit: 1000, EventName: "PutAccountQuotas" });
    const [record] = tail.body.Entries.map((e) => e.Record).filter((r) => r.requestID === denied.headers.get("x-amzn-RequestId"));
    expect(record).toMatchObject({ eventSource: "servicequotas.amazonaws.com", errorCode: "AccessDeniedException", requestParameters: { account: a.account, quotas: [{ quotaName: "CreateKey", value: 1000 }] } });
    expect(String(record.errorMessage)).toContain("edgekms:PutAccountQuotas");
  });
});

describe("which quota each operation counts against", () => {
  it("every control-plane default names an operation of the table that has no cryptographic quota", () => {
    for (const name of Object.keys(CONTROL_PLANE_DEFAULTS)) {
      expect(OPERATIONS.has(name), name).toBe(true);
      expect(OPERATIONS.get(name)!.quota, name).toBeUndefined();
    }
  });

  const rows: [string, Record<string, unknown>, string][] = [
    ["Encrypt", {}, "CryptographicOperationsSymmetric"],
    ["Decrypt", { EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }, "CryptographicOperationsRsa"],
    ["ReEncrypt", { DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256" }, "CryptographicOperationsRsa"],
    ["GenerateDataKey", {}, "CryptographicOperationsSymmetric"],
    ["GenerateDataKeyWithoutPlaintext", {}, "CryptographicOperationsSymmetric"],
    ["GenerateRandom", {}, "CryptographicOperationsSymmetric"],
    ["GenerateMac", {}, "CryptographicOperationsSymmetric"],
    ["VerifyMac", {}, "CryptographicOperationsSymmetric"],
    ["Sign", { SigningAlgorithm: "ECDSA_SHA_256" }, "CryptographicOperationsEcc"],
    ["Verify", { SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256" }, "CryptographicOperationsRsa"],
    ["Sign", { SigningAlgorithm: "ML_DSA_SHAKE_256" }, "CryptographicOperationsMlDsa"],
    ["DeriveSharedSecret", {}, "CryptographicOperationsEcc"],
    ["Encapsulate", {}, "CryptographicOperationsMlKem"],
    ["Decapsulate", {}, "CryptographicOperationsMlKem"],
    ["GenerateDataKeyPair", { KeyPairSpec: "ECC_NIST_P384" }, "GenerateDataKeyPair:ECC_NIST_P384"],
    ["GenerateDataKeyPairWithoutPlaintext", { KeyPairSpec: "RSA_2048" }, "GenerateDataKeyPair:RSA_2048"],
    ["CreateKey", {}, "CreateKey"],
    ["GetPublicKey", {}, "GetPublicKey"],
    ["ScheduleKeyDeletion", {}, "ScheduleKeyDeletion"],
  ];
  it.each(rows)("%s %j → %s", (name, input, expected) => expect(quotaOf(OPERATIONS.get(name)!, input)).toBe(expected));
});

describe("a control-plane quota AWS sets below one a second", () => {
  it("GetParametersForImport at 0.25 per second (AWS's default): one request in four seconds", async () => {
    const now = Date.now();
    const a = await accountWith({ GetParametersForImport: 0.25 }, now);
    const key = await kmsAt<{ KeyMetadata: { KeyId: string } }>(now, "CreateKey", { Origin: "EXTERNAL" }, a);
    const params = (t: number) => kmsAt(t, "GetParametersForImport", { KeyId: key.body.KeyMetadata.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }, a);
    expect(statuses([await params(now), await params(now + 3_999), await params(now + 4_000)])).toEqual([200, "ThrottlingException", 200]);
  });
});

describe("batch entries", () => {
  it("each entry of a batch counts as one request of its kind: past the quota, entries are throttled, the others answered", async () => {
    const acct = await newAccount();
    const keyRes = await call<{ KeyMetadata: { KeyId: string } }>("TrentService.CreateKey", {}, acct);
    expect(keyRes.status).toBe(200);
    expect((await putQuotas(acct.account, { CryptographicOperationsSymmetric: 3 })).status).toBe(200);
    const Entries = Array.from({ length: 12 }, () => ({ KeyId: keyRes.body.KeyMetadata.KeyId, Plaintext: btoa("x") }));
    const r = await call<{ Results: { Index: number; ErrorCode?: string; CiphertextBlob?: string }[] }>("EdgeKMSBatch.BatchEncrypt", { Entries }, acct);
    expect(r.status).toBe(200);
    const throttled = r.body.Results.filter((x) => x.ErrorCode === "ThrottlingException").length;
    const answered = r.body.Results.filter((x) => x.CiphertextBlob).length;
    expect(answered + throttled).toBe(12);
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(answered).toBeLessThanOrEqual(4);
  });
});

describe("requests AWS counts in another Region too", () => {
  const B = "us-west-2";
  /** Sets quotas of `account` in `region`, as the operator (quotas are per account and Region). */
  const putQuotasIn = (region: string, account: string, quotas: Record<string, number>) =>
    admin("PutAccountQuotas", { Account: account, Quotas: Object.entries(quotas).map(([QuotaName, Value]) => ({ QuotaName, Value })) }, { region });

  it("ReplicateKey counts as two CreateKey requests in the replica's Region", async () => {
    // One CreateKey a second in B: a ReplicateKey into B (two CreateKeys there) is throttled.
    const a = await newAccount();
    expect((await putQuotasIn(B, a.account, { CreateKey: 1 })).status).toBe(200);
    const k = await call<{ KeyMetadata: { KeyId: string } }>("CreateKey", { MultiRegion: true }, a);
    expect(k.status).toBe(200);
    const r = await call("ReplicateKey", { KeyId: k.body.KeyMetadata.KeyId, ReplicaRegion: B }, a);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ __type: "ThrottlingException", message: THROTTLED_MESSAGE });
    // Two a second in B: it goes through, and takes nothing from the CreateKey quota of the caller's Region (one left there).
    const b = await newAccount();
    expect((await putQuotasIn(B, b.account, { CreateKey: 2 })).status).toBe(200);
    const kb = await call<{ KeyMetadata: { KeyId: string } }>("CreateKey", { MultiRegion: true }, b);
    expect((await putQuotas(b.account, { CreateKey: 1 })).status).toBe(200);
    const replicated = await call("ReplicateKey", { KeyId: kb.body.KeyMetadata.KeyId, ReplicaRegion: B }, b);
    expect(replicated.status, JSON.stringify(replicated.body)).toBe(200);
    expect((await call("CreateKey", {}, b)).status).toBe(200);
    expect((await call("CreateKey", {}, b)).body.__type).toBe("ThrottlingException");
  });

  it("UpdatePrimaryRegion counts in the new primary's Region as well", async () => {
    for (const [quota, outcome] of [[0, "ThrottlingException"], [5, "ok"]] as const) {
      const a = await newAccount();
      const k = await call<{ KeyMetadata: { KeyId: string } }>("CreateKey", { MultiRegion: true }, a);
      expect((await call("ReplicateKey", { KeyId: k.body.KeyMetadata.KeyId, ReplicaRegion: B }, a)).status).toBe(200);
      expect((await putQuotasIn(B, a.account, { UpdatePrimaryRegion: quota })).status).toBe(200);
      const r = await call("UpdatePrimaryRegion", { KeyId: k.body.KeyMetadata.KeyId, PrimaryRegion: B }, a);
      expect(r.status === 200 ? "ok" : r.body.__type, JSON.stringify(r.body)).toBe(outcome);
    }
  });

  it("a Region that is not served is not charged (no counter is made for a caller's name): the operation refuses it", async () => {
    const acct = await newAccount();
    const primary = await call<{ KeyMetadata: { KeyId: string } }>("CreateKey", { MultiRegion: true }, acct);
    const r = await call("ReplicateKey", { KeyId: primary.body.KeyMetadata.KeyId, ReplicaRegion: "sa-east-1" }, acct);
    expect(r.status).toBe(400);
    expect(r.body.__type).not.toBe("ThrottlingException");
  });
});
