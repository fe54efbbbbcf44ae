// EdgeKMS's batch operations (docs/batch.md): BatchEncrypt, BatchDecrypt, BatchGenerateDataKey
// and BatchReEncrypt on POST / under X-Amz-Target EdgeKMSBatch.*. Each entry must answer and be
// recorded exactly as its single operation would, one failing entry never fails the others, a
// batch makes one vault call per key and one audit append per account, and no input makes a 500.
import { describe, expect, it } from "vitest";
import { SELF, env as testEnv, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { gunzip } from "../../src/audit/objects.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { auditShardName, vaultName } from "../../src/placement.js";
import type { AuditLog } from "../../src/audit/audit-log.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_ENTRIES, MAX_PLAINTEXT } from "../../src/kms/limits.js";
import { MAX_ECHOED_CHARS } from "../../src/protocol/validate.js";
import { signRequest } from "../../src/cli/sign.js";
import { ACCESS_KEY_ID, ACCOUNT, ENDPOINT, SECRET_ACCESS_KEY, admin, b64, call, doc, newAccount, newUser, ok, text, unb64, type Creds } from "./kms.js";

const env = testEnv as unknown as Env;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const ADMIN = { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" };

type Entry = Record<string, unknown>;
type Result = { Index: number; ErrorCode?: string; ErrorMessage?: string; KeyId?: string; CiphertextBlob?: string; Plaintext?: string; EncryptionAlgorithm?: string; KeyMaterialId?: string; SourceKeyId?: string };

/** A batch call: its HTTP status, body (Results, or a batch-level error) and request id. */
async function batch(op: string, entries: unknown, as?: Creds, rawBody?: string) {
  const r = await call<{ Results: Result[] }>(`EdgeKMSBatch.${op}`, { Entries: entries }, { ...(as ?? {}), ...(rawBody !== undefined ? { rawBody } : {}) });
  return { status: r.status, body: r.body, results: r.body.Results, requestId: r.headers.get("x-amzn-RequestId")! };
}

/** A batch expected to be accepted (200): its results, in request order. */
async function batchOk(op: string, entries: unknown[], as?: Creds) {
  const r = await batch(op, entries, as);
  expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
  expect(r.results.map((x) => x.Index)).toEqual(entries.map((_, i) => i));
  return r;
}

/** A single request, retried while it is throttled (request-rate quotas, docs/quotas.md), as the AWS SDKs retry. */
async function unthrottled<T = Record<string, unknown>>(target: string, input: unknown, as?: Creds) {
  for (let attempt = 0; ; attempt++) {
    const r = await call<T>(target, input, as);
    if (r.body.__type !== "ThrottlingException" || attempt >= 50) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function newKey(input: object = {}, as?: Creds): Promise<{ KeyId: string; Arn: string }> {
  const r = await unthrottled<{ KeyMetadata: { KeyId: string; Arn: string } }>("CreateKey", input, as);
  if (r.status !== 200) throw new Error(`CreateKey failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.KeyMetadata;
}

/** What the single operation answers for the same input: its response, or its error as a batch entry shows it. */
/** A key of `owner`'s whose policy lets this test account Encrypt and Decrypt with it. */
const keySharedWithUs = (owner: Creds & { account: string }) => newKey({ Policy: doc(
  { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${owner.account}:root` }, Action: "kms:*", Resource: "*" },
  { Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*" },
) }, owner);

async function single(op: string, entry: Entry, as?: Creds): Promise<Record<string, unknown>> {
  const r = await unthrottled(op, entry, as);
  return r.status === 200 ? r.body : { ErrorCode: r.body.__type, ErrorMessage: r.body.message };
}
const errorOf = (r: Result) => ({ ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage });

/** The records of a request, once delivered (the account's trail flushed first; the operator flushes any account). */
async function recordsOf(requestId: string, account = ACCOUNT): Promise<CloudTrailRecord[]> {
  expect((await admin("AuditFlush", { Account: account })).status).toBe(200);
  const out: CloudTrailRecord[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${account}/CloudTrail/`, cursor });
    for (const o of listed.objects) {
      const obj = await env.AUDIT_BUCKET.get(o.key);
      const text = new TextDecoder().decode(await gunzip(new Uint8Array(await obj!.arrayBuffer())));
      if (text.includes(requestId)) out.push(...(JSON.parse(text).Records as CloudTrailRecord[]).filter((r) => r.requestID === requestId));
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return out;
}

const vaultOf = (keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
const batchStats = (keyId: string) => runInDurableObject(vaultOf(keyId), (v: KeyVault) => ({ ...v.batchStats }));

describe("round trips", () => {
  it("BatchEncrypt → BatchDecrypt, and each against the single Decrypt and Encrypt", async () => {
    const key = await newKey();
    const entries = Array.from({ length: 20 }, (_, i) => ({ KeyId: key.KeyId, Plaintext: b64(`secret ${i}`), ...(i % 2 ? { EncryptionContext: { n: String(i) } } : {}) }));
    const enc = await batchOk("BatchEncrypt", entries);
    for (const r of enc.results) expect(r).toMatchObject({ KeyId: key.Arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT", CiphertextBlob: expect.any(String) });
    // BatchDecrypt finds the key from the ciphertext, as Decrypt does.
    const dec = await batchOk("BatchDecrypt", enc.results.map((r, i) => ({ CiphertextBlob: r.CiphertextBlob, ...(i % 2 ? { EncryptionContext: { n: String(i) } } : {}) })));
    expect(dec.results.map((r) => text(r.Plaintext!))).toEqual(entries.map((_, i) => `secret ${i}`));
    for (const r of dec.results) expect(r).toMatchObject({ KeyId: key.Arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT", KeyMaterialId: expect.any(String) });
    // A batch's ciphertext opens with the single Decrypt, and a single Encrypt's with BatchDecrypt.
    expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: enc.results[1].CiphertextBlob, EncryptionContext: { n: "1" } })).Plaintext)).toBe("secret 1");
    const one = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("single"), EncryptionContext: { a: "b" } });
    const back = await batchOk("BatchDecrypt", [{ CiphertextBlob: one.CiphertextBlob, EncryptionContext: { a: "b" }, KeyId: key.Arn }]);
    expect(text(back.results[0].Plaintext!)).toBe("single");
  });

  it("BatchGenerateDataKey: each data key's blob decrypts to its plaintext; BatchReEncrypt moves ciphertexts to another key", async () => {
    const [a, b] = [await newKey(), await newKey()];
    const gen = await batchOk("BatchGenerateDataKey", [
      { KeyId: a.KeyId, KeySpec: "AES_256", EncryptionContext: { t: "1" } },
      { KeyId: a.Arn, NumberOfBytes: 16 },
    ]);
    expect(unb64(gen.results[0].Plaintext!)).toHaveLength(32);
    expect(unb64(gen.results[1].Plaintext!)).toHaveLength(16);
    const dec = await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: gen.results[0].CiphertextBlob, EncryptionContext: { t: "1" } });
    expect(dec.Plaintext).toBe(gen.results[0].Plaintext);
    const re = await batchOk("BatchReEncrypt", gen.results.map((r, i) => ({ CiphertextBlob: r.CiphertextBlob, ...(i === 0 ? { SourceEncryptionContext: { t: "1" } } : {}), DestinationKeyId: b.KeyId })));
    for (const [i, r] of re.results.entries()) {
      expect(r).toMatchObject({ SourceKeyId: a.Arn, KeyId: b.Arn });
      expect((await ok<{ Plaintext: string; KeyId: string }>("Decrypt", { CiphertextBlob: r.CiphertextBlob })).Plaintext).toBe(gen.results[i].Plaintext);
    }
  });
});

describe("grouping by key", () => {
  for (const nKeys of [1, 16]) {
    it(`100 entries over ${nKeys} key(s): one vault call per key, each holding that key's entries`, async () => {
      const keys = await Promise.all(Array.from({ length: nKeys }, () => newKey()));
      const before = await Promise.all(keys.map((k) => batchStats(k.KeyId)));
      const entries = Array.from({ length: 100 }, (_, i) => ({ KeyId: keys[i % nKeys].KeyId, Plaintext: b64(`p${i}`) }));
      const enc = await batchOk("BatchEncrypt", entries);
      expect(enc.results.every((r) => r.CiphertextBlob)).toBe(true);
      for (const [i, k] of keys.entries()) {
        const after = await batchStats(k.KeyId);
        expect(after.calls - before[i].calls, k.KeyId).toBe(1);
        expect(after.entries - before[i].entries).toBe(entries.filter((e) => e.KeyId === k.KeyId).length);
      }
      // Decrypt entries name no key: they are grouped by the key their ciphertext names.
      const mid = await Promise.all(keys.map((k) => batchStats(k.KeyId)));
      const dec = await batchOk("BatchDecrypt", enc.results.map((r) => ({ CiphertextBlob: r.CiphertextBlob })));
      expect(dec.results.map((r) => text(r.Plaintext!))).toEqual(entries.map((_, i) => `p${i}`));
      for (const [i, k] of keys.entries()) expect((await batchStats(k.KeyId)).calls - mid[i].calls).toBe(1);
    });
  }

  it("entries naming a key by id, ARN or alias share its vault call; each alias resolves to its own key", async () => {
    const [k1, k2] = [await newKey(), await newKey()];
    const [a1, a2] = [`alias/batch-${crypto.randomUUID()}`, `alias/batch-${crypto.randomUUID()}`];
    await ok("CreateAlias", { AliasName: a1, TargetKeyId: k1.KeyId });
    await ok("CreateAlias", { AliasName: a2, TargetKeyId: k2.KeyId });
    const before = await Promise.all([k1, k2].map((k) => batchStats(k.KeyId)));
    const names = [k1.KeyId, a2, k1.Arn, a1, a2, a1, k2.Arn];
    const r = await batchOk("BatchEncrypt", names.map((KeyId) => ({ KeyId, Plaintext: b64("x") })));
    expect(r.results.map((x) => x.KeyId)).toEqual([k1.Arn, k2.Arn, k1.Arn, k1.Arn, k2.Arn, k1.Arn, k2.Arn]);
    const after = await Promise.all([k1, k2].map((k) => batchStats(k.KeyId)));
    expect(after.map((a, i) => [a.calls - before[i].calls, a.entries - before[i].entries])).toEqual([[1, 4], [1, 3]]);
  });

  it("concurrent batches over the same keys share vault calls; each gets its own results and records, in both accounts", async () => {
    const owner = await newAccount();
    const theirs = await keySharedWithUs(owner);
    const keys = [await newKey(), await newKey(), theirs];
    const before = await Promise.all(keys.map((k) => batchStats(k.KeyId)));
    const requests = 8;
    // Request r's entry j names key (r + j) mod 3, with a plaintext and a context of its own.
    const entriesOf = (r: number) => Array.from({ length: 6 }, (_, j) => ({ KeyId: keys[(r + j) % 3].Arn, Plaintext: b64(`r${r}e${j}`), EncryptionContext: { r: String(r), j: String(j) } }));
    const sent = await Promise.all(Array.from({ length: requests }, (_, r) => batchOk("BatchEncrypt", entriesOf(r))));
    const after = await Promise.all(keys.map((k) => batchStats(k.KeyId)));
    const calls = after.map((a, i) => a.calls - before[i].calls);
    // Every entry reached its vault once; no request made more than one call per key, and some shared one.
    expect(after.map((a, i) => a.entries - before[i].entries)).toEqual([16, 16, 16]);
    for (const c of calls) expect(c).toBeLessThanOrEqual(requests);
    expect(calls.reduce((x, y) => x + y), JSON.stringify(calls)).toBeLessThan(3 * requests);
    for (const [r, s] of sent.entries()) {
      const entries = entriesOf(r);
      expect(s.results.map((x) => x.KeyId)).toEqual(entries.map((e) => e.KeyId));
      const dec = await batchOk("BatchDecrypt", s.results.map((x, j) => ({ CiphertextBlob: x.CiphertextBlob, EncryptionContext: entries[j].EncryptionContext })));
      expect(dec.results.map((x) => text(x.Plaintext!))).toEqual(entries.map((_, j) => `r${r}e${j}`));
      // The request's own records, one per entry (and the owner's copy of each entry on its key), none of another request's.
      const mine = await recordsOf(s.requestId);
      expect(mine.map((x) => x.additionalEventData?.batchIndex).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      for (const x of mine) expect(x.requestParameters?.encryptionContext).toEqual(entries[x.additionalEventData!.batchIndex as number].EncryptionContext);
      const owners = await recordsOf(s.requestId, owner.account);
      expect(owners.map((x) => x.additionalEventData?.batchIndex).sort()).toEqual(entries.flatMap((e, j) => (e.KeyId === theirs.Arn ? [j] : [])));
    }
  });
});

describe("a vault aborted in the middle of shared calls", () => {
  // Where the abort lands is timing: on a call (its groups fail as internal errors, as the runs so
  // far showed) or between calls (all succeed). Either way each group is all or nothing.
  it("each group all or nothing (internal errors where the abort hit its call), each entry recorded once by its own request with its own error; later calls work", async () => {
    const k = await newKey();
    const entriesOf = (r: number) => Array.from({ length: 200 }, (_, j) => ({ KeyId: k.KeyId, Plaintext: b64(`a${r}-${j}`), EncryptionContext: { r: String(r) } }));
    const pending = Array.from({ length: 8 }, (_, r) => batch("BatchEncrypt", entriesOf(r)));
    await new Promise((resolve) => setTimeout(resolve, 15));
    await runInDurableObject(vaultOf(k.KeyId), (_v: unknown, state: DurableObjectState) => state.abort("test abort")).catch(() => undefined);
    const sent = await Promise.all(pending);
    for (const [r, s] of sent.entries()) {
      expect(s.status).toBe(200);
      // A group is in one call: all its entries succeeded, or all failed with that call.
      const codes = new Set(s.results.map((x) => x.ErrorCode ?? "ok"));
      expect([...codes].length, `request ${r}: ${[...codes]}`).toBe(1);
      expect(["ok", "KMSInternalException"]).toContain([...codes][0]);
      const mine = await recordsOf(s.requestId);
      expect(mine.map((m) => m.additionalEventData?.batchIndex).sort((a, b) => Number(a) - Number(b))).toEqual(entriesOf(r).map((_, i) => i));
      for (const m of mine) expect(m.errorCode).toBe(s.results[m.additionalEventData!.batchIndex as number].ErrorCode);
      if (!s.results[0].ErrorCode) {
        const dec = await batchOk("BatchDecrypt", s.results.slice(0, 3).map((x) => ({ CiphertextBlob: x.CiphertextBlob, EncryptionContext: { r: String(r) } })));
        expect(dec.results.map((x) => text(x.Plaintext!))).toEqual([0, 1, 2].map((j) => `a${r}-${j}`));
      }
    }
    const after = await batchOk("BatchEncrypt", entriesOf(99).slice(0, 3));
    expect(after.results.map((x) => x.ErrorCode)).toEqual([undefined, undefined, undefined]);
  });
});

describe("per-entry errors: each as its single operation's, the other entries succeed", () => {
  it("unknown key, disabled key, a key policy Deny, an encryption-context condition, wrong context and bad ciphertext", async () => {
    const good = await newKey();
    const disabled = await newKey();
    await ok("DisableKey", { KeyId: disabled.KeyId });
    const denied = await newKey({ Policy: doc(ADMIN, { Effect: "Deny", Principal: "*", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*" }) });
    const tenantA = await newKey({ Policy: doc(ADMIN, { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringNotEquals: { "kms:EncryptionContext:tenant": "a" } } }) });
    const encEntries: Entry[] = [
      { KeyId: good.KeyId, Plaintext: b64("ok 0") },
      { KeyId: "11111111-2222-3333-4444-555555555555", Plaintext: b64("x") },
      { KeyId: disabled.KeyId, Plaintext: b64("x") },
      { KeyId: denied.KeyId, Plaintext: b64("x") },
      { KeyId: tenantA.KeyId, Plaintext: b64("ok 4"), EncryptionContext: { tenant: "a" } },
      { KeyId: tenantA.KeyId, Plaintext: b64("x"), EncryptionContext: { tenant: "b" } },
      { KeyId: "alias/no-such-alias", Plaintext: b64("x") },
      { KeyId: good.Arn, Plaintext: b64("ok 7"), EncryptionContext: { k: "v" } },
    ];
    const enc = await batchOk("BatchEncrypt", encEntries);
    const expected = ["ok", "NotFoundException", "DisabledException", "AccessDeniedException", "ok", "AccessDeniedException", "NotFoundException", "ok"];
    expect(enc.results.map((r) => r.ErrorCode ?? "ok")).toEqual(expected);
    for (const [i, r] of enc.results.entries()) {
      if (r.ErrorCode) expect(errorOf(r), `entry ${i}`).toEqual(await single("Encrypt", encEntries[i]));
    }
    expect(enc.results[3].ErrorMessage).toContain("explicit deny");

    const blob = enc.results[7].CiphertextBlob!;
    const foreignBlob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: good.KeyId, Plaintext: b64("x") })).CiphertextBlob;
    await ok("ScheduleKeyDeletion", { KeyId: (await newKey()).KeyId, PendingWindowInDays: 7 });
    const decEntries: Entry[] = [
      { CiphertextBlob: blob, EncryptionContext: { k: "v" } },
      { CiphertextBlob: blob, EncryptionContext: { k: "w" } },
      { CiphertextBlob: blob },
      { CiphertextBlob: b64(new Uint8Array(80).fill(3)) },
      { CiphertextBlob: blob.slice(0, -8) + (blob.endsWith("AAAAAAA=") ? "BBBBBBB=" : "AAAAAAA=") },
      { CiphertextBlob: foreignBlob, KeyId: tenantA.KeyId },
      { CiphertextBlob: enc.results[4].CiphertextBlob, EncryptionContext: { tenant: "a" } },
    ];
    const dec = await batchOk("BatchDecrypt", decEntries);
    expect(dec.results.map((r) => r.ErrorCode ?? "ok")).toEqual(["ok", "InvalidCiphertextException", "InvalidCiphertextException", "InvalidCiphertextException", "InvalidCiphertextException", "IncorrectKeyException", "ok"]);
    for (const [i, r] of dec.results.entries()) {
      if (r.ErrorCode) expect(errorOf(r), `entry ${i}`).toEqual(await single("Decrypt", decEntries[i]));
    }
    // As generic as the single Decrypt's: nothing says why.
    for (const r of dec.results.slice(1, 5)) expect(r.ErrorMessage).toBe("");
    expect(text(dec.results[0].Plaintext!)).toBe("ok 7");
    expect(text(dec.results[6].Plaintext!)).toBe("ok 4");
  });

  it("one key's entries whose contexts share their keys (sent by column), __proto__ among them: each decided, sealed and recorded on its own pairs", async () => {
    const key = await newKey({ Policy: doc(ADMIN, { Effect: "Deny", Principal: "*", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:__proto__": "deny" } } }) });
    const contexts = [`{"__proto__":"a","constructor":"c0"}`, `{"__proto__":"deny","constructor":"c1"}`, `{"__proto__":"b","constructor":"c2"}`, `{"__proto__":"a","constructor":"c0"}`];
    const raw = (entries: string[]) => `{"Entries":[${entries.join(",")}]}`;
    const enc = await batch("BatchEncrypt", undefined, undefined, raw(contexts.map((ec, i) => `{"KeyId":"${key.KeyId}","Plaintext":"${b64(`p${i}`)}","EncryptionContext":${ec}}`)));
    expect(enc.status).toBe(200);
    expect(enc.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "AccessDeniedException", "ok", "ok"]);
    // Each blob opens with its own pairs only: another entry's __proto__ value is another context.
    const blobs = [0, 2, 3].map((i) => enc.results[i].CiphertextBlob!);
    const dec = await batch("BatchDecrypt", undefined, undefined, raw([
      `{"CiphertextBlob":"${blobs[0]}","EncryptionContext":${contexts[0]}}`,
      `{"CiphertextBlob":"${blobs[1]}","EncryptionContext":${contexts[2]}}`,
      `{"CiphertextBlob":"${blobs[2]}","EncryptionContext":${contexts[3]}}`,
      `{"CiphertextBlob":"${blobs[1]}","EncryptionContext":${contexts[0]}}`,
      `{"CiphertextBlob":"${blobs[0]}","EncryptionContext":{"constructor":"c0"}}`,
    ]));
    expect(dec.results.map((x) => x.ErrorCode ?? text(x.Plaintext!))).toEqual(["p0", "p2", "p3", "InvalidCiphertextException", "InvalidCiphertextException"]);
    // Each record holds its entry's own context, __proto__ as an ordinary member.
    const records = await recordsOf(enc.requestId);
    for (const [i, ec] of contexts.entries()) {
      const r = records.find((x) => x.additionalEventData?.batchIndex === i)!;
      expect(JSON.stringify(r.requestParameters?.encryptionContext), `entry ${i}`).toBe(ec);
    }
  });

  it("a grantee's entries: authorized by its grant (with its grant token), a forged token refused, a key without a grant denied", async () => {
    const granted = await newKey();
    const other = await newKey();
    const grantee = await newUser();
    const grant = await ok<{ GrantToken: string }>("CreateGrant", { KeyId: granted.KeyId, GranteePrincipal: grantee.arn, Operations: ["Encrypt", "Decrypt"], Constraints: { EncryptionContextSubset: { app: "batch" } } });
    const entries: Entry[] = [
      { KeyId: granted.KeyId, Plaintext: b64("g"), EncryptionContext: { app: "batch" }, GrantTokens: [grant.GrantToken] },
      { KeyId: granted.KeyId, Plaintext: b64("g"), EncryptionContext: { app: "batch" }, GrantTokens: [grant.GrantToken.slice(0, -4) + "AAA="] },
      { KeyId: granted.KeyId, Plaintext: b64("g"), EncryptionContext: { app: "other" }, GrantTokens: [grant.GrantToken] },
      { KeyId: other.KeyId, Plaintext: b64("g") },
      { KeyId: granted.KeyId, Plaintext: b64("g2"), EncryptionContext: { app: "batch", more: "x" } },
    ];
    const r = await batchOk("BatchEncrypt", entries, grantee);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "InvalidGrantTokenException", "AccessDeniedException", "AccessDeniedException", "ok"]);
    for (const [i, x] of r.results.entries()) if (x.ErrorCode) expect(errorOf(x), `entry ${i}`).toEqual(await single("Encrypt", entries[i], grantee));
    const dec = await batchOk("BatchDecrypt", [{ CiphertextBlob: r.results[0].CiphertextBlob, EncryptionContext: { app: "batch" } }], grantee);
    expect(text(dec.results[0].Plaintext!)).toBe("g");
    // The grant is the basis of the grantee's records.
    const records = await recordsOf(r.requestId);
    expect(records.find((x) => x.additionalEventData?.batchIndex === 0)?.additionalEventData?.authorization).toMatch(/^grant /);
  });

  it("an IAM user's entries are decided by its identity policy, with its conditions, per entry", async () => {
    const [k1, k2] = [await newKey(), await newKey()];
    const user = await newUser([{ Effect: "Allow", Action: ["kms:Encrypt"], Resource: k1.Arn, Condition: { StringEquals: { "kms:EncryptionContext:purpose": "batch" } } }]);
    const entries: Entry[] = [
      { KeyId: k1.KeyId, Plaintext: b64("1"), EncryptionContext: { purpose: "batch" } },
      { KeyId: k1.KeyId, Plaintext: b64("1"), EncryptionContext: { purpose: "other" } },
      { KeyId: k2.KeyId, Plaintext: b64("1"), EncryptionContext: { purpose: "batch" } },
    ];
    const r = await batchOk("BatchEncrypt", entries, user);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "AccessDeniedException", "AccessDeniedException"]);
    for (const [i, x] of r.results.entries()) if (x.ErrorCode) expect(errorOf(x)).toEqual(await single("Encrypt", entries[i], user));
  });
});

describe("principals whose entries share a vault call", () => {
  // Concurrent batches of several principals go in one call per key (batch-queue.ts); the vault
  // reuses the last caller it made for the authorizer while the principal stays the same
  // (key-vault.ts authzCaller). Each principal's entries must be decided as its own.
  it("the root, an allowed user and a user without a policy, interleaved over one key: each entry decided as its own principal's single call", async () => {
    const k = await newKey();
    const allowed = await newUser([{ Effect: "Allow", Action: ["kms:Encrypt"], Resource: k.Arn }]);
    const none = await newUser();
    const principals: (Creds | undefined)[] = [undefined, allowed, none];
    const entries = (r: number) => Array.from({ length: 5 }, (_, j) => ({ KeyId: k.KeyId, Plaintext: b64(`${r}.${j}`) }));
    const before = await batchStats(k.KeyId);
    const sent = await Promise.all(Array.from({ length: 9 }, (_, r) => batchOk("BatchEncrypt", entries(r), principals[r % 3])));
    const after = await batchStats(k.KeyId);
    for (const [r, s] of sent.entries()) {
      expect(s.results.map((x) => x.ErrorCode ?? "ok"), `request ${r}`).toEqual(Array(5).fill(r % 3 === 2 ? "AccessDeniedException" : "ok"));
    }
    expect(errorOf(sent[2].results[0])).toEqual(await single("Encrypt", entries(2)[0], none));
    // They shared calls: fewer calls than requests.
    expect(after.entries - before.entries).toBe(45);
    expect(after.calls - before.calls).toBeLessThan(9);
  });
});

describe("cross-account entries", () => {
  it("behave as the single operations: by key ARN (a bare key id is the caller's), recorded in both accounts", async () => {
    const owner = await newAccount();
    const shared = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${owner.account}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], Resource: "*" },
    ) }, owner);
    const own = await newKey();
    const entries: Entry[] = [
      { KeyId: shared.Arn, Plaintext: b64("cross") },
      { KeyId: shared.KeyId, Plaintext: b64("x") }, // a bare key id names a key of the caller's account
      { KeyId: own.KeyId, Plaintext: b64("mine") },
    ];
    const enc = await batchOk("BatchEncrypt", entries);
    expect(enc.results.map((x) => x.ErrorCode ?? "ok")).toEqual(["ok", "NotFoundException", "ok"]);
    expect(errorOf(enc.results[1])).toEqual(await single("Encrypt", entries[1]));
    const dec = await batchOk("BatchDecrypt", [{ CiphertextBlob: enc.results[0].CiphertextBlob }, { CiphertextBlob: enc.results[2].CiphertextBlob }]);
    expect(dec.results.map((x) => text(x.Plaintext!))).toEqual(["cross", "mine"]);

    const mine = await recordsOf(enc.requestId);
    const theirs = await recordsOf(enc.requestId, owner.account);
    expect(mine.map((x) => x.additionalEventData?.batchIndex).sort()).toEqual([0, 1, 2]);
    // Only the allowed cross-account entry reaches the owner's trail, sharing its event id.
    expect(theirs).toHaveLength(1);
    const ownerCopy = theirs[0];
    const callerCopy = mine.find((x) => x.additionalEventData?.batchIndex === 0)!;
    expect(ownerCopy).toMatchObject({ eventName: "Encrypt", recipientAccountId: owner.account, sharedEventID: callerCopy.sharedEventID, additionalEventData: { batchIndex: 0, batchOperation: "BatchEncrypt" } });
    expect(callerCopy.recipientAccountId).toBe(ACCOUNT);
    expect((await recordsOf(dec.requestId, owner.account)).map((x) => x.eventName)).toEqual(["Decrypt"]);
  });

  it("another account's alias ARN resolves through that account's aliases, as the single operations resolve it; an alias name is the caller's own", async () => {
    const owner = await newAccount();
    const shared = await keySharedWithUs(owner);
    const closed = await newKey({}, owner);
    const alias = `alias/batch-across-${Date.now()}`;
    expect((await call("CreateAlias", { AliasName: alias, TargetKeyId: shared.KeyId }, owner)).status).toBe(200);
    expect((await call("CreateAlias", { AliasName: `${alias}-closed`, TargetKeyId: closed.KeyId }, owner)).status).toBe(200);
    const arnOf = (name: string) => `arn:aws:kms:us-east-1:${owner.account}:${name}`;
    const entries: Entry[] = [
      { KeyId: arnOf(alias), Plaintext: b64("cross") },
      { KeyId: arnOf(`${alias}-closed`), Plaintext: b64("x") },
      { KeyId: arnOf(`${alias}-missing`), Plaintext: b64("x") },
      { KeyId: alias, Plaintext: b64("x") }, // the caller's own alias of that name: there is none
      { KeyId: arnOf(alias), Plaintext: b64("again") },
    ];
    const enc = await batchOk("BatchEncrypt", entries);
    expect(enc.results.map((x) => x.ErrorCode ?? x.KeyId)).toEqual([shared.Arn, "AccessDeniedException", "NotFoundException", "NotFoundException", shared.Arn]);
    for (const i of [1, 2, 3]) expect(errorOf(enc.results[i]), String(i)).toEqual(await single("Encrypt", entries[i]));
    const dec = await batchOk("BatchDecrypt", [{ CiphertextBlob: enc.results[0].CiphertextBlob, KeyId: arnOf(alias) }]);
    expect(text(dec.results[0].Plaintext!)).toBe("cross");
    // Only the two allowed entries reach the owner's trail.
    expect((await recordsOf(enc.requestId, owner.account)).map((x) => x.additionalEventData?.batchIndex).sort()).toEqual([0, 4]);
  });
});

describe("limits", () => {
  it(`${MAX_BATCH_ENTRIES} entries are taken, ${MAX_BATCH_ENTRIES + 1} refused as a whole`, async () => {
    const key = await newKey();
    const entry = { KeyId: key.KeyId, Plaintext: b64("0123456789abcdef0123456789abcdef") };
    const full = await batchOk("BatchEncrypt", Array.from({ length: MAX_BATCH_ENTRIES }, () => entry));
    expect(full.results.filter((r) => r.CiphertextBlob)).toHaveLength(MAX_BATCH_ENTRIES);
    const over = await batch("BatchEncrypt", Array.from({ length: MAX_BATCH_ENTRIES + 1 }, () => entry));
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ __type: "ValidationException" });
    expect(over.body.message).toContain(`between 1 and ${MAX_BATCH_ENTRIES}`);
    const none = await batch("BatchEncrypt", []);
    expect(none.body.__type).toBe("ValidationException");
  });

  it(`the body limit of batches is ${MAX_BATCH_BODY_BYTES} bytes; single requests keep theirs; each entry keeps Plaintext ≤ ${MAX_PLAINTEXT}`, async () => {
    const key = await newKey();
    const big = (n: number) => ({ KeyId: key.KeyId, Plaintext: b64(new Uint8Array(n).fill(65)) });
    // 200 entries of 4 KiB: about 1.1 MB of JSON, over the batch limit.
    const tooLarge = await batch("BatchEncrypt", Array.from({ length: 200 }, () => big(MAX_PLAINTEXT)));
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body).toMatchObject({ __type: "ValidationException", message: `Request body must be at most ${MAX_BATCH_BODY_BYTES} bytes.` });
    // 150 such entries (about 0.8 MB) are well within it, though a single request's body is 64 KiB at most.
    const large = await batchOk("BatchEncrypt", Array.from({ length: 150 }, () => big(MAX_PLAINTEXT)));
    expect(large.results.every((r) => r.CiphertextBlob)).toBe(true);
    expect((await call("Encrypt", { ...big(MAX_PLAINTEXT), Padding: "x".repeat(70_000) })).body.__type).toBe("ValidationException");
    const mixed = await batchOk("BatchEncrypt", [big(MAX_PLAINTEXT), big(MAX_PLAINTEXT + 1), big(1)]);
    expect(mixed.results.map((r) => r.ErrorCode ?? "ok")).toEqual(["ok", "ValidationException", "ok"]);
    expect(errorOf(mixed.results[1])).toEqual(await single("Encrypt", big(MAX_PLAINTEXT + 1)));
  });

  it(`a value an entry's error repeats (an enum, a pattern, a map key) is cut at ${MAX_ECHOED_CHARS} characters, in its result and its record`, async () => {
    const key = await newKey();
    const huge = "N".repeat(300_000);
    const r = await batchOk("BatchEncrypt", [
      { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionAlgorithm: huge },
      { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: { [huge]: 1 } },
      { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionAlgorithm: `${"N".repeat(MAX_ECHOED_CHARS - 1)}😀` },
    ]);
    expect(r.results.map((x) => x.ErrorCode)).toEqual(["ValidationException", "SerializationException", "ValidationException"]);
    const [enumError, keyError, pairError] = r.results.map((x) => x.ErrorMessage!);
    expect(enumError).toContain(`Value '${"N".repeat(MAX_ECHOED_CHARS)}…' at 'encryptionAlgorithm'`);
    expect(keyError).toBe(`Value at 'encryptionContext.${"N".repeat(MAX_ECHOED_CHARS)}…' must be a string`);
    // A surrogate pair is not cut in two.
    expect(pairError).toContain(`Value '${"N".repeat(MAX_ECHOED_CHARS - 1)}…' at`);
    const records = await recordsOf(r.requestId);
    expect(records).toHaveLength(3);
    for (const rec of records) expect(JSON.stringify(rec).length).toBeLessThan(4096);
  });

  it("one key's entries share a budget of policy matching: each within its own, past the group's they are refused (AccessDenied), and single requests are not", async () => {
    // A pattern that backtracks over a long context value: about 2.4 million steps per request,
    // within one authorization's 4 million (conditions.ts), so a single Encrypt is allowed.
    const slow = { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringLike: { "kms:EncryptionContext:path": `*${"0".repeat(40)}1` } } };
    const key = await newKey({ Policy: doc(ADMIN, slow) });
    const entry = { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: { path: "0".repeat(60_000) } };
    expect((await unthrottled("Encrypt", entry)).status).toBe(200);
    const r = await batchOk("BatchEncrypt", Array.from({ length: 10 }, () => entry));
    // The group's 16 million steps: six entries, then the seventh runs out.
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual([...Array(6).fill("ok"), ...Array(4).fill("AccessDeniedException")]);
    expect(r.results[6].ErrorMessage).toMatch(/the batch's entries for this key together took too long to match policy patterns/);
    // Another key's entries in the same batch have a budget of their own.
    const other = await newKey({ Policy: doc(ADMIN, slow) });
    const mixed = await batchOk("BatchEncrypt", [...Array.from({ length: 7 }, () => entry), { ...entry, KeyId: other.KeyId }]);
    expect(mixed.results.map((x) => x.ErrorCode ?? "ok")).toEqual([...Array(6).fill("ok"), "AccessDeniedException", "ok"]);
    const records = await recordsOf(r.requestId);
    expect(records.filter((x) => x.errorCode === "AccessDeniedException")).toHaveLength(4);
  });

  it("a BatchReEncrypt entry's destination half is charged to its group, whether the destination is another key's vault or the same key", async () => {
    const slow = (action: string) => ({ Effect: "Deny", Principal: "*", Action: action, Resource: "*", Condition: { StringLike: { "kms:EncryptionContext:path": `*${"0".repeat(40)}1` } } });
    const dest = await newKey({ Policy: doc(ADMIN, slow("kms:Encrypt"), slow("kms:ReEncrypt*")) });
    const source = await newKey();
    const ctx = { path: "0".repeat(60_000) };
    const blob = (await unthrottled<{ CiphertextBlob: string }>("Encrypt", { KeyId: source.KeyId, Plaintext: b64("x") })).body.CiphertextBlob;
    // Another key's vault: ~2.4 million steps per entry there, charged to the source vault's group.
    const cross = await batchOk("BatchReEncrypt", Array.from({ length: 10 }, () => ({ CiphertextBlob: blob, DestinationKeyId: dest.KeyId, DestinationEncryptionContext: ctx })));
    expect(cross.results.map((x) => x.ErrorCode ?? "ok")).toEqual([...Array(6).fill("ok"), ...Array(4).fill("AccessDeniedException")]);
    expect(cross.results[6].ErrorMessage).toMatch(/the batch's entries for this key together took too long to match policy patterns/);
    // The same key: both halves of an entry (~2.4 million steps each) from one group.
    const destBlob = cross.results[0].CiphertextBlob!;
    const same = await batchOk("BatchReEncrypt", Array.from({ length: 5 }, () => ({ CiphertextBlob: destBlob, SourceEncryptionContext: ctx, DestinationKeyId: dest.KeyId, DestinationEncryptionContext: ctx })));
    expect(same.results.map((x) => x.ErrorCode ?? "ok")).toEqual([...Array(3).fill("ok"), ...Array(2).fill("AccessDeniedException")]);
    // A single ReEncrypt of the same is allowed: its authorizations have budgets of their own.
    expect((await unthrottled("ReEncrypt", { CiphertextBlob: blob, DestinationKeyId: dest.KeyId, DestinationEncryptionContext: ctx })).status).toBe(200);
  });

  it("one request's ReEncrypt destination halves share a budget in the destination vault, whatever source keys' groups they come from", async () => {
    // 100 short patterns against an 800-character value: ~3.1 million steps per authorization, ~1 KB per entry.
    const patterns = Array.from({ length: 100 }, (_, i) => `*${"0".repeat(40)}${String.fromCharCode(0x41 + (i % 26))}${i}`);
    const dest = await newKey({ Policy: doc(ADMIN, { Effect: "Deny", Principal: "*", Action: "kms:ReEncrypt*", Resource: "*", Condition: { StringLike: { "kms:EncryptionContext:path": patterns } } }) });
    const ctx = { path: "0".repeat(800) };
    const blobs: string[] = [];
    for (let i = 0; i < 25; i++) {
      const k = await newKey();
      blobs.push((await unthrottled<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") })).body.CiphertextBlob);
    }
    // 25 source keys, 3 entries each: each group (~9 million steps) is within its own 16 million, so
    // only the destination's per-request budget (batchGroupSteps(1,000), 131 million) can hold them: ~42 of the 75.
    const r = await batchOk("BatchReEncrypt", blobs.flatMap((b) => Array.from({ length: 3 }, () => ({ CiphertextBlob: b, DestinationKeyId: dest.KeyId, DestinationEncryptionContext: ctx }))));
    const allowed = r.results.filter((x) => !x.ErrorCode).length;
    expect(allowed).toBeGreaterThanOrEqual(35);
    expect(allowed).toBeLessThanOrEqual(43);
    for (const x of r.results.filter((y) => y.ErrorCode)) expect(x).toMatchObject({ ErrorCode: "AccessDeniedException", ErrorMessage: expect.stringMatching(/the batch's entries for this key together took too long/) });
    // Another request has a budget of its own there.
    const again = await batchOk("BatchReEncrypt", [{ CiphertextBlob: blobs[0], DestinationKeyId: dest.KeyId, DestinationEncryptionContext: ctx }]);
    expect(again.results[0].ErrorCode).toBeUndefined();
  });
});

describe("malformed input: a clear 4xx for the entry or the batch, never a 500", () => {
  it("batch-level: not JSON, no Entries, Entries not a list, an unknown batch operation", async () => {
    const cases: [string, string, string][] = [
      ["BatchEncrypt", "{not json", "SerializationException"],
      ["BatchEncrypt", "[]", "SerializationException"],
      ["BatchEncrypt", "{}", "ValidationException"],
      ["BatchEncrypt", `{"Entries":null}`, "ValidationException"],
      ["BatchEncrypt", `{"Entries":{"0":{}}}`, "SerializationException"],
      ["BatchEncrypt", `{"Entries":"x"}`, "SerializationException"],
      ["BatchSign", `{"Entries":[{}]}`, "UnknownOperationException"],
      ["", `{"Entries":[{}]}`, "UnknownOperationException"],
    ];
    for (const [op, body, type] of cases) {
      const r = await batch(op, undefined, undefined, body);
      expect(r.status, `${op} ${body}`).toBe(400);
      expect(r.body.__type, `${op} ${body}`).toBe(type);
    }
  });

  it("entry-level: wrong shapes and types, missing members, unpaired surrogates; __proto__ is an ordinary context key", async () => {
    const key = await newKey();
    const ok1 = { KeyId: key.KeyId, Plaintext: b64("fine") };
    const raw = `{"Entries":[${[
      JSON.stringify(ok1),
      "42", "null", "[]", `"text"`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":42}`,
      `{"KeyId":${JSON.stringify(key.KeyId)}}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"not base64!"}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","EncryptionContext":{"\\ud800":"x"}}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","EncryptionContext":{"a":"\\udfff"}}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","EncryptionContext":{"a":1}}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","EncryptionContext":[]}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","EncryptionAlgorithm":"NOPE"}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"eA==","GrantTokens":"x"}`,
      `{"KeyId":"","Plaintext":"eA=="}`,
      `{"KeyId":${JSON.stringify(key.KeyId)},"Plaintext":"cHJvdG8=","EncryptionContext":{"__proto__":"p","constructor":"c"}}`,
    ].join(",")}]}`;
    const r = await batch("BatchEncrypt", undefined, undefined, raw);
    expect(r.status).toBe(200);
    expect(r.results.map((x) => x.ErrorCode ?? "ok")).toEqual([
      "ok", "SerializationException", "SerializationException", "SerializationException", "SerializationException",
      "SerializationException", "ValidationException", "SerializationException", "ValidationException", "ValidationException",
      "SerializationException", "SerializationException", "ValidationException", "SerializationException", "ValidationException", "ok",
    ]);
    // Each entry's error is the single Encrypt's for the same member values.
    const parsed = JSON.parse(raw).Entries as unknown[];
    for (const i of [5, 6, 7, 8, 9, 12, 14]) expect(errorOf(r.results[i]), `entry ${i}`).toEqual(await single("Encrypt", parsed[i] as Entry));
    // "__proto__" and "constructor" were kept as context pairs: only the same pairs decrypt.
    const blob = r.results[15].CiphertextBlob!;
    const withPairs = `{"Entries":[{"CiphertextBlob":"${blob}","EncryptionContext":{"__proto__":"p","constructor":"c"}},{"CiphertextBlob":"${blob}","EncryptionContext":{"constructor":"c"}},{"CiphertextBlob":"${blob}"}]}`;
    const dec = await batch("BatchDecrypt", undefined, undefined, withPairs);
    expect(dec.results.map((x) => x.ErrorCode ?? text(x.Plaintext!))).toEqual(["proto", "InvalidCiphertextException", "InvalidCiphertextException"]);
  });

  it("a forged or unsigned batch leaves the record a failed single request does", async () => {
    const key = await newKey();
    const forged = await call("EdgeKMSBatch.BatchEncrypt", { Entries: [{ KeyId: key.KeyId, Plaintext: b64("x") }] }, { secretAccessKey: "wrong" });
    expect(forged.status).toBe(400);
    expect(forged.body.__type).toBe("InvalidSignatureException");
    // Signed over another body than the one sent.
    const body = JSON.stringify({ Entries: [{ KeyId: key.KeyId, Plaintext: b64("x") }] });
    const headers = await signRequest(ENDPOINT, "EdgeKMSBatch.BatchEncrypt", body, { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1" });
    const swapped = await SELF.fetch(ENDPOINT, { method: "POST", headers, body: body.replace("eA==", "eQ==") });
    expect(swapped.status).toBe(400);
    const unsigned = await SELF.fetch(ENDPOINT, { method: "POST", headers: { "X-Amz-Target": "EdgeKMSBatch.BatchEncrypt", "Content-Type": "application/x-amz-json-1.1" }, body });
    expect(unsigned.status).toBe(400);
    for (const [res, code] of [[forged.headers, "InvalidSignatureException"], [swapped.headers, "InvalidSignatureException"], [unsigned.headers, "MissingAuthenticationTokenException"]] as const) {
      const records = await recordsOf(res.get("x-amzn-RequestId")!);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ eventName: "BatchEncrypt", errorCode: code, userIdentity: { type: "Unknown" }, requestParameters: null });
      expect(records[0].userIdentity.accountId).toBeUndefined();
    }
  });
});

describe("the audit trail reads as if the entries were single requests", () => {
  it("one record per entry: the batch's request id, its index, the single operation's eventName and requestParameters; no plaintext anywhere", async () => {
    const key = await newKey();
    const plaintexts = ["batch-secret-one", "batch-secret-two", "batch-secret-three"];
    const entries: Entry[] = [
      { KeyId: key.KeyId, Plaintext: b64(plaintexts[0]), EncryptionContext: { dept: "a" } },
      { KeyId: "alias/batch-missing", Plaintext: b64(plaintexts[1]) },
      { KeyId: key.Arn, Plaintext: b64(plaintexts[2]), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
      { KeyId: key.KeyId, Plaintext: 7 },
    ];
    const enc = await batchOk("BatchEncrypt", entries);
    const records = await recordsOf(enc.requestId);
    expect(records).toHaveLength(entries.length);
    const byIndex = new Map(records.map((r) => [r.additionalEventData?.batchIndex, r]));
    expect([...byIndex.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const r of records) expect(r).toMatchObject({ eventName: "Encrypt", requestID: enc.requestId, readOnly: true, additionalEventData: { batchOperation: "BatchEncrypt" } });
    expect(new Set(records.map((r) => r.eventID)).size).toBe(entries.length);
    expect(byIndex.get(1)).toMatchObject({ errorCode: "NotFoundException" });
    expect(byIndex.get(3)).toMatchObject({ errorCode: "SerializationException", requestParameters: null });
    expect(byIndex.get(0)!.resources![0].ARN).toBe(key.Arn);

    // The same requests made one by one are recorded with the same eventName and requestParameters.
    for (const i of [0, 1, 2]) {
      const one = await unthrottled("Encrypt", entries[i]);
      const [single] = await recordsOf(one.headers.get("x-amzn-RequestId")!);
      const batched = byIndex.get(i)!;
      expect(batched.requestParameters, `entry ${i}`).toEqual(single.requestParameters);
      expect([batched.eventName, batched.errorCode, batched.errorMessage, batched.resources]).toEqual([single.eventName, single.errorCode, single.errorMessage, single.resources]);
      // The same fields; additionalEventData also holds the batch's (a single failure may have none).
      const fields = (r: CloudTrailRecord) => Object.keys(r).filter((k) => k !== "additionalEventData").sort();
      expect(fields(batched)).toEqual(fields(single));
      expect(batched.additionalEventData).toEqual({ ...single.additionalEventData, batchOperation: "BatchEncrypt", batchIndex: i });
    }

    // Decrypt and GenerateDataKey entries too; and no plaintext, data key or blob in any record.
    const dec = await batchOk("BatchDecrypt", [{ CiphertextBlob: enc.results[0].CiphertextBlob, EncryptionContext: { dept: "a" } }, { CiphertextBlob: enc.results[2].CiphertextBlob }]);
    const gen = await batchOk("BatchGenerateDataKey", [{ KeyId: key.KeyId, KeySpec: "AES_256" }]);
    const all = [...records, ...(await recordsOf(dec.requestId)), ...(await recordsOf(gen.requestId))];
    expect((await recordsOf(dec.requestId)).map((r) => r.eventName)).toEqual(["Decrypt", "Decrypt"]);
    expect((await recordsOf(gen.requestId)).map((r) => r.eventName)).toEqual(["GenerateDataKey"]);
    const trail = JSON.stringify(all);
    const secrets = [
      ...plaintexts, ...plaintexts.map(b64),
      ...dec.results.map((r) => r.Plaintext!), ...gen.results.map((r) => r.Plaintext!),
      ...enc.results.filter((r) => r.CiphertextBlob).map((r) => r.CiphertextBlob!), ...gen.results.map((r) => r.CiphertextBlob!),
    ];
    for (const s of secrets) expect(trail.includes(s), s).toBe(false);
  });

  it("large batches' records (rows of hundreds) are each delivered once", async () => {
    const key = await newKey();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await batchOk("BatchEncrypt", Array.from({ length: 600 }, () => ({ KeyId: key.KeyId, Plaintext: b64("d") })))).requestId);
    for (const id of ids) {
      const records = await recordsOf(id);
      expect(records).toHaveLength(600);
      expect(new Set(records.map((r) => r.additionalEventData?.batchIndex)).size).toBe(600);
    }
  });

  it("a batch's records are stored in one group commit: one row of one ingest shard", async () => {
    const keys = [await newKey(), await newKey(), await newKey()];
    const enc = await batchOk("BatchEncrypt", Array.from({ length: 30 }, (_, i) => ({ KeyId: keys[i % 3].KeyId, Plaintext: b64("r") })));
    const rows: string[] = [];
    for (let shard = 0; shard < Number(env.AUDIT_SHARDS ?? "1"); shard++) {
      const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, shard)));
      const stored = await runInDurableObject(log, async (_i: AuditLog, state: DurableObjectState) => [...(await state.storage.list<string>({ prefix: "r:" })).values()]);
      rows.push(...stored.filter((row) => typeof row === "string" && row.includes(enc.requestId)));
    }
    expect(rows).toHaveLength(1);
    expect(rows[0].split("\n").filter((line) => line.includes(enc.requestId))).toHaveLength(30);
  });
});
