// Importing key material through the real server as users do it: the AWS CLI with openssl
// wrapping the material (the steps of AWS's guide), node:crypto with the JS SDK for every
// wrapping algorithm, `edgekms import-key-material` doing the whole client side, and boto3 —
// with imported HMAC, RSA and ECC keys checked against openssl and node:crypto, and
// GetKeyLastUsage after use. Every imported secret is remembered for the audit scan.
import { describe, expect, inject, it } from "vitest";
import * as K from "@aws-sdk/client-kms";
import { execFileSync, spawnSync } from "node:child_process";
import { constants, createCipheriv, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify as nodeVerify } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E, awsCliEnv, kmsClient } from "./client.js";
import { CLI } from "./envelope-helpers.js";
import { remember } from "./secrets.js";

const endpoint = inject("kmsEndpoint");
const account = await adminCall<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>(
  { endpoint, region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey },
  "CreateAccount",
);
const creds = { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey };
const kms = kmsClient("us-east-1", creds);
const dir = mkdtempSync(join(tmpdir(), "edgekms-import-"));
const file = (name: string) => join(dir, name);

/** Key material the audit scan must never find. */
const secret = (b: Buffer): Buffer => {
  remember(Uint8Array.from(b));
  return b;
};

const aws = <T = Record<string, unknown>>(...args: string[]): T =>
  JSON.parse(execFileSync("/usr/bin/aws", ["--endpoint-url", endpoint, "--output", "json", "kms", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...awsCliEnv(), AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey },
  }) || "{}") as T;

function openssl(...args: string[]): string {
  const r = spawnSync("/usr/bin/openssl", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const createExternal = async (KeySpec = "SYMMETRIC_DEFAULT", KeyUsage?: string) =>
  (await kms.send(new K.CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: KeySpec as K.KeySpec, ...(KeyUsage ? { KeyUsage: KeyUsage as K.KeyUsageType } : {}) }))).KeyMetadata!;

/** node:crypto, as a user's script would wrap: RSAES-OAEP, or OAEP of an AES key + AES-KWP (RFC 5649). */
function wrap(publicKeyDer: Uint8Array, algorithm: string, material: Buffer): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  const oaep = (d: Buffer) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm.endsWith("SHA_1") ? "sha1" : "sha256" }, d);
  if (algorithm.startsWith("RSAES")) return oaep(material);
  const aes = randomBytes(32);
  const kwp = createCipheriv("id-aes256-wrap-pad", aes, Buffer.from("A65959A6", "hex"));
  return Buffer.concat([oaep(aes), kwp.update(material), kwp.final()]);
}

function edgekms(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: dir, AWS_ENDPOINT_URL_KMS: endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("imported key material with real clients", () => {
  it("AWS CLI + openssl, as AWS's guide does it: an HMAC key whose MACs equal openssl's", async () => {
    const key = aws<{ KeyMetadata: { KeyId: string; KeyState: string } }>("create-key", "--origin", "EXTERNAL", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC").KeyMetadata;
    expect(key.KeyState).toBe("PendingImport");
    const material = secret(randomBytes(32));
    writeFileSync(file("hmac.bin"), material);
    const p = aws<{ ImportToken: string; PublicKey: string }>("get-parameters-for-import", "--key-id", key.KeyId, "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048");
    writeFileSync(file("token.bin"), Buffer.from(p.ImportToken, "base64"));
    writeFileSync(file("wrapping.der"), Buffer.from(p.PublicKey, "base64"));
    openssl("pkeyutl", "-encrypt", "-in", file("hmac.bin"), "-out", file("hmac.enc"), "-inkey", file("wrapping.der"), "-keyform", "DER", "-pubin",
      "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256");
    aws("import-key-material", "--key-id", key.KeyId, "--encrypted-key-material", `fileb://${file("hmac.enc")}`, "--import-token", `fileb://${file("token.bin")}`,
      "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE");
    const md = aws<{ KeyMetadata: { KeyState: string; Origin: string; ExpirationModel: string } }>("describe-key", "--key-id", key.KeyId).KeyMetadata;
    expect(md).toMatchObject({ KeyState: "Enabled", Origin: "EXTERNAL", ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    const message = Buffer.from("a message for an imported HMAC key");
    const mac = (await kms.send(new K.GenerateMacCommand({ KeyId: key.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_256" }))).Mac!;
    writeFileSync(file("hmac-msg.txt"), message);
    const fromOpenssl = openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt", `hexkey:${material.toString("hex")}`, "-r", file("hmac-msg.txt")).split(" ")[0];
    expect(Buffer.from(mac).toString("hex")).toBe(fromOpenssl);
    expect(Buffer.from(mac).equals(createHmac("sha256", material).update(message).digest())).toBe(true);
  });

  it("openssl's RSA_AES_KEY_WRAP (enc -id-aes256-wrap-pad): an RSA signing key whose signatures openssl verifies", async () => {
    const key = await createExternal("RSA_2048", "SIGN_VERIFY");
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file("rsa.pem"));
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", file("rsa.pem"), "-outform", "DER", "-out", file("rsa.der"));
    secret(readFileSync(file("rsa.der")));
    const p = await kms.send(new K.GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec: "RSA_4096" }));
    writeFileSync(file("wrap4096.der"), p.PublicKey!);
    const aes = secret(randomBytes(32));
    writeFileSync(file("aes.bin"), aes);
    openssl("enc", "-id-aes256-wrap-pad", "-K", aes.toString("hex"), "-iv", "A65959A6", "-in", file("rsa.der"), "-out", file("rsa.kwp"));
    openssl("pkeyutl", "-encrypt", "-in", file("aes.bin"), "-out", file("aes.enc"), "-inkey", file("wrap4096.der"), "-keyform", "DER", "-pubin",
      "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256");
    const encrypted = Buffer.concat([readFileSync(file("aes.enc")), readFileSync(file("rsa.kwp"))]);
    await kms.send(new K.ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: encrypted, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }));
    const message = Buffer.from("signed by imported RSA material");
    writeFileSync(file("msg.txt"), message);
    const sig = (await kms.send(new K.SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256" }))).Signature!;
    writeFileSync(file("sig.bin"), sig);
    openssl("pkey", "-in", file("rsa.pem"), "-pubout", "-out", file("rsa.pub"));
    expect(openssl("dgst", "-sha256", "-verify", file("rsa.pub"), "-signature", file("sig.bin"), file("msg.txt"))).toContain("Verified OK");
    // GetPublicKey returns the imported key's public half.
    const pub = (await kms.send(new K.GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!;
    expect(Buffer.from(pub).equals(createPublicKey(readFileSync(file("rsa.pem"))).export({ type: "spki", format: "der" }))).toBe(true);
  });

  for (const algorithm of ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"] as const) {
    it(`JS SDK + node:crypto, ${algorithm}: symmetric round trip, ListKeyRotations and GetKeyLastUsage`, async () => {
      const key = await createExternal();
      const material = secret(randomBytes(32));
      const p = await kms.send(new K.GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: algorithm, WrappingKeySpec: "RSA_3072" }));
      const validTo = new Date(Date.now() + 7 * 86_400_000);
      const out = await kms.send(new K.ImportKeyMaterialCommand({
        KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p.PublicKey!, algorithm, material), ValidTo: validTo, ExpirationModel: "KEY_MATERIAL_EXPIRES",
      }));
      expect(out.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      const plaintext = secret(randomBytes(40));
      const c = await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext }));
      const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob }));
      expect(Buffer.from(d.Plaintext!).equals(plaintext)).toBe(true);
      const rotations = await kms.send(new K.ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }));
      expect(rotations.Rotations).toEqual([expect.objectContaining({ KeyMaterialId: out.KeyMaterialId, ImportState: "IMPORTED", KeyMaterialState: "CURRENT", ExpirationModel: "KEY_MATERIAL_EXPIRES" })]);
      expect(Math.abs(rotations.Rotations![0]!.ValidTo!.getTime() - validTo.getTime())).toBeLessThan(1000);
      const usage = await kms.send(new K.GetKeyLastUsageCommand({ KeyId: key.KeyId }));
      expect(usage.KeyLastUsage?.Operation).toBe("Decrypt");
      expect(usage.KeyLastUsage?.CloudTrailEventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(usage.TrackingStartDate).toBeInstanceOf(Date);
    });
  }

  it("edgekms import-key-material: an openssl EC key (SEC 1 PEM), symmetric material with expiry, and new material for an on-demand rotation", async () => {
    const ec = await createExternal("ECC_NIST_P256", "SIGN_VERIFY");
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("ec.pem"));
    secret(createPrivateKey(readFileSync(file("ec.pem"))).export({ type: "pkcs8", format: "der" }));
    let r = edgekms("import-key-material", "--key-id", ec.KeyId!, "--key-material", file("ec.pem"));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ KeyId: ec.Arn });
    const message = Buffer.from("signed by an imported EC key");
    const sig = (await kms.send(new K.SignCommand({ KeyId: ec.KeyId, Message: message, SigningAlgorithm: "ECDSA_SHA_256" }))).Signature!;
    expect(nodeVerify("sha256", message, createPublicKey(readFileSync(file("ec.pem"))), sig)).toBe(true);
    // The same file again is a reimport (named by an alias here, which the tool resolves: the
    // import operations themselves take no aliases); another key is refused with AWS's error.
    const alias = `alias/import-${Date.now()}`;
    await kms.send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: ec.KeyId }));
    r = edgekms("import-key-material", "--key-id", alias, "--key-material", file("ec.pem"), "--wrapping-algorithm", "RSA_AES_KEY_WRAP_SHA_1", "--wrapping-key-spec", "RSA_2048");
    expect(r.code, r.stderr).toBe(0);
    // A public key is not key material, said plainly.
    writeFileSync(file("ec-pub.pem"), createPublicKey(readFileSync(file("ec.pem"))).export({ type: "spki", format: "pem" }));
    r = edgekms("import-key-material", "--key-id", ec.KeyId!, "--key-material", file("ec-pub.pem"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("a public key or certificate cannot be imported");
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
    writeFileSync(file("other.pem"), other);
    r = edgekms("import-key-material", "--key-id", ec.KeyId!, "--key-material", file("other.pem"), "--wrapping-key-spec", "RSA_2048");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("IncorrectKeyMaterialException");

    const sym = await createExternal();
    const [m1, m2] = [secret(randomBytes(32)), secret(randomBytes(32))];
    writeFileSync(file("m1.bin"), m1);
    writeFileSync(file("m2.bin"), m2);
    const validTo = new Date(Date.now() + 3 * 86_400_000).toISOString();
    r = edgekms("import-key-material", "--key-id", sym.KeyId!, "--key-material", file("m1.bin"), "--valid-to", validTo, "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048");
    expect(r.code, r.stderr).toBe(0);
    const md = (await kms.send(new K.DescribeKeyCommand({ KeyId: sym.KeyId }))).KeyMetadata!;
    expect(md.ExpirationModel).toBe("KEY_MATERIAL_EXPIRES");
    expect(Math.abs(md.ValidTo!.getTime() - Date.parse(validTo))).toBeLessThan(1000);
    const before = await kms.send(new K.EncryptCommand({ KeyId: sym.KeyId, Plaintext: secret(randomBytes(8)) }));
    r = edgekms("import-key-material", "--key-id", sym.KeyId!, "--key-material", file("m2.bin"), "--import-type", "NEW_KEY_MATERIAL", "--description", "next", "--wrapping-key-spec", "RSA_2048");
    expect(r.code, r.stderr).toBe(0);
    await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: sym.KeyId }));
    const after = await kms.send(new K.EncryptCommand({ KeyId: sym.KeyId, Plaintext: secret(randomBytes(8)) }));
    const newId = JSON.parse(r.stdout).KeyMaterialId;
    expect((await kms.send(new K.DescribeKeyCommand({ KeyId: sym.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(newId);
    const [d1, d2] = [await kms.send(new K.DecryptCommand({ CiphertextBlob: before.CiphertextBlob })), await kms.send(new K.DecryptCommand({ CiphertextBlob: after.CiphertextBlob }))];
    expect(d2.KeyMaterialId).toBe(newId);
    expect(d1.KeyMaterialId).not.toBe(newId);
    expect(d1.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    // A key not made for import is refused before any material is read off the disk into a request.
    const plain = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    r = edgekms("import-key-material", "--key-id", plain.KeyId!, "--key-material", file("m1.bin"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("origin AWS_KMS");
  });

  it("boto3: import, delete (PendingImport, Decrypt refused) and reimport", async () => {
    const script = `
import boto3, base64, os, sys, json
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives import hashes, serialization
kms = boto3.client("kms", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
material = bytes.fromhex(os.environ["MATERIAL"])
def imp():
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    pub = serialization.load_der_public_key(p["PublicKey"])
    enc = pub.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"], EncryptedKeyMaterial=enc, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
imp()
blob = kms.encrypt(KeyId=key, Plaintext=b"boto3 imported")["CiphertextBlob"]
kms.delete_imported_key_material(KeyId=key)
state = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
try:
    kms.decrypt(CiphertextBlob=blob)
    refused = None
except kms.exceptions.KMSInvalidStateException as e:
    refused = "KMSInvalidStateException"
imp()
print(json.dumps({"state": state, "refused": refused, "plain": kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()}))
`;
    const material = secret(randomBytes(32));
    const r = spawnSync("python3", ["-c", script], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: dir, ENDPOINT: endpoint, MATERIAL: material.toString("hex"), AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ state: "PendingImport", refused: "KMSInvalidStateException", plain: "boto3 imported" });
  });
});
