// Asymmetric keys through the real server and the AWS SDK for JavaScript v3, checked both ways
// against implementations that share no code with EdgeKMS: node:crypto (OpenSSL 3 in Node 22),
// the Debian openssl command line (OpenSSL 3.0), and @noble/curves / @noble/post-quantum where
// neither has the algorithm (Ed25519ph, ML-DSA, ML-KEM). Public keys come from GetPublicKey as
// DER SubjectPublicKeyInfo (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html).
import { afterAll, describe, expect, inject, it } from "vitest";
import * as K from "@aws-sdk/client-kms";
import { spawnSync } from "node:child_process";
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { shake256 } from "@noble/hashes/sha3.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem1024, ml_kem512, ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E, kmsClient } from "./client.js";
import { remember } from "./secrets.js";
import { children, NIST_ALGORITHMS_OID, only, rawPublicKey } from "../support/der.js";

// An account of its own: these tests make a few hundred audit records, which stay out of the
// bootstrap account whose recent records other files read (`edgekms audit tail --limit`).
const account = await adminCall<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>(
  { endpoint: inject("kmsEndpoint"), region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey },
  "CreateAccount",
);
const kms = kmsClient("us-east-1", { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey });

// ---- helpers -----------------------------------------------------------------------------

/** Fresh random bytes that the audit scan looks for afterwards (messages and digests are caller data). */
const secretBytes = (n: number) => {
  const b = Uint8Array.from(randomBytes(n));
  remember(b);
  return b;
};
const sha = (bits: 256 | 384 | 512, data: Uint8Array) => Uint8Array.from(createHash(`sha${bits}`).update(data).digest());
const hashBits = (alg: string): 256 | 384 | 512 => (alg.endsWith("256") ? 256 : alg.endsWith("384") ? 384 : 512);
const flip = (b: Uint8Array, i = b.length >> 1) => {
  const c = Uint8Array.from(b);
  c[i]! ^= 1;
  return c;
};
const spkiKey = (der: Uint8Array) => createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
const spkiOf = (k: KeyObject) => Uint8Array.from((k.type === "private" ? createPublicKey(k) : k).export({ format: "der", type: "spki" }));
const pem = (der: Uint8Array) => `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der).toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;

async function createKey(KeySpec: K.KeySpec, KeyUsage: K.KeyUsageType): Promise<string> {
  const md = (await kms.send(new K.CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!;
  expect(md).toMatchObject({ KeySpec, KeyUsage });
  return md.KeyId!;
}
async function publicKeyOf(KeyId: string): Promise<Uint8Array> {
  const r = await kms.send(new K.GetPublicKeyCommand({ KeyId }));
  return r.PublicKey!;
}
async function kmsSign(KeyId: string, SigningAlgorithm: K.SigningAlgorithmSpec, MessageType: K.MessageType, Message: Uint8Array): Promise<Uint8Array> {
  const r = await kms.send(new K.SignCommand({ KeyId, SigningAlgorithm, MessageType, Message }));
  expect(r.SigningAlgorithm).toBe(SigningAlgorithm);
  return r.Signature!;
}
async function kmsVerify(KeyId: string, SigningAlgorithm: K.SigningAlgorithmSpec, MessageType: K.MessageType, Message: Uint8Array, Signature: Uint8Array): Promise<void> {
  const r = await kms.send(new K.VerifyCommand({ KeyId, SigningAlgorithm, MessageType, Message, Signature }));
  expect(r.SignatureValid).toBe(true);
}
/** The error a call fails with: its name and HTTP status (the SDK throws both for modeled and unmodeled errors). */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  const e = (await p.then(() => undefined, (err: unknown) => err)) as (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
  expect(e, "expected the call to fail").toBeInstanceOf(Error);
  return { name: e!.name, status: e!.$metadata?.httpStatusCode };
}

// ---- the openssl command line ------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "edgekms-interop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (data: Uint8Array | string) => {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, data);
  return path;
};
function openssl(args: string[]): { status: number | null; output: string } {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
/**
 * Whether openssl verifies a signature. RAW: `openssl dgst -<hash> -verify` with the public key
 * as PEM (Ed25519: `pkeyutl -rawin`); DIGEST: `openssl pkeyutl -verify` over the digest with the
 * SPKI as DER.
 */
function opensslVerifies(spki: Uint8Array, signature: Uint8Array, data: Uint8Array, how: { type: "RAW" | "DIGEST"; hash?: string; rsa?: "pss" | "pkcs1"; eddsa?: boolean }): boolean {
  const sig = file(signature), input = file(data);
  const rsaOpts = (flag: string) => how.rsa === "pss" ? [flag, "rsa_padding_mode:pss", flag, `rsa_pss_saltlen:${Number(how.hash!.slice(3)) / 8}`] : how.rsa === "pkcs1" ? [flag, "rsa_padding_mode:pkcs1"] : [];
  const args = how.eddsa
    ? ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", file(spki), "-rawin", "-in", input, "-sigfile", sig]
    : how.type === "RAW"
      ? ["dgst", `-${how.hash}`, "-verify", file(pem(spki)), "-signature", sig, ...rsaOpts("-sigopt"), input]
      : ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", file(spki), "-in", input, "-sigfile", sig, ...(how.hash ? ["-pkeyopt", `digest:${how.hash}`] : []), ...rsaOpts("-pkeyopt")];
  const r = openssl(args);
  const verified = /Verified OK|Signature Verified Successfully/.test(r.output);
  expect(r.status === 0, r.output).toBe(verified); // a usage error is neither
  if (r.status !== 0) expect(r.output, r.output).toMatch(/Verification failure|Signature Verification Failure/i);
  return verified;
}

// ---- 1. signatures EdgeKMS makes verify elsewhere ----------------------------------------

describe("signatures EdgeKMS makes verify with node:crypto, openssl and noble", () => {
  const RSA_ALGORITHMS = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"] as const;

  it("RSA_2048: all six algorithms, RAW and DIGEST", async () => {
    const keyId = await createKey("RSA_2048", "SIGN_VERIFY");
    const spki = await publicKeyOf(keyId);
    const pub = spkiKey(spki);
    expect(pub.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    for (const alg of RSA_ALGORITHMS) {
      const bits = hashBits(alg), hash = `sha${bits}`;
      const pss = alg.startsWith("RSASSA_PSS");
      const nodeKey = { key: pub, ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 } : { padding: constants.RSA_PKCS1_PADDING }) };
      for (const type of ["RAW", "DIGEST"] as const) {
        const m = secretBytes(300);
        const input = type === "DIGEST" ? sha(bits, m) : m;
        if (type === "DIGEST") remember(input);
        const sig = await kmsSign(keyId, alg, type, input);
        const what = `${alg} ${type}`;
        expect(sig.length, what).toBe(256);
        expect(nodeVerify(hash, m, nodeKey, sig), what).toBe(true);
        expect(nodeVerify(hash, m, nodeKey, flip(sig)), what).toBe(false);
        // Each signature through openssl both ways it is presented: the message, and its digest.
        const how = { hash, rsa: pss ? "pss" as const : "pkcs1" as const };
        expect(opensslVerifies(spki, sig, m, { ...how, type: "RAW" }), `${what}: openssl dgst`).toBe(true);
        expect(opensslVerifies(spki, sig, sha(bits, m), { ...how, type: "DIGEST" }), `${what}: openssl pkeyutl`).toBe(true);
        expect(opensslVerifies(spki, flip(sig), sha(bits, m), { ...how, type: "DIGEST" }), `${what}: openssl pkeyutl, tampered`).toBe(false);
        if (pss) {
          // The salt is as long as the hash: a verifier that insists on another length refuses it.
          expect(nodeVerify(hash, m, { ...nodeKey, saltLength: 20 }, sig), what).toBe(false);
        }
      }
    }
  });

  for (const [spec, alg, bits] of [
    ["ECC_NIST_P256", "ECDSA_SHA_256", 256],
    ["ECC_NIST_P384", "ECDSA_SHA_384", 384],
    ["ECC_NIST_P521", "ECDSA_SHA_512", 512],
    ["ECC_SECG_P256K1", "ECDSA_SHA_256", 256],
  ] as const) {
    it(`${spec}: ${alg}, RAW and DIGEST, DER signatures`, async () => {
      const keyId = await createKey(spec, "SIGN_VERIFY");
      const spki = await publicKeyOf(keyId);
      const pub = spkiKey(spki);
      expect(pub.asymmetricKeyDetails).toEqual({ namedCurve: { ECC_NIST_P256: "prime256v1", ECC_NIST_P384: "secp384r1", ECC_NIST_P521: "secp521r1", ECC_SECG_P256K1: "secp256k1" }[spec] });
      const hash = `sha${bits}`;
      for (const type of ["RAW", "DIGEST"] as const) {
        const m = secretBytes(200);
        const input = type === "DIGEST" ? sha(bits, m) : m;
        if (type === "DIGEST") remember(input);
        const sig = await kmsSign(keyId, alg, type, input);
        expect(sig[0], "a DER SEQUENCE").toBe(0x30);
        expect(nodeVerify(hash, m, { key: pub, dsaEncoding: "der" }, sig), type).toBe(true);
        expect(nodeVerify(hash, flip(m), { key: pub, dsaEncoding: "der" }, sig), type).toBe(false);
        expect(opensslVerifies(spki, sig, m, { type: "RAW", hash }), `${type}: openssl dgst`).toBe(true);
        expect(opensslVerifies(spki, sig, sha(bits, m), { type: "DIGEST" }), `${type}: openssl pkeyutl`).toBe(true);
        expect(opensslVerifies(spki, sig, flip(sha(bits, m)), { type: "DIGEST" }), `${type}: openssl pkeyutl, other digest`).toBe(false);
      }
    });
  }

  it("ECC_NIST_EDWARDS25519: Ed25519 (RAW) with node:crypto and openssl; Ed25519ph (DIGEST) with noble's ed25519ph", async () => {
    const keyId = await createKey("ECC_NIST_EDWARDS25519", "SIGN_VERIFY");
    const spki = await publicKeyOf(keyId);
    const pub = spkiKey(spki);
    expect(pub.asymmetricKeyType).toBe("ed25519");
    const m = secretBytes(500);
    const sig = await kmsSign(keyId, "ED25519_SHA_512", "RAW", m);
    expect(sig.length).toBe(64);
    expect(nodeVerify(null, m, pub, sig)).toBe(true);
    expect(nodeVerify(null, flip(m), pub, sig)).toBe(false);
    expect(opensslVerifies(spki, sig, m, { type: "RAW", eddsa: true })).toBe(true);
    expect(opensslVerifies(spki, flip(sig, 40), m, { type: "RAW", eddsa: true })).toBe(false);

    // ED25519_PH_SHA_512 with a 64-byte digest D = SHA-512(M): AWS hashes D again (PH = SHA-512),
    // so the signature is Ed25519ph whose message is D (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).
    const digest = sha(512, m);
    remember(digest);
    const ph = await kmsSign(keyId, "ED25519_PH_SHA_512", "DIGEST", digest);
    const point = Uint8Array.from(Buffer.from(pub.export({ format: "jwk" }).x!, "base64url"));
    expect(ed25519ph.verify(ph, digest, point)).toBe(true);
    expect(ed25519ph.verify(ph, flip(digest), point)).toBe(false);
    expect(ed25519ph.verify(ph, m, point), "hashed twice, not once").toBe(false);
    // Ed25519ph is not pure Ed25519 of the digest: node and openssl (pure Ed25519) refuse it.
    expect(nodeVerify(null, digest, pub, ph)).toBe(false);
    expect(opensslVerifies(spki, ph, digest, { type: "RAW", eddsa: true })).toBe(false);
    await kmsVerify(keyId, "ED25519_PH_SHA_512", "DIGEST", digest, ph);
  });

  for (const [spec, dsa, arc] of [["ML_DSA_44", ml_dsa44, 17], ["ML_DSA_65", ml_dsa65, 18], ["ML_DSA_87", ml_dsa87, 19]] as const) {
    it(`${spec}: RAW and EXTERNAL_MU signatures are pure ML-DSA signatures of the message (noble)`, async () => {
      const keyId = await createKey(spec, "SIGN_VERIFY");
      const pk = rawPublicKey(await publicKeyOf(keyId), [3, arc]);
      expect(pk.length).toBe(dsa.lengths.publicKey);
      const m = secretBytes(1000);
      const sig = await kmsSign(keyId, "ML_DSA_SHAKE_256", "RAW", m);
      expect(sig.length).toBe(dsa.lengths.signature);
      expect(dsa.verify(sig, m, pk)).toBe(true);
      expect(dsa.verify(sig, flip(m), pk)).toBe(false);
      // FIPS 204 Algorithm 2 with an empty context: μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ 0 ‖ M, 64).
      const mu = shake256(new Uint8Array([...shake256(pk, { dkLen: 64 }), 0, 0, ...m]), { dkLen: 64 });
      remember(mu);
      const viaMu = await kmsSign(keyId, "ML_DSA_SHAKE_256", "EXTERNAL_MU", mu);
      expect(dsa.verify(viaMu, m, pk)).toBe(true);
      await kmsVerify(keyId, "ML_DSA_SHAKE_256", "RAW", m, viaMu);
      await kmsVerify(keyId, "ML_DSA_SHAKE_256", "EXTERNAL_MU", mu, sig);
      expect(await failure(kmsVerify(keyId, "ML_DSA_SHAKE_256", "EXTERNAL_MU", flip(mu), sig))).toEqual({ name: "KMSInvalidSignatureException", status: 400 });
    });
  }
});

// ---- 2. signatures made elsewhere through Verify ----------------------------------------

describe("Verify judges signatures made elsewhere", () => {
  it("refuses signatures of the same message made with other key pairs (node:crypto, noble)", async () => {
    const m = secretBytes(64);
    const cases: [K.KeySpec, K.SigningAlgorithmSpec, (m: Uint8Array) => Uint8Array][] = [
      ["RSA_2048", "RSASSA_PSS_SHA_256", (x) => nodeSign("sha256", x, { key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })],
      ["ECC_NIST_P256", "ECDSA_SHA_256", (x) => nodeSign("sha256", x, { key: generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey, dsaEncoding: "der" })],
      ["ECC_SECG_P256K1", "ECDSA_SHA_256", (x) => secp256k1.sign(x, secp256k1.utils.randomSecretKey(), { format: "der" })],
      ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", (x) => nodeSign(null, x, generateKeyPairSync("ed25519").privateKey)],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", (x) => ml_dsa44.sign(x, ml_dsa44.keygen().secretKey)],
    ];
    for (const [spec, alg, foreignSign] of cases) {
      const keyId = await createKey(spec, "SIGN_VERIFY");
      const foreign = foreignSign(m);
      expect(await failure(kmsVerify(keyId, alg, "RAW", m, foreign)), spec).toEqual({ name: "KMSInvalidSignatureException", status: 400 });
      // The key's own signature of the message passes the same call.
      await kmsVerify(keyId, alg, "RAW", m, await kmsSign(keyId, alg, "RAW", m));
    }
  });

  it("accepts a RAW signature presented as DIGEST with node's digest, and the high-S twin of an ECDSA signature", async () => {
    const m = secretBytes(100);
    const digest = sha(256, m);
    remember(digest);
    for (const [spec, alg] of [["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"], ["RSA_2048", "RSASSA_PSS_SHA_256"], ["ECC_NIST_P256", "ECDSA_SHA_256"], ["ECC_SECG_P256K1", "ECDSA_SHA_256"]] as const) {
      const keyId = await createKey(spec, "SIGN_VERIFY");
      const sig = await kmsSign(keyId, alg, "RAW", m);
      await kmsVerify(keyId, alg, "DIGEST", digest, sig);
      expect(await failure(kmsVerify(keyId, alg, "DIGEST", flip(digest), sig)), spec).toEqual({ name: "KMSInvalidSignatureException", status: 400 });
      if (spec === "RSA_2048") continue;
      // (r, n − s) is the same signature to ECDSA verifiers that do not insist on low S: neither
      // AWS KMS nor OpenSSL does (https://docs.aws.amazon.com/kms/latest/developerguide/asymm-sign-verify.html).
      const n = (spec === "ECC_NIST_P256" ? p256 : secp256k1).Point.Fn.ORDER;
      const [r, s] = children(only(sig, 0x30)).map((c) => BigInt(`0x${Buffer.from(c.value).toString("hex")}`));
      const twin = derSignature(r!, n - s!);
      expect(twin).not.toEqual(sig);
      expect(nodeVerify("sha256", m, { key: spkiKey(await publicKeyOf(keyId)), dsaEncoding: "der" }, twin), spec).toBe(true);
      await kmsVerify(keyId, alg, "RAW", m, twin);
      await kmsVerify(keyId, alg, "DIGEST", digest, twin);
    }
  });
});

/** DER ECDSA-Sig-Value (RFC 3279 §2.2.3) of r and s. */
function derSignature(r: bigint, s: bigint): Uint8Array {
  const int = (v: bigint) => {
    let h = v.toString(16);
    if (h.length % 2) h = `0${h}`;
    const b = Buffer.from(h, "hex");
    const body = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Uint8Array.from(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

// ---- 3. RSA encryption -------------------------------------------------------------------

describe("RSA encryption with ciphertexts made by node:crypto", () => {
  it("RSAES_OAEP_SHA_1 / SHA_256 ciphertexts from publicEncrypt decrypt; ReEncrypt RSA → symmetric → RSA", async () => {
    const rsa = await createKey("RSA_2048", "ENCRYPT_DECRYPT");
    const sym = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const gp = await kms.send(new K.GetPublicKeyCommand({ KeyId: rsa }));
    expect(gp.EncryptionAlgorithms).toEqual(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
    const pub = spkiKey(gp.PublicKey!);
    for (const [alg, oaepHash, max] of [["RSAES_OAEP_SHA_1", "sha1", 214], ["RSAES_OAEP_SHA_256", "sha256", 190]] as const) {
      for (const length of [1, max]) {
        const plaintext = secretBytes(length);
        const ciphertext = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
        const d = await kms.send(new K.DecryptCommand({ KeyId: rsa, CiphertextBlob: ciphertext, EncryptionAlgorithm: alg }));
        expect(d.Plaintext, `${alg} ${length}`).toEqual(plaintext);
        expect(d.EncryptionAlgorithm).toBe(alg);
      }
      const plaintext = secretBytes(32);
      const ciphertext = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
      const other = alg === "RSAES_OAEP_SHA_1" ? "RSAES_OAEP_SHA_256" : "RSAES_OAEP_SHA_1";
      expect(await failure(kms.send(new K.DecryptCommand({ KeyId: rsa, CiphertextBlob: ciphertext, EncryptionAlgorithm: other }))), alg).toEqual({ name: "InvalidCiphertextException", status: 400 });
      expect(await failure(kms.send(new K.DecryptCommand({ KeyId: rsa, CiphertextBlob: flip(ciphertext), EncryptionAlgorithm: alg }))), alg).toEqual({ name: "InvalidCiphertextException", status: 400 });

      // A node-made RSA ciphertext re-encrypted under the symmetric key, and back under the RSA key.
      const toSym = await kms.send(new K.ReEncryptCommand({ CiphertextBlob: ciphertext, SourceKeyId: rsa, SourceEncryptionAlgorithm: alg, DestinationKeyId: sym }));
      expect(toSym).toMatchObject({ SourceEncryptionAlgorithm: alg, DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT" });
      expect((await kms.send(new K.DecryptCommand({ CiphertextBlob: toSym.CiphertextBlob }))).Plaintext).toEqual(plaintext);
      const back = await kms.send(new K.ReEncryptCommand({ CiphertextBlob: toSym.CiphertextBlob, DestinationKeyId: rsa, DestinationEncryptionAlgorithm: other }));
      expect(back).toMatchObject({ SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT", DestinationEncryptionAlgorithm: other });
      expect(back.CiphertextBlob!.length).toBe(256);
      expect((await kms.send(new K.DecryptCommand({ KeyId: rsa, CiphertextBlob: back.CiphertextBlob, EncryptionAlgorithm: other }))).Plaintext).toEqual(plaintext);
    }
  });
});

// ---- 4. ECDH -----------------------------------------------------------------------------

describe("DeriveSharedSecret against node:crypto's ECDH", () => {
  for (const [spec, curve, size] of [["ECC_NIST_P256", "prime256v1", 32], ["ECC_NIST_P384", "secp384r1", 48], ["ECC_NIST_P521", "secp521r1", 66]] as const) {
    it(`${spec}: the shared secret is the peer's ECDH with the KMS public key; bad peer keys are 400 ValidationException`, async () => {
      const keyId = await createKey(spec, "KEY_AGREEMENT");
      const kmsPub = spkiKey(await publicKeyOf(keyId));
      const peer = generateKeyPairSync("ec", { namedCurve: curve });
      remember(Uint8Array.from(peer.privateKey.export({ format: "der", type: "pkcs8" })));
      const r = await kms.send(new K.DeriveSharedSecretCommand({ KeyId: keyId, KeyAgreementAlgorithm: "ECDH", PublicKey: spkiOf(peer.publicKey) }));
      remember(r.SharedSecret!);
      const expected = Uint8Array.from(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPub }));
      remember(expected);
      expect(expected.length).toBe(size);
      expect(r.SharedSecret).toEqual(expected);
      expect(r.KeyAgreementAlgorithm).toBe("ECDH");

      const wrongCurve = spkiOf(generateKeyPairSync("ec", { namedCurve: curve === "prime256v1" ? "secp384r1" : "prime256v1" }).publicKey);
      const x25519 = spkiOf(generateKeyPairSync("x25519").publicKey);
      const good = spkiOf(peer.publicKey);
      const offCurve = flip(good, good.length - 1); // the point's last coordinate byte changed
      for (const [what, PublicKey] of [["wrong curve", wrongCurve], ["X25519", x25519], ["truncated DER", good.subarray(0, good.length - 10)], ["not DER", Uint8Array.from(Buffer.from("not a public key"))], ["point off the curve", offCurve]] as const) {
        expect(await failure(kms.send(new K.DeriveSharedSecretCommand({ KeyId: keyId, KeyAgreementAlgorithm: "ECDH", PublicKey }))), what).toEqual({ name: "ValidationException", status: 400 });
      }
    });
  }
});

// ---- 5. ML-KEM ---------------------------------------------------------------------------

describe("ML-KEM against @noble/post-quantum", () => {
  for (const [spec, kem, arc] of [["ML_KEM_512", ml_kem512, 1], ["ML_KEM_768", ml_kem768, 2], ["ML_KEM_1024", ml_kem1024, 3]] as const) {
    it(`${spec}: noble's encapsulation decapsulates through KMS; Encapsulate and Decapsulate agree; a short ciphertext is InvalidCiphertextException`, async () => {
      const keyId = await createKey(spec, "ENCAPSULATE_DECAPSULATE");
      const pk = rawPublicKey(await publicKeyOf(keyId), [4, arc]);
      expect(pk.length).toBe(kem.lengths.publicKey);
      const theirs = kem.encapsulate(pk);
      remember(theirs.sharedSecret);
      const d = await kms.send(new K.DecapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: theirs.cipherText }));
      remember(d.SharedSecret!);
      expect(d.SharedSecret).toEqual(theirs.sharedSecret);

      const e = await kms.send(new K.EncapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: "ML_KEM" }));
      remember(e.SharedSecret!);
      expect(e.SharedSecret!.length).toBe(32);
      expect(e.SharedSecretCiphertextBlob!.length).toBe(kem.lengths.cipherText);
      const back = await kms.send(new K.DecapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: e.SharedSecretCiphertextBlob }));
      expect(back.SharedSecret).toEqual(e.SharedSecret);

      for (const blob of [theirs.cipherText.subarray(1), new Uint8Array([...theirs.cipherText, 0])]) {
        expect(await failure(kms.send(new K.DecapsulateCommand({ KeyId: keyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: blob })))).toEqual({ name: "InvalidCiphertextException", status: 400 });
      }
    });
  }
});

// ---- 6. data key pairs -------------------------------------------------------------------

describe("GenerateDataKeyPair: the pairs load in node:crypto, openssl and noble", () => {
  /** The public key of a PKCS#8 private key, by node:crypto, openssl, or (ML-KEM seed form, RFC 9935) noble. */
  function publicKeyOfPrivate(spec: string, pkcs8: Uint8Array): Uint8Array {
    const kem = { ML_KEM_512: [ml_kem512, 1], ML_KEM_768: [ml_kem768, 2], ML_KEM_1024: [ml_kem1024, 3] }[spec] as [typeof ml_kem512, number] | undefined;
    if (kem) {
      const [version, alg, inner] = children(only(pkcs8, 0x30));
      expect([version!.tag, Array.from(version!.value)]).toEqual([0x02, [0]]);
      expect(Array.from(only(alg!.value, 0x06))).toEqual([...NIST_ALGORITHMS_OID, 4, kem[1]]);
      expect(inner!.tag).toBe(0x04);
      const seed = only(inner!.value, 0x80); // seed [0] IMPLICIT OCTET STRING (SIZE (64))
      expect(seed.length).toBe(64);
      return kem[0].keygen(seed).publicKey;
    }
    const viaNode = spkiOf(createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" }));
    const out = join(dir, `pub${files++}`);
    const r = openssl(["pkey", "-inform", "DER", "-in", file(pkcs8), "-pubout", "-outform", "DER", "-out", out]);
    expect(r.status, r.output).toBe(0);
    expect(Uint8Array.from(readFileSync(out))).toEqual(viaNode);
    return viaNode;
  }
  const spkiKeyBytes = (spec: string, spki: Uint8Array) => {
    const arc = { ML_KEM_512: 1, ML_KEM_768: 2, ML_KEM_1024: 3 }[spec];
    return arc === undefined ? spki : rawPublicKey(spki, [4, arc]);
  };

  const SPECS = ["RSA_2048", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] as const;
  for (const spec of SPECS) {
    it(`${spec}: with and without plaintext`, async () => {
      const sym = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
      const EncryptionContext = { pair: spec };
      const p = await kms.send(new K.GenerateDataKeyPairCommand({ KeyId: sym.KeyId, KeyPairSpec: spec, EncryptionContext }));
      remember(p.PrivateKeyPlaintext!);
      expect(p).toMatchObject({ KeyId: sym.Arn, KeyPairSpec: spec });
      expect(publicKeyOfPrivate(spec, p.PrivateKeyPlaintext!)).toEqual(spkiKeyBytes(spec, p.PublicKey!));
      const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: p.PrivateKeyCiphertextBlob, EncryptionContext }));
      expect(d.Plaintext).toEqual(p.PrivateKeyPlaintext);
      expect(await failure(kms.send(new K.DecryptCommand({ CiphertextBlob: p.PrivateKeyCiphertextBlob })))).toEqual({ name: "InvalidCiphertextException", status: 400 });

      const w = await kms.send(new K.GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: sym.KeyId, KeyPairSpec: spec, EncryptionContext }));
      expect(w).not.toHaveProperty("PrivateKeyPlaintext");
      expect(w).toMatchObject({ KeyId: sym.Arn, KeyPairSpec: spec });
      expect(w.PublicKey).not.toEqual(p.PublicKey);
      const wd = await kms.send(new K.DecryptCommand({ CiphertextBlob: w.PrivateKeyCiphertextBlob, EncryptionContext }));
      expect(publicKeyOfPrivate(spec, wd.Plaintext!)).toEqual(spkiKeyBytes(spec, w.PublicKey!));
    });
  }

  it("SM2 is UnsupportedOperationException, with and without plaintext", async () => {
    const sym = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    expect(await failure(kms.send(new K.GenerateDataKeyPairCommand({ KeyId: sym, KeyPairSpec: "SM2" })))).toEqual({ name: "UnsupportedOperationException", status: 400 });
    expect(await failure(kms.send(new K.GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: sym, KeyPairSpec: "SM2" })))).toEqual({ name: "UnsupportedOperationException", status: 400 });
  });
});
