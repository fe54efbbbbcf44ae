// The attack review of imported key material, multi-Region keys and GetKeyLastUsage (issue 14),
// kept as regression tests.
// Each test asserts the secure / AWS-documented behaviour: a FAILING test is a finding.
import { describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { aesKeyWrapPad } from "../../src/crypto/index.js";
import { wrapMaterial } from "./wrap-material.js";
import { ACCOUNT, admin, b64, call, doc, newAccount, newUser, ok, unb64, type KmsResponse } from "./kms.js";

const env = testEnv as unknown as Env;
const A = "us-east-1";
const B = "us-west-2";
const C = "eu-west-1";
const DAY = 86_400_000;
type Md = Record<string, unknown> & { KeyId: string; Arn: string; KeyState: string };
type Params = { ImportToken: string; PublicKey: string; ParametersValidTo: number; KeyId: string };
const at = (region: string, as: object = {}) => ({ region, ...as });
const vault = (region: string, keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName(region, keyId)));
const outcome = (r: KmsResponse) => (r.status === 200 ? "ok" : `${r.status} ${String(r.body.__type)}`);
const aes256 = () => crypto.getRandomValues(new Uint8Array(32));
const external = async (input: Record<string, unknown> = {}, as: object = {}) =>
  (await ok<{ KeyMetadata: Md }>("CreateKey", { Origin: "EXTERNAL", ...input }, as)).KeyMetadata;
const describeIn = async (region: string, KeyId: string) => (await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId }, at(region))).KeyMetadata;

const wrap = wrapMaterial;
const params = (KeyId: string, as: object = {}, WrappingAlgorithm = "RSAES_OAEP_SHA_256", WrappingKeySpec = "RSA_2048") =>
  call<Params>("GetParametersForImport", { KeyId, WrappingAlgorithm, WrappingKeySpec }, as);
async function importInto(KeyId: string, material: Uint8Array, extra: Record<string, unknown> = { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, as: object = {}) {
  const p = await params(KeyId, as);
  expect(p.status, JSON.stringify(p.body)).toBe(200);
  return call<{ KeyId: string; KeyMaterialId: string }>("ImportKeyMaterial", {
    KeyId, ImportToken: p.body.ImportToken, EncryptedKeyMaterial: b64(await wrap(p.body.PublicKey, "RSAES_OAEP_SHA_256", material)), ...extra,
  }, as);
}
const tail = async (region: string, keyId: string) =>
  (await admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 10_000, KeyId: keyId }, at(region))).body.Entries.map((e) => e.Record);

// ---------------------------------------------------------------------------------------------
describe("condition keys AWS defines for the new operations", () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html:
  // kms:WrappingAlgorithm, kms:WrappingKeySpec (GetParametersForImport), kms:ExpirationModel,
  // kms:ValidTo (ImportKeyMaterial), kms:KeyOrigin and kms:MultiRegion (CreateKey, from the request).
  it("Deny GetParametersForImport on kms:WrappingAlgorithm / kms:WrappingKeySpec is honoured", async () => {
    const k = await external();
    const u = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:GetParametersForImport", Resource: "*", Condition: { StringEquals: { "kms:WrappingAlgorithm": "RSAES_OAEP_SHA_1" } } },
      { Effect: "Deny", Action: "kms:GetParametersForImport", Resource: "*", Condition: { StringEquals: { "kms:WrappingKeySpec": "RSA_2048" } } },
    ]);
    expect(outcome(await params(k.KeyId, u, "RSAES_OAEP_SHA_1", "RSA_4096"))).toBe("400 AccessDeniedException");
    expect(outcome(await params(k.KeyId, u, "RSAES_OAEP_SHA_256", "RSA_2048"))).toBe("400 AccessDeniedException");
  });

  it("Deny ImportKeyMaterial on kms:ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE is honoured", async () => {
    const k = await external();
    const u = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:ImportKeyMaterial", Resource: "*", Condition: { StringEquals: { "kms:ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE" } } },
    ]);
    const r = await importInto(k.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, u);
    expect(outcome(r)).toBe("400 AccessDeniedException");
  });

  it("Deny ImportKeyMaterial on kms:ValidTo (material valid too long) is honoured", async () => {
    const k = await external();
    const limit = Math.floor(Date.now() / 1000) + 7 * 86400;
    const u = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:ImportKeyMaterial", Resource: "*", Condition: { NumericGreaterThan: { "kms:ValidTo": String(limit) } } },
    ]);
    const r = await importInto(k.KeyId, aes256(), { ValidTo: limit + 300 * 86400 }, u);
    expect(outcome(r)).toBe("400 AccessDeniedException");
  });

  it("Deny CreateKey on kms:KeyOrigin EXTERNAL / kms:MultiRegion true is honoured", async () => {
    const u = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:CreateKey", Resource: "*", Condition: { StringEquals: { "kms:KeyOrigin": "EXTERNAL" } } },
      { Effect: "Deny", Action: "kms:CreateKey", Resource: "*", Condition: { Bool: { "kms:MultiRegion": "true" } } },
    ]);
    // https://docs.aws.amazon.com/kms/latest/developerguide/create-primary-keys.html: "You can use the
    // kms:MultiRegionKeyType condition key to allow or deny permission to create multi-Region primary keys."
    const v = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:CreateKey", Resource: "*", Condition: { StringEquals: { "kms:MultiRegionKeyType": "PRIMARY" } } },
    ]);
    expect({
      external: outcome(await call("CreateKey", { Origin: "EXTERNAL" }, u)), mrk: outcome(await call("CreateKey", { MultiRegion: true }, u)),
      mrkType: outcome(await call("CreateKey", { MultiRegion: true }, v)), plain: outcome(await call("CreateKey", {}, u)),
    }).toEqual({ external: "400 AccessDeniedException", mrk: "400 AccessDeniedException", mrkType: "400 AccessDeniedException", plain: "ok" });
  });

  it("(pre-existing, for comparison) Deny CreateKey on kms:KeySpec from the request is honoured", async () => {
    const u = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:CreateKey", Resource: "*", Condition: { StringEquals: { "kms:KeySpec": "HMAC_256" } } },
    ]);
    expect(outcome(await call("CreateKey", { KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }, u))).toBe("400 AccessDeniedException");
  });

  it("Deny ReplicateKey on kms:ReplicaRegion, UpdatePrimaryRegion on kms:PrimaryRegion are honoured (key policy)", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    await ok("PutKeyPolicy", { KeyId: k.KeyId, PolicyName: "default", Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:ReplicateKey", Resource: "*", Condition: { StringEquals: { "kms:ReplicaRegion": C } } },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:UpdatePrimaryRegion", Resource: "*", Condition: { StringEquals: { "kms:PrimaryRegion": B } } },
    ) });
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }))).toBe("400 AccessDeniedException");
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B }))).toBe("ok");
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("400 AccessDeniedException");
  });
});

// ---------------------------------------------------------------------------------------------
describe("grants cannot carry import / multi-Region operations", () => {
  it("CreateGrant with ImportKeyMaterial, GetParametersForImport, ReplicateKey, GetKeyLastUsage is a ValidationException", async () => {
    const k = await external();
    const grantee = await newUser();
    for (const op of ["ImportKeyMaterial", "GetParametersForImport", "DeleteImportedKeyMaterial", "ReplicateKey", "UpdatePrimaryRegion", "GetKeyLastUsage"]) {
      const r = await call("CreateGrant", { KeyId: k.KeyId, GranteePrincipal: grantee.arn, Operations: [op] });
      expect(outcome(r), op).toBe("400 ValidationException");
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("import tokens and material", () => {
  it("a token of another key (same account) and of another account's key are refused; garbled tokens of every short length are 4xx", async () => {
    const k1 = await external();
    const k2 = await external();
    const p1 = (await params(k1.KeyId)).body;
    const enc = b64(await wrap(p1.PublicKey, "RSAES_OAEP_SHA_256", aes256()));
    const r = await call("ImportKeyMaterial", { KeyId: k2.KeyId, ImportToken: p1.ImportToken, EncryptedKeyMaterial: enc, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect(outcome(r)).toBe("400 InvalidImportTokenException");
    // Another account's key with its own token, via the ARN: not found.
    const other = await newAccount();
    const ok2 = await external({}, other);
    const po = (await params(ok2.KeyId, other)).body;
    const x = await call("ImportKeyMaterial", { KeyId: ok2.Arn, ImportToken: po.ImportToken, EncryptedKeyMaterial: b64(await wrap(po.PublicKey, "RSAES_OAEP_SHA_256", aes256())), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect(outcome(x)).toBe("400 NotFoundException");
    // Same token bytes but the key-id field rewritten to k1's own id with a different token id.
    const tok = unb64(p1.ImportToken);
    for (let len = 1; len <= tok.length + 2; len++) {
      const t = new Uint8Array(len);
      t.set(tok.subarray(0, Math.min(len, tok.length)));
      if (len <= tok.length) t[len - 1] ^= 0x5a;
      const g = await call("ImportKeyMaterial", { KeyId: k1.KeyId, ImportToken: b64(t), EncryptedKeyMaterial: enc, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
      expect(g.status, `len ${len}`).toBe(400);
      expect(["InvalidImportTokenException", "InvalidCiphertextException"], `len ${len} ${g.body.__type}`).toContain(g.body.__type);
    }
  });

  it("EncryptedKeyMaterial of every odd size / garbage is a 4xx; the 6144-byte max is accepted as input", async () => {
    const k = await external();
    for (const alg of ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"]) {
      for (const n of [1, 255, 256, 257, 264, 300, 6144]) {
        const p = (await params(k.KeyId, {}, alg)).body;
        const r = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(new Uint8Array(n).fill(7)), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
        expect(r.status, `${alg} ${n}: ${JSON.stringify(r.body)}`).toBe(400);
      }
    }
    const big = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: b64("x"), EncryptedKeyMaterial: b64(new Uint8Array(6145)), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect(outcome(big)).toBe("400 ValidationException");
  });

  it("RSA_AES_KEY_WRAP: an AES key of 16 bytes inside, KWP of the material: accepted (RFC 5649 allows AES-128)", async () => {
    const k = await external();
    const p = (await params(k.KeyId, {}, "RSA_AES_KEY_WRAP_SHA_256")).body;
    const pub = await crypto.subtle.importKey("spki", unb64(p.PublicKey), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
    const aes = crypto.getRandomValues(new Uint8Array(16));
    const rsa = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, aes));
    const kwp = aesKeyWrapPad(aes, aes256());
    const blob = new Uint8Array(rsa.length + kwp.length);
    blob.set(rsa);
    blob.set(kwp, rsa.length);
    const r = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(blob), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  });

  it("ValidTo edge cases: string, negative, fractional, huge, exactly now+365d are 4xx or ok, never 5xx", async () => {
    const k = await external();
    const now = Date.now() / 1000;
    for (const v of ["2030-01-01T00:00:00Z", -1, 0, now + 0.5, now + 86400.75, 1e308, now + 365 * 86400 - 5, now + 365 * 86400 + 5, true, null, {}]) {
      const p = (await params(k.KeyId)).body;
      const r = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(await wrap(p.PublicKey, "RSAES_OAEP_SHA_256", aes256())), ValidTo: v });
      expect(r.status, `${JSON.stringify(v)}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
      if (r.status === 200) await ok("DeleteImportedKeyMaterial", { KeyId: k.KeyId });
    }
    // Raw JSON tricks: an exponent that overflows, a duplicated member.
    for (const raw of [
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","ValidTo":1e999}`,
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","ValidTo":-1e999}`,
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","ValidTo":1,"ValidTo":"x"}`,
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","__proto__":{"ValidTo":1}}`,
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","constructor":{"prototype":{"x":1}}}`,
      `{"KeyId":"${k.KeyId}","ImportToken":"AA==","EncryptedKeyMaterial":"AA==","KeyMaterialDescription":"\\ud800"}`,
    ]) {
      const r = await call("ImportKeyMaterial", undefined, { rawBody: raw });
      expect(r.status, `${raw}: ${JSON.stringify(r.body)}`).toBe(400);
    }
  });

  it("ImportType NEW_KEY_MATERIAL: on a PendingImport key with no material, on HMAC, twice; then RotateKeyOnDemand after deleting the pending one", async () => {
    const k = await external();
    expect(outcome(await importInto(k.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" }))).toBe("400 ValidationException");
    const h = await external({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    expect(outcome(await importInto(h.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" }))).toBe("400 UnsupportedOperationException");
    expect(outcome(await importInto(k.KeyId, aes256()))).toBe("ok");
    const pending = await importInto(k.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" });
    expect(outcome(pending)).toBe("ok");
    expect(outcome(await importInto(k.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" }))).toBe("400 ValidationException");
    expect(outcome(await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId, KeyMaterialId: pending.body.KeyMaterialId }))).toBe("ok");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
    const rot = await call("RotateKeyOnDemand", { KeyId: k.KeyId });
    expect(rot.status).toBe(400);
    expect(rot.status).toBeLessThan(500);
  });

  it("a key whose material was deleted while pending deletion must not become usable-without-material after CancelKeyDeletion + EnableKey (clear 4xx, never 5xx)", async () => {
    const k = await external();
    const m = aes256();
    expect(outcome(await importInto(k.KeyId, m))).toBe("ok");
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(outcome(await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId }))).toBe("ok");
    await ok("CancelKeyDeletion", { KeyId: k.KeyId });
    const afterCancel = (await describeIn(A, k.KeyId)).KeyState;
    const en = await call("EnableKey", { KeyId: k.KeyId });
    const md = await describeIn(A, k.KeyId);
    const enc = await call("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") });
    // AWS: a key without its material is PendingImport; EnableKey is KMSInvalidStateException.
    expect({ afterCancel, enable: outcome(en), state: md.KeyState, encrypt: outcome(enc) }).toEqual({
      afterCancel: "PendingImport", enable: "400 KMSInvalidStateException", state: "PendingImport", encrypt: "400 KMSInvalidStateException",
    });
  });

  it("an EXTERNAL key that never had material: ScheduleKeyDeletion, CancelKeyDeletion, EnableKey, Encrypt/GenerateDataKey/ListKeyRotations: clear 4xx", async () => {
    const k = await external();
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    await ok("CancelKeyDeletion", { KeyId: k.KeyId });
    const afterCancel = (await describeIn(A, k.KeyId)).KeyState;
    const en = await call("EnableKey", { KeyId: k.KeyId });
    const results: Record<string, string> = { afterCancel, enable: outcome(en), state: (await describeIn(A, k.KeyId)).KeyState };
    for (const [op, input] of [
      ["Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") }], ["GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" }],
      ["ListKeyRotations", { KeyId: k.KeyId }], ["RotateKeyOnDemand", { KeyId: k.KeyId }], ["DescribeKey", { KeyId: k.KeyId }],
    ] as const) {
      const r = await call(op, input);
      results[op] = outcome(r);
      expect(r.status, `${op}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
    }
    expect(results).toMatchObject({ afterCancel: "PendingImport", state: "PendingImport", Encrypt: "400 KMSInvalidStateException" });
  });

  it("expiry while Disabled then reimport: the key comes back Enabled (AWS: same; recorded here)", async () => {
    const k = await external();
    const m = aes256();
    expect(outcome(await importInto(k.KeyId, m, { ValidTo: Math.floor(Date.now() / 1000) + 3600 }))).toBe("ok");
    await ok("DisableKey", { KeyId: k.KeyId });
    await runInDurableObject(vault(A, k.KeyId), (v: KeyVault) => { v.clockOffsetMs += 2 * 3_600_000; });
    await runDurableObjectAlarm(vault(A, k.KeyId));
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("PendingImport");
    expect(outcome(await importInto(k.KeyId, m))).toBe("ok");
    // Documented: "the key state changes from PendingImport to Enabled".
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
  });

  it("audit: GetParametersForImport/ImportKeyMaterial records hold no token, public key or wrapped material; a denied import is recorded", async () => {
    const k = await external();
    const p = await params(k.KeyId);
    const enc = await wrap(p.body.PublicKey, "RSAES_OAEP_SHA_256", aes256());
    const r = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.body.ImportToken, EncryptedKeyMaterial: b64(enc), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect(r.status).toBe(200);
    const u = await newUser([{ Effect: "Allow", Action: "kms:DescribeKey", Resource: "*" }]);
    const denied = await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId }, u);
    expect(outcome(denied)).toBe("400 AccessDeniedException");
    const lu = await call("GetKeyLastUsage", { KeyId: k.KeyId }, u);
    expect(outcome(lu)).toBe("400 AccessDeniedException");
    const records = await tail(A, k.KeyId);
    const s = JSON.stringify(records);
    for (const secret of [p.body.ImportToken, p.body.PublicKey, b64(enc)]) expect(s.includes(secret.slice(0, 40))).toBe(false);
    const names = records.map((x) => `${x.eventName}:${x.errorCode ?? "ok"}`);
    expect(names).toEqual(expect.arrayContaining(["GetParametersForImport:ok", "ImportKeyMaterial:ok", "DeleteImportedKeyMaterial:AccessDeniedException", "GetKeyLastUsage:AccessDeniedException"]));
  });
});

// ---------------------------------------------------------------------------------------------
describe("multi-Region keys", () => {
  it("an EXTERNAL replica cannot take material other than the primary's (AWS: same material in every related key)", async () => {
    const k = await external({ MultiRegion: true });
    const m = aes256();
    const first = await importInto(k.KeyId, m);
    expect(outcome(first)).toBe("ok");
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    // Other material into the replica.
    const pb = (await params(k.KeyId, at(B))).body;
    const r = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: pb.ImportToken, EncryptedKeyMaterial: b64(await wrap(pb.PublicKey, "RSAES_OAEP_SHA_256", aes256())), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, at(B));
    expect(outcome(r)).toBe("400 IncorrectKeyMaterialException");
  });

  it("an EXTERNAL replica: NEW_KEY_MATERIAL is refused on the replica; the primary's new material can be imported into it (EXISTING, its KeyMaterialId) and rotation keeps Regions interoperable", async () => {
    const k = await external({ MultiRegion: true });
    const m1 = aes256();
    const m2 = aes256();
    expect(outcome(await importInto(k.KeyId, m1))).toBe("ok");
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    expect(outcome(await importInto(k.KeyId, m1, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, at(B)))).toBe("ok");
    const newOnReplica = await importInto(k.KeyId, aes256(), { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" }, at(B));
    const pending = await importInto(k.KeyId, m2, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" });
    expect(outcome(pending)).toBe("ok");
    const intoReplica = await importInto(k.KeyId, m2, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "EXISTING_KEY_MATERIAL", KeyMaterialId: pending.body.KeyMaterialId }, at(B));
    const rot = await call("RotateKeyOnDemand", { KeyId: k.KeyId });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("after rotation") })).CiphertextBlob;
    const dec = await call("Decrypt", { CiphertextBlob: blob }, at(B));
    const blobB = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("replica") }, at(B))).CiphertextBlob;
    const view = (b: string) => new DataView(unb64(b).buffer).getUint32(18);
    expect({
      newOnReplica: outcome(newOnReplica), intoReplica: outcome(intoReplica), rotate: outcome(rot), decryptInB: outcome(dec),
      versions: [view(blob), view(blobB)],
    }).toEqual({ newOnReplica: "400 UnsupportedOperationException", intoReplica: "ok", rotate: "ok", decryptInB: "ok", versions: [2, 2] });
  });

  it("ReplicateKey / UpdatePrimaryRegion / GetKeyLastUsage on another account's key by ARN: NotFound, and the other account sees no record", async () => {
    const other = await newAccount();
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true }, other)).KeyMetadata;
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B }, other);
    // Its key policy admits this account fully.
    await ok("PutKeyPolicy", { KeyId: k.KeyId, PolicyName: "default", BypassPolicyLockoutSafetyCheck: true, Policy: doc(
      { Effect: "Allow", Principal: { AWS: [`arn:aws:iam::${other.account}:root`, `arn:aws:iam::${ACCOUNT}:root`] }, Action: "kms:*", Resource: "*" },
    ) }, other);
    for (const [op, input] of [
      ["ReplicateKey", { KeyId: k.Arn, ReplicaRegion: C }],
      ["UpdatePrimaryRegion", { KeyId: k.Arn, PrimaryRegion: B }],
      ["GetKeyLastUsage", { KeyId: k.Arn }],
      ["GetParametersForImport", { KeyId: k.Arn, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }],
    ] as const) {
      expect(outcome(await call(op, input)), op).toBe("400 NotFoundException");
    }
    // The replica's ARN in B, asked in A or B.
    const replicaArn = `arn:aws:kms:${B}:${other.account}:key/${k.KeyId}`;
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: replicaArn, PrimaryRegion: A }, at(B)))).toBe("400 NotFoundException");
    expect((await describeIn(A, k.KeyId).catch(() => undefined))).toBeUndefined();
  });

  it("a replica's own key policy gives no rights over the primary or the other Regions", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    const user = await newUser();
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B, Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: user.arn }, Action: "kms:*", Resource: "*" },
    ) });
    // The user has full rights in B by the replica policy only.
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(B, user)))).toBe("ok");
    for (const [op, input, region] of [
      ["ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }, B],
      ["ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }, A],
      ["UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }, A],
      ["UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: A }, B],
      ["Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") }, A],
      ["ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 }, A],
    ] as const) {
      const r = await call(op, input, at(region, user));
      expect(r.status, `${op} in ${region}: ${JSON.stringify(r.body)}`).toBe(400);
    }
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration).toMatchObject({ MultiRegionKeyType: "PRIMARY" });
  });

  it("ReplicateKey and UpdatePrimaryRegion: malformed and prototype-ish Regions are 4xx", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    for (const region of ["", "x", "__proto__", "constructor", "to-string-1", "hasown-property-1", "us-east-1 ", "US-EAST-1", "us-east-1\u0000", "aa-bb-cc-dd-1", "a".repeat(40), 1, null, ["us-west-2"]]) {
      for (const [op, member] of [["ReplicateKey", "ReplicaRegion"], ["UpdatePrimaryRegion", "PrimaryRegion"]] as const) {
        const r = await call(op, { KeyId: k.KeyId, [member]: region });
        expect(r.status, `${op} ${JSON.stringify(region)}: ${JSON.stringify(r.body)}`).toBe(400);
      }
    }
  });

  it("replica deleted: decrypt in its Region is refused (no stale vault answers); ReplicateKey again works", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") })).CiphertextBlob;
    expect(outcome(await call("Decrypt", { CiphertextBlob: blob }, at(B)))).toBe("ok");
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 }, at(B));
    expect(outcome(await call("Decrypt", { CiphertextBlob: blob }, at(B)))).toBe("400 KMSInvalidStateException");
    await runInDurableObject(vault(B, k.KeyId), (v: KeyVault) => { v.clockOffsetMs += 8 * DAY; });
    await runDurableObjectAlarm(vault(B, k.KeyId));
    // (a destroyed key's ciphertext: AccessDenied or NotFound, as for single-Region keys; never ok)
    expect(["400 NotFoundException", "400 AccessDeniedException"]).toContain(outcome(await call("Decrypt", { CiphertextBlob: blob }, at(B))));
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration).toMatchObject({ ReplicaKeys: [] });
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B }))).toBe("ok");
    expect(outcome(await call("Decrypt", { CiphertextBlob: blob }, at(B)))).toBe("ok");
  });

  it("UpdatePrimaryRegion denied by the replica's policy: the key returns to Enabled and both Regions hold a denied record", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B, Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:UpdatePrimaryRegion", Resource: "*" },
    ), BypassPolicyLockoutSafetyCheck: true });
    const r = await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B });
    expect(outcome(r)).toBe("400 AccessDeniedException");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
    const id = r.headers.get("x-amzn-RequestId")!;
    const inA = (await tail(A, k.KeyId)).filter((x) => x.requestID === id);
    expect(inA.map((x) => x.errorCode)).toEqual(["AccessDeniedException"]);
  });

  it("ScheduleKeyDeletion of an EXTERNAL primary's replica in PendingImport, and of the primary: no 5xx", async () => {
    const k = await external({ MultiRegion: true });
    expect(outcome(await importInto(k.KeyId, aes256()))).toBe("ok");
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    expect((await describeIn(B, k.KeyId)).KeyState).toBe("PendingImport");
    const up = await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B });
    expect(up.status).toBe(400);
    expect(outcome(await call("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 }))).toBe("ok");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("PendingReplicaDeletion");
  });
});

describe("multi-Region races", () => {
  it("UpdatePrimaryRegion to B and ReplicateKey to C at once: every Region ends with one consistent configuration", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    const [u, r] = await Promise.all([
      call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }),
      call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }),
    ]);
    for (let i = 0; i < 3; i++) for (const region of [A, B, C]) await runDurableObjectAlarm(vault(region, k.KeyId)).catch(() => undefined);
    const configs: Record<string, unknown> = {};
    for (const region of [A, B, C]) {
      const d = await call<{ KeyMetadata: Md }>("DescribeKey", { KeyId: k.KeyId }, at(region));
      const c = d.body.KeyMetadata?.MultiRegionConfiguration as { PrimaryKey: { Region: string }; ReplicaKeys: { Region: string }[] } | undefined;
      configs[region] = d.status === 200 ? { primary: c?.PrimaryKey.Region, replicas: c?.ReplicaKeys.map((x) => x.Region).sort(), state: d.body.KeyMetadata.KeyState } : outcome(d);
    }
    const present = Object.values(configs).filter((c) => typeof c === "object") as { primary: string; replicas: string[]; state: string }[];
    const primaries = new Set(present.map((c) => c.primary));
    expect({ u: outcome(u), r: outcome(r), primaries: [...primaries] }, JSON.stringify(configs)).toMatchObject({ primaries: [expect.any(String)] });
    // Every existing key is named by the primary's configuration.
    const primary = present.find((c) => c.primary && configs[c.primary] === c) as { primary: string; replicas: string[] } | undefined;
    const existing = Object.entries(configs).filter(([, c]) => typeof c === "object").map(([region]) => region).sort();
    expect(primary && [primary.primary, ...primary.replicas].sort(), JSON.stringify(configs)).toEqual(existing);
    for (const c of present) expect(c.state, JSON.stringify(configs)).not.toBe("Updating");
  });

  it("two UpdatePrimaryRegion calls at once (to B and to C): one primary in the end", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true })).KeyMetadata;
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    await ok("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C });
    const [x, y] = await Promise.all([
      call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }),
      call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: C }),
    ]);
    for (let i = 0; i < 3; i++) for (const region of [A, B, C]) await runDurableObjectAlarm(vault(region, k.KeyId)).catch(() => undefined);
    const configs: Record<string, { primary: string; replicas: string[]; state: string }> = {};
    for (const region of [A, B, C]) {
      const md = await describeIn(region, k.KeyId);
      const c = md.MultiRegionConfiguration as { PrimaryKey: { Region: string }; ReplicaKeys: { Region: string }[] };
      configs[region] = { primary: c.PrimaryKey.Region, replicas: c.ReplicaKeys.map((r) => r.Region).sort(), state: md.KeyState };
    }
    const primaries = new Set(Object.values(configs).map((c) => c.primary));
    expect({ outcomes: [outcome(x), outcome(y)].sort(), primaries: primaries.size }, JSON.stringify(configs)).toMatchObject({ primaries: 1 });
    for (const c of Object.values(configs)) expect(c.state, JSON.stringify(configs)).toBe("Enabled");
  });
});

// ---------------------------------------------------------------------------------------------
describe("GetKeyLastUsage", () => {
  it("cross-account use records the owner event id; another account cannot read it; alias ARNs refused; KeyId is the bare key id (as AWS documents)", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    const other = await newAccount();
    await ok("PutKeyPolicy", { KeyId: k.KeyId, PolicyName: "default", Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other.account}:root` }, Action: ["kms:Encrypt", "kms:GetKeyLastUsage"], Resource: "*" },
    ) });
    const e = await call("Encrypt", { KeyId: k.Arn, Plaintext: b64("x") }, other);
    expect(e.status).toBe(200);
    const lu = await ok<{ KeyId: string; KeyLastUsage?: { CloudTrailEventId: string; KmsRequestId: string } }>("GetKeyLastUsage", { KeyId: k.KeyId });
    expect(lu.KeyLastUsage?.KmsRequestId).toBe(e.headers.get("x-amzn-RequestId"));
    const mine = (await tail(A, k.KeyId)).find((x) => x.requestID === e.headers.get("x-amzn-RequestId") && x.recipientAccountId === ACCOUNT);
    expect(lu.KeyLastUsage?.CloudTrailEventId).toBe(mine?.eventID);
    const cross = await call("GetKeyLastUsage", { KeyId: k.Arn }, other);
    expect(outcome(cross)).toBe("400 NotFoundException");
    const aliasArn = await call("GetKeyLastUsage", { KeyId: `arn:aws:kms:${A}:${ACCOUNT}:alias/whatever` });
    expect(aliasArn.status).toBe(400);
    // AWS: KeyId is "the globally unique identifier" (the key id): EdgeKMS answers the bare id.
    expect(lu.KeyId).toBe(k.KeyId);
  });
});
