// Every key type through the wire protocol, inside workerd: create, describe, use, and the
// answers AWS gives when an operation or algorithm does not fit the key.
import { describe, expect, it } from "vitest";
import { b64, call, ok, unb64 } from "./kms.js";

type Md = Record<string, unknown> & { KeyId: string; Arn: string };
const create = async (KeySpec: string, KeyUsage?: string): Promise<Md> =>
  (await ok<{ KeyMetadata: Md }>("CreateKey", { KeySpec, ...(KeyUsage ? { KeyUsage } : {}) })).KeyMetadata;
const digest = async (hash: string, data: Uint8Array) => new Uint8Array(await crypto.subtle.digest(hash, data));
const msg = new TextEncoder().encode("a message to sign");

const SIGNING: [spec: string, algorithms: string[]][] = [
  ["RSA_2048", ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]],
  ["ECC_NIST_P256", ["ECDSA_SHA_256"]],
  ["ECC_NIST_P384", ["ECDSA_SHA_384"]],
  ["ECC_NIST_P521", ["ECDSA_SHA_512"]],
  ["ECC_SECG_P256K1", ["ECDSA_SHA_256"]],
  ["ECC_NIST_EDWARDS25519", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]],
  ["ML_DSA_44", ["ML_DSA_SHAKE_256"]],
];
const hashOf = (alg: string) => (alg.endsWith("256") ? "SHA-256" : alg.endsWith("384") ? "SHA-384" : "SHA-512");

describe("signing keys", () => {
  for (const [spec, algorithms] of SIGNING) {
    it(`${spec}: sign and verify, RAW and DIGEST`, async () => {
      const md = await create(spec, "SIGN_VERIFY");
      expect(md).toMatchObject({ KeySpec: spec, KeyUsage: "SIGN_VERIFY", SigningAlgorithms: algorithms });
      expect(md.EncryptionAlgorithms).toBeUndefined();
      expect(md.CurrentKeyMaterialId).toBeUndefined();
      const pub = await ok<Record<string, unknown>>("GetPublicKey", { KeyId: md.KeyId });
      expect(pub).toMatchObject({ KeyId: md.Arn, KeySpec: spec, KeyUsage: "SIGN_VERIFY", SigningAlgorithms: algorithms });
      for (const alg of algorithms) {
        const types = alg === "ED25519_PH_SHA_512" ? ["DIGEST"] : alg === "ED25519_SHA_512" ? ["RAW"] : spec.startsWith("ML_DSA") ? ["RAW"] : ["RAW", "DIGEST"];
        for (const MessageType of types) {
          const Message = b64(MessageType === "DIGEST" ? await digest(hashOf(alg), msg) : msg);
          const s = await ok<{ Signature: string; SigningAlgorithm: string; KeyId: string }>("Sign", { KeyId: md.KeyId, Message, MessageType, SigningAlgorithm: alg });
          expect(s).toMatchObject({ SigningAlgorithm: alg, KeyId: md.Arn });
          const v = await ok("Verify", { KeyId: md.KeyId, Message, MessageType, SigningAlgorithm: alg, Signature: s.Signature });
          expect(v).toMatchObject({ SignatureValid: true, SigningAlgorithm: alg });
          const bad = unb64(s.Signature);
          bad[bad.length >> 1]! ^= 1;
          const r = await call("Verify", { KeyId: md.KeyId, Message, MessageType, SigningAlgorithm: alg, Signature: b64(bad) });
          expect([r.status, r.body.__type], `${alg} ${MessageType}`).toEqual([400, "KMSInvalidSignatureException"]);
        }
      }
    });
  }
});

describe("HMAC keys", () => {
  for (const bits of [224, 256, 384, 512]) {
    it(`HMAC_${bits}`, async () => {
      const md = await create(`HMAC_${bits}`, "GENERATE_VERIFY_MAC");
      expect(md.MacAlgorithms).toEqual([`HMAC_SHA_${bits}`]);
      const m = await ok<{ Mac: string }>("GenerateMac", { KeyId: md.KeyId, Message: b64(msg), MacAlgorithm: `HMAC_SHA_${bits}` });
      expect(unb64(m.Mac).length).toBe(bits / 8);
      expect(await ok("VerifyMac", { KeyId: md.KeyId, Message: b64(msg), MacAlgorithm: `HMAC_SHA_${bits}`, Mac: m.Mac })).toMatchObject({ MacValid: true });
      const r = await call("VerifyMac", { KeyId: md.KeyId, Message: b64("other"), MacAlgorithm: `HMAC_SHA_${bits}`, Mac: m.Mac });
      expect(r.body.__type).toBe("KMSInvalidMacException");
    });
  }
});

describe("RSA encryption, key agreement, KEM and data key pairs", () => {
  it("RSA_2048 ENCRYPT_DECRYPT round trip with both OAEP hashes", async () => {
    const md = await create("RSA_2048", "ENCRYPT_DECRYPT");
    for (const alg of ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]) {
      const e = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: md.KeyId, Plaintext: b64("secret"), EncryptionAlgorithm: alg });
      expect(unb64(e.CiphertextBlob).length).toBe(256);
      const d = await ok<{ Plaintext: string }>("Decrypt", { KeyId: md.KeyId, CiphertextBlob: e.CiphertextBlob, EncryptionAlgorithm: alg });
      expect(d.Plaintext).toBe(b64("secret"));
    }
    const noKey = await call("Decrypt", { CiphertextBlob: b64(new Uint8Array(256)), EncryptionAlgorithm: "RSAES_OAEP_SHA_256" });
    expect(noKey.body.__type).toBe("ValidationException");
  });
  it("ECDH, ML-KEM and GenerateDataKeyPair", async () => {
    const ka = await create("ECC_NIST_P256", "KEY_AGREEMENT");
    const peer = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", peer.publicKey)) as ArrayBuffer);
    const d = await ok<{ SharedSecret: string }>("DeriveSharedSecret", { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: b64(spki) });
    const pub = await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: ka.KeyId });
    const theirs = await crypto.subtle.importKey("spki", unb64(pub.PublicKey), { name: "ECDH", namedCurve: "P-256" }, false, []);
    const expected = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: theirs } as unknown as SubtleCryptoDeriveKeyAlgorithm, peer.privateKey, 256));
    expect(d.SharedSecret).toBe(b64(expected));

    const kem = await create("ML_KEM_768", "ENCAPSULATE_DECAPSULATE");
    expect(kem.EncapsulationAlgorithms).toEqual(["ML_KEM"]);
    const enc = await ok<{ SharedSecret: string; SharedSecretCiphertextBlob: string }>("Encapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM" });
    expect(unb64(enc.SharedSecretCiphertextBlob).length).toBe(1088);
    const dec = await ok<{ SharedSecret: string }>("Decapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob });
    expect(dec.SharedSecret).toBe(enc.SharedSecret);

    const sym = await create("SYMMETRIC_DEFAULT");
    for (const KeyPairSpec of ["ECC_NIST_P256", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "RSA_2048"]) {
      const p = await ok<{ PrivateKeyCiphertextBlob: string; PrivateKeyPlaintext: string; PublicKey: string }>("GenerateDataKeyPair", { KeyId: sym.KeyId, KeyPairSpec });
      const back = await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: p.PrivateKeyCiphertextBlob });
      expect(back.Plaintext).toBe(p.PrivateKeyPlaintext);
    }
  });
});

describe("mismatches", () => {
  it("refuses usage, algorithm and spec mismatches with AWS's errors", async () => {
    const sym = await create("SYMMETRIC_DEFAULT");
    const ec = await create("ECC_NIST_P256", "SIGN_VERIFY");
    const cases: [string, Record<string, unknown>, string][] = [
      ["Sign", { KeyId: sym.KeyId, Message: b64("x"), SigningAlgorithm: "ECDSA_SHA_256" }, "InvalidKeyUsageException"],
      ["Sign", { KeyId: ec.KeyId, Message: b64("x"), SigningAlgorithm: "ECDSA_SHA_384" }, "InvalidKeyUsageException"],
      ["Sign", { KeyId: ec.KeyId, Message: b64("x"), MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" }, "ValidationException"],
      ["Encrypt", { KeyId: ec.KeyId, Plaintext: b64("x") }, "InvalidKeyUsageException"],
      ["GenerateDataKey", { KeyId: ec.KeyId, KeySpec: "AES_256" }, "InvalidKeyUsageException"],
      ["GetPublicKey", { KeyId: sym.KeyId }, "UnsupportedOperationException"],
      ["EnableKeyRotation", { KeyId: ec.KeyId }, "UnsupportedOperationException"],
      ["CreateKey", { KeySpec: "ECC_NIST_P256" }, "ValidationException"],
      ["CreateKey", { KeySpec: "ECC_NIST_P256", KeyUsage: "ENCRYPT_DECRYPT" }, "ValidationException"],
      ["CreateKey", { KeyUsage: "SIGN_VERIFY" }, "ValidationException"],
      ["CreateKey", { KeySpec: "SM2", KeyUsage: "SIGN_VERIFY" }, "UnsupportedOperationException"],
    ];
    for (const [op, input, type] of cases) {
      const r = await call(op, input);
      expect([op, r.status, r.body.__type], JSON.stringify(input)).toEqual([op, 400, type]);
    }
  });
});
