// Imported key material (origin EXTERNAL), inside workerd: the whole round trip with every
// wrapping algorithm (the client side done with WebCrypto and RFC 5649 key wrap, as a user's
// tool would), reimport, expiry on the vault's alarm, deletion, on-demand rotation with new
// material, imported asymmetric and HMAC keys, and every error AWS documents for it.
import { describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { checkPrimeSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha224 } from "@noble/hashes/sha2.js";
import type { Env } from "../../src/env.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import type { KeyRecord } from "../../src/vault/key-record.js";
import { wrapMaterial } from "./wrap-material.js";
import { ecPkcs8, ecSpki, OIDS, octetString, oid, sequence, tlv } from "../../src/vault/key-types/der.js";
import { b64, call, doc, newAccount, newUser, ok, unb64, ACCOUNT } from "./kms.js";

const env = testEnv as unknown as Env;
const HOUR = 3_600_000;
type Md = Record<string, unknown> & { KeyId: string; Arn: string; KeyState: string };

const vaultStub = (keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
const advance = (keyId: string, ms: number) => runInDurableObject(vaultStub(keyId), (v: KeyVault) => { v.clockOffsetMs += ms; });
const describeKey = async (KeyId: string) => (await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId })).KeyMetadata;
const external = async (KeySpec = "SYMMETRIC_DEFAULT", KeyUsage?: string) =>
  (await ok<{ KeyMetadata: Md }>("CreateKey", { Origin: "EXTERNAL", KeySpec, ...(KeyUsage ? { KeyUsage } : {}) })).KeyMetadata;

/** What a user's tool does with GetParametersForImport's public key (as AWS's docs do with openssl). */
const wrap = wrapMaterial;

interface Params { ImportToken: string; PublicKey: string; ParametersValidTo: number; KeyId: string }
const params = (KeyId: string, WrappingAlgorithm = "RSAES_OAEP_SHA_256", WrappingKeySpec = "RSA_2048") =>
  ok<Params>("GetParametersForImport", { KeyId, WrappingAlgorithm, WrappingKeySpec });

/** GetParametersForImport, wrap, ImportKeyMaterial: the raw response. */
async function importMaterial(KeyId: string, material: Uint8Array, extra: Record<string, unknown> = { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, algorithm = "RSAES_OAEP_SHA_256", spec = "RSA_2048") {
  const p = await params(KeyId, algorithm, spec);
  return call<{ KeyId: string; KeyMaterialId: string }>("ImportKeyMaterial", {
    KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(await wrap(p.PublicKey, algorithm, material)), ...extra,
  });
}

/** A DER INTEGER of a non-negative bigint (minimal, a 0x00 before a high first bit). */
function derInteger(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return tlv(0x02, Uint8Array.from(hex.match(/../g)!, (h) => Number.parseInt(h, 16)));
}

/**
 * DER PKCS#8 of an RSA key (e = 65537) whose modulus is exactly `bits` long, of any size
 * WebCrypto will not generate (2047 bits …): two primes found deterministically just above
 * 2^(h−1) (odd `bits`) or 1.5·2^(h−1) (even), h = ⌈bits/2⌉, so the same key every run and
 * no key generation (about a quarter second per 1024-bit prime with node:crypto's checkPrimeSync).
 */
function rsaPkcs8OfBits(bits: number): Uint8Array {
  const e = 65537n;
  const h = BigInt(Math.ceil(bits / 2));
  const nextPrime = (from: bigint) => {
    let p = from | 1n;
    while ((p - 1n) % e === 0n || !checkPrimeSync(p)) p += 2n;
    return p;
  };
  const p = nextPrime(bits % 2 ? 1n << (h - 1n) : 3n << (h - 2n));
  const q = nextPrime(p + (1n << (h - 8n)));
  const n = p * q;
  if (n.toString(2).length !== bits) throw new Error(`made a ${n.toString(2).length}-bit modulus, not ${bits}`);
  const inverse = (a: bigint, m: bigint) => {
    let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
    while (r1 !== 0n) {
      const t = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
    }
    return ((s0 % m) + m) % m;
  };
  const d = inverse(e, (p - 1n) * (q - 1n));
  const rsaPrivateKey = sequence(...[0n, n, e, d, p, q, d % (p - 1n), d % (q - 1n), inverse(q, p)].map(derInteger));
  return sequence(derInteger(0n), sequence(oid("1.2.840.113549.1.1.1"), new Uint8Array([0x05, 0x00])), octetString(rsaPrivateKey));
}

const encrypt = async (KeyId: string, s: string) => (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId, Plaintext: b64(s) })).CiphertextBlob;
const decrypt = async (CiphertextBlob: string) => new TextDecoder().decode(unb64((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob })).Plaintext));
const aes256 = () => crypto.getRandomValues(new Uint8Array(32));

describe("imported symmetric key material", () => {
  it("an EXTERNAL key is PendingImport with no material and refuses crypto until an import", async () => {
    const k = await external();
    expect(k).toMatchObject({ Origin: "EXTERNAL", KeyState: "PendingImport", Enabled: false });
    expect(k.CurrentKeyMaterialId).toBeUndefined();
    expect(k.ExpirationModel).toBeUndefined();
    const r = await call("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") });
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("KMSInvalidStateException");
    expect(r.body.message).toBe(`${k.Arn} is pending import.`);
    expect((await ok("GetKeyRotationStatus", { KeyId: k.KeyId })).KeyRotationEnabled).toBe(false);
  });

  for (const [algorithm, spec] of [
    ["RSAES_OAEP_SHA_1", "RSA_2048"], ["RSAES_OAEP_SHA_256", "RSA_3072"],
    ["RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"], ["RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"],
  ] as const) {
    it(`round trip with ${algorithm} / ${spec}`, async () => {
      const k = await external();
      const p = await params(k.KeyId, algorithm, spec);
      expect(p.KeyId).toBe(k.Arn);
      expect(p.ParametersValidTo * 1000).toBeGreaterThan(Date.now() + 23.9 * HOUR);
      expect(p.ParametersValidTo * 1000).toBeLessThan(Date.now() + 24.1 * HOUR);
      // The wrapping key is the spec asked for.
      const pub = await crypto.subtle.importKey("spki", unb64(p.PublicKey), { name: "RSA-OAEP", hash: "SHA-256" }, true, ["encrypt"]);
      expect((pub.algorithm as unknown as { modulusLength: number }).modulusLength).toBe(Number(spec.slice(4)));
      const material = aes256();
      const validTo = Math.floor(Date.now() / 1000) + 30 * 86400;
      const imported = await ok<{ KeyId: string; KeyMaterialId: string }>("ImportKeyMaterial", {
        KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(await wrap(p.PublicKey, algorithm, material)), ValidTo: validTo,
      });
      expect(imported.KeyId).toBe(k.Arn);
      expect(imported.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      const md = await describeKey(k.KeyId);
      expect(md).toMatchObject({ KeyState: "Enabled", Origin: "EXTERNAL", ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: validTo, CurrentKeyMaterialId: imported.KeyMaterialId });
      expect(await decrypt(await encrypt(k.KeyId, "imported"))).toBe("imported");
    });
  }

  it("the imported material is what encrypts: a blob opens under the user's own copy of the key (AES-256-GCM)", async () => {
    const k = await external();
    const material = aes256();
    expect((await importMaterial(k.KeyId, material)).status).toBe(200);
    const blob = unb64(await encrypt(k.KeyId, "mine"));
    // The blob format (docs/formats.md): its header is the AAD with the encryption context; IV 12 bytes; tag last.
    const rec = await runInDurableObject(vaultStub(k.KeyId), async (_v: KeyVault, state: DurableObjectState) => state.storage.get<KeyRecord>("key"));
    const { openSymmetric, symmetricHeader } = await import("../../src/vault/key-types/symmetric.js");
    const opened = openSymmetric(material, symmetricHeader(blob)!, blob, undefined);
    expect(opened.ok && new TextDecoder().decode(opened.value)).toBe("mine");
    // Stored wrapped only: the plaintext material appears nowhere in the record.
    const stored = JSON.stringify(rec, (_k, v) => (v instanceof Uint8Array ? Array.from(v).join(",") : v));
    expect(stored.includes(Array.from(material).join(","))).toBe(false);
  });

  it("reimport: the same material (new parameters) works; other material is IncorrectKeyMaterialException", async () => {
    const k = await external();
    const material = aes256();
    const first = await importMaterial(k.KeyId, material);
    expect(first.status).toBe(200);
    const again = await importMaterial(k.KeyId, material, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, "RSA_AES_KEY_WRAP_SHA_256", "RSA_3072");
    expect(again.status).toBe(200);
    expect(again.body.KeyMaterialId).toBe(first.body.KeyMaterialId);
    const other = await importMaterial(k.KeyId, aes256());
    expect(other.status).toBe(400);
    expect(other.body.__type).toBe("IncorrectKeyMaterialException");
  });

  it("tokens: another key's, a garbled one and an expired one are refused", async () => {
    const [a, b] = [await external(), await external()];
    const pa = await params(a.KeyId);
    const material = b64(await wrap(pa.PublicKey, "RSAES_OAEP_SHA_256", aes256()));
    const foreign = await call("ImportKeyMaterial", { KeyId: b.KeyId, ImportToken: pa.ImportToken, EncryptedKeyMaterial: material, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([foreign.status, foreign.body.__type]).toEqual([400, "InvalidImportTokenException"]);
    const garbled = unb64(pa.ImportToken);
    garbled[7] ^= 1;
    const g = await call("ImportKeyMaterial", { KeyId: a.KeyId, ImportToken: b64(garbled), EncryptedKeyMaterial: material, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([g.status, g.body.__type]).toEqual([400, "InvalidImportTokenException"]);
    const junk = await call("ImportKeyMaterial", { KeyId: a.KeyId, ImportToken: b64("not a token"), EncryptedKeyMaterial: material, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([junk.status, junk.body.__type]).toEqual([400, "InvalidImportTokenException"]);
    await advance(a.KeyId, 24 * HOUR + 60_000);
    const expired = await call("ImportKeyMaterial", { KeyId: a.KeyId, ImportToken: pa.ImportToken, EncryptedKeyMaterial: material, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([expired.status, expired.body.__type]).toEqual([400, "ExpiredImportTokenException"]);
    expect((await describeKey(a.KeyId)).KeyState).toBe("PendingImport");
  });

  it("material that does not unwrap is InvalidCiphertextException; material of the wrong size IncorrectKeyMaterialException", async () => {
    const k = await external();
    const p = await params(k.KeyId);
    const bad = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(crypto.getRandomValues(new Uint8Array(256))), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([bad.status, bad.body.__type]).toEqual([400, "InvalidCiphertextException"]);
    expect(bad.body.message).toBe("The wrapped key material could not be decrypted with the import parameters.");
    const short = await importMaterial(k.KeyId, crypto.getRandomValues(new Uint8Array(16)));
    expect([short.status, short.body.__type]).toEqual([400, "IncorrectKeyMaterialException"]);
    // A wrapping algorithm other than the parameters' does not unwrap.
    const p2 = await params(k.KeyId, "RSAES_OAEP_SHA_1");
    const mismatch = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p2.ImportToken, EncryptedKeyMaterial: b64(await wrap(p2.PublicKey, "RSAES_OAEP_SHA_256", aes256())), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    expect([mismatch.status, mismatch.body.__type]).toEqual([400, "InvalidCiphertextException"]);
    expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
  });

  it("request checks: ValidTo with each expiration model, its range, KeyMaterialId with NEW_KEY_MATERIAL, PKCS#1 v1.5 and SM2 wrapping", async () => {
    const k = await external();
    const now = Math.floor(Date.now() / 1000);
    for (const [extra, type] of [
      [{}, "ValidationException"], // KEY_MATERIAL_EXPIRES by default: ValidTo required
      [{ ExpirationModel: "KEY_MATERIAL_EXPIRES" }, "ValidationException"],
      [{ ValidTo: now - 60 }, "ValidationException"],
      [{ ValidTo: now + 366 * 86400 }, "ValidationException"],
      [{ ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ValidTo: now + 3600 }, "ValidationException"],
      [{ ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL", KeyMaterialId: "a".repeat(64) }, "ValidationException"],
      [{ ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", KeyMaterialId: "XYZ" }, "ValidationException"],
    ] as [Record<string, unknown>, string][]) {
      const r = await importMaterial(k.KeyId, aes256(), extra);
      expect([r.status, r.body.__type], JSON.stringify(extra)).toEqual([400, type]);
    }
    const pkcs1 = await call("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_PKCS1_V1_5", WrappingKeySpec: "RSA_2048" });
    expect([pkcs1.status, pkcs1.body.__type]).toEqual([400, "ValidationException"]);
    const sm2 = await call("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "SM2PKE", WrappingKeySpec: "SM2" });
    expect([sm2.status, sm2.body.__type]).toEqual([400, "UnsupportedOperationException"]);
    const missing = await call("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256" });
    expect([missing.status, missing.body.__type]).toEqual([400, "ValidationException"]);
  });

  it("keys not of EXTERNAL origin refuse the import operations; specs without import refuse Origin EXTERNAL", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    for (const [op, input] of [
      ["GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }],
      ["DeleteImportedKeyMaterial", { KeyId: k.KeyId }],
    ] as const) {
      const r = await call(op, input);
      expect([r.status, r.body.__type, r.body.message]).toEqual([400, "UnsupportedOperationException", `${k.Arn} origin is AWS_KMS which is not valid for this operation.`]);
    }
    for (const [KeySpec, KeyUsage] of [["ML_DSA_44", "SIGN_VERIFY"], ["ML_KEM_768", "ENCAPSULATE_DECAPSULATE"], ["ECC_NIST_EDWARDS25519", "SIGN_VERIFY"]]) {
      const r = await call("CreateKey", { Origin: "EXTERNAL", KeySpec, KeyUsage });
      expect([r.status, r.body.__type], KeySpec).toEqual([400, "UnsupportedOperationException"]);
    }
    const custom = await call("CreateKey", { Origin: "AWS_CLOUDHSM" });
    expect([custom.status, custom.body.__type]).toEqual([400, "UnsupportedOperationException"]);
  });

  it("expiry: the vault's alarm deletes the material at ValidTo (PendingImport); reimporting the same material restores the key", async () => {
    const k = await external();
    const material = aes256();
    const validTo = Math.floor(Date.now() / 1000) + 2 * 3600;
    expect((await importMaterial(k.KeyId, material, { ValidTo: validTo })).status).toBe(200);
    const blob = await encrypt(k.KeyId, "before expiry");
    await advance(k.KeyId, HOUR);
    await runDurableObjectAlarm(vaultStub(k.KeyId));
    expect((await describeKey(k.KeyId)).KeyState).toBe("Enabled");
    await advance(k.KeyId, 2 * HOUR);
    expect(await runDurableObjectAlarm(vaultStub(k.KeyId))).toBe(true);
    const md = await describeKey(k.KeyId);
    expect(md.KeyState).toBe("PendingImport");
    const d = await call("Decrypt", { CiphertextBlob: blob });
    expect(d.body.__type).toBe("KMSInvalidStateException");
    const rotations = await ok<{ Rotations: Record<string, unknown>[] }>("ListKeyRotations", { KeyId: k.KeyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" });
    expect(rotations.Rotations).toEqual([expect.objectContaining({ ImportState: "PENDING_IMPORT", KeyMaterialState: "CURRENT", ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: validTo })]);
    // The material is gone from storage, not just hidden.
    const rec = await runInDurableObject(vaultStub(k.KeyId), async (_v: KeyVault, state: DurableObjectState) => state.storage.get<KeyRecord>("key"));
    expect(rec!.materials[0]!.wrapped).toBeUndefined();
    expect((await importMaterial(k.KeyId, material)).status).toBe(200);
    expect((await describeKey(k.KeyId)).KeyState).toBe("Enabled");
    expect(await decrypt(blob)).toBe("before expiry");
  });

  it("DeleteImportedKeyMaterial: PendingImport at once; a key pending deletion keeps its state", async () => {
    const k = await external();
    const material = aes256();
    const imported = await importMaterial(k.KeyId, material);
    const blob = await encrypt(k.KeyId, "x");
    const del = await ok<{ KeyId: string; KeyMaterialId: string }>("DeleteImportedKeyMaterial", { KeyId: k.KeyId });
    expect(del).toEqual({ KeyId: k.Arn, KeyMaterialId: imported.body.KeyMaterialId });
    expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
    expect((await call("Decrypt", { CiphertextBlob: blob })).body.__type).toBe("KMSInvalidStateException");
    // Deleting again has no further effect.
    expect((await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId })).status).toBe(200);
    expect((await importMaterial(k.KeyId, material)).status).toBe(200);
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect((await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId })).status).toBe(200);
    expect((await describeKey(k.KeyId)).KeyState).toBe("PendingDeletion");
    const gp = await call("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" });
    expect(gp.body.__type).toBe("KMSInvalidStateException");
  });

  it("on-demand rotation with new material: PENDING_ROTATION, then current; every version keeps decrypting", async () => {
    const k = await external();
    const [m1, m2] = [aes256(), aes256()];
    const first = (await importMaterial(k.KeyId, m1)).body.KeyMaterialId;
    const blob1 = await encrypt(k.KeyId, "one");
    expect((await call("RotateKeyOnDemand", { KeyId: k.KeyId })).body.__type).toBe("UnsupportedOperationException");
    expect((await call("EnableKeyRotation", { KeyId: k.KeyId })).body.__type).toBe("UnsupportedOperationException");
    // New material that is already the key's is refused.
    expect((await importMaterial(k.KeyId, m1, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL" })).body.__type).toBe("IncorrectKeyMaterialException");
    const second = await importMaterial(k.KeyId, m2, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "NEW_KEY_MATERIAL", KeyMaterialDescription: "second one" });
    expect(second.status).toBe(200);
    const pending = await ok<{ Rotations: Record<string, unknown>[] }>("ListKeyRotations", { KeyId: k.KeyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" });
    expect(pending.Rotations).toEqual([
      expect.objectContaining({ KeyMaterialId: first, KeyMaterialState: "CURRENT", ImportState: "IMPORTED" }),
      expect.objectContaining({ KeyMaterialId: second.body.KeyMaterialId, KeyMaterialState: "PENDING_ROTATION", ImportState: "IMPORTED", KeyMaterialDescription: "second one" }),
    ]);
    // Still the first material until the rotation.
    expect((await describeKey(k.KeyId)).CurrentKeyMaterialId).toBe(first);
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
    expect((await describeKey(k.KeyId)).CurrentKeyMaterialId).toBe(second.body.KeyMaterialId);
    const rotations = await ok<{ Rotations: Record<string, unknown>[] }>("ListKeyRotations", { KeyId: k.KeyId });
    expect(rotations.Rotations).toEqual([expect.objectContaining({ KeyMaterialId: second.body.KeyMaterialId, KeyMaterialState: "CURRENT", RotationType: "ON_DEMAND" })]);
    const blob2 = await encrypt(k.KeyId, "two");
    expect([await decrypt(blob1), await decrypt(blob2)]).toEqual(["one", "two"]);
    // Deleting the old (bound) material makes the whole key PendingImport; its reimport restores it.
    await ok("DeleteImportedKeyMaterial", { KeyId: k.KeyId, KeyMaterialId: first });
    expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
    expect((await importMaterial(k.KeyId, m1, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", KeyMaterialId: first })).status).toBe(200);
    expect((await describeKey(k.KeyId)).KeyState).toBe("Enabled");
    expect(await decrypt(blob1)).toBe("one");
  });
});

describe("imported asymmetric and HMAC key material", () => {
  const msg = new TextEncoder().encode("signed with imported material");

  it("HMAC_256 and HMAC_224: the MAC is the one made locally with the same material", async () => {
    for (const [spec, hash, len] of [["HMAC_256", "SHA-256", 48], ["HMAC_224", "SHA-224", 28]] as const) {
      const k = await external(spec, "GENERATE_VERIFY_MAC");
      const material = crypto.getRandomValues(new Uint8Array(len));
      expect((await importMaterial(k.KeyId, material)).status).toBe(200);
      const mac = unb64((await ok<{ Mac: string }>("GenerateMac", { KeyId: k.KeyId, Message: b64(msg), MacAlgorithm: `HMAC_SHA_${spec.slice(5)}` })).Mac);
      const local = hash === "SHA-224"
        ? hmac(sha224, material, msg)
        : new Uint8Array(await crypto.subtle.sign("HMAC", await crypto.subtle.importKey("raw", material, { name: "HMAC", hash }, false, ["sign"]), msg));
      expect(b64(mac)).toBe(b64(local));
      expect((await importMaterial(k.KeyId, crypto.getRandomValues(new Uint8Array(len)))).body.__type).toBe("IncorrectKeyMaterialException");
    }
    const tooShort = await external("HMAC_384", "GENERATE_VERIFY_MAC");
    expect((await importMaterial(tooShort.KeyId, crypto.getRandomValues(new Uint8Array(32)))).body.__type).toBe("IncorrectKeyMaterialException");
  });

  it("RSA_2048 and ECC_NIST_P256: signatures verify under the user's own public key; GetPublicKey returns it", async () => {
    for (const [spec, gen, sign] of [
      ["RSA_2048", { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, "RSASSA_PKCS1_V1_5_SHA_256"],
      ["ECC_NIST_P256", { name: "ECDSA", namedCurve: "P-256" }, "ECDSA_SHA_256"],
    ] as const) {
      const pair = (await crypto.subtle.generateKey(gen, true, ["sign", "verify"])) as CryptoKeyPair;
      const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
      const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
      const k = await external(spec, "SIGN_VERIFY");
      // RSA private keys are too large for RSAES-OAEP alone: RSA_AES_KEY_WRAP, as AWS requires.
      expect((await importMaterial(k.KeyId, pkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")).status).toBe(200);
      expect((await describeKey(k.KeyId)).KeyState).toBe("Enabled");
      expect((await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: k.KeyId })).PublicKey).toBe(b64(spki));
      const s = unb64((await ok<{ Signature: string }>("Sign", { KeyId: k.KeyId, Message: b64(msg), SigningAlgorithm: sign })).Signature);
      if (spec === "RSA_2048") {
        expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pair.publicKey, s, msg)).toBe(true);
      } else {
        const { ecdsaFromDer } = await import("../../src/vault/key-types/der.js");
        expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, ecdsaFromDer(s, 32)!, msg)).toBe(true);
      }
      // One material for good: other material, and ImportType at all, are refused.
      const other = (await crypto.subtle.generateKey(gen, true, ["sign", "verify"])) as CryptoKeyPair;
      const otherPkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", other.privateKey)) as ArrayBuffer);
      expect((await importMaterial(k.KeyId, otherPkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")).body.__type).toBe("IncorrectKeyMaterialException");
      expect((await importMaterial(k.KeyId, pkcs8, { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType: "EXISTING_KEY_MATERIAL" }, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")).body.__type).toBe("UnsupportedOperationException");
      // The same material again is a reimport.
      expect((await importMaterial(k.KeyId, pkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048")).status).toBe(200);
    }
  });

  it("a key of another size or curve is IncorrectKeyMaterialException", async () => {
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign"])) as CryptoKeyPair;
    const k = await external("ECC_NIST_P256", "SIGN_VERIFY");
    const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", p384.privateKey)) as ArrayBuffer);
    expect((await importMaterial(k.KeyId, pkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")).body.__type).toBe("IncorrectKeyMaterialException");
    const rsa3072 = (await crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign"])) as CryptoKeyPair;
    const r = await external("RSA_2048", "SIGN_VERIFY");
    const rsaPkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", rsa3072.privateKey)) as ArrayBuffer);
    expect((await importMaterial(r.KeyId, rsaPkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")).body.__type).toBe("IncorrectKeyMaterialException");
    expect((await describeKey(r.KeyId)).KeyState).toBe("PendingImport");
  });

  // AWS: the material must match the key spec. A 2041–2047-bit modulus is 256 bytes like a
  // 2048-bit one, and was taken for RSA_2048; PSS signatures of digests then failed (500) or were
  // not valid PSS. The 2048-bit row (the same construction) is the control: it imports and signs.
  for (const [spec, bits] of [["RSA_2048", 2047], ["RSA_2048", 2041], ["RSA_3072", 3071], ["RSA_2048", 2048]] as const) {
    it(`a ${bits}-bit RSA key offered to ${spec} is ${bits === Number(spec.slice(4)) ? "imported" : "IncorrectKeyMaterialException"}`, async () => {
      const k = await external(spec, "SIGN_VERIFY");
      const r = await importMaterial(k.KeyId, rsaPkcs8OfBits(bits), undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048");
      if (bits !== Number(spec.slice(4))) {
        expect([r.status, r.body.__type]).toEqual([400, "IncorrectKeyMaterialException"]);
        expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
        return;
      }
      expect(r.status).toBe(200);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", msg));
      const s = await ok<{ Signature: string }>("Sign", { KeyId: k.KeyId, Message: b64(digest), MessageType: "DIGEST", SigningAlgorithm: "RSASSA_PSS_SHA_256" });
      const pub = await crypto.subtle.importKey("spki", unb64((await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: k.KeyId })).PublicKey), { name: "RSA-PSS", hash: "SHA-256" }, false, ["verify"]);
      expect(await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pub, unb64(s.Signature), msg)).toBe(true);
    });
  }

  it("ECC_SECG_P256K1: imported PKCS#8; signatures verify with the user's public key", async () => {
    const scalar = secp256k1.utils.randomSecretKey();
    const point = secp256k1.getPublicKey(scalar, false);
    const k = await external("ECC_SECG_P256K1", "SIGN_VERIFY");
    expect((await importMaterial(k.KeyId, ecPkcs8(OIDS.secp256k1, scalar, point), undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")).status).toBe(200);
    const s = unb64((await ok<{ Signature: string }>("Sign", { KeyId: k.KeyId, Message: b64(msg), SigningAlgorithm: "ECDSA_SHA_256" })).Signature);
    expect(secp256k1.verify(s, msg, point, { prehash: true, lowS: false, format: "der" })).toBe(true);
    // A P-256 key offered to a secp256k1 key is refused.
    const p256 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair;
    const k2 = await external("ECC_SECG_P256K1", "SIGN_VERIFY");
    const wrong = new Uint8Array((await crypto.subtle.exportKey("pkcs8", p256.privateKey)) as ArrayBuffer);
    expect((await importMaterial(k2.KeyId, wrong, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")).body.__type).toBe("IncorrectKeyMaterialException");
  });

  // A PKCS#8 whose ECPrivateKey carries a public point must carry the scalar's. WebCrypto refuses
  // the NIST curves' mismatch; secp256k1, read by der.ts, took the scalar and ignored the point.
  const P256 = "1.2.840.10045.3.1.7";
  for (const [row, spec, curve, oidOf, point, ok200] of [
    ["another key's public point", "ECC_SECG_P256K1", secp256k1, OIDS.secp256k1, (c: typeof secp256k1) => c.getPublicKey(c.utils.randomSecretKey(), false), false],
    ["another key's public point", "ECC_NIST_P256", p256, P256, (c: typeof secp256k1) => c.getPublicKey(c.utils.randomSecretKey(), false), false],
    ["its own public point, compressed", "ECC_SECG_P256K1", secp256k1, OIDS.secp256k1, (c: typeof secp256k1, d: Uint8Array) => c.getPublicKey(d, true), true],
    ["no public point", "ECC_SECG_P256K1", secp256k1, OIDS.secp256k1, () => undefined, true],
  ] as const) {
    it(`${spec}: a PKCS#8 with ${row} is ${ok200 ? "imported" : "IncorrectKeyMaterialException"}`, async () => {
      const c = curve as unknown as typeof secp256k1;
      const scalar = c.utils.randomSecretKey();
      const q = point(c, scalar);
      const ecPrivate = sequence(tlv(0x02, new Uint8Array([1])), octetString(scalar), ...(q ? [tlv(0xa1, tlv(0x03, new Uint8Array([0]), q))] : []));
      const pkcs8 = sequence(tlv(0x02, new Uint8Array([0])), sequence(oid("1.2.840.10045.2.1"), oid(oidOf)), octetString(ecPrivate));
      const k = await external(spec, "SIGN_VERIFY");
      const r = await importMaterial(k.KeyId, pkcs8, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048");
      if (!ok200) {
        expect([r.status, r.body.__type]).toEqual([400, "IncorrectKeyMaterialException"]);
        expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
        return;
      }
      expect(r.status).toBe(200);
      expect((await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: k.KeyId })).PublicKey).toBe(b64(ecSpki(oidOf, c.getPublicKey(scalar, false))));
    });
  }

  // AWS takes asymmetric material as DER PKCS#8 PrivateKeyInfo only; the runtime's WebCrypto
  // importKey("pkcs8") also takes a bare SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey, which were
  // imported. A version 1 OneAsymmetricKey (RFC 5958) is refused for every spec, as WebCrypto
  // refuses it for the NIST curves (secp256k1's own reader took it, and bytes after it).
  const sec1 = (c: typeof secp256k1, curveOid: string) => {
    const d = c.utils.randomSecretKey();
    // As `openssl ec -outform DER` writes it: with [0] parameters and [1] public key.
    return sequence(tlv(0x02, new Uint8Array([1])), octetString(d), tlv(0xa0, oid(curveOid)), tlv(0xa1, tlv(0x03, new Uint8Array([0]), c.getPublicKey(d, false))));
  };
  const oneAsymmetricKey = (d: Uint8Array, q: Uint8Array, curveOid: string) =>
    sequence(tlv(0x02, new Uint8Array([1])), sequence(oid("1.2.840.10045.2.1"), oid(curveOid)), octetString(sequence(tlv(0x02, new Uint8Array([1])), octetString(d))), tlv(0x81, new Uint8Array([0]), q));
  for (const [row, spec, make] of [
    ["a SEC1 ECPrivateKey", "ECC_NIST_P256", async () => {
      const der = sec1(p256 as unknown as typeof secp256k1, P256);
      expect(Array.from(der.subarray(0, 5))).toEqual([0x30, 0x77, 0x02, 0x01, 0x01]); // as the review reproduced it
      return der;
    }],
    ["a SEC1 ECPrivateKey", "ECC_SECG_P256K1", async () => sec1(secp256k1, OIDS.secp256k1)],
    ["a PKCS#1 RSAPrivateKey", "RSA_2048", async () => {
      const pair = (await crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign"])) as CryptoKeyPair;
      const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
      // 30 82 LL LL | 02 01 00 | 30 0d <rsaEncryption, NULL> | 04 82 LL LL: the RSAPrivateKey follows.
      expect(Array.from(pkcs8.subarray(22, 24))).toEqual([0x04, 0x82]);
      return pkcs8.slice(26);
    }],
    ["a version 1 OneAsymmetricKey", "ECC_SECG_P256K1", async () => {
      const d = secp256k1.utils.randomSecretKey();
      return oneAsymmetricKey(d, secp256k1.getPublicKey(d, false), OIDS.secp256k1);
    }],
    ["a version 1 OneAsymmetricKey", "ECC_NIST_P256", async () => {
      const d = p256.utils.randomSecretKey();
      return oneAsymmetricKey(d, p256.getPublicKey(d, false), P256);
    }],
    ["a PrivateKeyInfo with bytes after it", "ECC_SECG_P256K1", async () => {
      const d = secp256k1.utils.randomSecretKey();
      return new Uint8Array([...ecPkcs8(OIDS.secp256k1, d, secp256k1.getPublicKey(d, false)), 0]);
    }],
  ] as const) {
    it(`${spec}: ${row} is IncorrectKeyMaterialException`, async () => {
      const k = await external(spec, "SIGN_VERIFY");
      const material = await make();
      const r = await importMaterial(k.KeyId, material, undefined, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048");
      expect([r.status, r.body.__type]).toEqual([400, "IncorrectKeyMaterialException"]);
      expect((await describeKey(k.KeyId)).KeyState).toBe("PendingImport");
    });
  }
});

describe("import authorization and audit", () => {
  it("each import operation is its own permission; another account's key is not found", async () => {
    const k = await external();
    const user = await newUser([{ Effect: "Allow", Action: ["kms:GetParametersForImport", "kms:DescribeKey"], Resource: "*" }]);
    const p = await call<Params>("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }, user);
    expect(p.status).toBe(200);
    const denied = await call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.body.ImportToken, EncryptedKeyMaterial: b64(await wrap(p.body.PublicKey, "RSAES_OAEP_SHA_256", aes256())), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }, user);
    expect([denied.status, denied.body.__type]).toEqual([400, "AccessDeniedException"]);
    const del = await call("DeleteImportedKeyMaterial", { KeyId: k.KeyId }, user);
    expect(del.body.__type).toBe("AccessDeniedException");
    // A Deny in the key policy wins over the account's root.
    await ok("PutKeyPolicy", { KeyId: k.KeyId, PolicyName: "default", Policy: doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:ImportKeyMaterial", Resource: "*" },
    ) });
    expect((await importMaterial(k.KeyId, aes256())).body.__type).toBe("AccessDeniedException");
    // Another account, even by ARN: not cross-account operations.
    const other = await newAccount();
    for (const op of ["GetParametersForImport", "DeleteImportedKeyMaterial"]) {
      const r = await call(op, { KeyId: k.Arn, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }, other);
      expect([r.status, r.body.__type], op).toEqual([400, "NotFoundException"]);
    }
  });

  it("a Deny on kms:GetParametersForImport is honoured and the denial recorded", async () => {
    const k = await external();
    const user = await newUser([
      { Effect: "Allow", Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Action: "kms:GetParametersForImport", Resource: k.Arn },
    ]);
    const r = await call("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }, user);
    expect([r.status, r.body.__type]).toEqual([400, "AccessDeniedException"]);
  });
});
