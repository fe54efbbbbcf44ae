// The key policy the console's wizard proposes (src/console/policy.ts): accepted by the
// service's own policy parser, and granting what the AWS console's default policy grants for
// each key type — checked by evaluating it with the service's evaluator.
import { describe, expect, it } from "vitest";
import { ADMIN_ACTIONS, consoleKeyPolicy, KEY_TYPES, spkiPem, userActions } from "../../src/console/policy.js";
import { parsePolicy } from "../../src/policy/document.js";
import { evaluateKeyPolicy } from "../../src/policy/evaluate.js";

const ACCOUNT = "111122223333";
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const USER = `arn:aws:iam::${ACCOUNT}:user/app`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/**
 * Whether the policy itself allows the principal the action on the key: a statement naming the
 * principal (the root statement names only the account, which delegates to IAM policies).
 */
function allows(policyText: string, principal: string, action: string, context: Record<string, string> = {}): boolean {
  const doc = parsePolicy(policyText, "key");
  return evaluateKeyPolicy(doc, { principal: { arn: principal, accountId: ACCOUNT }, action, resource: KEY, context: { "aws:principalarn": principal, ...context } }) === "AllowPrincipal";
}

describe("the wizard's key policy", () => {
  for (const type of KEY_TYPES) {
    for (const spec of type.specs) {
      it(`${spec} ${type.usage}: parses, gives administrators management and users the key's operations`, () => {
        const text = consoleKeyPolicy({ account: ACCOUNT, keySpec: spec, keyUsage: type.usage, administrators: [ADMIN], users: [USER] });
        const ops = userActions(spec, type.usage);
        for (const op of ops.filter((o) => !o.endsWith("*"))) {
          expect(allows(text, USER, op), `${USER} ${op}`).toBe(true);
          // Administrators manage (Describe*, Get*…) but do not use the key.
          const managed = ADMIN_ACTIONS.some((a) => a === op || (a.endsWith("*") && op.startsWith(a.slice(0, -1))));
          expect(allows(text, ADMIN, op), `${ADMIN} ${op}`).toBe(managed);
        }
        expect(allows(text, ADMIN, "kms:ScheduleKeyDeletion")).toBe(true);
        expect(allows(text, ADMIN, "kms:PutKeyPolicy")).toBe(true);
        expect(allows(text, USER, "kms:ScheduleKeyDeletion")).toBe(false);
        // Grants for AWS resources only.
        expect(allows(text, USER, "kms:CreateGrant", { "kms:grantisforawsresource": "true" })).toBe(true);
        expect(allows(text, USER, "kms:CreateGrant", { "kms:grantisforawsresource": "false" })).toBe(false);
        // The account root statement is always there (IAM policies keep working).
        expect(allows(text, `arn:aws:iam::${ACCOUNT}:root`, "kms:Decrypt")).toBe(true);
      });
    }
  }

  it("symmetric keys' users encrypt and make data keys; signing keys' users sign and never decrypt", () => {
    expect(userActions("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")).toEqual(expect.arrayContaining(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"]));
    expect(userActions("ECC_NIST_P256", "SIGN_VERIFY")).not.toContain("kms:Decrypt");
    expect(userActions("HMAC_256", "GENERATE_VERIFY_MAC")).toEqual(expect.arrayContaining(["kms:GenerateMac", "kms:VerifyMac"]));
  });

  it("without administrators or users, only the root statement", () => {
    const doc = JSON.parse(consoleKeyPolicy({ account: ACCOUNT, keySpec: "SYMMETRIC_DEFAULT", keyUsage: "ENCRYPT_DECRYPT", administrators: [], users: [] }));
    expect(doc.Statement).toHaveLength(1);
  });

  it("writes a DER public key as PEM in 64-character lines", () => {
    const der = Uint8Array.from({ length: 91 }, (_, i) => i);
    const pem = spkiPem(der);
    const lines = pem.trim().split("\n");
    expect(lines[0]).toBe("-----BEGIN PUBLIC KEY-----");
    expect(lines.at(-1)).toBe("-----END PUBLIC KEY-----");
    expect(lines.slice(1, -1).every((l) => l.length <= 64)).toBe(true);
    expect(Buffer.from(lines.slice(1, -1).join(""), "base64")).toEqual(Buffer.from(der));
  });
});
