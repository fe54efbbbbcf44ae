// The one authorizer as a table: key policy × identity policy × grant × same or other account ×
// IAM-only, the grant-chain and retirement rules, and the admin API's permissions. Each row
// names the finding of issue 10 it guards, where it guards one.
import { describe, expect, it } from "vitest";
import { authorize, type AuthzCaller, type AuthzRequest, type GrantFacts, type KeyFacts, type Permission } from "../../src/authz/authorize.js";
import { parsePolicy } from "../../src/policy/document.js";
import { batchGroupSteps, MATCH_STEPS_PER_BATCH_ENTRY, type MatchBudget } from "../../src/policy/conditions.js";

const A = "111122223333";
const B = "444455556666";
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY = `arn:aws:kms:us-east-1:${A}:key/${KEY_ID}`;
const root = (acct: string) => `arn:aws:iam::${acct}:root`;
const user = (acct: string, name: string) => `arn:aws:iam::${acct}:user/${name}`;

const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const keyPolicy = (...statements: object[]) => parsePolicy(doc(...statements), "key");
const allow = (principal: unknown, action: unknown = "kms:*", extra: object = {}) => ({ Effect: "Allow", Principal: principal, Action: action, Resource: "*", ...extra });
const deny = (principal: unknown, action: unknown, extra: object = {}) => ({ Effect: "Deny", Principal: principal, Action: action, Resource: "*", ...extra });
const DEFAULT = keyPolicy(allow({ AWS: root(A) }));

const identity = (...statements: object[]) => parsePolicy(doc(...statements), "identity");
const iamAllow = (action: unknown, resource: unknown = "*", extra: object = {}) => ({ Effect: "Allow", Action: action, Resource: resource, ...extra });
const iamDeny = (action: unknown, resource: unknown = "*", extra: object = {}) => ({ Effect: "Deny", Action: action, Resource: resource, ...extra });

const rootOf = (acct: string): AuthzCaller => ({ arn: root(acct), accountId: acct, type: "Root", policies: [] });
const userOf = (acct: string, name: string, ...policies: ReturnType<typeof identity>[]): AuthzCaller => ({ arn: user(acct, name), accountId: acct, type: "IAMUser", policies });
const OPERATOR: AuthzCaller = { ...rootOf(A), operator: true };

const kms = (action: string, facts: Partial<Permission> = {}): Permission => ({
  action: `kms:${action}`,
  iamOnly: false,
  crossAccount: ["Encrypt", "Decrypt", "DescribeKey", "ReEncryptTo", "ReEncryptFrom", "GenerateDataKey", "CreateGrant", "RetireGrant"].includes(action),
  usesEncryptionContext: ["Encrypt", "Decrypt", "ReEncryptTo", "ReEncryptFrom", "GenerateDataKey"].includes(action),
  ...facts,
});
const iamOnly = (action: string, facts: Partial<Permission> = {}): Permission => ({ action, iamOnly: true, crossAccount: false, usesEncryptionContext: false, ...facts });

const keyFacts = (policy = DEFAULT, over: Partial<KeyFacts> = {}): KeyFacts =>
  ({ arn: KEY, account: A, policy, keySpec: "SYMMETRIC_DEFAULT", keyUsage: "ENCRYPT_DECRYPT", origin: "AWS_KMS", tags: [], aliases: [], ...over });

const grant = (grantee: string, operations: string[], over: Partial<GrantFacts> = {}): GrantFacts =>
  ({ grantId: "g1", grantee, operations, issuingAccount: root(A), ...over });

function onKey(caller: AuthzCaller, permission: Permission, over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { caller, permission, resource: KEY, resourceAccount: A, key: keyFacts(), context: {}, ...over };
}
function onResource(caller: AuthzCaller, permission: Permission, resource: string, resourceAccount = caller.accountId): AuthzRequest {
  return { caller, permission, resource, resourceAccount, context: {} };
}

type Expect = { allow: true; basis?: string } | { allow: false; because: string };
const ALLOW = (basis?: string): Expect => ({ allow: true, ...(basis ? { basis } : {}) });
const DENY = (because: string): Expect => ({ allow: false, because });
type Row = [name: string, request: AuthzRequest, expected: Expect];

const ENCRYPT_ON_KEY = iamAllow("kms:Encrypt", KEY);
const alice = (...p: ReturnType<typeof identity>[]) => userOf(A, "alice", ...p);
const bob = (...p: ReturnType<typeof identity>[]) => userOf(B, "bob", ...p);

const ROWS: Row[] = [
  // ---- same account: key policy × identity policy
  ["root, default policy (delegation to the account)", onKey(rootOf(A), kms("Encrypt")), ALLOW("key policy")],
  ["root, key policy naming only its account", onKey(rootOf(A), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: A }))) }), ALLOW("key policy (account root)")],
  ["user without identity policy, default policy", onKey(alice(), kms("Encrypt")), DENY("because no identity-based policy allows the kms:Encrypt action")],
  ["user with identity Allow, default policy", onKey(alice(identity(ENCRYPT_ON_KEY)), kms("Encrypt")), ALLOW("key policy and identity policy")],
  ["user with identity Allow on another key", onKey(alice(identity(iamAllow("kms:Encrypt", `${KEY}0`))), kms("Encrypt")), DENY("no identity-based policy allows")],
  ["identity Deny beats identity Allow", onKey(alice(identity(ENCRYPT_ON_KEY, iamDeny("kms:*"))), kms("Encrypt")), DENY("with an explicit deny in an identity-based policy")],
  ["key policy naming the user allows without identity policy", onKey(alice(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "alice") }, "kms:Encrypt"))) }), ALLOW("key policy")],
  ["key policy Deny beats everything", onKey(rootOf(A), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), deny("*", "kms:Encrypt"))) }), DENY("with an explicit deny in a resource-based policy")],
  ["identity Allow without key-policy delegation", onKey(alice(identity(ENCRYPT_ON_KEY)), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "carol") }))) }), DENY("because no resource-based policy allows the kms:Encrypt action")],
  ["identity Deny beats a key policy naming the user", onKey(alice(identity(iamDeny("kms:Encrypt"))), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "alice") }))) }), DENY("explicit deny in an identity-based policy")],
  ["condition on a key attribute (kms:KeySpec)", onKey(alice(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "alice") }, "kms:Encrypt", { Condition: { StringEquals: { "kms:KeySpec": "RSA_2048" } } }))) }), DENY("no resource-based policy")],
  ["condition on a resource tag", onKey(alice(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "alice") }, "kms:Encrypt", { Condition: { StringEquals: { "aws:ResourceTag/team": "red" } } })), { tags: [{ TagKey: "Team", TagValue: "red" }] }) }), ALLOW("key policy")],

  ["a stored key policy statement without Principal never applies", onKey(rootOf(A), kms("Encrypt"), { key: keyFacts(parsePolicy(doc({ Effect: "Allow", Action: "kms:*", Resource: "*" }), "stored-key")) }), DENY("no resource-based policy")],

  // ---- grants
  ["grant to the user for the action", onKey(alice(), kms("Encrypt"), { grants: [grant(user(A, "alice"), ["Encrypt"])] }), ALLOW("grant g1")],
  ["grant for another action", onKey(alice(), kms("Decrypt"), { grants: [grant(user(A, "alice"), ["Encrypt"])] }), DENY("no identity-based policy")],
  ["grant to another user", onKey(alice(), kms("Encrypt"), { grants: [grant(user(A, "carol"), ["Encrypt"])] }), DENY("no identity-based policy")],
  ["grant, EncryptionContextEquals met", onKey(alice(), kms("Encrypt"), { encryptionContext: { a: "1" }, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextEquals: { a: "1" } } })] }), ALLOW("grant g1")],
  ["grant, EncryptionContextEquals not met (extra pair)", onKey(alice(), kms("Encrypt"), { encryptionContext: { a: "1", b: "2" }, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextEquals: { a: "1" } } })] }), DENY("no identity-based policy")],
  ["grant, EncryptionContextSubset met", onKey(alice(), kms("Encrypt"), { encryptionContext: { a: "1", b: "2" }, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextSubset: { a: "1" } } })] }), ALLOW("grant g1")],
  ["grant, EncryptionContextSubset not met", onKey(alice(), kms("Encrypt"), { encryptionContext: { a: "2" }, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextSubset: { a: "1" } } })] }), DENY("no identity-based policy")],
  ["grant constraints do not apply to DescribeKey", onKey(alice(), kms("DescribeKey"), { grants: [grant(user(A, "alice"), ["DescribeKey"], { constraints: { EncryptionContextEquals: { a: "1" } } })] }), ALLOW("grant g1")],
  ["key policy Deny beats a grant", onKey(alice(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), deny("*", "kms:Encrypt"))), grants: [grant(user(A, "alice"), ["Encrypt"])] }), DENY("explicit deny in a resource-based policy")],
  ["finding 7: a __proto__ constraint pair is data, not dropped (unmet)", onKey(alice(), kms("Encrypt"), { encryptionContext: {}, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextEquals: JSON.parse('{"__proto__":"x"}') } })] }), DENY("no identity-based policy")],
  ["finding 7: a __proto__ constraint pair is data (met)", onKey(alice(), kms("Encrypt"), { encryptionContext: JSON.parse('{"__proto__":"x"}'), grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextEquals: JSON.parse('{"__proto__":"x"}') } })] }), ALLOW("grant g1")],
  ["finding 7: a constructor context key does not match through the prototype", onKey(alice(), kms("Encrypt"), { encryptionContext: {}, grants: [grant(user(A, "alice"), ["Encrypt"], { constraints: { EncryptionContextSubset: { constructor: "function Object() { [native code] }" } } })] }), DENY("no identity-based policy")],
  ["finding 9: a condition on constructor is no match, not an exception", onKey(alice(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: user(A, "alice") }, "kms:Encrypt", { Condition: { StringEquals: { constructor: "x" } } }))) }), DENY("no resource-based policy")],

  // ---- finding 3: grant chains
  ["finding 3: a grantee of [Encrypt, CreateGrant] cannot grant Decrypt", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"])], newGrant: { operations: ["Decrypt"] } }), DENY("no identity-based policy")],
  ["finding 3: …and may grant a subset of its operations", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"])], newGrant: { operations: ["Encrypt"] } }), ALLOW("grant g1")],
  ["finding 3: a constrained parent lets its grantee create an equally constrained grant", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextEquals: { a: "1" } } })], newGrant: { operations: ["Encrypt"], constraints: { EncryptionContextEquals: { a: "1" } } } }), ALLOW("grant g1")],
  ["finding 3: …but not an unconstrained one", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextEquals: { a: "1" } } })], newGrant: { operations: ["Encrypt"] } }), DENY("no identity-based policy")],
  ["finding 3: …nor a looser Subset under an Equals parent", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextEquals: { a: "1" } } })], newGrant: { operations: ["Encrypt"], constraints: { EncryptionContextSubset: { a: "1" } } } }), DENY("no identity-based policy")],
  ["finding 3: Subset parent, child Subset with more pairs (stricter)", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextSubset: { a: "1" } } })], newGrant: { operations: ["Encrypt"], constraints: { EncryptionContextSubset: { a: "1", b: "2" } } } }), ALLOW("grant g1")],
  ["finding 3: Subset parent, child Equals containing it (stricter)", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextSubset: { a: "1" } } })], newGrant: { operations: ["Encrypt"], constraints: { EncryptionContextEquals: { a: "1", b: "2" } } } }), ALLOW("grant g1")],
  ["finding 3: Subset parent, child Subset without its pair (looser)", onKey(alice(), kms("CreateGrant"), { grants: [grant(user(A, "alice"), ["Encrypt", "CreateGrant"], { constraints: { EncryptionContextSubset: { a: "1" } } })], newGrant: { operations: ["Encrypt"], constraints: { EncryptionContextSubset: { b: "2" } } } }), DENY("no identity-based policy")],
  ["finding 3: a grant to another account cannot widen either", onKey(bob(), kms("CreateGrant"), { grants: [grant(user(B, "bob"), ["Encrypt", "CreateGrant"])], newGrant: { operations: ["Encrypt", "Decrypt"] } }), DENY("no resource-based policy")],
  ["CreateGrant allowed by policy is not limited to a subset", onKey(rootOf(A), kms("CreateGrant"), { newGrant: { operations: ["Decrypt"] } }), ALLOW("key policy")],

  // ---- across accounts (key in A, caller in B)
  ["cross-account: key policy admits B, B's root", onKey(rootOf(B), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), allow({ AWS: root(B) }, "kms:Encrypt"))) }), ALLOW("key policy and account root (cross-account)")],
  ["cross-account: key policy admits B, B's user without identity policy", onKey(bob(), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), allow({ AWS: root(B) }, "kms:Encrypt"))) }), DENY("no identity-based policy")],
  ["cross-account: key policy admits B, B's user with identity Allow", onKey(bob(identity(ENCRYPT_ON_KEY)), kms("Encrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), allow({ AWS: root(B) }, "kms:Encrypt"))) }), ALLOW("key policy and identity policy (cross-account)")],
  ["finding 5: key policy naming the foreign user still needs its identity policy", onKey(bob(), kms("Decrypt"), { key: keyFacts(keyPolicy(allow({ AWS: root(A) }), allow({ AWS: user(B, "bob") }, "kms:Decrypt"))) }), DENY("no identity-based policy")],
  ["finding 5: Principal * still needs the foreign caller's identity policy", onKey(bob(), kms("Decrypt"), { key: keyFacts(keyPolicy(allow("*", "kms:Decrypt"))) }), DENY("no identity-based policy")],
  // Allow with NotPrincipal is refused as malformed now (document.ts); one stored before never applies.
  ["a stored Allow with NotPrincipal admits no one", onKey(bob(identity(iamAllow("kms:Decrypt"))), kms("Decrypt"), { key: keyFacts(parsePolicy(doc({ Effect: "Allow", NotPrincipal: { AWS: user(A, "carol") }, Action: "kms:Decrypt", Resource: "*" }), "stored-key")) }), DENY("no resource-based policy")],
  ["finding 5: …and with it, is allowed", onKey(bob(identity(iamAllow("kms:Decrypt"))), kms("Decrypt"), { key: keyFacts(keyPolicy(allow("*", "kms:Decrypt"))) }), ALLOW("key policy and identity policy (cross-account)")],
  ["cross-account: foreign identity Allow without the key policy", onKey(bob(identity(iamAllow("kms:*"))), kms("Encrypt")), DENY("no resource-based policy")],
  ["cross-account: an action that is not cross-account is hidden", onKey(rootOf(B), kms("DisableKey"), { key: keyFacts(keyPolicy(allow("*"))) }), DENY("Key does not exist")],
  ["cross-account: a grant to the foreign user", onKey(bob(), kms("Decrypt"), { grants: [grant(user(B, "bob"), ["Decrypt"])] }), ALLOW("grant g1")],
  ["cross-account: a grant to the foreign account", onKey(bob(), kms("Decrypt"), { grants: [grant(B, ["Decrypt"])] }), ALLOW("grant g1")],

  // ---- IAM-only permissions (no key policy)
  ["IAM-only: root", onResource(rootOf(A), iamOnly("kms:CreateKey"), "*"), ALLOW("account root")],
  ["IAM-only: user without policy", onResource(alice(), iamOnly("kms:CreateKey"), "*"), DENY("because no identity-based policy allows the kms:CreateKey action")],
  ["IAM-only: user with Allow", onResource(alice(identity(iamAllow("kms:Create*"))), iamOnly("kms:CreateKey"), "*"), ALLOW("identity policy")],
  ["IAM-only: user with Deny", onResource(alice(identity(iamAllow("kms:*"), iamDeny("kms:CreateKey"))), iamOnly("kms:CreateKey"), "*"), DENY("explicit deny in an identity-based policy")],
  ["finding 4: ListRetirableGrants needs an identity Allow", onResource(alice(), iamOnly("kms:ListRetirableGrants"), "*"), DENY("no identity-based policy")],
  ["finding 4: ListRetirableGrants for a principal of another account", onResource(rootOf(A), iamOnly("kms:ListRetirableGrants"), "*", B), DENY("belongs to another account")],
  ["finding 2: the alias half is decided on the alias ARN", onResource(alice(identity(iamAllow("kms:UpdateAlias", `arn:aws:kms:us-east-1:${A}:alias/team-a/*`))), iamOnly("kms:UpdateAlias"), `arn:aws:kms:us-east-1:${A}:alias/team-b/app`), DENY("no identity-based policy")],
  ["finding 2: …and allowed for the aliases the policy names", onResource(alice(identity(iamAllow("kms:UpdateAlias", `arn:aws:kms:us-east-1:${A}:alias/team-a/*`))), iamOnly("kms:UpdateAlias"), `arn:aws:kms:us-east-1:${A}:alias/team-a/app`), ALLOW("identity policy")],
  ["finding 2: the key half needs the key's policies too", onKey(alice(identity(iamAllow("kms:UpdateAlias", `arn:aws:kms:us-east-1:${A}:alias/*`))), kms("UpdateAlias")), DENY("no identity-based policy")],

  // ---- RetireGrant
  ["retire: the retiring principal", onKey(bob(), kms("RetireGrant"), { retiring: grant(user(A, "alice"), ["Encrypt"], { retiringPrincipal: user(B, "bob") }) }), ALLOW("retiring principal")],
  ["retire: the grantee, when the grant includes RetireGrant", onKey(alice(), kms("RetireGrant"), { retiring: grant(user(A, "alice"), ["Encrypt", "RetireGrant"]) }), ALLOW("grantee")],
  ["retire: the grantee, without RetireGrant", onKey(alice(), kms("RetireGrant"), { retiring: grant(user(A, "alice"), ["Encrypt"]) }), DENY("not the grant's retiring principal")],
  ["retire: the issuing account's root", onKey(rootOf(A), kms("RetireGrant"), { retiring: grant(user(B, "bob"), ["Encrypt"]) }), ALLOW("issuing account (key policy)")],
  ["retire: a user of the issuing account without kms:RetireGrant", onKey(userOf(A, "carol"), kms("RetireGrant"), { retiring: grant(user(B, "bob"), ["Encrypt"]) }), DENY("not the grant's retiring principal")],
  ["retire: a stranger", onKey(rootOf(B), kms("RetireGrant"), { retiring: grant(user(A, "alice"), ["Encrypt"]) }), DENY("not the grant's retiring principal")],

  // ---- finding 1: the admin API
  ["finding 1: a user allowed iam:* on user/* cannot make a root access key", onResource(alice(identity(iamAllow("iam:*", `arn:aws:iam::${A}:user/*`))), iamOnly("iam:CreateAccessKey", { rootOnly: true }), root(A)), DENY("only the account root (or the operator) may perform it")],
  ["finding 1: …nor delete one", onResource(alice(identity(iamAllow("iam:*"))), iamOnly("iam:DeleteAccessKey", { rootOnly: true }), root(A)), DENY("only the account root (or the operator) may perform it")],
  ["finding 1: the account root may", onResource(rootOf(A), iamOnly("iam:CreateAccessKey", { rootOnly: true }), root(A)), ALLOW("account root")],
  ["finding 1: a user is checked against the user it touches", onResource(alice(identity(iamAllow("iam:DeleteAccessKey", user(A, "alice")))), iamOnly("iam:DeleteAccessKey"), user(A, "bob")), DENY("because no identity-based policy allows the iam:DeleteAccessKey action")],
  ["finding 1: …and allowed on itself", onResource(alice(identity(iamAllow("iam:DeleteAccessKey", user(A, "alice")))), iamOnly("iam:DeleteAccessKey"), user(A, "alice")), ALLOW("identity policy")],
  ["admin: another account's root cannot manage this account", onResource(rootOf(B), iamOnly("iam:CreateUser"), user(A, "x"), A), DENY("belongs to another account")],
  ["admin: the operator may in any account", onResource(OPERATOR, iamOnly("iam:CreateUser"), user(B, "x"), B), ALLOW("operator")],
  ["admin: only the operator creates accounts", onResource(rootOf(A), iamOnly("edgekms:CreateAccount", { operatorOnly: true }), "*"), DENY("only the operator may")],
  ["admin: any principal may ask who it is, without a policy", onResource(alice(), iamOnly("sts:GetCallerIdentity", { selfOnly: true }), user(A, "alice")), ALLOW("own identity")],
  ["admin: …but not about another principal", onResource(alice(identity(iamAllow("*"))), iamOnly("sts:GetCallerIdentity", { selfOnly: true }), user(A, "bob")), DENY("about another principal")],
  ["admin: …not even the operator", onResource(OPERATOR, iamOnly("sts:GetCallerIdentity", { selfOnly: true }), root(B), B), DENY("about another principal")],
  ["admin: the audit trail is the root's, not a user's", onResource(alice(identity(iamAllow("*"))), iamOnly("edgekms:AuditTail", { rootOnly: true }), "*"), DENY("only the account root (or the operator) may perform it")],
];

describe("the authorizer", () => {
  it.each(ROWS)("%s", (_name, request, expected) => {
    const d = authorize(request);
    if (expected.allow) {
      expect(d).toMatchObject({ allow: true });
      if (expected.basis && d.allow) expect(d.basis).toBe(expected.basis);
    } else {
      expect(d.allow).toBe(false);
      if (!d.allow) expect(d.message).toContain(expected.because);
    }
  });

  it("denials name the caller, the action and the resource as AWS does", () => {
    const d = authorize(onKey(alice(), kms("Encrypt")));
    expect(d).toEqual({ allow: false, message: `User: ${user(A, "alice")} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no identity-based policy allows the kms:Encrypt action` });
  });
});

describe("a batch group's budget and heavy but ordinary policies", () => {
  const A = "111122223333";
  const KEY = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const json = (...s: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: s });
  const cidrs = (n: number, v6 = false) => Array.from({ length: n }, (_, i) => (v6 ? `2001:db8:${(i * 7).toString(16)}:${i.toString(16)}::/64` : `${10 + (i % 200)}.${(i * 13) % 256}.${(i * 7) % 256}.0/24`));
  const contextKeys = Array.from({ length: 40 }, (_, i) => `application-context-${String(i).padStart(3, "0")}`);
  // Ten identity policies with Bool, Numeric, Date and IgnoreCase conditions over 40 allowed context
  // keys and a network Deny; a key policy denying outside 200 CIDRs (an outsider's review measured
  // 523,000 steps per authorization for this when each compared character counted one step).
  const guard = (i: number) => json(
    { Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], Resource: "*", Condition: {
      Bool: { "aws:SecureTransport": "true", "aws:MultiFactorAuthPresent": "true" },
      NumericLessThan: { "aws:MultiFactorAuthAge": "3600" },
      DateLessThan: { "aws:CurrentTime": "2027-12-31T23:59:59Z" },
      "ForAllValues:StringEqualsIgnoreCase": { "kms:EncryptionContextKeys": contextKeys },
      StringEqualsIgnoreCase: { [`kms:EncryptionContext:${contextKeys[0]}`]: Array.from({ length: 20 }, (_, j) => `tenant-${i}-${j}-production-eu-west-1`) },
    } },
    { Effect: "Deny", Action: "kms:*", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": [...cidrs(60), ...cidrs(40, true)] } } },
  );
  const keyPolicy = json(
    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: "kms:*", Resource: "*" },
    { Effect: "Deny", Principal: "*", Action: "kms:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
    { Effect: "Deny", Principal: "*", Action: "kms:*", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": [...cidrs(100), ...cidrs(100, true)] } } },
  );
  const ec = Object.fromEntries(contextKeys.map((k, i) => [k, i === 0 ? "tenant-3-7-production-eu-west-1" : `value-${i}-${"x".repeat(30)}`]));
  const request = (group: MatchBudget): AuthzRequest => ({
    caller: { arn: `arn:aws:iam::${A}:user/app`, accountId: A, type: "IAMUser", policies: Array.from({ length: 10 }, (_, i) => parsePolicy(guard(i === 0 ? 3 : i + 100), "identity")) },
    permission: { action: "kms:Decrypt", iamOnly: false, crossAccount: true, usesEncryptionContext: true },
    resource: KEY,
    resourceAccount: A,
    key: { arn: KEY, account: A, policy: parsePolicy(keyPolicy, "key"), keySpec: "SYMMETRIC_DEFAULT", keyUsage: "ENCRYPT_DECRYPT", origin: "AWS_KMS", tags: [], aliases: [] },
    context: {
      "aws:sourceip": "2001:db8:111:27:5678:9abc:def0:1234", "aws:securetransport": "true", "aws:currenttime": "2026-12-04T18:00:00.000Z",
      "aws:multifactorauthpresent": "true", "aws:multifactorauthage": "120",
      "kms:encryptioncontextkeys": Object.keys(ec),
      ...Object.fromEntries(Object.entries(ec).map(([k, v]) => [`kms:encryptioncontext:${k}`, v])),
    },
    encryptionContext: ec,
    matchBudget: group,
  });

  it("a full batch of entries under them fits its group's budget", () => {
    const group: MatchBudget = { left: batchGroupSteps(1000) };
    const one = request({ left: batchGroupSteps(1) });
    expect(authorize(one).allow).toBe(true);
    const perEntry = batchGroupSteps(1) - one.matchBudget!.left;
    expect(perEntry).toBeLessThan(MATCH_STEPS_PER_BATCH_ENTRY);
    for (let i = 0; i < 1000; i++) expect(authorize(request(group)).allow, `entry ${i}`).toBe(true);
  });
});

describe("one key context per request context and key (a batch's entries share both objects)", () => {
  // keyContext is made once while the request's context, the key's facts and the caller's account
  // are the same objects; any of them changing must make it anew.
  const onTag = keyPolicy(allow({ AWS: user(A, "alice") }, "kms:Encrypt", { Condition: { StringEquals: { "aws:ResourceTag/team": "red", "kms:CallerAccount": A } } }));
  const red = keyFacts(onTag, { tags: [{ TagKey: "team", TagValue: "red" }] });
  const blue = keyFacts(onTag, { tags: [{ TagKey: "team", TagValue: "blue" }] });
  const context = { "aws:sourceip": "192.0.2.1" };
  const decide = (caller: AuthzCaller, key: KeyFacts) => authorize({ ...onKey(caller, kms("Encrypt")), key, context }).allow;

  it("another key with the same request context is decided on its own tags", () => {
    expect([decide(alice(), red), decide(alice(), blue), decide(alice(), red), decide(alice(), red), decide(alice(), blue)]).toEqual([true, false, true, true, false]);
  });

  it("another caller account with the same context and key is decided on its own kms:CallerAccount", () => {
    // The same ARN as alice's but another account, allowed by its own identity policy: only kms:CallerAccount refuses it.
    const mallory: AuthzCaller = { arn: user(A, "alice"), accountId: B, type: "IAMUser", policies: [identity(iamAllow("kms:Encrypt", KEY))] };
    expect([decide(alice(), red), decide(mallory, red), decide(alice(), red)]).toEqual([true, false, true]);
  });
});
