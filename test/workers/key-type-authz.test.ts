// Authorization of the new key types through the real Worker and vaults (SELF.fetch): grants per
// key type, key-policy conditions on algorithm and key attributes, cross-account use, and what
// the audit records of the new operations carry (and never carry).
//   https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
//   https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
import { beforeAll, describe, expect, it } from "vitest";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { ACCOUNT, admin, b64, call, doc, newAccount, newUser, ok, unb64, type Creds, type KmsResponse } from "./kms.js";

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
type Md = { KeyId: string; Arn: string; KeySpec: string; KeyUsage: string };
type Input = Record<string, unknown>;

const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const ownerStatement = { Sid: "owner", Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" };

async function newKey(spec: string, usage?: string, extra: Input = {}, as?: Creds): Promise<Md> {
  return (await ok<{ KeyMetadata: Md }>("CreateKey", { KeySpec: spec, ...(usage ? { KeyUsage: usage } : {}), ...extra }, as ?? {})).KeyMetadata;
}

function expectError(r: KmsResponse, type: string, what = ""): void {
  expect(r.status, `${what} ${JSON.stringify(r.body)}`).toBeLessThan(500);
  expect([r.status, r.body.__type], `${what} ${JSON.stringify(r.body)}`).toEqual([400, type]);
}

let peerSpki: string;
beforeAll(async () => {
  const peer = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  peerSpki = b64(new Uint8Array((await crypto.subtle.exportKey("spki", peer.publicKey)) as ArrayBuffer));
});

const MESSAGE = b64("a message for the authorization tables");

/** Requests of each operation on a key (its KeyId as given); those that need something the owner makes first make it. */
const REQUESTS: Record<string, (keyId: string, key: Md) => Promise<[target: string, input: Input]>> = {
  Sign: async (KeyId, key) => ["Sign", { KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(key.KeySpec) }],
  Verify: async (KeyId, key) => {
    const s = await ok<{ Signature: string }>("Sign", { KeyId: key.KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(key.KeySpec) });
    return ["Verify", { KeyId, Message: MESSAGE, SigningAlgorithm: signingAlgorithm(key.KeySpec), Signature: s.Signature }];
  },
  GetPublicKey: async (KeyId) => ["GetPublicKey", { KeyId }],
  DescribeKey: async (KeyId) => ["DescribeKey", { KeyId }],
  GenerateMac: async (KeyId) => ["GenerateMac", { KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" }],
  VerifyMac: async (KeyId, key) => {
    const m = await ok<{ Mac: string }>("GenerateMac", { KeyId: key.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" });
    return ["VerifyMac", { KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256", Mac: m.Mac }];
  },
  DeriveSharedSecret: async (KeyId) => ["DeriveSharedSecret", { KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peerSpki }],
  Encapsulate: async (KeyId) => ["Encapsulate", { KeyId, EncapsulationAlgorithm: "ML_KEM" }],
  Decapsulate: async (KeyId, key) => {
    const e = await ok<{ SharedSecretCiphertextBlob: string }>("Encapsulate", { KeyId: key.KeyId, EncapsulationAlgorithm: "ML_KEM" });
    return ["Decapsulate", { KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: e.SharedSecretCiphertextBlob }];
  },
  Encrypt: async (KeyId, key) => ["Encrypt", { KeyId, Plaintext: MESSAGE, ...(key.KeySpec.startsWith("RSA_") ? { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" } : {}) }],
  Decrypt: async (KeyId, key) => {
    const rsa = key.KeySpec.startsWith("RSA_") ? { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" } : {};
    const e = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: MESSAGE, ...rsa });
    return ["Decrypt", { KeyId, CiphertextBlob: e.CiphertextBlob, ...rsa }];
  },
  GenerateDataKeyPair: async (KeyId) => ["GenerateDataKeyPair", { KeyId, KeyPairSpec: "ECC_NIST_P256" }],
  GenerateDataKeyPairWithoutPlaintext: async (KeyId) => ["GenerateDataKeyPairWithoutPlaintext", { KeyId, KeyPairSpec: "ECC_SECG_P256K1" }],
};
const signingAlgorithm = (spec: string): string =>
  ({ RSA_2048: "RSASSA_PSS_SHA_256", ECC_NIST_EDWARDS25519: "ED25519_SHA_512", ML_DSA_44: "ML_DSA_SHAKE_256" })[spec] ?? "ECDSA_SHA_256";

// ---- grants -----------------------------------------------------------------------------

describe("grants per key type", () => {
  // [spec, usage, operations granted, an operation the key allows that the grant does not]
  const ROWS: [string, string | undefined, string[], string][] = [
    ["ECC_NIST_P256", "SIGN_VERIFY", ["Sign", "Verify", "GetPublicKey"], "DescribeKey"],
    ["RSA_2048", "SIGN_VERIFY", ["Sign"], "Verify"],
    ["ML_DSA_44", "SIGN_VERIFY", ["Verify"], "Sign"],
    ["ECC_NIST_EDWARDS25519", "SIGN_VERIFY", ["Sign", "Verify"], "GetPublicKey"],
    ["HMAC_256", "GENERATE_VERIFY_MAC", ["GenerateMac", "VerifyMac"], "DescribeKey"],
    ["ECC_NIST_P256", "KEY_AGREEMENT", ["DeriveSharedSecret"], "GetPublicKey"],
    ["ML_KEM_512", "ENCAPSULATE_DECAPSULATE", ["Encapsulate", "Decapsulate", "GetPublicKey"], "DescribeKey"],
    ["RSA_2048", "ENCRYPT_DECRYPT", ["Encrypt", "Decrypt", "GetPublicKey"], "DescribeKey"],
    ["SYMMETRIC_DEFAULT", undefined, ["GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"], "Encrypt"],
  ];
  it.each(ROWS)("%s %s: a grant of %j lets its grantee (an IAM user with no policy) call them, and nothing else", async (spec, usage, operations, notGranted) => {
    const key = await newKey(spec, usage);
    const grantee = await newUser();
    for (const op of operations) expectError(await call(...(await REQUESTS[op]!(key.KeyId, key)), grantee), "AccessDeniedException", `${op} before the grant`);
    const grant = await ok<{ GrantId: string; GrantToken: string }>("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee.arn, Operations: operations });
    const listed = await ok<{ Grants: { GrantId: string; Operations: string[] }[] }>("ListGrants", { KeyId: key.KeyId });
    expect(listed.Grants).toEqual([expect.objectContaining({ GrantId: grant.GrantId, Operations: operations })]);
    for (const op of operations) {
      const [target, input] = await REQUESTS[op]!(key.KeyId, key);
      const r = await call(target, input, grantee);
      expect([op, r.status], JSON.stringify(r.body)).toEqual([op, 200]);
      // With the grant token too.
      expect((await call(target, { ...input, GrantTokens: [grant.GrantToken] }, grantee)).status, op).toBe(200);
    }
    expectError(await call(...(await REQUESTS[notGranted]!(key.KeyId, key)), grantee), "AccessDeniedException", `${notGranted}, not granted`);
  });

  it("a grant to another account lets that account use the key by its ARN", async () => {
    const key = await newKey("ECC_SECG_P256K1", "SIGN_VERIFY");
    const other = await newAccount();
    const sign = await REQUESTS.Sign!(key.Arn, key);
    expectError(await call(...sign, other), "AccessDeniedException", "before the grant");
    await ok("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${other.account}:root`, Operations: ["Sign", "Verify"] });
    expect((await call(...sign, other)).status).toBe(200);
    expect((await call(...(await REQUESTS.Verify!(key.Arn, key)), other)).status).toBe(200);
    expectError(await call(...(await REQUESTS.GetPublicKey!(key.Arn, key)), other), "AccessDeniedException", "GetPublicKey, not granted");
  });

  // Operations a key of the type cannot do: CreateGrant is ValidationException.
  const INVALID: [string, string | undefined, string][] = [
    ["SYMMETRIC_DEFAULT", undefined, "Sign"],
    ["SYMMETRIC_DEFAULT", undefined, "Verify"],
    ["SYMMETRIC_DEFAULT", undefined, "GetPublicKey"],
    ["SYMMETRIC_DEFAULT", undefined, "GenerateMac"],
    ["SYMMETRIC_DEFAULT", undefined, "Encapsulate"],
    ["SYMMETRIC_DEFAULT", undefined, "DeriveSharedSecret"],
    ["HMAC_256", "GENERATE_VERIFY_MAC", "Encrypt"],
    ["HMAC_256", "GENERATE_VERIFY_MAC", "GenerateDataKey"],
    ["HMAC_256", "GENERATE_VERIFY_MAC", "GetPublicKey"],
    ["HMAC_256", "GENERATE_VERIFY_MAC", "Sign"],
    ["ECC_NIST_P256", "SIGN_VERIFY", "Encrypt"],
    ["ECC_NIST_P256", "SIGN_VERIFY", "DeriveSharedSecret"],
    ["ECC_NIST_P256", "SIGN_VERIFY", "GenerateDataKeyPair"],
    ["ECC_NIST_P256", "KEY_AGREEMENT", "Sign"],
    ["ECC_NIST_P256", "KEY_AGREEMENT", "Decrypt"],
    ["RSA_2048", "ENCRYPT_DECRYPT", "Sign"],
    ["RSA_2048", "ENCRYPT_DECRYPT", "GenerateDataKey"],
    ["RSA_2048", "ENCRYPT_DECRYPT", "GenerateDataKeyPairWithoutPlaintext"],
    ["ML_KEM_512", "ENCAPSULATE_DECAPSULATE", "Encrypt"],
    ["ML_KEM_512", "ENCAPSULATE_DECAPSULATE", "Sign"],
    ["ML_DSA_44", "SIGN_VERIFY", "Encapsulate"],
    ["ML_DSA_44", "SIGN_VERIFY", "VerifyMac"],
  ];
  it.each(INVALID)("%s %s: a grant of %s is ValidationException (even next to valid operations)", async (spec, usage, op) => {
    const key = await newKey(spec, usage);
    const grantee = await newUser();
    expectError(await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee.arn, Operations: [op] }), "ValidationException", op);
    expectError(await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee.arn, Operations: ["DescribeKey", op] }), "ValidationException", `DescribeKey + ${op}`);
    expect((await ok<{ Grants: unknown[] }>("ListGrants", { KeyId: key.KeyId })).Grants).toEqual([]);
  });

  it("encryption-context constraints are for symmetric keys only", async () => {
    const grantee = await newUser();
    const rows: [string, string | undefined, string[], Input][] = [
      ["ECC_NIST_P256", "SIGN_VERIFY", ["Sign"], { EncryptionContextSubset: { a: "b" } }],
      ["HMAC_256", "GENERATE_VERIFY_MAC", ["GenerateMac"], { EncryptionContextEquals: { a: "b" } }],
      ["RSA_2048", "ENCRYPT_DECRYPT", ["Encrypt", "Decrypt"], { EncryptionContextSubset: { a: "b" } }],
      ["ML_KEM_512", "ENCAPSULATE_DECAPSULATE", ["Decapsulate"], { EncryptionContextEquals: { a: "b" } }],
      ["ECC_NIST_P256", "KEY_AGREEMENT", ["DescribeKey"], { EncryptionContextSubset: { a: "b" } }],
    ];
    for (const [spec, usage, Operations, Constraints] of rows) {
      const key = await newKey(spec, usage);
      expectError(await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee.arn, Operations, Constraints }), "ValidationException", `${spec} ${usage}`);
      expect((await ok<{ Grants: unknown[] }>("ListGrants", { KeyId: key.KeyId })).Grants).toEqual([]);
      // Without the constraint, the same grant is fine.
      expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: grantee.arn, Operations })).status, `${spec} ${usage}`).toBe(200);
    }
    // A symmetric key's data-key-pair grant may be constrained, and the constraint applies.
    const sym = await newKey("SYMMETRIC_DEFAULT");
    await ok("CreateGrant", { KeyId: sym.KeyId, GranteePrincipal: grantee.arn, Operations: ["GenerateDataKeyPair"], Constraints: { EncryptionContextEquals: { app: "x" } } });
    expect((await call("GenerateDataKeyPair", { KeyId: sym.KeyId, KeyPairSpec: "ECC_NIST_P256", EncryptionContext: { app: "x" } }, grantee)).status).toBe(200);
    expectError(await call("GenerateDataKeyPair", { KeyId: sym.KeyId, KeyPairSpec: "ECC_NIST_P256", EncryptionContext: { app: "y" } }, grantee), "AccessDeniedException");
  });
});

// ---- key policy conditions --------------------------------------------------------------

interface ConditionRow {
  key: string;
  spec: string;
  usage?: string;
  action: string;
  /** The request, with the condition key's value `match`. */
  request: (key: Md) => Promise<[string, Input]>;
  match: string;
  /** A value the request does not have. */
  other: string;
  /** The same request with the condition key's value `other` (request parameters only), and what it gets past authorization. */
  otherRequest?: (key: Md) => Promise<[string, Input]>;
  otherOutcome?: string;
  /** What else the request needs allowed, unconditionally (ReEncrypt needs both ReEncryptFrom and ReEncryptTo). */
  alsoNeeds?: string;
}

const sign = (algorithm: string, extra: Input = {}) => async (k: Md): Promise<[string, Input]> => ["Sign", { KeyId: k.KeyId, Message: MESSAGE, SigningAlgorithm: algorithm, ...extra }];
const digest32 = b64(rand(32));
const mac = (algorithm: string) => async (k: Md): Promise<[string, Input]> => ["GenerateMac", { KeyId: k.KeyId, Message: MESSAGE, MacAlgorithm: algorithm }];
const pair = (op: string, spec: string) => async (k: Md): Promise<[string, Input]> => [op, { KeyId: k.KeyId, KeyPairSpec: spec }];
const rsaEncrypt = (algorithm: string) => async (k: Md): Promise<[string, Input]> => ["Encrypt", { KeyId: k.KeyId, Plaintext: MESSAGE, EncryptionAlgorithm: algorithm }];
const rsaDecrypt = (algorithm: string) => async (k: Md): Promise<[string, Input]> => {
  const e = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: MESSAGE, EncryptionAlgorithm: algorithm });
  return ["Decrypt", { KeyId: k.KeyId, CiphertextBlob: e.CiphertextBlob, EncryptionAlgorithm: algorithm }];
};

/** An RSA ciphertext (made with `from`) re-encrypted under the same key with `to`. */
const rsaReEncrypt = (from: string, to: string) => async (k: Md): Promise<[string, Input]> => {
  const e = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: MESSAGE, EncryptionAlgorithm: from });
  return ["ReEncrypt", { CiphertextBlob: e.CiphertextBlob, SourceKeyId: k.KeyId, SourceEncryptionAlgorithm: from, DestinationKeyId: k.KeyId, DestinationEncryptionAlgorithm: to }];
};

const CONDITIONS: ConditionRow[] = [
  { key: "kms:SigningAlgorithm", spec: "RSA_2048", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("RSASSA_PSS_SHA_256"), match: "RSASSA_PSS_SHA_256", other: "RSASSA_PKCS1_V1_5_SHA_256", otherRequest: sign("RSASSA_PKCS1_V1_5_SHA_256"), otherOutcome: "ok" },
  { key: "kms:SigningAlgorithm", spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", action: "kms:Verify", request: (k) => REQUESTS.Verify!(k.KeyId, k), match: "ECDSA_SHA_256", other: "ECDSA_SHA_384" },
  { key: "kms:SigningAlgorithm", spec: "ECC_NIST_EDWARDS25519", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("ED25519_SHA_512"), match: "ED25519_SHA_512", other: "ED25519_PH_SHA_512", otherRequest: sign("ED25519_PH_SHA_512", { MessageType: "DIGEST", Message: b64(rand(64)) }), otherOutcome: "ok" },
  { key: "kms:MessageType", spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("ECDSA_SHA_256", { MessageType: "DIGEST", Message: digest32 }), match: "DIGEST", other: "RAW", otherRequest: sign("ECDSA_SHA_256", { MessageType: "RAW" }), otherOutcome: "ok" },
  // MessageType left out is RAW.
  { key: "kms:MessageType", spec: "ECC_SECG_P256K1", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("ECDSA_SHA_256"), match: "RAW", other: "DIGEST", otherRequest: sign("ECDSA_SHA_256", { MessageType: "DIGEST", Message: digest32 }), otherOutcome: "ok" },
  { key: "kms:MessageType", spec: "ML_DSA_44", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("ML_DSA_SHAKE_256", { MessageType: "EXTERNAL_MU", Message: b64(rand(64)) }), match: "EXTERNAL_MU", other: "RAW", otherRequest: sign("ML_DSA_SHAKE_256"), otherOutcome: "ok" },
  // Authorization comes first: a request the Deny does not match goes on to the key, which refuses the algorithm.
  { key: "kms:MacAlgorithm", spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC", action: "kms:GenerateMac", request: mac("HMAC_SHA_256"), match: "HMAC_SHA_256", other: "HMAC_SHA_512", otherRequest: mac("HMAC_SHA_512"), otherOutcome: "InvalidKeyUsageException" },
  { key: "kms:MacAlgorithm", spec: "HMAC_224", usage: "GENERATE_VERIFY_MAC", action: "kms:VerifyMac", request: (k) => (async () => {
    const m = await ok<{ Mac: string }>("GenerateMac", { KeyId: k.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_224" });
    return ["VerifyMac", { KeyId: k.KeyId, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_224", Mac: m.Mac }] as [string, Input];
  })(), match: "HMAC_SHA_224", other: "HMAC_SHA_256" },
  { key: "kms:KeyAgreementAlgorithm", spec: "ECC_NIST_P256", usage: "KEY_AGREEMENT", action: "kms:DeriveSharedSecret", request: (k) => REQUESTS.DeriveSharedSecret!(k.KeyId, k), match: "ECDH", other: "ECDHE" },
  { key: "kms:EncryptionAlgorithm", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", action: "kms:Encrypt", request: rsaEncrypt("RSAES_OAEP_SHA_1"), match: "RSAES_OAEP_SHA_1", other: "RSAES_OAEP_SHA_256", otherRequest: rsaEncrypt("RSAES_OAEP_SHA_256"), otherOutcome: "ok" },
  { key: "kms:EncryptionAlgorithm", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", action: "kms:Decrypt", request: rsaDecrypt("RSAES_OAEP_SHA_256"), match: "RSAES_OAEP_SHA_256", other: "RSAES_OAEP_SHA_1", otherRequest: rsaDecrypt("RSAES_OAEP_SHA_1"), otherOutcome: "ok" },
  // A parameter left out has its default value (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html:
  // "This type of condition works even when the parameter doesn't appear in the request").
  { key: "kms:EncryptionAlgorithm", spec: "SYMMETRIC_DEFAULT", action: "kms:Encrypt", request: async (k) => ["Encrypt", { KeyId: k.KeyId, Plaintext: MESSAGE }], match: "SYMMETRIC_DEFAULT", other: "RSAES_OAEP_SHA_256" },
  { key: "kms:EncryptionAlgorithm", spec: "SYMMETRIC_DEFAULT", action: "kms:Decrypt", request: async (k) => {
    const e = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: MESSAGE });
    return ["Decrypt", { CiphertextBlob: e.CiphertextBlob }];
  }, match: "SYMMETRIC_DEFAULT", other: "RSAES_OAEP_SHA_1" },
  // ReEncrypt: the source algorithm decides kms:ReEncryptFrom, the destination's kms:ReEncryptTo
  // (each Deny names the other side's value as "other", so a mix-up of the two would show).
  { key: "kms:EncryptionAlgorithm", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", action: "kms:ReEncryptFrom", alsoNeeds: "kms:ReEncryptTo", request: rsaReEncrypt("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"), match: "RSAES_OAEP_SHA_1", other: "RSAES_OAEP_SHA_256" },
  { key: "kms:EncryptionAlgorithm", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", action: "kms:ReEncryptTo", alsoNeeds: "kms:ReEncryptFrom", request: rsaReEncrypt("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"), match: "RSAES_OAEP_SHA_256", other: "RSAES_OAEP_SHA_1" },
  // Data keys and pairs are encrypted under SYMMETRIC_DEFAULT, which kms:EncryptionAlgorithm sees.
  { key: "kms:EncryptionAlgorithm", spec: "SYMMETRIC_DEFAULT", action: "kms:GenerateDataKey", request: async (k) => ["GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" }], match: "SYMMETRIC_DEFAULT", other: "RSAES_OAEP_SHA_256" },
  { key: "kms:EncryptionAlgorithm", spec: "SYMMETRIC_DEFAULT", action: "kms:GenerateDataKeyPairWithoutPlaintext", request: pair("GenerateDataKeyPairWithoutPlaintext", "ECC_NIST_P256"), match: "SYMMETRIC_DEFAULT", other: "RSAES_OAEP_SHA_1" },
  { key: "kms:KeySpec", spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", action: "kms:Sign", request: sign("ECDSA_SHA_256"), match: "ECC_NIST_P256", other: "RSA_2048" },
  { key: "kms:KeySpec", spec: "ML_KEM_512", usage: "ENCAPSULATE_DECAPSULATE", action: "kms:Encapsulate", request: (k) => REQUESTS.Encapsulate!(k.KeyId, k), match: "ML_KEM_512", other: "ML_KEM_768" },
  { key: "kms:KeySpec", spec: "HMAC_384", usage: "GENERATE_VERIFY_MAC", action: "kms:GenerateMac", request: mac("HMAC_SHA_384"), match: "HMAC_384", other: "HMAC_256" },
  { key: "kms:KeyUsage", spec: "ECC_NIST_P256", usage: "KEY_AGREEMENT", action: "kms:GetPublicKey", request: (k) => REQUESTS.GetPublicKey!(k.KeyId, k), match: "KEY_AGREEMENT", other: "SIGN_VERIFY" },
  { key: "kms:KeyUsage", spec: "ML_KEM_512", usage: "ENCAPSULATE_DECAPSULATE", action: "kms:Decapsulate", request: (k) => REQUESTS.Decapsulate!(k.KeyId, k), match: "ENCAPSULATE_DECAPSULATE", other: "ENCRYPT_DECRYPT" },
  { key: "kms:DataKeyPairSpec", spec: "SYMMETRIC_DEFAULT", action: "kms:GenerateDataKeyPair", request: pair("GenerateDataKeyPair", "ECC_NIST_P256"), match: "ECC_NIST_P256", other: "ECC_NIST_P384", otherRequest: pair("GenerateDataKeyPair", "ECC_NIST_P384"), otherOutcome: "ok" },
  { key: "kms:DataKeyPairSpec", spec: "SYMMETRIC_DEFAULT", action: "kms:GenerateDataKeyPairWithoutPlaintext", request: pair("GenerateDataKeyPairWithoutPlaintext", "ML_KEM_512"), match: "ML_KEM_512", other: "ECC_SECG_P256K1", otherRequest: pair("GenerateDataKeyPairWithoutPlaintext", "ECC_SECG_P256K1"), otherOutcome: "ok" },
];

const result = (r: KmsResponse) => (r.status === 200 ? "ok" : String(r.body.__type));

describe("key policy conditions on algorithms and key attributes", () => {
  it.each(CONDITIONS)("$key = $match: a Deny blocks $action with it, and not the other", async (row) => {
    const key = await newKey(row.spec, row.usage);
    const deny = (value: string) => doc(ownerStatement, { Effect: "Deny", Principal: "*", Action: row.action, Resource: "*", Condition: { StringEquals: { [row.key]: value } } });
    // Without a Deny, the request is allowed.
    expect(result(await call(...(await row.request(key))))).toBe("ok");
    await ok("PutKeyPolicy", { KeyId: key.KeyId, Policy: deny(row.match) });
    const denied = await call(...(await row.request(key)));
    expectError(denied, "AccessDeniedException", "matching request");
    expect(denied.body.message).toContain(row.action);
    if (row.otherRequest) expect(result(await call(...(await row.otherRequest(key)))), "the other request").toBe(row.otherOutcome);
    // A Deny on another value does not block it.
    await ok("PutKeyPolicy", { KeyId: key.KeyId, Policy: deny(row.other) });
    expect(result(await call(...(await row.request(key)))), "Deny on the other value").toBe("ok");
  });

  it.each(CONDITIONS)("$key = $match: an Allow with it lets a user $action with it, and not the other", async (row) => {
    const key = await newKey(row.spec, row.usage);
    const user = await newUser();
    const also = row.alsoNeeds ? [{ Effect: "Allow", Principal: { AWS: user.arn }, Action: row.alsoNeeds, Resource: "*" }] : [];
    const allow = (value: string) => doc(ownerStatement, ...also, { Effect: "Allow", Principal: { AWS: user.arn }, Action: row.action, Resource: "*", Condition: { StringEquals: { [row.key]: value } } });
    await ok("PutKeyPolicy", { KeyId: key.KeyId, Policy: allow(row.match) });
    expect(result(await call(...(await row.request(key)), user)), "matching request").toBe("ok");
    if (row.otherRequest) expectError(await call(...(await row.otherRequest(key)), user), "AccessDeniedException", "the other request");
    await ok("PutKeyPolicy", { KeyId: key.KeyId, Policy: allow(row.other) });
    expectError(await call(...(await row.request(key)), user), "AccessDeniedException", "Allow on the other value");
  });
});

// ---- cross-account --------------------------------------------------------------------

describe("cross-account use of the new key types", () => {
  const ROWS: [op: string, spec: string, usage: string][] = [
    ["Sign", "ECC_NIST_P256", "SIGN_VERIFY"],
    ["Verify", "ECC_NIST_P256", "SIGN_VERIFY"],
    ["GetPublicKey", "ECC_NIST_P256", "SIGN_VERIFY"],
    ["Sign", "ML_DSA_44", "SIGN_VERIFY"],
    ["GenerateMac", "HMAC_256", "GENERATE_VERIFY_MAC"],
    ["VerifyMac", "HMAC_256", "GENERATE_VERIFY_MAC"],
    ["DeriveSharedSecret", "ECC_NIST_P256", "KEY_AGREEMENT"],
    ["GetPublicKey", "ECC_NIST_P256", "KEY_AGREEMENT"],
    ["Encapsulate", "ML_KEM_512", "ENCAPSULATE_DECAPSULATE"],
    ["Decapsulate", "ML_KEM_512", "ENCAPSULATE_DECAPSULATE"],
    ["Encrypt", "RSA_2048", "ENCRYPT_DECRYPT"],
  ];
  let other: Creds & { account: string };
  let allowed: Creds & { arn: string };
  let noPolicy: Creds & { arn: string };
  beforeAll(async () => {
    other = await newAccount();
    const actions = [...new Set(ROWS.map(([op]) => `kms:${op}`))];
    allowed = await newUser([{ Effect: "Allow", Action: actions, Resource: "*" }], other.account, other);
    noPolicy = await newUser(undefined, other.account, other);
  });

  it.each(ROWS)("%s on a %s %s key: allowed by the key policy and the caller's identity policy, refused without either", async (op, spec, usage) => {
    const shared = await newKey(spec, usage, { Policy: doc(ownerStatement, { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other.account}:root` }, Action: `kms:${op}`, Resource: "*" }) });
    const request = await REQUESTS[op]!(shared.Arn, shared);
    const r = await call(...request, allowed);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    if (r.body.KeyId !== undefined) expect(r.body.KeyId).toBe(shared.Arn);
    // No identity policy in its own account.
    expectError(await call(...request, noPolicy), "AccessDeniedException", "without an identity policy");
    // A key whose policy does not name the other account.
    const own = await newKey(spec, usage);
    expectError(await call(...(await REQUESTS[op]!(own.Arn, own)), allowed), "AccessDeniedException", "key policy without the account");
    // Another account's key is named by its ARN only.
    expectError(await call(...(await REQUESTS[op]!(shared.KeyId, shared)), allowed), "NotFoundException", "by key id");
  });
});

// ---- audit records --------------------------------------------------------------------

describe("audit records of the new operations", () => {
  type Rec = CloudTrailRecord & { requestParameters: Record<string, unknown> | null };
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const b64url = (s: string) => s.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  it("carry the key and algorithms as AWS logs them, responseElements null, and never a message, signature, MAC, key or secret", async () => {
    const acct = await newAccount();
    const as = acct;
    const ec = await newKey("ECC_NIST_P256", "SIGN_VERIFY", {}, as);
    const hmac = await newKey("HMAC_256", "GENERATE_VERIFY_MAC", {}, as);
    const ka = await newKey("ECC_NIST_P256", "KEY_AGREEMENT", {}, as);
    const kem = await newKey("ML_KEM_512", "ENCAPSULATE_DECAPSULATE", {}, as);
    const sym = await newKey("SYMMETRIC_DEFAULT", undefined, {}, as);
    const rsa = await newKey("RSA_2048", "ENCRYPT_DECRYPT", {}, as);
    const secrets: Record<string, string> = {};
    const ids: [name: string, requestId: string, eventName: string, key: Md, params: Record<string, unknown>, errorCode?: string][] = [];
    const run = async <T = Record<string, unknown>>(name: string, op: string, key: Md, input: Input, params: Record<string, unknown>, errorCode?: string) => {
      const r = await call<T>(op, input, as);
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(errorCode ? 400 : 200);
      if (errorCode) expect(r.body.__type).toBe(errorCode);
      ids.push([name, r.headers.get("x-amzn-RequestId")!, op, key, params, errorCode]);
      return r.body;
    };

    secrets.message = b64(rand(48));
    const raw = await run<{ Signature: string }>("Sign RAW", "Sign", ec, { KeyId: ec.KeyId, Message: secrets.message, SigningAlgorithm: "ECDSA_SHA_256" }, { keyId: ec.KeyId, signingAlgorithm: "ECDSA_SHA_256", messageType: "RAW" });
    secrets.signature = raw.Signature;
    secrets.digest = b64(rand(32));
    const dig = await run<{ Signature: string }>("Sign DIGEST", "Sign", ec, { KeyId: ec.Arn, Message: secrets.digest, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" }, { keyId: ec.Arn, signingAlgorithm: "ECDSA_SHA_256", messageType: "DIGEST" });
    secrets.digestSignature = dig.Signature;
    await run("Verify", "Verify", ec, { KeyId: ec.KeyId, Message: secrets.digest, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256", Signature: dig.Signature }, { keyId: ec.KeyId, signingAlgorithm: "ECDSA_SHA_256", messageType: "DIGEST" });
    secrets.badSignature = b64(rand(70));
    await run("Verify (invalid)", "Verify", ec, { KeyId: ec.KeyId, Message: secrets.message, SigningAlgorithm: "ECDSA_SHA_256", Signature: secrets.badSignature }, { keyId: ec.KeyId, signingAlgorithm: "ECDSA_SHA_256", messageType: "RAW" }, "KMSInvalidSignatureException");
    const pub = await run<{ PublicKey: string }>("GetPublicKey", "GetPublicKey", ec, { KeyId: ec.KeyId }, { keyId: ec.KeyId });
    secrets.publicKey = pub.PublicKey;

    secrets.macMessage = b64(rand(48));
    const m = await run<{ Mac: string }>("GenerateMac", "GenerateMac", hmac, { KeyId: hmac.KeyId, Message: secrets.macMessage, MacAlgorithm: "HMAC_SHA_256" }, { keyId: hmac.KeyId, macAlgorithm: "HMAC_SHA_256" });
    secrets.mac = m.Mac;
    await run("VerifyMac", "VerifyMac", hmac, { KeyId: hmac.KeyId, Message: secrets.macMessage, MacAlgorithm: "HMAC_SHA_256", Mac: m.Mac }, { keyId: hmac.KeyId, macAlgorithm: "HMAC_SHA_256" });
    secrets.badMac = b64(rand(32));
    await run("VerifyMac (invalid)", "VerifyMac", hmac, { KeyId: hmac.KeyId, Message: secrets.macMessage, MacAlgorithm: "HMAC_SHA_256", Mac: secrets.badMac }, { keyId: hmac.KeyId, macAlgorithm: "HMAC_SHA_256" }, "KMSInvalidMacException");

    secrets.peerPublicKey = peerSpki;
    const shared = await run<{ SharedSecret: string }>("DeriveSharedSecret", "DeriveSharedSecret", ka, { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peerSpki }, { keyId: ka.KeyId, keyAgreementAlgorithm: "ECDH" });
    secrets.sharedSecret = shared.SharedSecret;
    secrets.badPeerKey = b64(rand(91));
    await run("DeriveSharedSecret (bad key)", "DeriveSharedSecret", ka, { KeyId: ka.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: secrets.badPeerKey }, { keyId: ka.KeyId, keyAgreementAlgorithm: "ECDH" }, "ValidationException");

    const enc = await run<{ SharedSecret: string; SharedSecretCiphertextBlob: string }>("Encapsulate", "Encapsulate", kem, { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM" }, { keyId: kem.KeyId, encapsulationAlgorithm: "ML_KEM" });
    secrets.kemSecret = enc.SharedSecret;
    secrets.kemCiphertext = enc.SharedSecretCiphertextBlob;
    await run("Decapsulate", "Decapsulate", kem, { KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob }, { keyId: kem.KeyId, encapsulationAlgorithm: "ML_KEM" });

    const p = await run<{ PrivateKeyPlaintext: string; PrivateKeyCiphertextBlob: string; PublicKey: string }>("GenerateDataKeyPair", "GenerateDataKeyPair", sym, { KeyId: sym.KeyId, KeyPairSpec: "ECC_NIST_P256", EncryptionContext: { purpose: "audit" } }, { keyId: sym.KeyId, keyPairSpec: "ECC_NIST_P256", encryptionContext: { purpose: "audit" } });
    secrets.pairPrivateKey = p.PrivateKeyPlaintext;
    secrets.pairPrivateKeyBlob = p.PrivateKeyCiphertextBlob;
    secrets.pairPublicKey = p.PublicKey;
    const q = await run<{ PrivateKeyCiphertextBlob: string; PublicKey: string }>("GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyPairWithoutPlaintext", sym, { KeyId: sym.KeyId, KeyPairSpec: "ML_KEM_512" }, { keyId: sym.KeyId, keyPairSpec: "ML_KEM_512" });
    secrets.pair2PrivateKeyBlob = q.PrivateKeyCiphertextBlob;
    secrets.pair2PublicKey = q.PublicKey;

    secrets.rsaPlaintext = b64(rand(40));
    const e = await run<{ CiphertextBlob: string }>("Encrypt RSA", "Encrypt", rsa, { KeyId: rsa.KeyId, Plaintext: secrets.rsaPlaintext, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }, { keyId: rsa.KeyId, encryptionAlgorithm: "RSAES_OAEP_SHA_256" });
    secrets.rsaCiphertext = e.CiphertextBlob;

    const tail = await admin<{ Entries: { Record: Rec }[] }>("AuditTail", { Account: acct.account, Limit: 10_000 });
    expect(tail.status, JSON.stringify(tail.body)).toBe(200);
    const records = tail.body.Entries.map((x) => x.Record);
    for (const [name, requestId, eventName, key, params, errorCode] of ids) {
      const mine = records.filter((r) => r.requestID === requestId);
      expect(mine, name).toHaveLength(1);
      const rec = mine[0]!;
      expect(rec, name).toMatchObject({ eventName, eventSource: "kms.amazonaws.com", readOnly: true, responseElements: null, recipientAccountId: acct.account, eventType: "AwsApiCall" });
      expect(rec.requestParameters, name).toEqual(params);
      expect(rec.resources?.[0]?.ARN, name).toBe(key.Arn);
      expect(rec.errorCode, name).toBe(errorCode);
    }
    // No record of the account holds any of the bytes, in base64, base64url or hex.
    const text = JSON.stringify(records);
    for (const [what, value] of Object.entries(secrets)) {
      const bytes = unb64(value);
      for (const form of [value, b64url(value), hex(bytes), hex(bytes).toUpperCase()]) expect(text.includes(form), `${what} (${form.slice(0, 16)}…)`).toBe(false);
    }
    // Nor a shorter run of them: the middle 16 bytes of each, in hex.
    for (const [what, value] of Object.entries(secrets)) {
      const bytes = unb64(value);
      const mid = bytes.slice(bytes.length / 2 - 8, bytes.length / 2 + 8);
      expect(text.includes(hex(mid)), what).toBe(false);
    }
  });
});
