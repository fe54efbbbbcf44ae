// The outside attack review of issue 15 (batch, quotas, chaos hooks, admin additions, hints,
// SigV4), kept as regression tests: each asserts the secure behaviour. It found a batch entry's
// encryption context unbounded (~1 MB records that stopped an account's audit delivery) and
// unauthenticated error messages repeating header text unbounded; both fixed.
import { describe, expect, it } from "vitest";
import { SELF, env as testEnv, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import type { AuditLog } from "../../src/audit/audit-log.js";
import { auditShardName } from "../../src/placement.js";
import { signRequest } from "../../src/cli/sign.js";
import { ACCESS_KEY_ID, ACCOUNT, ENDPOINT, SECRET_ACCESS_KEY, admin, b64, call, doc, newAccount, newUser, ok, type Creds } from "./kms.js";

const env = testEnv as unknown as Env;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

async function newKey(input: object = {}, as?: Creds): Promise<{ KeyId: string; Arn: string }> {
  return (await ok<{ KeyMetadata: { KeyId: string; Arn: string } }>("CreateKey", input, as)).KeyMetadata;
}
type Result = { Index: number; ErrorCode?: string; ErrorMessage?: string; CiphertextBlob?: string; Plaintext?: string };
async function batch(op: string, entries: unknown, as?: Creds) {
  const r = await call<{ Results: Result[] }>(`EdgeKMSBatch.${op}`, { Entries: entries }, { ...(as ?? {}) });
  return { status: r.status, body: r.body, results: r.body.Results, requestId: r.headers.get("x-amzn-RequestId")! };
}

describe("batch entries can carry more than a single request", () => {
  it("an entry's EncryptionContext is bounded as the single request's is (64 KiB body)", async () => {
    const key = await newKey();
    const ec = { big: "a".repeat(900_000) };
    const single = await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: ec });
    expect(single.body.__type).toBe("ValidationException"); // body > 64 KiB
    const r = await batch("BatchEncrypt", [{ KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: ec }]);
    // FINDING when this fails: the entry is encrypted, though its single operation could never be sent.
    expect(r.results[0].ErrorCode).toBe("ValidationException");
  });

  it("a permissionless IAM user cannot write ~1 MB records into its account's trail", async () => {
    const acct = await newAccount();
    const user = await newUser(undefined, acct.account, acct);
    const r = await batch("BatchEncrypt", [{ KeyId: "alias/none", Plaintext: b64("x"), EncryptionContext: { big: "a".repeat(1_000_000) } }], user);
    expect(r.status).toBe(200);
    const sizes: number[] = [];
    for (let s = 0; s < 4; s++) {
      const stub = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", acct.account, s)));
      sizes.push(...(await runInDurableObject(stub, async (_o: AuditLog, state) => [...(await state.storage.list<string>({ prefix: "r:" })).values()].map((v) => (typeof v === "string" ? v.length : 0)))));
    }
    expect(Math.max(...sizes)).toBeLessThan(300_000);
  });
});

describe("audit delivery with large records", () => {
  it("~1 MB encryption contexts in batch entries are refused, and the account's delivery goes on", async () => {
    const acct = await newAccount();
    const user = await newUser(undefined, acct.account, acct);
    const ec = { big: "a".repeat(1_000_000) };
    for (let i = 0; i < 20; i++) {
      const r = await batch("BatchEncrypt", [{ KeyId: "alias/none", Plaintext: b64("x"), EncryptionContext: ec }], user);
      expect(r.results[0].ErrorCode).toBe("ValidationException");
    }
    // The account root does something afterwards: it is delivered.
    const k = await newKey({ Description: "after-the-flood" }, acct);
    expect((await admin("AuditFlush", { Account: acct.account })).status).toBe(200);
    const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${acct.account}/CloudTrail/` });
    expect(listed.objects.length).toBeGreaterThan(0);
    expect(k.KeyId).toMatch(/^[0-9a-f-]{36}$/);
  }, 120_000);

  it("a principal of account A allowed kms:Encrypt on B's key cannot put ~1 MB records into B's trail", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const shared = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${b.account}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${a.account}:root` }, Action: ["kms:Encrypt"], Resource: "*" },
    ) }, b);
    const r = await batch("BatchEncrypt", [{ KeyId: shared.Arn, Plaintext: b64("x"), EncryptionContext: { big: "a".repeat(1_000_000) } }], a);
    expect(r.results[0].ErrorCode).toBe("ValidationException");
    expect((await admin("AuditFlush", { Account: b.account })).status).toBe(200);
  }, 120_000);
});

describe("per-entry decisions across accounts, contexts and grant tokens", () => {
  it("each entry decided on its own EC condition, whatever the order; owner's trail gets only allowed ones", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const k = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${b.account}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${a.account}:root` }, Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:tenant": "a" } } },
    ) }, b);
    const own = await newKey({}, a);
    const entries = [
      { KeyId: k.Arn, Plaintext: b64("1"), EncryptionContext: { tenant: "b" } },
      { KeyId: k.Arn, Plaintext: b64("2"), EncryptionContext: { tenant: "a" } },
      { KeyId: k.Arn, Plaintext: b64("3") },
      { KeyId: own.KeyId, Plaintext: b64("4"), EncryptionContext: { tenant: "b" } },
      { KeyId: k.Arn, Plaintext: b64("5"), EncryptionContext: { tenant: "a", __proto__x: "y" } },
      { KeyId: k.KeyId, Plaintext: b64("6"), EncryptionContext: { tenant: "a" } },
      { KeyId: `arn:aws:kms:us-east-1:${a.account}:key/${k.KeyId}`, Plaintext: b64("7"), EncryptionContext: { tenant: "a" } },
    ];
    const r = await batch("BatchEncrypt", entries, a);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["AccessDeniedException", "ok", "AccessDeniedException", "ok", "ok", "NotFoundException", "NotFoundException"]);
    const tail = await admin<{ Entries: { Record: { requestID?: string; additionalEventData?: { batchIndex?: number } } }[] }>("AuditTail", { Limit: 100 }, b);
    const mine = tail.body.Entries.filter((e) => e.Record.requestID === r.requestId).map((e) => e.Record.additionalEventData?.batchIndex).sort();
    expect(mine).toEqual([1, 4]);
    // decrypt: entry with the other EC is refused even if the blob is valid
    const d = await batch("BatchDecrypt", [
      { CiphertextBlob: r.results[1].CiphertextBlob, EncryptionContext: { tenant: "b" } },
      { CiphertextBlob: r.results[1].CiphertextBlob, EncryptionContext: { tenant: "a" } },
      { CiphertextBlob: r.results[3].CiphertextBlob },
      { CiphertextBlob: r.results[3].CiphertextBlob, EncryptionContext: { tenant: "b" } },
    ], a);
    expect(d.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["AccessDeniedException", "ok", "InvalidCiphertextException", "ok"]);
    // B (the key owner) decrypting A's own-key ciphertext: not allowed
    const x = await batch("BatchDecrypt", [{ CiphertextBlob: r.results[3].CiphertextBlob, EncryptionContext: { tenant: "b" } }], b);
    expect(x.results[0].ErrorCode).toBe("AccessDeniedException");
  });

  it("another principal's genuine grant token does not help; it fails only its own entries", async () => {
    const key = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }) });
    const u1 = await newUser([{ Effect: "Allow", Action: "kms:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }]);
    const u2 = await newUser();
    const g = await ok<{ GrantToken: string }>("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: u2.arn, Operations: ["Encrypt"] });
    const r = await batch("BatchEncrypt", [
      { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [g.GrantToken] },
      { KeyId: key.KeyId, Plaintext: b64("x") },
    ], u1);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["InvalidGrantTokenException", "AccessDeniedException"]);
    const r2 = await batch("BatchEncrypt", [
      { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [g.GrantToken] },
      { KeyId: key.KeyId, Plaintext: b64("x") },
    ], u2);
    expect(r2.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "ok"]);
  });

  it("grant constraints are checked on each entry's own encryption context", async () => {
    const key = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }) });
    const u = await newUser();
    await ok("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: u.arn, Operations: ["Encrypt", "Decrypt"], Constraints: { EncryptionContextEquals: { t: "a" } } });
    const r = await batch("BatchEncrypt", [
      { KeyId: key.KeyId, Plaintext: b64("1"), EncryptionContext: { t: "b" } },
      { KeyId: key.KeyId, Plaintext: b64("2"), EncryptionContext: { t: "a" } },
      { KeyId: key.KeyId, Plaintext: b64("3") },
      { KeyId: key.KeyId, Plaintext: b64("4"), EncryptionContext: { t: "a", x: "y" } },
      { KeyId: key.KeyId, Plaintext: b64("5"), EncryptionContext: { t: "a" } },
    ], u);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["AccessDeniedException", "ok", "AccessDeniedException", "AccessDeniedException", "ok"]);
  });

  it("deeply nested garbage in an unknown member and in entries: 4xx, never 500", async () => {
    const key = await newKey();
    const deep = "[".repeat(400_000) + "]".repeat(400_000);
    const raw = `{"Entries":[{"KeyId":"${key.KeyId}","Plaintext":"eA==","X":${deep}}]}`;
    const r1 = await call("EdgeKMSBatch.BatchEncrypt", null, { rawBody: raw });
    expect(r1.status).not.toBe(500);
    const raw2 = `{"Entries":[${deep}]}`;
    const r2 = await call("EdgeKMSBatch.BatchEncrypt", null, { rawBody: raw2 });
    expect(r2.status).not.toBe(500);
    const raw3 = `{"Entries":[{"KeyId":"${key.KeyId}","Plaintext":"eA==","EncryptionContext":${deep}}]}`;
    const r3 = await call("EdgeKMSBatch.BatchEncrypt", null, { rawBody: raw3 });
    expect(r3.status).not.toBe(500);
  });
});

describe("admin: quotas and AuditTail", () => {
  it("non-root users and other accounts' roots cannot read quotas of others, tail others' records, or set quotas", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const star = await newUser([{ Effect: "Allow", Action: "*", Resource: "*" }], a.account, a);
    const outcomes: Record<string, string> = {};
    const t = async (name: string, op: string, input: object, as: Creds) => {
      const r = await admin(op, input, as);
      outcomes[name] = r.status === 200 ? "ok" : String(r.body.__type);
    };
    await t("user tail own", "AuditTail", { Principal: star.arn }, star);
    await t("user tail own acct", "AuditTail", { Account: a.account }, star);
    await t("root A tail B", "AuditTail", { Account: b.account, Principal: `arn:aws:iam::${b.account}:root` }, a);
    await t("root A get quotas B", "GetAccountQuotas", { Account: b.account }, a);
    await t("user get quotas", "GetAccountQuotas", {}, star);
    await t("root put quotas", "PutAccountQuotas", { Quotas: [{ QuotaName: "CreateKey", Value: 1e6 }] }, a);
    await t("user put quotas", "PutAccountQuotas", { Quotas: [{ QuotaName: "CreateKey", Value: 1e6 }] }, star);
    await t("root A flush B", "AuditFlush", { Account: b.account }, a);
    expect(Object.values(outcomes).every((o) => o === "AccessDeniedException")).toBe(true);
  });

  it("a batch of N entries costs N against the caller's quota only; another account's is untouched", async () => {
    const a = await newAccount();
    const b = await newAccount();
    expect((await admin("PutAccountQuotas", { Account: a.account, Quotas: [{ QuotaName: "CryptographicOperationsSymmetric", Value: 5 }] })).status).toBe(200);
    expect((await admin("PutAccountQuotas", { Account: b.account, Quotas: [{ QuotaName: "CryptographicOperationsSymmetric", Value: 5 }] })).status).toBe(200);
    const kb = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${b.account}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${a.account}:root` }, Action: "kms:Encrypt", Resource: "*" },
    ) }, b);
    const r = await batch("BatchEncrypt", Array.from({ length: 50 }, () => ({ KeyId: kb.Arn, Plaintext: b64("x") })), a);
    const codes = r.results.map((x) => x.ErrorCode ?? "ok");
    expect(codes.filter((c) => c === "ok")).toHaveLength(5);
    expect(codes.filter((c) => c === "ThrottlingException")).toHaveLength(45);
    const rb = await batch("BatchEncrypt", Array.from({ length: 5 }, () => ({ KeyId: kb.KeyId, Plaintext: b64("x") })), b);
    expect(rb.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "ok", "ok", "ok", "ok"]);
  });
});

describe("SigV4 variants", () => {
  const send = (headers: Headers | Record<string, string>, body: string, url = ENDPOINT) => SELF.fetch(url, { method: "POST", headers, body });
  const creds = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1" };
  it("replays and header games are refused", async () => {
    const key = await newKey();
    const body = JSON.stringify({ Entries: [{ KeyId: key.KeyId, Plaintext: b64("x") }] });
    const h = await signRequest(ENDPOINT, "EdgeKMSBatch.BatchEncrypt", body, creds);
    const out: Record<string, number> = {};
    out.original = (await send(h, body)).status;
    out.replaySame = (await send(h, body)).status; // replay within 5 min is accepted (as AWS)
    out.otherTarget = (await send({ ...h, "x-amz-target": "EdgeKMSBatch.BatchGenerateDataKey" }, body)).status;
    out.toSingle = (await send({ ...h, "x-amz-target": "TrentService.Encrypt" }, JSON.stringify({ KeyId: key.KeyId, Plaintext: b64("x") }))).status;
    out.toAdmin = (await send(h, body, `${ENDPOINT}admin`)).status;
    const dup = new Headers(h); dup.append("x-amz-target", "EdgeKMSBatch.BatchEncrypt");
    out.dupTarget = (await send(dup, body)).status;
    const mixed = { ...h, authorization: h.authorization.replace("x-amz-target", "X-Amz-Target") };
    out.mixedCaseSigned = (await send(mixed, body)).status;
    const dupSigned = { ...h, authorization: h.authorization.replace("SignedHeaders=", "SignedHeaders=x-amz-target;") };
    out.dupSignedHeader = (await send(dupSigned, body)).status;
    const old = await signRequest(ENDPOINT, "EdgeKMSBatch.BatchEncrypt", body, { ...creds, date: new Date(Date.now() - 6 * 60_000) });
    out.skewPast = (await send(old, body)).status;
    const fut = await signRequest(ENDPOINT, "EdgeKMSBatch.BatchEncrypt", body, { ...creds, date: new Date(Date.now() + 6 * 60_000) });
    out.skewFuture = (await send(fut, body)).status;
    const q = await signRequest(`${ENDPOINT}?a=1`, "EdgeKMSBatch.BatchEncrypt", body, creds);
    out.queryDropped = (await send(q, body)).status;
    const withSha = await signRequest(ENDPOINT, "EdgeKMSBatch.BatchEncrypt", body, { ...creds, contentSha256: true });
    out.shaSigned = (await send(withSha, body)).status;
    out.shaSignedOtherBody = (await send(withSha, body.replace("eA==", "eQ=="))).status;
    expect(out).toEqual({ original: 200, replaySame: 200, otherTarget: 400, toSingle: 400, toAdmin: 400, dupTarget: 400, mixedCaseSigned: 400, dupSignedHeader: 400, skewPast: 400, skewFuture: 400, queryDropped: 400, shaSigned: 200, shaSignedOtherBody: 400 });
  });

  it("unauthenticated error messages repeat a bounded part of the caller's header text", async () => {
    const long = "Z".repeat(20_000);
    const cases: Record<string, Record<string, string>> = {
      algorithm: { authorization: `${long} x` },
      pair: { authorization: `AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, ${long}` },
      terminator: { authorization: `AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/kms/${long}, SignedHeaders=host, Signature=${"0".repeat(64)}` },
      scope: { authorization: `AWS4-HMAC-SHA256 Credential=a/20260101/${long}, SignedHeaders=host, Signature=${"0".repeat(64)}` },
      date: { authorization: `AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`, "x-amz-date": long },
    };
    const sizes: Record<string, number> = {};
    for (const [name, h] of Object.entries(cases)) {
      const r = await SELF.fetch(ENDPOINT, { method: "POST", headers: { "x-amz-target": "TrentService.Encrypt", ...h }, body: "{}" });
      sizes[name] = (await r.text()).length;
    }
    // Each repeats at most MAX_SHOWN_REGION characters of the caller's text, once or twice (a pair and its header).
    for (const [name, size] of Object.entries(sizes)) expect(size, name).toBeLessThan(600);
  });
});
