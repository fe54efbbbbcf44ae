// The key policy the create-key wizard proposes, as the AWS console writes it: the account
// root may use IAM policies (the default key policy's statement), key administrators manage
// the key, key users use it for the operations its type has, and may attach it to AWS
// resources through grants (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
// Pure: it runs in the browser and in the Node tests.

/** The administrators' actions the AWS console grants (key-policy-default.html#key-policy-default-allow-administrators). */
export const ADMIN_ACTIONS = [
  "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
  "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
];

/** The key users' actions, by key spec and usage (key-policy-default.html#key-policy-users). */
export function userActions(keySpec: string, keyUsage: string): string[] {
  if (keySpec === "SYMMETRIC_DEFAULT") return ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];
  switch (keyUsage) {
    case "ENCRYPT_DECRYPT": return ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"];
    case "SIGN_VERIFY": return ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"];
    case "GENERATE_VERIFY_MAC": return ["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"];
    case "KEY_AGREEMENT": return ["kms:DescribeKey", "kms:GetPublicKey", "kms:DeriveSharedSecret"];
    case "ENCAPSULATE_DECAPSULATE": return ["kms:DescribeKey", "kms:GetPublicKey", "kms:Encapsulate", "kms:Decapsulate"];
    default: return ["kms:DescribeKey"];
  }
}

export interface PolicyChoice {
  account: string;
  keySpec: string;
  keyUsage: string;
  /** Principal ARNs. */
  administrators: string[];
  users: string[];
}

/** The proposed key policy, pretty-printed as the console shows it for review. */
export function consoleKeyPolicy(c: PolicyChoice): string {
  const statements: object[] = [{
    Sid: "Enable IAM User Permissions",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${c.account}:root` },
    Action: "kms:*",
    Resource: "*",
  }];
  if (c.administrators.length) {
    statements.push({ Sid: "Allow access for Key Administrators", Effect: "Allow", Principal: { AWS: c.administrators }, Action: ADMIN_ACTIONS, Resource: "*" });
  }
  if (c.users.length) {
    statements.push({ Sid: "Allow use of the key", Effect: "Allow", Principal: { AWS: c.users }, Action: userActions(c.keySpec, c.keyUsage), Resource: "*" });
    statements.push({
      Sid: "Allow attachment of persistent resources",
      Effect: "Allow",
      Principal: { AWS: c.users },
      Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: "*",
      Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Id: "key-consolepolicy-3", Statement: statements }, null, 2);
}

/** What the wizard offers: each key type, its usages and specs. */
export const KEY_TYPES: { label: string; usage: string; specs: string[] }[] = [
  { label: "Symmetric: encrypt and decrypt", usage: "ENCRYPT_DECRYPT", specs: ["SYMMETRIC_DEFAULT"] },
  { label: "Symmetric: generate and verify MAC", usage: "GENERATE_VERIFY_MAC", specs: ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"] },
  { label: "Asymmetric: encrypt and decrypt", usage: "ENCRYPT_DECRYPT", specs: ["RSA_2048", "RSA_3072", "RSA_4096"] },
  { label: "Asymmetric: sign and verify", usage: "SIGN_VERIFY", specs: ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87"] },
  { label: "Asymmetric: key agreement", usage: "KEY_AGREEMENT", specs: ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"] },
  { label: "Asymmetric: key encapsulation", usage: "ENCAPSULATE_DECAPSULATE", specs: ["ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] },
];

/** A DER SubjectPublicKeyInfo as PEM (GetPublicKey's download). */
export function spkiPem(der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
}
