// Asymmetric, HMAC, key-agreement and KEM keys through real clients: the AWS CLI v2 (Debian's
// 2.9, with OpenSSL checking what it returns), @aws-sdk/client-kms (with node:crypto and
// @noble checking signatures, shared secrets and key pairs independently of the service), and
// boto3. What each call must return is AWS's documented behaviour:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html.
//
// AWS CLI 2.9 has no derive-shared-secret, encapsulate or decapsulate command (nor does
// Debian's botocore 1.29 know those operations); they are exercised through the SDK only.
import { describe, expect, inject, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, constants, diffieHellman, generateKeyPairSync, publicEncrypt, sign as nodeSign, verify as nodeVerify, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateKeyCommand,
  DecapsulateCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  EncapsulateCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  KMSInvalidMacException,
  KMSInvalidSignatureException,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeySpec,
  type KeyUsageType,
} from "@aws-sdk/client-kms";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { shake256 } from "@noble/hashes/sha3.js";
import { E2E, awsCliEnv, kmsClient } from "./client.js";
import { remember } from "./secrets.js";

const AWS = "/usr/bin/aws";
const OPENSSL = "/usr/bin/openssl";

const cliEnv = awsCliEnv;

/** Runs the AWS CLI; its parsed JSON output. */
function aws<T = Record<string, unknown>>(...args: string[]): T {
  return JSON.parse(execFileSync(AWS, ["--endpoint-url", inject("kmsEndpoint"), "--output", "json", "kms", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: cliEnv(),
  })) as T;
}

/** Runs the AWS CLI expecting it to fail: its exit status and stderr. */
function awsFails(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(AWS, ["--endpoint-url", inject("kmsEndpoint"), "--output", "json", "kms", ...args], { encoding: "utf8", env: cliEnv() });
  return { status: r.status, stderr: r.stderr };
}

function openssl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(OPENSSL, args, { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const b64 = (s: string) => Buffer.from(s, "base64");
const sha = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest();
const spki = (der: Uint8Array): KeyObject => createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
/** A copy of `bytes` with one bit of the byte at `at` (negative: from the end) flipped. */
function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at < 0 ? out.length + at : at]! ^= 0x01;
  return out;
}

async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("the call succeeded");
}

describe("AWS CLI v2: ECDSA, HMAC, data key pairs and RSA encryption, checked with OpenSSL", () => {
  it("ECC_NIST_P256: sign RAW and DIGEST, verify, a tampered signature, get-public-key that OpenSSL accepts", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-cli-ecc-"));
    try {
      const md = aws<{ KeyMetadata: Record<string, unknown> & { KeyId: string; Arn: string } }>("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY").KeyMetadata;
      expect(md).toMatchObject({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", SigningAlgorithms: ["ECDSA_SHA_256"], KeyState: "Enabled" });
      const described = aws<{ KeyMetadata: Record<string, unknown> }>("describe-key", "--key-id", md.KeyId).KeyMetadata;
      expect(described).toMatchObject({ KeySpec: "ECC_NIST_P256", CustomerMasterKeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", SigningAlgorithms: ["ECDSA_SHA_256"] });
      expect(described.EncryptionAlgorithms).toBeUndefined();
      expect(described.MacAlgorithms).toBeUndefined();

      const message = "cli: transfer 100 units to account 42";
      remember(message);
      const msgFile = join(dir, "msg.txt");
      writeFileSync(msgFile, message);
      const signed = aws<{ KeyId: string; Signature: string; SigningAlgorithm: string }>(
        "sign", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--message-type", "RAW", "--signing-algorithm", "ECDSA_SHA_256");
      expect(signed).toMatchObject({ KeyId: md.Arn, SigningAlgorithm: "ECDSA_SHA_256" });
      const sigFile = join(dir, "sig.bin");
      writeFileSync(sigFile, b64(signed.Signature));

      const verified = aws("verify", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--message-type", "RAW",
        "--signing-algorithm", "ECDSA_SHA_256", "--signature", `fileb://${sigFile}`);
      expect(verified).toMatchObject({ KeyId: md.Arn, SignatureValid: true, SigningAlgorithm: "ECDSA_SHA_256" });

      // The last byte is inside s: still well-formed DER, no longer a valid signature.
      const badFile = join(dir, "bad.bin");
      writeFileSync(badFile, flip(b64(signed.Signature), -1));
      const bad = awsFails("verify", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--message-type", "RAW",
        "--signing-algorithm", "ECDSA_SHA_256", "--signature", `fileb://${badFile}`);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain("(KMSInvalidSignatureException) when calling the Verify operation");

      // DIGEST: the caller's SHA-256 of the message; the signature is ECDSA over the message.
      const digestFile = join(dir, "digest.bin");
      writeFileSync(digestFile, sha("sha256", Buffer.from(message)));
      const digestSigned = aws<{ Signature: string }>("sign", "--key-id", md.Arn, "--message", `fileb://${digestFile}`,
        "--message-type", "DIGEST", "--signing-algorithm", "ECDSA_SHA_256");
      const digestSigFile = join(dir, "digest-sig.bin");
      writeFileSync(digestSigFile, b64(digestSigned.Signature));

      const pub = aws<{ KeyId: string; PublicKey: string; KeySpec: string; KeyUsage: string; SigningAlgorithms: string[] }>("get-public-key", "--key-id", md.KeyId);
      expect(pub).toMatchObject({ KeyId: md.Arn, KeySpec: "ECC_NIST_P256", CustomerMasterKeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", SigningAlgorithms: ["ECDSA_SHA_256"] });
      const derFile = join(dir, "pub.der");
      const pemFile = join(dir, "pub.pem");
      writeFileSync(derFile, b64(pub.PublicKey));
      const parsed = openssl("pkey", "-pubin", "-inform", "DER", "-in", derFile, "-noout", "-text");
      expect(parsed.status, parsed.stderr).toBe(0);
      expect(parsed.stdout).toMatch(/NIST CURVE: P-256|prime256v1/);
      expect(openssl("pkey", "-pubin", "-inform", "DER", "-in", derFile, "-out", pemFile).status).toBe(0);

      for (const sig of [sigFile, digestSigFile]) {
        const ok = openssl("dgst", "-sha256", "-verify", pemFile, "-signature", sig, msgFile);
        expect(ok.stdout.trim(), `${sig}: ${ok.stderr}`).toBe("Verified OK");
      }
      // OpenSSL is not saying yes to anything: the same signature over another message fails.
      const otherFile = join(dir, "other.txt");
      writeFileSync(otherFile, message + ".");
      const no = openssl("dgst", "-sha256", "-verify", pemFile, "-signature", sigFile, otherFile);
      expect([no.status, no.stdout.trim()]).toEqual([1, "Verification failure"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("HMAC_256: describe-key, generate-mac, verify-mac, a wrong MAC is KMSInvalidMacException", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-cli-hmac-"));
    try {
      const md = aws<{ KeyMetadata: Record<string, unknown> & { KeyId: string; Arn: string } }>("create-key", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC").KeyMetadata;
      expect(md).toMatchObject({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC", MacAlgorithms: ["HMAC_SHA_256"] });
      const described = aws<{ KeyMetadata: Record<string, unknown> }>("describe-key", "--key-id", md.Arn).KeyMetadata;
      expect(described).toMatchObject({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC", MacAlgorithms: ["HMAC_SHA_256"] });
      expect(described.SigningAlgorithms).toBeUndefined();

      const message = "cli: a message to authenticate";
      remember(message);
      const msgFile = join(dir, "msg.txt");
      writeFileSync(msgFile, message);
      const generated = aws<{ KeyId: string; Mac: string; MacAlgorithm: string }>("generate-mac", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--mac-algorithm", "HMAC_SHA_256");
      expect(generated).toMatchObject({ KeyId: md.Arn, MacAlgorithm: "HMAC_SHA_256" });
      const mac = b64(generated.Mac);
      remember(mac);
      expect(mac.length).toBe(32);
      // HMAC is deterministic: the same message gives the same MAC.
      expect(aws<{ Mac: string }>("generate-mac", "--key-id", md.Arn, "--message", `fileb://${msgFile}`, "--mac-algorithm", "HMAC_SHA_256").Mac).toBe(generated.Mac);

      const macFile = join(dir, "mac.bin");
      writeFileSync(macFile, mac);
      const verified = aws("verify-mac", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--mac-algorithm", "HMAC_SHA_256", "--mac", `fileb://${macFile}`);
      expect(verified).toEqual({ KeyId: md.Arn, MacValid: true, MacAlgorithm: "HMAC_SHA_256" });

      const wrongFile = join(dir, "wrong.bin");
      writeFileSync(wrongFile, flip(mac, 0));
      const wrong = awsFails("verify-mac", "--key-id", md.KeyId, "--message", `fileb://${msgFile}`, "--mac-algorithm", "HMAC_SHA_256", "--mac", `fileb://${wrongFile}`);
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain("(KMSInvalidMacException) when calling the VerifyMac operation");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("generate-data-key-pair(-without-plaintext) ECC_NIST_P256: OpenSSL reads the pair, decrypt returns the private key", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-cli-pair-"));
    try {
      const sym = aws<{ KeyMetadata: { KeyId: string; Arn: string } }>("create-key", "--description", "cli data key pairs").KeyMetadata;
      const pair = aws<{ KeyId: string; KeyPairSpec: string; PublicKey: string; PrivateKeyPlaintext: string; PrivateKeyCiphertextBlob: string }>(
        "generate-data-key-pair", "--key-id", sym.KeyId, "--key-pair-spec", "ECC_NIST_P256", "--encryption-context", "purpose=cli-pair");
      expect(pair).toMatchObject({ KeyId: sym.Arn, KeyPairSpec: "ECC_NIST_P256" });
      const priv = b64(pair.PrivateKeyPlaintext);
      remember(priv);
      const privFile = join(dir, "priv.der");
      writeFileSync(privFile, priv);
      const pubOfPriv = join(dir, "pub-of-priv.der");
      const converted = openssl("pkey", "-inform", "DER", "-in", privFile, "-pubout", "-outform", "DER", "-out", pubOfPriv);
      expect(converted.status, converted.stderr).toBe(0);
      expect(readFileSync(pubOfPriv).toString("base64")).toBe(pair.PublicKey);

      const blobFile = join(dir, "priv.blob");
      writeFileSync(blobFile, b64(pair.PrivateKeyCiphertextBlob));
      const back = aws<{ KeyId: string; Plaintext: string }>("decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "purpose=cli-pair");
      expect(back).toMatchObject({ KeyId: sym.Arn, Plaintext: pair.PrivateKeyPlaintext });

      const bare = aws<{ KeyId: string; KeyPairSpec: string; PublicKey: string; PrivateKeyCiphertextBlob: string; PrivateKeyPlaintext?: string }>(
        "generate-data-key-pair-without-plaintext", "--key-id", sym.Arn, "--key-pair-spec", "ECC_NIST_P256");
      expect(bare).toMatchObject({ KeyId: sym.Arn, KeyPairSpec: "ECC_NIST_P256" });
      expect(bare.PrivateKeyPlaintext).toBeUndefined();
      expect(bare.PublicKey).not.toBe(pair.PublicKey);
      writeFileSync(blobFile, b64(bare.PrivateKeyCiphertextBlob));
      const bareBack = b64(aws<{ Plaintext: string }>("decrypt", "--ciphertext-blob", `fileb://${blobFile}`).Plaintext);
      remember(bareBack);
      writeFileSync(privFile, bareBack);
      expect(openssl("pkey", "-inform", "DER", "-in", privFile, "-pubout", "-outform", "DER", "-out", pubOfPriv).status).toBe(0);
      expect(readFileSync(pubOfPriv).toString("base64")).toBe(bare.PublicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("RSA_2048 ENCRYPT_DECRYPT: OpenSSL encrypts to the public key with OAEP, the CLI decrypts", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-cli-rsa-"));
    try {
      const md = aws<{ KeyMetadata: Record<string, unknown> & { KeyId: string; Arn: string } }>("create-key", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT").KeyMetadata;
      expect(md).toMatchObject({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT", EncryptionAlgorithms: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] });
      const pub = aws<{ PublicKey: string; EncryptionAlgorithms: string[] }>("get-public-key", "--key-id", md.KeyId);
      expect(pub.EncryptionAlgorithms).toEqual(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
      const derFile = join(dir, "pub.der");
      writeFileSync(derFile, b64(pub.PublicKey));
      const plain = "cli: sealed for the RSA key";
      remember(plain);
      const plainFile = join(dir, "plain.txt");
      writeFileSync(plainFile, plain);
      for (const [alg, md_] of [["RSAES_OAEP_SHA_1", "sha1"], ["RSAES_OAEP_SHA_256", "sha256"]] as const) {
        const ctFile = join(dir, `${alg}.bin`);
        const enc = openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", derFile, "-in", plainFile, "-out", ctFile,
          "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", `rsa_oaep_md:${md_}`, "-pkeyopt", `rsa_mgf1_md:${md_}`);
        expect(enc.status, enc.stderr).toBe(0);
        const out = aws<{ KeyId: string; Plaintext: string; EncryptionAlgorithm: string }>("decrypt", "--key-id", md.KeyId, "--ciphertext-blob", `fileb://${ctFile}`, "--encryption-algorithm", alg);
        expect(out).toMatchObject({ KeyId: md.Arn, EncryptionAlgorithm: alg });
        expect(b64(out.Plaintext).toString()).toBe(plain);
      }
      // Decrypting a SHA-256 OAEP ciphertext as SHA-1 OAEP fails the padding check.
      const wrong = awsFails("decrypt", "--key-id", md.KeyId, "--ciphertext-blob", `fileb://${join(dir, "RSAES_OAEP_SHA_256.bin")}`, "--encryption-algorithm", "RSAES_OAEP_SHA_1");
      expect(wrong.stderr).toContain("(InvalidCiphertextException)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("@aws-sdk/client-kms: every key type's operations, checked with node:crypto and @noble", () => {
  const kms = kmsClient();
  const create = async (KeySpec: KeySpec, KeyUsage: KeyUsageType) => {
    const md = (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!;
    return { ...md, KeyId: md.KeyId!, Arn: md.Arn! };
  };
  const message = Buffer.from("sdk: the quick brown fox signs over the lazy dog");
  remember(message);

  it("ECC_NIST_P256: RAW and DIGEST signatures node:crypto verifies; typed KMSInvalidSignatureException", async () => {
    const key = await create("ECC_NIST_P256", "SIGN_VERIFY");
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(pub).toMatchObject({ KeyId: key.Arn, KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY", SigningAlgorithms: ["ECDSA_SHA_256"] });
    const publicKey = spki(pub.PublicKey!);
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");

    const raw = await kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, MessageType: "RAW", SigningAlgorithm: "ECDSA_SHA_256" }));
    expect(raw).toMatchObject({ KeyId: key.Arn, SigningAlgorithm: "ECDSA_SHA_256" });
    const digest = sha("sha256", message);
    const dig = await kms.send(new SignCommand({ KeyId: key.Arn, Message: digest, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" }));
    for (const s of [raw.Signature!, dig.Signature!]) {
      expect(nodeVerify("sha256", message, publicKey, s)).toBe(true);
      expect(nodeVerify("sha256", Buffer.concat([message, Buffer.from("!")]), publicKey, s)).toBe(false);
    }
    // A signature made over RAW verifies as DIGEST of the same message, and the reverse.
    const v1 = await kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: digest, MessageType: "DIGEST", Signature: raw.Signature, SigningAlgorithm: "ECDSA_SHA_256" }));
    const v2 = await kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: dig.Signature, SigningAlgorithm: "ECDSA_SHA_256" }));
    expect([v1.SignatureValid, v2.SignatureValid]).toEqual([true, true]);
    expect(v1.KeyId).toBe(key.Arn);

    // A signature node:crypto made with another key does not verify under this one.
    const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const strangers = [
      flip(raw.Signature!, -1),
      Uint8Array.from(nodeSign("sha256", message, stranger.privateKey)),
    ];
    for (const Signature of strangers) {
      const e = await rejection(kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature, SigningAlgorithm: "ECDSA_SHA_256" })));
      expect(e).toBeInstanceOf(KMSInvalidSignatureException);
      expect([e.name, e.$metadata?.httpStatusCode]).toEqual(["KMSInvalidSignatureException", 400]);
    }
    // The signed message changed: same typed error.
    const e = await rejection(kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: Buffer.from("sdk: another message"), Signature: raw.Signature, SigningAlgorithm: "ECDSA_SHA_256" })));
    expect(e.name).toBe("KMSInvalidSignatureException");
    // A DIGEST that is not 32 bytes long is a ValidationException, not a signature.
    const short = await rejection(kms.send(new SignCommand({ KeyId: key.KeyId, Message: digest.subarray(0, 31), MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" })));
    expect(short.name).toBe("ValidationException");
  });

  it("RSA_2048 SIGN_VERIFY: PSS (salt = hash length) and PKCS#1 v1.5, RAW and DIGEST, node:crypto verifies", async () => {
    const key = await create("RSA_2048", "SIGN_VERIFY");
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(pub.SigningAlgorithms).toEqual(["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]);
    const publicKey = spki(pub.PublicKey!);
    expect(publicKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });

    const cases = [
      ["RSASSA_PSS_SHA_256", "sha256", 32],
      ["RSASSA_PSS_SHA_512", "sha512", 64],
      ["RSASSA_PKCS1_V1_5_SHA_384", "sha384", 0],
    ] as const;
    for (const [SigningAlgorithm, hash, saltLength] of cases) {
      const pss = saltLength > 0;
      const check = { key: publicKey, ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength } : { padding: constants.RSA_PKCS1_PADDING }) };
      for (const MessageType of ["RAW", "DIGEST"] as const) {
        const Message = MessageType === "RAW" ? message : sha(hash, message);
        const s = await kms.send(new SignCommand({ KeyId: key.KeyId, Message, MessageType, SigningAlgorithm }));
        expect(s.Signature!.length, SigningAlgorithm).toBe(256);
        expect(nodeVerify(hash, message, check, s.Signature!), `${SigningAlgorithm} ${MessageType}`).toBe(true);
        const v = await kms.send(new VerifyCommand({ KeyId: key.KeyId, Message, MessageType, Signature: s.Signature, SigningAlgorithm }));
        expect(v).toMatchObject({ SignatureValid: true, SigningAlgorithm });
        const e = await rejection(kms.send(new VerifyCommand({ KeyId: key.KeyId, Message, MessageType, Signature: flip(s.Signature!, 128), SigningAlgorithm })));
        expect(e).toBeInstanceOf(KMSInvalidSignatureException);
      }
    }
    // A PSS signature is not a PKCS#1 v1.5 signature.
    const s = await kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: "RSASSA_PSS_SHA_256" }));
    const cross = await rejection(kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: s.Signature, SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256" })));
    expect(cross.name).toBe("KMSInvalidSignatureException");
  });

  it("ECC_SECG_P256K1 and ECC_NIST_EDWARDS25519 signatures verify outside the service", async () => {
    const k1 = await create("ECC_SECG_P256K1", "SIGN_VERIFY");
    const k1Pub = spki((await kms.send(new GetPublicKeyCommand({ KeyId: k1.KeyId }))).PublicKey!);
    expect(k1Pub.asymmetricKeyDetails?.namedCurve).toBe("secp256k1");
    const k1Sig = (await kms.send(new SignCommand({ KeyId: k1.KeyId, Message: message, SigningAlgorithm: "ECDSA_SHA_256" }))).Signature!;
    expect(nodeVerify("sha256", message, k1Pub, k1Sig)).toBe(true);

    const ed = await create("ECC_NIST_EDWARDS25519", "SIGN_VERIFY");
    const edPubOut = await kms.send(new GetPublicKeyCommand({ KeyId: ed.KeyId }));
    expect(edPubOut).toMatchObject({ KeySpec: "ECC_NIST_EDWARDS25519", SigningAlgorithms: ["ED25519_SHA_512", "ED25519_PH_SHA_512"] });
    const edPub = spki(edPubOut.PublicKey!);
    expect(edPub.asymmetricKeyType).toBe("ed25519");
    const edSig = (await kms.send(new SignCommand({ KeyId: ed.KeyId, Message: message, MessageType: "RAW", SigningAlgorithm: "ED25519_SHA_512" }))).Signature!;
    expect(edSig.length).toBe(64);
    expect(nodeVerify(null, message, edPub, edSig)).toBe(true);
    // ED25519_PH_SHA_512 takes a 64-byte DIGEST and KMS "still performs the SHA-512 prehash", so the
    // input is hashed twice (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-MessageType):
    // an RFC 8032 Ed25519ph verifier accepts the signature with those 64 bytes as its message.
    const digest = sha("sha512", message);
    const phSig = (await kms.send(new SignCommand({ KeyId: ed.KeyId, Message: digest, MessageType: "DIGEST", SigningAlgorithm: "ED25519_PH_SHA_512" }))).Signature!;
    const rawPub = Buffer.from(edPub.export({ format: "jwk" }).x!, "base64url");
    expect(ed25519ph.verify(phSig, digest, rawPub)).toBe(true);
    expect(ed25519ph.verify(phSig, message, rawPub)).toBe(false);
    const phOk = await kms.send(new VerifyCommand({ KeyId: ed.KeyId, Message: digest, MessageType: "DIGEST", Signature: phSig, SigningAlgorithm: "ED25519_PH_SHA_512" }));
    expect(phOk.SignatureValid).toBe(true);
    const e = await rejection(kms.send(new VerifyCommand({ KeyId: ed.KeyId, Message: message, MessageType: "RAW", Signature: phSig, SigningAlgorithm: "ED25519_SHA_512" })));
    expect(e.name).toBe("KMSInvalidSignatureException");
  });

  it("ML_DSA_44: RAW and EXTERNAL_MU signatures that FIPS 204 ML-DSA.Verify accepts", async () => {
    const key = await create("ML_DSA_44", "SIGN_VERIFY");
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(pub).toMatchObject({ KeySpec: "ML_DSA_44", SigningAlgorithms: ["ML_DSA_SHAKE_256"] });
    const der = Buffer.from(pub.PublicKey!);
    // SubjectPublicKeyInfo with id-ml-dsa-44 (2.16.840.1.101.3.4.3.17) and the 1312-byte key.
    expect(der.includes(Buffer.from("0609608648016503040311", "hex"))).toBe(true);
    const pk = der.subarray(der.length - 1312);
    const raw = (await kms.send(new SignCommand({ KeyId: key.KeyId, Message: message, MessageType: "RAW", SigningAlgorithm: "ML_DSA_SHAKE_256" }))).Signature!;
    expect(raw.length).toBe(2420);
    expect(ml_dsa44.verify(raw, message, pk)).toBe(true);
    // μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ 0 ‖ M, 64): pure ML-DSA with an empty context (FIPS 204 §5.2, §6.2).
    const mu = shake256(Buffer.concat([shake256(pk, { dkLen: 64 }), Buffer.from([0, 0]), message]), { dkLen: 64 });
    const ext = (await kms.send(new SignCommand({ KeyId: key.KeyId, Message: mu, MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256" }))).Signature!;
    expect(ml_dsa44.verify(ext, message, pk)).toBe(true);
    const v = await kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: mu, MessageType: "EXTERNAL_MU", Signature: raw, SigningAlgorithm: "ML_DSA_SHAKE_256" }));
    expect(v.SignatureValid).toBe(true);
    const e = await rejection(kms.send(new VerifyCommand({ KeyId: key.KeyId, Message: message, Signature: flip(raw, 100), SigningAlgorithm: "ML_DSA_SHAKE_256" })));
    expect(e).toBeInstanceOf(KMSInvalidSignatureException);
  });

  it("HMAC_384: GenerateMac / VerifyMac; typed KMSInvalidMacException", async () => {
    const key = await create("HMAC_384", "GENERATE_VERIFY_MAC");
    expect(key.MacAlgorithms).toEqual(["HMAC_SHA_384"]);
    const m = await kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_384" }));
    expect(m).toMatchObject({ KeyId: key.Arn, MacAlgorithm: "HMAC_SHA_384" });
    remember(m.Mac!);
    expect(m.Mac!.length).toBe(48);
    const other = await kms.send(new GenerateMacCommand({ KeyId: key.Arn, Message: Buffer.from("sdk: other"), MacAlgorithm: "HMAC_SHA_384" }));
    remember(other.Mac!);
    expect(Buffer.from(other.Mac!).equals(Buffer.from(m.Mac!))).toBe(false);
    // Another HMAC_384 key gives another MAC for the same message.
    const second = await create("HMAC_384", "GENERATE_VERIFY_MAC");
    const secondMac = (await kms.send(new GenerateMacCommand({ KeyId: second.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_384" }))).Mac!;
    remember(secondMac);
    expect(Buffer.from(secondMac).equals(Buffer.from(m.Mac!))).toBe(false);

    const v = await kms.send(new VerifyMacCommand({ KeyId: key.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_384", Mac: m.Mac }));
    expect(v).toMatchObject({ KeyId: key.Arn, MacValid: true, MacAlgorithm: "HMAC_SHA_384" });
    for (const [Message, Mac] of [[message, flip(m.Mac!, 47)], [message, secondMac], [Buffer.from("sdk: other"), m.Mac!], [message, m.Mac!.subarray(0, 32)]] as const) {
      const e = await rejection(kms.send(new VerifyMacCommand({ KeyId: key.KeyId, Message, MacAlgorithm: "HMAC_SHA_384", Mac })));
      expect(e).toBeInstanceOf(KMSInvalidMacException);
      expect([e.name, e.$metadata?.httpStatusCode]).toEqual(["KMSInvalidMacException", 400]);
    }
    const wrongAlg = await rejection(kms.send(new GenerateMacCommand({ KeyId: key.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_256" })));
    expect(wrongAlg.name).toBe("InvalidKeyUsageException");
  });

  it("GenerateDataKeyPair ECC_NIST_P256 and RSA_2048: usable key pairs; Decrypt gives back PrivateKeyPlaintext", async () => {
    const sym = await create("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    const EncryptionContext = { purpose: "sdk-pair" };
    for (const KeyPairSpec of ["ECC_NIST_P256", "RSA_2048"] as const) {
      const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: sym.KeyId, KeyPairSpec, EncryptionContext }));
      expect(pair).toMatchObject({ KeyId: sym.Arn, KeyPairSpec });
      remember(pair.PrivateKeyPlaintext!);
      const privateKey = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: "der", type: "pkcs8" });
      expect(createPublicKey(privateKey).export({ format: "der", type: "spki" }).toString("base64")).toBe(Buffer.from(pair.PublicKey!).toString("base64"));
      const hashAlg = "sha256";
      const localSig = nodeSign(hashAlg, message, privateKey);
      expect(nodeVerify(hashAlg, message, spki(pair.PublicKey!), localSig)).toBe(true);

      const back = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext }));
      expect(back.KeyId).toBe(sym.Arn);
      expect(Buffer.from(back.Plaintext!).equals(Buffer.from(pair.PrivateKeyPlaintext!))).toBe(true);
      const noContext = await rejection(kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob })));
      expect(noContext.name).toBe("InvalidCiphertextException");
    }
    const bare = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: sym.Arn, KeyPairSpec: "ECC_NIST_P256" }));
    expect(bare).toMatchObject({ KeyId: sym.Arn, KeyPairSpec: "ECC_NIST_P256" });
    expect((bare as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext).toBeUndefined();
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: bare.PrivateKeyCiphertextBlob }));
    const key = createPrivateKey({ key: Buffer.from(opened.Plaintext!), format: "der", type: "pkcs8" });
    expect(createPublicKey(key).export({ format: "der", type: "spki" }).equals(Buffer.from(bare.PublicKey!))).toBe(true);
  });

  it("RSA_2048 ENCRYPT_DECRYPT: node:crypto encrypts with OAEP, Decrypt opens it; Encrypt round trip", async () => {
    const key = await create("RSA_2048", "ENCRYPT_DECRYPT");
    const publicKey = spki((await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!);
    const plain = Buffer.from("sdk: for the RSA key only");
    remember(plain);
    for (const [EncryptionAlgorithm, oaepHash] of [["RSAES_OAEP_SHA_1", "sha1"], ["RSAES_OAEP_SHA_256", "sha256"]] as const) {
      const sealed = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plain);
      const out = await kms.send(new DecryptCommand({ KeyId: key.KeyId, CiphertextBlob: sealed, EncryptionAlgorithm }));
      expect(out).toMatchObject({ KeyId: key.Arn, EncryptionAlgorithm });
      expect(Buffer.from(out.Plaintext!).toString()).toBe(plain.toString());
      const enc = await kms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: plain, EncryptionAlgorithm }));
      expect(enc.CiphertextBlob!.length).toBe(256);
      const dec = await kms.send(new DecryptCommand({ KeyId: key.Arn, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm }));
      expect(Buffer.from(dec.Plaintext!).toString()).toBe(plain.toString());
    }
  });

  it("DeriveSharedSecret ECC_NIST_P256: the raw ECDH secret node:crypto derives from the other side", async () => {
    const key = await create("ECC_NIST_P256", "KEY_AGREEMENT");
    expect(key.KeyAgreementAlgorithms).toEqual(["ECDH"]);
    const kmsPub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(kmsPub).toMatchObject({ KeyUsage: "KEY_AGREEMENT", KeyAgreementAlgorithms: ["ECDH"] });
    const peer = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const PublicKey = peer.publicKey.export({ format: "der", type: "spki" });
    const out = await kms.send(new DeriveSharedSecretCommand({ KeyId: key.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey }));
    expect(out).toMatchObject({ KeyId: key.Arn, KeyAgreementAlgorithm: "ECDH", KeyOrigin: "AWS_KMS" });
    remember(out.SharedSecret!);
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: spki(kmsPub.PublicKey!) });
    remember(expected);
    expect(expected.length).toBe(32);
    expect(Buffer.from(out.SharedSecret!).toString("hex")).toBe(expected.toString("hex"));

    // Another peer, another secret; a P-384 peer key does not fit a P-256 key.
    const second = await kms.send(new DeriveSharedSecretCommand({ KeyId: key.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "der", type: "spki" }) }));
    remember(second.SharedSecret!);
    expect(Buffer.from(second.SharedSecret!).equals(Buffer.from(out.SharedSecret!))).toBe(false);
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ format: "der", type: "spki" });
    const mismatch = await rejection(kms.send(new DeriveSharedSecretCommand({ KeyId: key.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: p384 })));
    // AWS documents that the peer key must be on the same curve, not the error code: a client error, not a secret.
    expect(mismatch.$metadata?.httpStatusCode).toBe(400);
    expect(["ValidationException", "InvalidKeyUsageException"]).toContain(mismatch.name);
  });

  it("Encapsulate / Decapsulate ML_KEM_768, and a FIPS 203 encapsulation to the public key decapsulates", async () => {
    const key = await create("ML_KEM_768", "ENCAPSULATE_DECAPSULATE");
    expect(key.EncapsulationAlgorithms).toEqual(["ML_KEM"]);
    const enc = await kms.send(new EncapsulateCommand({ KeyId: key.KeyId, EncapsulationAlgorithm: "ML_KEM" }));
    expect(enc).toMatchObject({ KeyId: key.Arn, EncapsulationAlgorithm: "ML_KEM" });
    remember(enc.SharedSecret!);
    expect([enc.SharedSecret!.length, enc.SharedSecretCiphertextBlob!.length]).toEqual([32, 1088]);
    const dec = await kms.send(new DecapsulateCommand({ KeyId: key.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob }));
    expect(dec).toMatchObject({ KeyId: key.Arn, EncapsulationAlgorithm: "ML_KEM" });
    expect(Buffer.from(dec.SharedSecret!).equals(Buffer.from(enc.SharedSecret!))).toBe(true);

    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(pub).toMatchObject({ KeySpec: "ML_KEM_768", KeyUsage: "ENCAPSULATE_DECAPSULATE", EncapsulationAlgorithms: ["ML_KEM"] });
    const der = Buffer.from(pub.PublicKey!);
    // SubjectPublicKeyInfo with id-alg-ml-kem-768 (2.16.840.1.101.3.4.4.2) and the 1184-byte key.
    expect(der.includes(Buffer.from("0609608648016503040402", "hex"))).toBe(true);
    const local = ml_kem768.encapsulate(der.subarray(der.length - 1184));
    remember(local.sharedSecret);
    const opened = await kms.send(new DecapsulateCommand({ KeyId: key.Arn, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: local.cipherText }));
    remember(opened.SharedSecret!);
    expect(Buffer.from(opened.SharedSecret!).toString("hex")).toBe(Buffer.from(local.sharedSecret).toString("hex"));
    // A changed ciphertext is implicitly rejected (FIPS 203): another secret, not an error.
    const changed = await kms.send(new DecapsulateCommand({ KeyId: key.Arn, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: flip(local.cipherText, 5) }));
    remember(changed.SharedSecret!);
    expect(Buffer.from(changed.SharedSecret!).equals(Buffer.from(local.sharedSecret))).toBe(false);
  });
});

const BOTO3 = `
import base64, json, os, boto3, botocore
kms = boto3.client("kms", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id=os.environ["AKID"], aws_secret_access_key=os.environ["SECRET"])
b = lambda x: base64.b64encode(x).decode()
def code(call):
    try:
        call()
        return None
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
msg = base64.b64decode(os.environ["MESSAGE"])
out = {}
for spec, alg in (("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"), ("ECC_NIST_P256", "ECDSA_SHA_256")):
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    s = kms.sign(KeyId=key["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)
    v = kms.verify(KeyId=key["Arn"], Message=msg, MessageType="RAW", Signature=s["Signature"], SigningAlgorithm=alg)
    bad = bytearray(s["Signature"]); bad[-1] ^= 1
    out[spec] = {"arn": key["Arn"], "algorithms": key.get("SigningAlgorithms"),
                 "signature": b(s["Signature"]), "signedBy": s["KeyId"], "valid": v["SignatureValid"],
                 "publicKey": b(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"]),
                 "tampered": code(lambda: kms.verify(KeyId=key["KeyId"], Message=msg, Signature=bytes(bad), SigningAlgorithm=alg)),
                 "modelled": None}
    try:
        kms.verify(KeyId=key["KeyId"], Message=msg + b"!", Signature=s["Signature"], SigningAlgorithm=alg)
    except kms.exceptions.KMSInvalidSignatureException:
        out[spec]["modelled"] = "KMSInvalidSignatureException"
mac_key = kms.create_key(KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
m = kms.generate_mac(KeyId=mac_key["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_512")
vm = kms.verify_mac(KeyId=mac_key["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_512", Mac=m["Mac"])
out["mac"] = {"arn": mac_key["Arn"], "algorithms": mac_key.get("MacAlgorithms"), "mac": b(m["Mac"]), "valid": vm["MacValid"],
              "wrong": code(lambda: kms.verify_mac(KeyId=mac_key["KeyId"], Message=msg + b"!", MacAlgorithm="HMAC_SHA_512", Mac=m["Mac"]))}
print(json.dumps(out))
`;

describe("boto3: sign / verify and generate_mac / verify_mac", () => {
  it("Ed25519 and P-256 signatures node:crypto verifies, HMAC_512 MACs, ClientError codes", () => {
    const message = Buffer.from("boto3: sign me, then verify me");
    remember(message);
    const r = spawnSync("/usr/bin/python3", ["-c", BOTO3], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH, HOME: "/tmp", ENDPOINT: inject("kmsEndpoint"), AKID: E2E.accessKeyId, SECRET: E2E.secretAccessKey,
        AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", MESSAGE: message.toString("base64"),
      },
    });
    expect(r.status, r.stderr).toBe(0);
    type Signed = { arn: string; algorithms: string[]; signature: string; signedBy: string; valid: boolean; publicKey: string; tampered: string; modelled: string };
    const out = JSON.parse(r.stdout) as { ECC_NIST_EDWARDS25519: Signed; ECC_NIST_P256: Signed; mac: { arn: string; algorithms: string[]; mac: string; valid: boolean; wrong: string } };
    remember(b64(out.mac.mac));

    const ed = out.ECC_NIST_EDWARDS25519;
    expect(ed).toMatchObject({ algorithms: ["ED25519_SHA_512", "ED25519_PH_SHA_512"], signedBy: ed.arn, valid: true, tampered: "KMSInvalidSignatureException", modelled: "KMSInvalidSignatureException" });
    expect(nodeVerify(null, message, spki(b64(ed.publicKey)), b64(ed.signature))).toBe(true);
    const p256 = out.ECC_NIST_P256;
    expect(p256).toMatchObject({ algorithms: ["ECDSA_SHA_256"], signedBy: p256.arn, valid: true, tampered: "KMSInvalidSignatureException", modelled: "KMSInvalidSignatureException" });
    expect(nodeVerify("sha256", message, spki(b64(p256.publicKey)), b64(p256.signature))).toBe(true);

    expect(out.mac).toMatchObject({ algorithms: ["HMAC_SHA_512"], valid: true, wrong: "KMSInvalidMacException" });
    expect(b64(out.mac.mac).length).toBe(64);
  });
});
