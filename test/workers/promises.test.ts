// Promises of the service that no other test guarded: each is checked through the API and the
// stored state (read, never written by the test) or a named fault point (src/vault/faults.ts).
import { describe, expect, it } from "vitest";
import { env as testEnv, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { auditShardName, IDENTITY_STORE_NAME, vaultName } from "../../src/placement.js";
import { auditShards } from "../../src/placement.js";
import type { AuditLog } from "../../src/audit/audit-log.js";
import type { KeyRecord } from "../../src/vault/key-record.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { deriveRootKey } from "../../src/vault/root-key.js";
import { aesKeyUnwrapPad, aesKeyWrapPad, AuthenticationError } from "../../src/crypto/index.js";
import { openSymmetric, symmetricHeader } from "../../src/vault/key-types/symmetric.js";
import { MAX_ALIASES_PER_KEY, MAX_GRANTS_PER_KEY } from "../../src/kms/limits.js";
import { MAX_CONSTRAINT_PAIRS, MAX_CONSTRAINT_VALUE } from "../../src/operations/grant-shapes.js";
import { ACCOUNT, admin, b64, call, ok, unb64 } from "./kms.js";
import { containsSecret, leaves } from "./leaks.js";

const env = testEnv as unknown as Env;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const storedAnywhere = containsSecret;

const vault = (keyId: string, region = "us-east-1") => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName(region, keyId)));

describe("key material at rest", () => {
  it("is stored only AES-KWP-wrapped under the region root key: the unwrapped material opens the key's ciphertext and is nowhere in storage", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    const blob = unb64((await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("at rest"), EncryptionContext: { a: "b" } })).CiphertextBlob);
    await ok("RotateKeyOnDemand", { KeyId: key.KeyId });
    const stored = await runInDurableObject(vault(key.KeyId), async (_i, state) => [...(await state.storage.list()).values()]);
    const rec = stored.find((v) => (v as KeyRecord).keyId === key.KeyId) as KeyRecord;
    expect(rec.materials).toHaveLength(2);
    const rootKey = await deriveRootKey(env.KMS_ROOT_SECRET, "key-material", "us-east-1");
    for (const m of rec.materials) {
      const material = aesKeyUnwrapPad(rootKey, m.wrapped!);
      expect(material).toHaveLength(32);
      expect(storedAnywhere(stored, material), `material version ${m.version} is stored in the clear`).toBe(false);
      if (m.version === 1) {
        const opened = openSymmetric(material, symmetricHeader(blob)!, blob, { a: "b" });
        expect(opened.ok && new TextDecoder().decode(opened.value)).toBe("at rest");
      }
    }
  });

  it("each region's root key differs: the same material wrapped in two regions differs and does not unwrap across", async () => {
    const material = crypto.getRandomValues(new Uint8Array(32));
    const us = await deriveRootKey(env.KMS_ROOT_SECRET, "key-material", "us-east-1");
    const eu = await deriveRootKey(env.KMS_ROOT_SECRET, "key-material", "eu-west-1");
    expect(hex(us)).not.toBe(hex(eu));
    const [wrappedUs, wrappedEu] = [aesKeyWrapPad(us, material), aesKeyWrapPad(eu, material)];
    expect(hex(wrappedUs)).not.toBe(hex(wrappedEu));
    expect(() => aesKeyUnwrapPad(eu, wrappedUs)).toThrow(AuthenticationError);
    expect(() => aesKeyUnwrapPad(us, wrappedEu)).toThrow(AuthenticationError);
    // And a key made in one region, as stored, does not unwrap under another region's root key.
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {}, { region: "eu-west-1" })).KeyMetadata;
    const rec = await runInDurableObject(vault(key.KeyId, "eu-west-1"), async (_i, state) => state.storage.get<KeyRecord>("key"));
    expect(aesKeyUnwrapPad(eu, rec!.materials[0].wrapped!)).toHaveLength(32);
    expect(() => aesKeyUnwrapPad(us, rec!.materials[0].wrapped!)).toThrow(AuthenticationError);
  });
});

describe("identity secrets", () => {
  it("are sealed in storage and never listed: list-users has exactly its documented fields", async () => {
    const name = `sealed-${Date.now()}`;
    await admin("CreateUser", { UserName: name });
    const created = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: name })).body;
    const secret = new TextEncoder().encode(created.SecretAccessKey);
    const stored = await runInDurableObject(env.IDENTITY_STORE.get(env.IDENTITY_STORE.idFromName(IDENTITY_STORE_NAME)), async (_i, state) => [...(await state.storage.list()).values()]);
    expect(stored.length).toBeGreaterThan(0);
    expect(storedAnywhere(stored, secret)).toBe(false);
    expect(JSON.stringify(stored.flatMap((v) => leaves(v)).filter((l) => typeof l === "string"))).not.toContain(created.SecretAccessKey);
    const listed = await admin<{ Users: Record<string, unknown>[] }>("ListUsers");
    const mine = listed.body.Users.find((u) => u.UserName === name)!;
    expect(Object.keys(mine).sort()).toEqual(["AccessKeyIds", "Arn", "CreateDate", "PolicyNames", "UserName"]);
    expect(mine.AccessKeyIds).toEqual([created.AccessKeyId]);
    expect(JSON.stringify(listed.body)).not.toContain(created.SecretAccessKey);
  });
});

describe("the audit record comes first", () => {
  it("a request whose record cannot be stored answers DependencyTimeoutException, and no result", async () => {
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    const shards = Array.from({ length: auditShards(env) }, (_, n) => env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditShardName("us-east-1", ACCOUNT, n))));
    for (const s of shards) await runInDurableObject(s, (instance: AuditLog) => instance.faults.arm("append", 1000));
    try {
      const r = await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("unrecorded") });
      expect(r.status).toBe(503);
      expect(r.body.__type).toBe("DependencyTimeoutException");
      expect(r.body).not.toHaveProperty("CiphertextBlob");
      const g = await call("GenerateDataKey", { KeyId: key.KeyId, KeySpec: "AES_256" });
      expect(g.body.__type).toBe("DependencyTimeoutException");
      expect(g.body).not.toHaveProperty("Plaintext");
      // An admin call too: no result (no secret access key) goes out unrecorded.
      const a = await admin("CreateAccount", {});
      expect(a.status).toBe(503);
      expect(a.body.__type).toBe("DependencyTimeoutException");
      expect(a.body).not.toHaveProperty("SecretAccessKey");
    } finally {
      for (const s of shards) await runInDurableObject(s, (instance: AuditLog) => instance.faults.disarm());
    }
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("recorded") })).status).toBe(200);
  });
});

describe("attacker-chosen text", () => {
  it("an unknown X-Amz-Target is repeated in the error (and its record) at most 128 characters long", async () => {
    for (const path of ["TrentService.", "EdgeKMSAdmin."]) {
      const r = await call(`${path}${"x".repeat(5000)}`, {}, path === "EdgeKMSAdmin." ? { endpoint: "https://kms.us-east-1.amazonaws.com/admin" } : {});
      expect(r.body.__type).toBe("UnknownOperationException");
      expect(r.body.message!.length).toBeLessThan(200);
    }
  });
});

describe("credentials", () => {
  it("X-Amz-Security-Token (temporary credentials) is refused with UnrecognizedClientException", async () => {
    // Signed with it, as an SDK holding temporary credentials would.
    const r = await call("ListKeys", {}, { extraHeaders: { "x-amz-security-token": "FQoGZXIvYXdzEJr//////////wEaDOrMfakeSessionToken" } });
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("UnrecognizedClientException");
  });
});

describe("cross-account records", () => {
  it("an allowed cross-account call is in both accounts' trails with one shared event id; a refused one only in the caller's", async () => {
    const other = (await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount", {})).body;
    const as = { accessKeyId: other.AccessKeyId, secretAccessKey: other.SecretAccessKey };
    const shared = (await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", { Policy: JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other.AccountId}:root` }, Action: "kms:Encrypt", Resource: "*" },
    ] }) })).KeyMetadata;
    const allowed = await call("Encrypt", { KeyId: shared.Arn, Plaintext: b64("x") }, as);
    expect(allowed.status).toBe(200);
    const refused = await call("GenerateDataKey", { KeyId: shared.Arn, KeySpec: "AES_256" }, as);
    expect(refused.body.__type).toBe("AccessDeniedException");
    type Tail = { Entries: { Record: { requestID?: string; eventID: string; sharedEventID?: string; recipientAccountId: string } }[] };
    const tail = async (account: string) => (await admin<Tail>("AuditTail", { Limit: 10_000, Account: account })).body.Entries.map((e) => e.Record);
    const [mine, theirs] = [await tail(ACCOUNT), await tail(other.AccountId)];
    const of = (records: Awaited<ReturnType<typeof tail>>, id: string) => records.filter((r) => r.requestID === id);
    const allowedId = allowed.headers.get("x-amzn-RequestId")!;
    const [ownerCopy] = of(mine, allowedId);
    const [callerCopy] = of(theirs, allowedId);
    expect(of(mine, allowedId)).toHaveLength(1);
    expect(of(theirs, allowedId)).toHaveLength(1);
    expect(ownerCopy.sharedEventID).toBeDefined();
    expect(ownerCopy.sharedEventID).toBe(callerCopy.sharedEventID);
    expect(ownerCopy.eventID).not.toBe(callerCopy.eventID);
    const refusedId = refused.headers.get("x-amzn-RequestId")!;
    expect(of(mine, refusedId)).toHaveLength(0);
    expect(of(theirs, refusedId)).toHaveLength(1);
  });
});

describe("limits", () => {
  // AWS's quotas, written out: the tests must fail if a constant drifts from them.
  it("a key has at most 50 aliases, by CreateAlias and by UpdateAlias", async () => {
    expect(MAX_ALIASES_PER_KEY).toBe(50);
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    const base = `alias/limit-${Date.now()}`;
    for (let i = 0; i < 50; i++) await ok("CreateAlias", { AliasName: `${base}-${i}`, TargetKeyId: key.KeyId });
    const r = await call("CreateAlias", { AliasName: `${base}-one-more`, TargetKeyId: key.KeyId });
    expect(r.body.__type).toBe("LimitExceededException");
    const other = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    await ok("CreateAlias", { AliasName: `${base}-elsewhere`, TargetKeyId: other.KeyId });
    const u = await call("UpdateAlias", { AliasName: `${base}-elsewhere`, TargetKeyId: key.KeyId });
    expect(u.body.__type).toBe("LimitExceededException");
  });

  it("grant constraints hold at most 8 pairs with values of at most 384 characters", async () => {
    expect([MAX_CONSTRAINT_PAIRS, MAX_CONSTRAINT_VALUE]).toEqual([8, 384]);
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    const grantee = `arn:aws:iam::${ACCOUNT}:user/limits`;
    const pairs = (n: number, len = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v".repeat(len)]));
    for (const kind of ["EncryptionContextEquals", "EncryptionContextSubset"]) {
      expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee, Operations: ["Encrypt"], Constraints: { [kind]: pairs(8, 384) } })).status, kind).toBe(200);
      expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee, Operations: ["Encrypt"], Constraints: { [kind]: pairs(9) } })).body.__type, kind).toBe("ValidationException");
      expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee, Operations: ["Encrypt"], Constraints: { [kind]: pairs(1, 385) } })).body.__type, kind).toBe("ValidationException");
    }
  });

  it("a key has at most 50,000 grants (filled through the vault's own CreateGrant, which the authorizer decides for the account root)", async () => {
    expect(MAX_GRANTS_PER_KEY).toBe(50_000);
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    const stub = vault(key.KeyId);
    const root = `arn:aws:iam::${ACCOUNT}:root`;
    const caller = { account: ACCOUNT, principalArn: root, principalType: "Root" as const, policies: [], context: {}, authz: { check: { action: "kms:CreateGrant", iamOnly: false, crossAccount: true, usesEncryptionContext: false } } };
    // The fast path: the vault's own CreateGrant called inside the object (no RPC per grant),
    // many at a time.
    const CHUNK = 500;
    await runInDurableObject(stub, async (instance: KeyVault) => {
      for (let made = 0; made < 50_000; made += CHUNK) {
        const rs = await Promise.all(Array.from({ length: Math.min(CHUNK, 50_000 - made) }, (_, i) =>
          instance.createGrant(caller, { granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/g${made + i}`, operations: ["Encrypt"] })));
        expect(rs.every((r) => r.ok)).toBe(true);
      }
    });
    const r = await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/one-more`, Operations: ["Encrypt"] });
    expect(r.body.__type).toBe("LimitExceededException");
  }, 600_000);
});
