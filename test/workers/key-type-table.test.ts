// Every key type as tables through the real Worker and vaults (SELF.fetch): operation × key kind ×
// key state, the KeyMetadata of every spec, CreateKey's KeySpec × KeyUsage matrix, and bad input
// (always an AWS-style 4xx, never a 5xx). Expected outcomes come from the rules written below
// (AWS's documentation), never from what the server answers.
//   https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
//   https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
import { beforeAll, describe, expect, it } from "vitest";
import { admin, b64, call, ok, unb64, type KmsResponse } from "./kms.js";

type State = "Enabled" | "Disabled" | "PendingDeletion" | "PendingReplicaDeletion";
type Md = Record<string, unknown> & { KeyId: string; Arn: string };
type Creds = { accessKeyId: string; secretAccessKey: string };

// PendingReplicaDeletion: a multi-Region primary key of the kind, scheduled for deletion while it has a replica.
const STATES: State[] = ["Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion"];
const OK = "ok";
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const sha = async (hash: string, data: Uint8Array) => new Uint8Array(await crypto.subtle.digest(hash, data));
const outcome = (r: KmsResponse): string => (r.status === 200 ? OK : String(r.body.__type));

/** A 4xx with AWS's error type (never a 5xx). */
function expectError(r: KmsResponse, type: string, what = ""): void {
  expect(r.status, `${what} ${JSON.stringify(r.body)}`).toBeLessThan(500);
  expect([r.status, r.body.__type], `${what} ${JSON.stringify(r.body)}`).toEqual([400, type]);
}

async function createKey(KeySpec: string, KeyUsage?: string, as?: Creds): Promise<Md> {
  return (await ok<{ KeyMetadata: Md }>("CreateKey", { KeySpec, ...(KeyUsage ? { KeyUsage } : {}) }, as ?? {})).KeyMetadata;
}

/** Keys shared by the tests of this file, made on first use (RSA_3072 and RSA_4096 once each). */
const shared = new Map<string, Promise<Md>>();
const sharedKey = (spec: string, usage?: string): Promise<Md> => {
  const id = `${spec}/${usage ?? ""}`;
  let k = shared.get(id);
  if (!k) shared.set(id, (k = createKey(spec, usage)));
  return k;
};

// ---- the rules -------------------------------------------------------------------------

/** The operations each key usage allows (besides DescribeKey and the rotation operations). */
const USAGE_OPERATIONS: Record<string, readonly string[]> = {
  ENCRYPT_DECRYPT: ["Encrypt", "Decrypt", "ReEncrypt", "ReEncrypt (as destination)"],
  SIGN_VERIFY: ["Sign", "Verify"],
  GENERATE_VERIFY_MAC: ["GenerateMac", "VerifyMac"],
  KEY_AGREEMENT: ["DeriveSharedSecret"],
  ENCAPSULATE_DECAPSULATE: ["Encapsulate", "Decapsulate"],
};
/** Data keys and data key pairs need a symmetric encryption key. */
const SYMMETRIC_ONLY = ["GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"];
/** Only symmetric encryption keys rotate; the others answer UnsupportedOperationException in any state. */
const ROTATION = ["EnableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations"];
/** Rotation operations that change the key need it Enabled; the two that read work in every state. */
const ROTATION_NEEDS_ENABLED = ["EnableKeyRotation", "RotateKeyOnDemand"];

const isSymmetric = (spec: string) => spec === "SYMMETRIC_DEFAULT";
const isHmac = (spec: string) => spec.startsWith("HMAC_");
const isAsymmetric = (spec: string) => !isSymmetric(spec) && !isHmac(spec);

/** Whether the operation fits a key of this spec and usage. */
function fits(spec: string, usage: string, op: string): boolean {
  if (op === "GetPublicKey") return isAsymmetric(spec);
  if (SYMMETRIC_ONLY.includes(op)) return isSymmetric(spec);
  return USAGE_OPERATIONS[usage]!.includes(op);
}

/**
 * The expected outcome. Cryptographic operations (and GetPublicKey) need an Enabled key: a
 * Disabled key is DisabledException and a key pending deletion KMSInvalidStateException, as the
 * key-state table lists them for every key; only an Enabled key gets as far as its usage.
 * (AWS does not document which comes first when both are wrong; EdgeKMS checks the state first.)
 */
function expected(spec: string, usage: string, op: string, state: State): string {
  if (op === "DescribeKey") return OK;
  if (ROTATION.includes(op)) {
    if (!isSymmetric(spec)) return "UnsupportedOperationException";
    if (!ROTATION_NEEDS_ENABLED.includes(op) || state === "Enabled") return OK;
    return state === "Disabled" ? "DisabledException" : "KMSInvalidStateException";
  }
  if (state === "Disabled") return "DisabledException";
  if (state === "PendingDeletion" || state === "PendingReplicaDeletion") return "KMSInvalidStateException";
  if (fits(spec, usage, op)) return OK;
  return op === "GetPublicKey" ? "UnsupportedOperationException" : "InvalidKeyUsageException";
}

/** The algorithms AWS lists for a key (only the list matching its usage). */
function algorithmsOf(spec: string, usage: string): [member: string, algorithms: string[]] {
  if (usage === "ENCRYPT_DECRYPT") return ["EncryptionAlgorithms", isSymmetric(spec) ? ["SYMMETRIC_DEFAULT"] : ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]];
  if (usage === "GENERATE_VERIFY_MAC") return ["MacAlgorithms", [`HMAC_SHA_${spec.slice(5)}`]];
  if (usage === "KEY_AGREEMENT") return ["KeyAgreementAlgorithms", ["ECDH"]];
  if (usage === "ENCAPSULATE_DECAPSULATE") return ["EncapsulationAlgorithms", ["ML_KEM"]];
  if (spec.startsWith("RSA_")) return ["SigningAlgorithms", ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]];
  if (spec === "ECC_NIST_P384") return ["SigningAlgorithms", ["ECDSA_SHA_384"]];
  if (spec === "ECC_NIST_P521") return ["SigningAlgorithms", ["ECDSA_SHA_512"]];
  if (spec === "ECC_NIST_P256" || spec === "ECC_SECG_P256K1") return ["SigningAlgorithms", ["ECDSA_SHA_256"]];
  if (spec === "ECC_NIST_EDWARDS25519") return ["SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]];
  if (spec.startsWith("ML_DSA_")) return ["SigningAlgorithms", ["ML_DSA_SHAKE_256"]];
  throw new Error(`no algorithms for ${spec} ${usage}`);
}
const ALGORITHM_LISTS = ["EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms", "EncapsulationAlgorithms"];
/** CustomerMasterKeySpec (deprecated) cannot name Ed25519, ML-DSA or ML-KEM specs. */
const hasCustomerMasterKeySpec = (spec: string) => spec !== "ECC_NIST_EDWARDS25519" && !spec.startsWith("ML_");

/** KeyMetadata of a key of this spec and usage in this state, as AWS shows it. */
function expectMetadata(md: Record<string, unknown>, spec: string, usage: string, state: State = "Enabled"): void {
  const [member, algorithms] = algorithmsOf(spec, usage);
  expect(md).toMatchObject({ KeySpec: spec, KeyUsage: usage, KeyState: state, Enabled: state === "Enabled", Origin: "AWS_KMS", KeyManager: "CUSTOMER" });
  expect([...(md[member] as string[])].sort(), member).toEqual([...algorithms].sort());
  for (const other of ALGORITHM_LISTS.filter((m) => m !== member)) expect(md[other], `${spec} ${usage} ${other}`).toBeUndefined();
  expect(md.CustomerMasterKeySpec, "CustomerMasterKeySpec").toBe(hasCustomerMasterKeySpec(spec) ? spec : undefined);
  if (isSymmetric(spec)) expect(md.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  else expect(md.CurrentKeyMaterialId, "CurrentKeyMaterialId").toBeUndefined();
}

// ---- 1. operation × key kind × key state ----------------------------------------------

interface Kind { name: string; spec: string; usage: string }
const KINDS: Kind[] = [
  { name: "SYMMETRIC_DEFAULT", spec: "SYMMETRIC_DEFAULT", usage: "ENCRYPT_DECRYPT" },
  { name: "RSA_2048 ENCRYPT_DECRYPT", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT" },
  { name: "RSA_2048 SIGN_VERIFY", spec: "RSA_2048", usage: "SIGN_VERIFY" },
  { name: "ECC_NIST_P256 SIGN_VERIFY", spec: "ECC_NIST_P256", usage: "SIGN_VERIFY" },
  { name: "ECC_NIST_P256 KEY_AGREEMENT", spec: "ECC_NIST_P256", usage: "KEY_AGREEMENT" },
  { name: "ECC_SECG_P256K1", spec: "ECC_SECG_P256K1", usage: "SIGN_VERIFY" },
  { name: "ECC_NIST_EDWARDS25519", spec: "ECC_NIST_EDWARDS25519", usage: "SIGN_VERIFY" },
  { name: "HMAC_256", spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC" },
  { name: "ML_DSA_44", spec: "ML_DSA_44", usage: "SIGN_VERIFY" },
  { name: "ML_KEM_512", spec: "ML_KEM_512", usage: "ENCAPSULATE_DECAPSULATE" },
];

/** The one signing algorithm each signing kind is asked with (another kind gets ECDSA_SHA_256). */
const SIGNING_ALGORITHM: Record<string, string> = {
  RSA_2048: "RSASSA_PSS_SHA_256",
  ECC_NIST_P256: "ECDSA_SHA_256",
  ECC_SECG_P256K1: "ECDSA_SHA_256",
  ECC_NIST_EDWARDS25519: "ED25519_SHA_512",
  ML_DSA_44: "ML_DSA_SHAKE_256",
};
const signingAlgorithm = (k: Kind) => (k.usage === "SIGN_VERIFY" ? SIGNING_ALGORITHM[k.spec]! : "ECDSA_SHA_256");
const isRsaEncryption = (k: Kind) => k.spec.startsWith("RSA_") && k.usage === "ENCRYPT_DECRYPT";

/** A key of a kind, with what its Enabled self made (ciphertexts, signature, MAC, KEM ciphertext) before it changed state. */
interface Fixture {
  kind: Kind;
  state: State;
  md: Md;
  symmetricBlob?: string;
  rsaCiphertext?: string;
  signature?: string;
  mac?: string;
  kemCiphertext?: string;
  kemSecret?: string;
}

const PLAINTEXT = b64("plaintext of the table");
const MESSAGE = b64(rand(40));
let helper: { md: Md; blob: string };
let peerSpki: string;

async function fixture(kind: Kind, state: State): Promise<Fixture> {
  const md = state === "PendingReplicaDeletion"
    ? (await ok<{ KeyMetadata: Md }>("CreateKey", { KeySpec: kind.spec, ...(isSymmetric(kind.spec) ? {} : { KeyUsage: kind.usage }), MultiRegion: true })).KeyMetadata
    : await createKey(kind.spec, kind.spec === "SYMMETRIC_DEFAULT" ? undefined : kind.usage);
  const f: Fixture = { kind, state, md };
  const KeyId = md.KeyId;
  if (kind.spec === "SYMMETRIC_DEFAULT") f.symmetricBlob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId, Plaintext: PLAINTEXT })).CiphertextBlob;
  if (isRsaEncryption(kind)) f.rsaCiphertext = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId, Plaintext: PLAINTEXT, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" })).CiphertextBlob;
  if (kind.usage === "SIGN_VERIFY") f.signature = (await ok<{ Signature: string }>("Sign", { KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(kind) })).Signature;
  if (kind.usage === "GENERATE_VERIFY_MAC") f.mac = (await ok<{ Mac: string }>("GenerateMac", { KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" })).Mac;
  if (kind.usage === "ENCAPSULATE_DECAPSULATE") {
    const e = await ok<{ SharedSecretCiphertextBlob: string; SharedSecret: string }>("Encapsulate", { KeyId, EncapsulationAlgorithm: "ML_KEM" });
    f.kemCiphertext = e.SharedSecretCiphertextBlob;
    f.kemSecret = e.SharedSecret;
  }
  if (state === "Disabled") await ok("DisableKey", { KeyId });
  if (state === "PendingDeletion") await ok("ScheduleKeyDeletion", { KeyId, PendingWindowInDays: 7 });
  if (state === "PendingReplicaDeletion") {
    await ok("ReplicateKey", { KeyId, ReplicaRegion: "us-west-2" });
    expect((await ok<{ KeyState: string }>("ScheduleKeyDeletion", { KeyId, PendingWindowInDays: 7 })).KeyState).toBe("PendingReplicaDeletion");
  }
  return f;
}

/** The request of each operation for a key of a kind: the fitting algorithm where the kind has one. */
const OPERATIONS: [op: string, target: string, input: (f: Fixture) => Record<string, unknown>][] = [
  ["Encrypt", "Encrypt", (f) => ({ KeyId: f.md.KeyId, Plaintext: PLAINTEXT, ...(isRsaEncryption(f.kind) ? { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" } : {}) })],
  ["Decrypt", "Decrypt", (f) => f.symmetricBlob
    ? { KeyId: f.md.KeyId, CiphertextBlob: f.symmetricBlob }
    : { KeyId: f.md.KeyId, CiphertextBlob: f.rsaCiphertext ?? b64(rand(256)), EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }],
  ["ReEncrypt", "ReEncrypt", (f) => f.symmetricBlob
    ? { CiphertextBlob: f.symmetricBlob, DestinationKeyId: helper.md.KeyId }
    : { CiphertextBlob: f.rsaCiphertext ?? b64(rand(256)), SourceKeyId: f.md.KeyId, SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_256", DestinationKeyId: helper.md.KeyId }],
  ["ReEncrypt (as destination)", "ReEncrypt", (f) => ({ CiphertextBlob: helper.blob, DestinationKeyId: f.md.KeyId, ...(isRsaEncryption(f.kind) ? { DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256" } : {}) })],
  ["GenerateDataKey", "GenerateDataKey", (f) => ({ KeyId: f.md.KeyId, KeySpec: "AES_256" })],
  ["GenerateDataKeyWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", (f) => ({ KeyId: f.md.KeyId, NumberOfBytes: 16 })],
  ["GenerateDataKeyPair", "GenerateDataKeyPair", (f) => ({ KeyId: f.md.KeyId, KeyPairSpec: "ECC_NIST_P256" })],
  ["GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyPairWithoutPlaintext", (f) => ({ KeyId: f.md.KeyId, KeyPairSpec: "ECC_NIST_P256" })],
  ["Sign", "Sign", (f) => ({ KeyId: f.md.KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(f.kind) })],
  ["Verify", "Verify", (f) => ({ KeyId: f.md.KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(f.kind), Signature: f.signature ?? b64(rand(72)) })],
  ["GenerateMac", "GenerateMac", (f) => ({ KeyId: f.md.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" })],
  ["VerifyMac", "VerifyMac", (f) => ({ KeyId: f.md.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256", Mac: f.mac ?? b64(rand(32)) })],
  ["DeriveSharedSecret", "DeriveSharedSecret", (f) => ({ KeyId: f.md.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peerSpki })],
  ["Encapsulate", "Encapsulate", (f) => ({ KeyId: f.md.KeyId, EncapsulationAlgorithm: "ML_KEM" })],
  ["Decapsulate", "Decapsulate", (f) => ({ KeyId: f.md.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: f.kemCiphertext ?? b64(rand(768)) })],
  ["GetPublicKey", "GetPublicKey", (f) => ({ KeyId: f.md.KeyId })],
  ["EnableKeyRotation", "EnableKeyRotation", (f) => ({ KeyId: f.md.KeyId })],
  ["GetKeyRotationStatus", "GetKeyRotationStatus", (f) => ({ KeyId: f.md.KeyId })],
  ["RotateKeyOnDemand", "RotateKeyOnDemand", (f) => ({ KeyId: f.md.KeyId })],
  ["ListKeyRotations", "ListKeyRotations", (f) => ({ KeyId: f.md.KeyId })],
  ["DescribeKey", "DescribeKey", (f) => ({ KeyId: f.md.KeyId })],
];

/** What a successful answer must say, beyond its status. */
function checkSuccess(op: string, f: Fixture, body: Record<string, unknown>): void {
  const arn = f.md.Arn;
  switch (op) {
    case "Decrypt":
      expect(body).toMatchObject({ KeyId: arn, Plaintext: PLAINTEXT });
      break;
    case "ReEncrypt":
      expect(body.SourceKeyId).toBe(arn);
      break;
    case "ReEncrypt (as destination)":
      expect(body.KeyId).toBe(arn);
      break;
    case "Verify":
      expect(body).toMatchObject({ KeyId: arn, SignatureValid: true });
      break;
    case "VerifyMac":
      expect(body).toMatchObject({ KeyId: arn, MacValid: true });
      break;
    case "Decapsulate":
      expect(body).toMatchObject({ KeyId: arn, SharedSecret: f.kemSecret });
      break;
    case "GetPublicKey":
      expect(body).toMatchObject({ KeyId: arn, KeySpec: f.kind.spec, KeyUsage: f.kind.usage });
      break;
    case "DescribeKey":
      expectMetadata(body.KeyMetadata as Record<string, unknown>, f.kind.spec, f.kind.usage, f.state);
      break;
    case "GetKeyRotationStatus":
    case "EnableKeyRotation":
    case "ListKeyRotations":
      break;
    default:
      expect(body.KeyId).toBe(arn);
  }
}

describe("operation × key kind × key state", () => {
  const fixtures = new Map<string, Fixture>();
  beforeAll(async () => {
    const peer = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
    peerSpki = b64(new Uint8Array((await crypto.subtle.exportKey("spki", peer.publicKey)) as ArrayBuffer));
    const md = await createKey("SYMMETRIC_DEFAULT");
    helper = { md, blob: (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: md.KeyId, Plaintext: PLAINTEXT })).CiphertextBlob };
    const all = await Promise.all(STATES.flatMap((state) => KINDS.map((kind) => fixture(kind, state))));
    for (const f of all) fixtures.set(`${f.kind.name}/${f.state}`, f);
  });

  for (const state of STATES) {
    const rows = KINDS.flatMap((kind) => OPERATIONS.map(([op, target, input]) => ({ kind, op, target, input, want: expected(kind.spec, kind.usage, op, state) })));
    it.concurrent.each(rows)(`$kind.name: $op on a key in state ${state} → $want`, async ({ kind, op, target, input, want }) => {
      const f = fixtures.get(`${kind.name}/${state}`)!;
      const r = await call(target, input(f));
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
      expect(outcome(r), JSON.stringify(r.body)).toBe(want);
      if (want === OK) checkSuccess(op, f, r.body);
      else expect(r.status).toBe(400);
    });
  }
});

// ---- 2. KeyMetadata, lists, aliases, tags and deletion for every kind ----------------

describe("the new kinds in DescribeKey, ListKeys, ListAliases, tags and deletion", () => {
  const newAccount = async (): Promise<Creds & { account: string }> => {
    const r = (await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount", {})).body;
    return { account: r.AccountId, accessKeyId: r.AccessKeyId, secretAccessKey: r.SecretAccessKey };
  };

  it("DescribeKey, GetPublicKey and ListKeys show each kind as AWS does", async () => {
    const acct = await newAccount();
    const keys = await Promise.all(KINDS.map(async (k) => ({ kind: k, md: await createKey(k.spec, isSymmetric(k.spec) ? undefined : k.usage, acct) })));
    for (const { kind, md } of keys) {
      expectMetadata(md, kind.spec, kind.usage);
      const described = (await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: md.KeyId }, acct)).KeyMetadata;
      expect(described, kind.name).toEqual(md);
      if (isAsymmetric(kind.spec)) {
        const [member, algorithms] = algorithmsOf(kind.spec, kind.usage);
        const pub = await ok<Record<string, unknown> & { PublicKey: string }>("GetPublicKey", { KeyId: md.Arn }, acct);
        expect(pub, kind.name).toMatchObject({ KeyId: md.Arn, KeySpec: kind.spec, KeyUsage: kind.usage });
        expect([...(pub[member] as string[])].sort()).toEqual([...algorithms].sort());
        for (const other of ALGORITHM_LISTS.filter((m) => m !== member)) expect(pub[other], `${kind.name} ${other}`).toBeUndefined();
        expect(pub.CustomerMasterKeySpec).toBe(hasCustomerMasterKeySpec(kind.spec) ? kind.spec : undefined);
        // DER SubjectPublicKeyInfo: a SEQUENCE.
        expect(unb64(pub.PublicKey)[0], kind.name).toBe(0x30);
      }
    }
    const listed = await ok<{ Keys: { KeyId: string; KeyArn: string }[]; Truncated: boolean }>("ListKeys", { Limit: 1000 }, acct);
    expect(listed.Truncated).toBe(false);
    expect(listed.Keys.map((k) => k.KeyId).sort()).toEqual(keys.map((k) => k.md.KeyId).sort());
    for (const { md } of keys) expect(listed.Keys).toContainEqual({ KeyId: md.KeyId, KeyArn: md.Arn });
  });

  it("an alias names an asymmetric key: ListAliases, DescribeKey, Sign and GetPublicKey through it", async () => {
    const sign = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
    const alias = `alias/signer-${crypto.randomUUID()}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: sign.KeyId });
    const aliases = await ok<{ Aliases: { AliasName: string; TargetKeyId: string; AliasArn: string }[] }>("ListAliases", { KeyId: sign.KeyId });
    expect(aliases.Aliases).toHaveLength(1);
    expect(aliases.Aliases[0]).toMatchObject({ AliasName: alias, TargetKeyId: sign.KeyId, AliasArn: sign.Arn.replace(/key\/.*/, alias) });
    expect((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: alias })).KeyMetadata.KeyId).toBe(sign.KeyId);
    const s = await ok<{ KeyId: string; Signature: string }>("Sign", { KeyId: alias, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_256" });
    expect(s.KeyId).toBe(sign.Arn);
    expect(await ok("Verify", { KeyId: sign.KeyId, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_256", Signature: s.Signature })).toMatchObject({ SignatureValid: true });
    expect((await ok<{ KeyId: string }>("GetPublicKey", { KeyId: alias })).KeyId).toBe(sign.Arn);
  });

  it("UpdateAlias refuses a new target of another type or usage (a signing key's alias cannot move to a symmetric key)", async () => {
    const sign = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
    const alias = `alias/sv-${crypto.randomUUID()}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: sign.KeyId });
    const others = await Promise.all([createKey("SYMMETRIC_DEFAULT"), createKey("HMAC_256", "GENERATE_VERIFY_MAC"), createKey("ECC_NIST_P256", "KEY_AGREEMENT"), createKey("ML_KEM_512", "ENCAPSULATE_DECAPSULATE")]);
    for (const target of others) {
      const r = await call("UpdateAlias", { AliasName: alias, TargetKeyId: target.KeyId });
      expect(r.status, `${target.KeySpec} ${target.KeyUsage}`).toBe(400);
      expect(r.body.__type).toBeTypeOf("string");
    }
    // Still the signing key's; a signing key of the same spec is a valid new target.
    expect((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: alias })).KeyMetadata.KeyId).toBe(sign.KeyId);
    const same = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
    await ok("UpdateAlias", { AliasName: alias, TargetKeyId: same.KeyId });
    expect((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: alias })).KeyMetadata.KeyId).toBe(same.KeyId);
  });

  it("UpdateAlias allows a new target of the same type and usage but another spec (https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html)", async () => {
    // "The current and new KMS key must be the same type (both symmetric or both asymmetric or
    // both HMAC), and they must have the same key usage."
    const pairs: [string, string, string, string][] = [
      ["ECC_NIST_P256", "SIGN_VERIFY", "ECC_NIST_EDWARDS25519", "SIGN_VERIFY"],
      ["HMAC_256", "GENERATE_VERIFY_MAC", "HMAC_512", "GENERATE_VERIFY_MAC"],
    ];
    for (const [fromSpec, fromUsage, toSpec, toUsage] of pairs) {
      const from = await createKey(fromSpec, fromUsage);
      const to = await createKey(toSpec, toUsage);
      const alias = `alias/same-type-${crypto.randomUUID()}`;
      await ok("CreateAlias", { AliasName: alias, TargetKeyId: from.KeyId });
      const r = await call("UpdateAlias", { AliasName: alias, TargetKeyId: to.KeyId });
      expect(r.status, `${fromSpec} → ${toSpec}: ${JSON.stringify(r.body)}`).toBe(200);
    }
  });

  it("TagResource, ListResourceTags, ScheduleKeyDeletion and CancelKeyDeletion on every kind", async () => {
    const keys = await Promise.all(KINDS.map(async (k) => ({ kind: k, md: await createKey(k.spec, isSymmetric(k.spec) ? undefined : k.usage) })));
    for (const { kind, md } of keys) {
      const tag = { TagKey: "kind", TagValue: kind.name };
      await ok("TagResource", { KeyId: md.KeyId, Tags: [tag] });
      expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: md.KeyId })).Tags, kind.name).toEqual([tag]);
      const scheduled = await ok<{ KeyId: string; KeyState: string; PendingWindowInDays: number; DeletionDate: number }>("ScheduleKeyDeletion", { KeyId: md.KeyId, PendingWindowInDays: 7 });
      expect(scheduled, kind.name).toMatchObject({ KeyId: md.Arn, KeyState: "PendingDeletion", PendingWindowInDays: 7 });
      const pending = (await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: md.KeyId })).KeyMetadata;
      expectMetadata(pending, kind.spec, kind.usage, "PendingDeletion");
      expect(pending.DeletionDate).toBe(scheduled.DeletionDate);
      expect((await ok<{ KeyId: string }>("CancelKeyDeletion", { KeyId: md.KeyId })).KeyId).toBe(md.Arn);
      expectMetadata((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: md.KeyId })).KeyMetadata, kind.spec, kind.usage, "Disabled");
      await ok("EnableKey", { KeyId: md.KeyId });
      // Usable again, tags kept.
      const use = OPERATIONS.find(([op]) => fits(kind.spec, kind.usage, op) && op !== "Decrypt" && op !== "ReEncrypt" && op !== "Verify" && op !== "VerifyMac" && op !== "Decapsulate")!;
      const r = await call(use[1], use[2]({ kind, state: "Enabled", md }));
      expect([use[0], r.status], `${kind.name} ${JSON.stringify(r.body)}`).toEqual([use[0], 200]);
      expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: md.KeyId })).Tags).toEqual([tag]);
    }
  });
});

// ---- 3. CreateKey: KeySpec × KeyUsage --------------------------------------------------

/** The usages each spec can be created with (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html). */
const SPEC_USAGES: Record<string, readonly string[]> = {
  SYMMETRIC_DEFAULT: ["ENCRYPT_DECRYPT"],
  RSA_2048: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
  RSA_3072: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
  RSA_4096: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
  ECC_NIST_P256: ["SIGN_VERIFY", "KEY_AGREEMENT"],
  ECC_NIST_P384: ["SIGN_VERIFY", "KEY_AGREEMENT"],
  ECC_NIST_P521: ["SIGN_VERIFY", "KEY_AGREEMENT"],
  ECC_SECG_P256K1: ["SIGN_VERIFY"],
  ECC_NIST_EDWARDS25519: ["SIGN_VERIFY"],
  HMAC_224: ["GENERATE_VERIFY_MAC"],
  HMAC_256: ["GENERATE_VERIFY_MAC"],
  HMAC_384: ["GENERATE_VERIFY_MAC"],
  HMAC_512: ["GENERATE_VERIFY_MAC"],
  ML_DSA_44: ["SIGN_VERIFY"],
  ML_DSA_65: ["SIGN_VERIFY"],
  ML_DSA_87: ["SIGN_VERIFY"],
  ML_KEM_512: ["ENCAPSULATE_DECAPSULATE"],
  ML_KEM_768: ["ENCAPSULATE_DECAPSULATE"],
  ML_KEM_1024: ["ENCAPSULATE_DECAPSULATE"],
};
const USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"];
/** RSA_3072 and RSA_4096 keys are slow to make: each is made once, with the usage the bad-input tests use. */
const NOT_MADE = new Set(["RSA_3072/SIGN_VERIFY", "RSA_4096/ENCRYPT_DECRYPT"]);

/** CreateKey's answer for a spec and (possibly omitted) usage: success, or [type, message]. */
function createOutcome(spec: string, usage: string | undefined): typeof OK | [string, string] {
  if (spec === "SYMMETRIC_DEFAULT") {
    return usage === undefined || usage === "ENCRYPT_DECRYPT"
      ? OK
      : ["ValidationException", `The operation failed because the KeyUsage value of the CMK is ${usage}. To perform this operation, the KeyUsage value must be ENCRYPT_DECRYPT.`];
  }
  if (usage === undefined) return ["ValidationException", `You must specify a KeyUsage value for ${isHmac(spec) ? "an HMAC" : "an asymmetric"} CMK.`];
  return SPEC_USAGES[spec]!.includes(usage) ? OK : ["ValidationException", `KeyUsage ${usage} is not compatible with KeySpec ${spec}`];
}

describe("CreateKey KeySpec × KeyUsage", () => {
  const rows = Object.keys(SPEC_USAGES).flatMap((spec) => [...USAGES, undefined].map((usage) => ({ spec, usage: usage ?? "(omitted)", want: createOutcome(spec, usage) })))
    .filter((r) => !NOT_MADE.has(`${r.spec}/${r.usage}`));
  it.each(rows)("$spec with KeyUsage $usage", async ({ spec, usage, want }) => {
    const KeyUsage = usage === "(omitted)" ? undefined : usage;
    if (want === OK) {
      const md = spec.startsWith("RSA_") && spec !== "RSA_2048"
        ? await sharedKey(spec, KeyUsage)
        : (await ok<{ KeyMetadata: Md }>("CreateKey", { KeySpec: spec, ...(KeyUsage ? { KeyUsage } : {}) })).KeyMetadata;
      expectMetadata(md, spec, KeyUsage ?? "ENCRYPT_DECRYPT");
      expect((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: md.KeyId })).KeyMetadata).toEqual(md);
    } else {
      const r = await call("CreateKey", { KeySpec: spec, ...(KeyUsage ? { KeyUsage } : {}) });
      expectError(r, want[0]);
      expect(r.body.message).toBe(want[1]);
    }
  });

  it("omitting both makes a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key; a KeyUsage alone must be ENCRYPT_DECRYPT", async () => {
    expectMetadata((await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    expectMetadata((await ok<{ KeyMetadata: Md }>("CreateKey", { KeyUsage: "ENCRYPT_DECRYPT" })).KeyMetadata, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    for (const usage of USAGES.filter((u) => u !== "ENCRYPT_DECRYPT")) {
      const r = await call("CreateKey", { KeyUsage: usage });
      expectError(r, "ValidationException", usage);
      expect(r.body.message).toBe((createOutcome("SYMMETRIC_DEFAULT", usage) as [string, string])[1]);
    }
  });

  it("SM2 is UnsupportedOperationException with any usage; unknown specs and usages are ValidationException", async () => {
    for (const usage of [...USAGES, undefined]) expectError(await call("CreateKey", { KeySpec: "SM2", ...(usage ? { KeyUsage: usage } : {}) }), "UnsupportedOperationException", `SM2 ${usage}`);
    expectError(await call("CreateKey", { CustomerMasterKeySpec: "SM2", KeyUsage: "SIGN_VERIFY" }), "UnsupportedOperationException");
    expectError(await call("CreateKey", { KeySpec: "AES_256" }), "ValidationException");
    expectError(await call("CreateKey", { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN" }), "ValidationException");
  });

  it("CustomerMasterKeySpec is KeySpec's deprecated alias, for the specs it can name", async () => {
    for (const [spec, usage] of [["SYMMETRIC_DEFAULT", undefined], ["ECC_NIST_P256", "SIGN_VERIFY"], ["ECC_SECG_P256K1", "SIGN_VERIFY"], ["HMAC_384", "GENERATE_VERIFY_MAC"], ["ECC_NIST_P384", "KEY_AGREEMENT"]] as const) {
      const md = (await ok<{ KeyMetadata: Md }>("CreateKey", { CustomerMasterKeySpec: spec, ...(usage ? { KeyUsage: usage } : {}) })).KeyMetadata;
      expectMetadata(md, spec, usage ?? "ENCRYPT_DECRYPT");
    }
    // Its checks are KeySpec's.
    const bad = await call("CreateKey", { CustomerMasterKeySpec: "ECC_NIST_P256", KeyUsage: "ENCRYPT_DECRYPT" });
    expectError(bad, "ValidationException");
    expect(bad.body.message).toBe("KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256");
    expect((await call("CreateKey", { CustomerMasterKeySpec: "HMAC_256" })).body.message).toBe("You must specify a KeyUsage value for an HMAC CMK.");
    // Not a value of the CustomerMasterKeySpec enum, and not together with KeySpec.
    for (const spec of ["ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_KEM_512"]) expectError(await call("CreateKey", { CustomerMasterKeySpec: spec, KeyUsage: "SIGN_VERIFY" }), "ValidationException", spec);
    expectError(await call("CreateKey", { KeySpec: "ECC_NIST_P256", CustomerMasterKeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }), "ValidationException");
  });
});

// ---- 4. bad input: a 4xx, never a 5xx -------------------------------------------------

const spkiOf = async (algorithm: { name: string; namedCurve?: string }): Promise<Uint8Array> => {
  const pair = (await crypto.subtle.generateKey(algorithm, true, algorithm.name === "ECDH" ? ["deriveBits"] : ["sign", "verify"])) as CryptoKeyPair;
  return new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
};

describe("bad input", () => {
  it("DeriveSharedSecret with a peer key that is not a P-256 public key in DER SubjectPublicKeyInfo", async () => {
    const ka = await sharedKey("ECC_NIST_P256", "KEY_AGREEMENT");
    const p256 = await spkiOf({ name: "ECDH", namedCurve: "P-256" });
    // The same key with a point that is not on the curve (y + 1).
    const offCurve = p256.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    // The P-256 key's SubjectPublicKeyInfo with the secp256k1 OID instead (same length).
    const secp256k1Oid = new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]);
    const wrongCurve = new Uint8Array([0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, ...secp256k1Oid, 0x03, 0x42, ...p256.slice(-66)]);
    const cases: [string, string][] = [
      ["malformed DER", b64(new Uint8Array([0x30, 0x82, 0x01, 0x00, 0x02, 0x01]))],
      ["a P-384 public key", b64(await spkiOf({ name: "ECDH", namedCurve: "P-384" }))],
      ["a P-521 public key", b64(await spkiOf({ name: "ECDH", namedCurve: "P-521" }))],
      ["an Ed25519 public key", b64(await spkiOf({ name: "Ed25519" }))],
      ["a P-256 point off the curve", b64(offCurve)],
      ["a secp256k1 OID", b64(wrongCurve)],
      ["the raw uncompressed point, without SubjectPublicKeyInfo", b64(p256.slice(-65))],
      ["garbage", b64(rand(91))],
      ["one byte", b64(new Uint8Array([0x30]))],
      ["empty", ""],
      ["not base64", "!!!not base64!!!"],
    ];
    for (const [what, PublicKey] of cases) {
      const r = await call("DeriveSharedSecret", { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey });
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
      if (what !== "not base64") expectError(r, "ValidationException", what);
      else expect(r.status, what).toBe(400);
    }
    // A genuine one still works.
    expect((await call("DeriveSharedSecret", { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: b64(p256) })).status).toBe(200);
  });

  it("DIGEST messages of the wrong length, for every signing kind", async () => {
    const cases: [spec: string, algorithm: string, right: number][] = [
      ["RSA_2048", "RSASSA_PSS_SHA_256", 32], ["RSA_2048", "RSASSA_PSS_SHA_384", 48], ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", 64],
      ["ECC_NIST_P256", "ECDSA_SHA_256", 32], ["ECC_NIST_P384", "ECDSA_SHA_384", 48], ["ECC_NIST_P521", "ECDSA_SHA_512", 64],
      ["ECC_SECG_P256K1", "ECDSA_SHA_256", 32], ["ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", 64],
    ];
    for (const [spec, SigningAlgorithm, right] of cases) {
      const key = await sharedKey(spec, "SIGN_VERIFY");
      for (const n of [1, right - 1, right + 1, right === 32 ? 48 : 32]) {
        const base = { KeyId: key.KeyId, MessageType: "DIGEST", SigningAlgorithm, Message: b64(rand(n)) };
        expectError(await call("Sign", base), "ValidationException", `Sign ${spec} ${SigningAlgorithm} ${n}`);
        expectError(await call("Verify", { ...base, Signature: b64(rand(64)) }), "ValidationException", `Verify ${spec} ${SigningAlgorithm} ${n}`);
      }
      // The right length signs.
      expect((await call("Sign", { KeyId: key.KeyId, MessageType: "DIGEST", SigningAlgorithm, Message: b64(rand(right)) })).status, `${spec} ${SigningAlgorithm}`).toBe(200);
    }
  });

  it("MessageTypes an algorithm does not take: EXTERNAL_MU off ML-DSA, wrong-length μ, RAW Ed25519ph, DIGEST Ed25519 and ML-DSA", async () => {
    const cases: [spec: string, algorithm: string, messageType: string, length: number][] = [
      ["RSA_2048", "RSASSA_PSS_SHA_256", "EXTERNAL_MU", 64],
      ["ECC_NIST_P256", "ECDSA_SHA_256", "EXTERNAL_MU", 64],
      ["ECC_SECG_P256K1", "ECDSA_SHA_256", "EXTERNAL_MU", 64],
      ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "EXTERNAL_MU", 64],
      ["ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "EXTERNAL_MU", 64],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 63],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 65],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 32],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "DIGEST", 64],
      ["ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "RAW", 64],
      ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "DIGEST", 64],
    ];
    for (const [spec, SigningAlgorithm, MessageType, n] of cases) {
      const key = await sharedKey(spec, "SIGN_VERIFY");
      const base = { KeyId: key.KeyId, MessageType, SigningAlgorithm, Message: b64(rand(n)) };
      expectError(await call("Sign", base), "ValidationException", `Sign ${spec} ${SigningAlgorithm} ${MessageType} ${n}`);
      expectError(await call("Verify", { ...base, Signature: b64(rand(64)) }), "ValidationException", `Verify ${spec} ${SigningAlgorithm} ${MessageType} ${n}`);
    }
    // A 64-byte μ signs and verifies on ML-DSA.
    const mldsa = await sharedKey("ML_DSA_44", "SIGN_VERIFY");
    const mu = b64(rand(64));
    const s = await ok<{ Signature: string }>("Sign", { KeyId: mldsa.KeyId, MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256", Message: mu });
    expect(await ok("Verify", { KeyId: mldsa.KeyId, MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256", Message: mu, Signature: s.Signature })).toMatchObject({ SignatureValid: true });
  });

  it("oversize Message, Signature and Mac, unknown enums", async () => {
    const ec = await sharedKey("ECC_NIST_P256", "SIGN_VERIFY");
    const hmac = await sharedKey("HMAC_256", "GENERATE_VERIFY_MAC");
    const ka = await sharedKey("ECC_NIST_P256", "KEY_AGREEMENT");
    const kem = await sharedKey("ML_KEM_512", "ENCAPSULATE_DECAPSULATE");
    const sym = await sharedKey("SYMMETRIC_DEFAULT");
    const big = b64(rand(4097));
    const sig = { KeyId: ec.KeyId, SigningAlgorithm: "ECDSA_SHA_256" };
    const mac = { KeyId: hmac.KeyId, MacAlgorithm: "HMAC_SHA_256" };
    const cases: [string, Record<string, unknown>][] = [
      ["Sign", { ...sig, Message: big }],
      ["Verify", { ...sig, Message: big, Signature: b64(rand(70)) }],
      ["Verify", { ...sig, Message: MESSAGE, Signature: b64(rand(6145)) }],
      ["GenerateMac", { ...mac, Message: big }],
      ["VerifyMac", { ...mac, Message: big, Mac: b64(rand(32)) }],
      ["VerifyMac", { ...mac, Message: MESSAGE, Mac: b64(rand(6145)) }],
      ["Sign", { ...sig, Message: "" }],
      ["Verify", { ...sig, Message: MESSAGE, Signature: "" }],
      ["Sign", { ...sig, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_1" }],
      ["Sign", { ...sig, Message: MESSAGE, SigningAlgorithm: "ecdsa_sha_256" }],
      ["Sign", { ...sig, Message: MESSAGE, MessageType: "HASH" }],
      ["Sign", { KeyId: ec.KeyId, Message: MESSAGE }],
      ["Verify", { ...sig, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_1", Signature: b64(rand(70)) }],
      ["GenerateMac", { ...mac, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_1" }],
      ["DeriveSharedSecret", { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDHE", PublicKey: b64(rand(91)) }],
      ["Encapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM_512" }],
      ["Decapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: b64(rand(6145)) }],
      ["GenerateDataKeyPair", { KeyId: sym.KeyId, KeyPairSpec: "RSA_1024" }],
      ["GenerateDataKeyPairWithoutPlaintext", { KeyId: sym.KeyId, KeyPairSpec: "HMAC_256" }],
      ["Encrypt", { KeyId: sym.KeyId, Plaintext: PLAINTEXT, EncryptionAlgorithm: "RSAES_OAEP_SHA_512" }],
    ];
    for (const [op, input] of cases) expectError(await call(op, input), "ValidationException", `${op} ${JSON.stringify(input).slice(0, 160)}`);
    // The limits themselves are fine.
    expect((await call("Sign", { ...sig, Message: b64(rand(4096)) })).status).toBe(200);
    expect((await call("GenerateMac", { ...mac, Message: b64(rand(4096)) })).status).toBe(200);
    // SM2 is a known KeyPairSpec that only China regions offer.
    expectError(await call("GenerateDataKeyPair", { KeyId: sym.KeyId, KeyPairSpec: "SM2" }), "UnsupportedOperationException");
  });

  it("RSA Encrypt takes plaintext up to the OAEP limit of its spec and hash, and no more", async () => {
    const cases: [spec: string, algorithm: string, max: number][] = [
      ["RSA_2048", "RSAES_OAEP_SHA_1", 214], ["RSA_2048", "RSAES_OAEP_SHA_256", 190],
      ["RSA_3072", "RSAES_OAEP_SHA_1", 342], ["RSA_3072", "RSAES_OAEP_SHA_256", 318],
    ];
    for (const [spec, EncryptionAlgorithm, max] of cases) {
      const key = await sharedKey(spec, "ENCRYPT_DECRYPT");
      const plaintext = rand(max);
      const e = await call<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64(plaintext), EncryptionAlgorithm });
      expect(e.status, `${spec} ${EncryptionAlgorithm} ${max}: ${JSON.stringify(e.body)}`).toBe(200);
      expect(unb64(e.body.CiphertextBlob).length).toBe(Number(spec.slice(4)) / 8);
      const d = await ok<{ Plaintext: string }>("Decrypt", { KeyId: key.KeyId, CiphertextBlob: e.body.CiphertextBlob, EncryptionAlgorithm });
      expect(d.Plaintext).toBe(b64(plaintext));
      expectError(await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64(rand(max + 1)), EncryptionAlgorithm }), "ValidationException", `${spec} ${EncryptionAlgorithm} ${max + 1}`);
    }
  });

  it("RSA Decrypt needs KeyId and an RSAES_OAEP algorithm; bad ciphertexts are InvalidCiphertextException; no encryption context", async () => {
    const rsa = await sharedKey("RSA_2048", "ENCRYPT_DECRYPT");
    const other = await createKey("RSA_2048", "ENCRYPT_DECRYPT");
    // A ciphertext that could not be mistaken for a symmetric blob header (its first byte is not 0x01).
    let blob: string;
    do blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: rsa.KeyId, Plaintext: PLAINTEXT, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" })).CiphertextBlob;
    while (unb64(blob)[0] === 1);
    const alg = { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" };
    expectError(await call("Decrypt", { CiphertextBlob: blob, ...alg }), "ValidationException", "no KeyId");
    expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob }), "InvalidKeyUsageException", "SYMMETRIC_DEFAULT by default");
    expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" }), "InvalidKeyUsageException", "SYMMETRIC_DEFAULT");
    expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: "SM2PKE" }), "InvalidKeyUsageException", "SM2PKE");
    const bytes = unb64(blob);
    const tampered = bytes.slice();
    tampered[100]! ^= 1;
    const bad: [string, Uint8Array][] = [
      ["255 bytes", bytes.slice(1)],
      ["257 bytes", new Uint8Array([...bytes, 0])],
      ["one byte", new Uint8Array([7])],
      ["tampered", tampered],
      ["all 0xff (above the modulus)", new Uint8Array(256).fill(0xff)],
      ["garbage", rand(256)],
    ];
    for (const [what, c] of bad) expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: b64(c), ...alg }), "InvalidCiphertextException", what);
    // The other hash, and another key's ciphertext.
    expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }), "InvalidCiphertextException", "SHA-1 for a SHA-256 ciphertext");
    expectError(await call("Decrypt", { KeyId: other.KeyId, CiphertextBlob: blob, ...alg }), "InvalidCiphertextException", "another key");
    // Encryption context is for symmetric keys only.
    expectError(await call("Encrypt", { KeyId: rsa.KeyId, Plaintext: PLAINTEXT, EncryptionContext: { a: "b" }, ...alg }), "ValidationException", "Encrypt with context");
    expectError(await call("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob, EncryptionContext: { a: "b" }, ...alg }), "ValidationException", "Decrypt with context");
    // The right request decrypts.
    expect((await ok<{ Plaintext: string }>("Decrypt", { KeyId: rsa.KeyId, CiphertextBlob: blob, ...alg })).Plaintext).toBe(PLAINTEXT);
  });

  it("Decapsulate: a ciphertext of the wrong length is InvalidCiphertextException; one of the right length decapsulates (ML-KEM's implicit rejection)", async () => {
    const kem = await sharedKey("ML_KEM_512", "ENCAPSULATE_DECAPSULATE");
    const e = await ok<{ SharedSecretCiphertextBlob: string; SharedSecret: string }>("Encapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM" });
    const ct = unb64(e.SharedSecretCiphertextBlob);
    expect(ct.length).toBe(768);
    for (const c of [ct.slice(1), new Uint8Array([...ct, 0]), new Uint8Array(1), rand(1088)]) {
      expectError(await call("Decapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: b64(c) }), "InvalidCiphertextException", `${c.length} bytes`);
    }
    const flipped = ct.slice();
    flipped[10]! ^= 1;
    const d = await ok<{ SharedSecret: string }>("Decapsulate", { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: b64(flipped) });
    expect(unb64(d.SharedSecret).length).toBe(32);
    expect(d.SharedSecret).not.toBe(e.SharedSecret);
  });

  it("a malformed signature is KMSInvalidSignatureException for every signing kind", async () => {
    const message = rand(50);
    const cases: [spec: string, algorithm: string, messageType: string, signatures: Uint8Array[]][] = [
      ["RSA_2048", "RSASSA_PSS_SHA_256", "RAW", [new Uint8Array(1), rand(255), rand(257), new Uint8Array(256).fill(0xff), new Uint8Array(256)]],
      ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "DIGEST", [rand(255), new Uint8Array(256).fill(0xff), rand(256)]],
      ["ECC_NIST_P256", "ECDSA_SHA_256", "RAW", [new Uint8Array(1), rand(64), new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]), new Uint8Array([0x30, 0xff, 0x02]), rand(72)]],
      ["ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST", [rand(64), new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])]],
      ["ECC_SECG_P256K1", "ECDSA_SHA_256", "RAW", [rand(64), new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]), rand(3)]],
      ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW", [rand(63), rand(65), new Uint8Array(64), new Uint8Array(64).fill(0xff)]],
      ["ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST", [rand(63), new Uint8Array(64).fill(0xff), rand(64)]],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "RAW", [rand(10), new Uint8Array(2420), rand(2420), rand(2421), rand(6144)]],
      ["ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", [rand(2420)]],
    ];
    for (const [spec, SigningAlgorithm, MessageType, signatures] of cases) {
      const key = await sharedKey(spec, "SIGN_VERIFY");
      const length = MessageType === "DIGEST" ? (SigningAlgorithm.endsWith("512") ? 64 : 32) : MessageType === "EXTERNAL_MU" ? 64 : message.length;
      const Message = b64(MessageType === "RAW" ? message : rand(length));
      for (const s of signatures) {
        const r = await call("Verify", { KeyId: key.KeyId, Message, MessageType, SigningAlgorithm, Signature: b64(s) });
        expectError(r, "KMSInvalidSignatureException", `${spec} ${SigningAlgorithm} ${MessageType} ${s.length}-byte signature`);
      }
      // The message's own signature verifies.
      const good = await ok<{ Signature: string }>("Sign", { KeyId: key.KeyId, Message, MessageType, SigningAlgorithm });
      expect((await call("Verify", { KeyId: key.KeyId, Message, MessageType, SigningAlgorithm, Signature: good.Signature })).status, `${spec} ${SigningAlgorithm}`).toBe(200);
    }
  });

  it("a MAC of the wrong length is KMSInvalidMacException", async () => {
    const hmac = await sharedKey("HMAC_256", "GENERATE_VERIFY_MAC");
    const m = await ok<{ Mac: string }>("GenerateMac", { KeyId: hmac.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" });
    const tag = unb64(m.Mac);
    expect(tag.length).toBe(32);
    for (const mac of [tag.slice(0, 31), new Uint8Array([...tag, 0]), tag.slice(0, 1), tag.slice(0, 16), new Uint8Array([...tag, ...tag])]) {
      expectError(await call("VerifyMac", { KeyId: hmac.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256", Mac: b64(mac) }), "KMSInvalidMacException", `${mac.length}-byte MAC`);
    }
    expect((await call("VerifyMac", { KeyId: hmac.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256", Mac: m.Mac })).status).toBe(200);
  });

  it("RSA_4096 signatures are 512 bytes and verify with every signing algorithm, RAW and DIGEST", async () => {
    const key = await sharedKey("RSA_4096", "SIGN_VERIFY");
    const message = rand(100);
    for (const SigningAlgorithm of algorithmsOf("RSA_4096", "SIGN_VERIFY")[1]) {
      const hash = SigningAlgorithm.endsWith("256") ? "SHA-256" : SigningAlgorithm.endsWith("384") ? "SHA-384" : "SHA-512";
      for (const [MessageType, m] of [["RAW", message], ["DIGEST", await sha(hash, message)]] as const) {
        const s = await ok<{ Signature: string }>("Sign", { KeyId: key.KeyId, Message: b64(m), MessageType, SigningAlgorithm });
        expect(unb64(s.Signature).length).toBe(512);
        expect((await call("Verify", { KeyId: key.KeyId, Message: b64(m), MessageType, SigningAlgorithm, Signature: s.Signature })).status, `${SigningAlgorithm} ${MessageType}`).toBe(200);
      }
    }
    // 4096-bit signatures are not 2048-bit ones.
    expectError(await call("Verify", { KeyId: key.KeyId, Message: b64(message), SigningAlgorithm: "RSASSA_PSS_SHA_256", Signature: b64(rand(256)) }), "KMSInvalidSignatureException");
  });
});
