// The one authorizer: who may do what, for every KMS and admin operation. A pure function of
// what it is given (the caller, the permission and its facts, the key's facts and policy, the
// grants, the request's condition keys), so every rule is a row of a table test
// (test/node/authorize.test.ts). It decides as AWS KMS and IAM decide:
// https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
// https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
import type { PolicyDocument } from "../policy/document.js";
import { evaluateKeyPolicy, evaluatePolicy } from "../policy/evaluate.js";
import { PolicyCostExceeded, withMatchBudget, type MatchBudget } from "../policy/conditions.js";
import type { RequestContext } from "../policy/conditions.js";
import { addConditionValue } from "../policy/request-context.js";

/** An authenticated caller. `operator` is the service's own bootstrap principal (admin API only). */
export interface AuthzCaller {
  arn: string;
  accountId: string;
  type: "Root" | "IAMUser";
  /** Parsed identity policies of an IAM user (none for an account root). */
  policies: readonly PolicyDocument[];
  /** A service principal acting on its own behalf (the audit trail), e.g. cloudtrail.amazonaws.com. */
  service?: string;
  operator?: boolean;
}

/**
 * A permission and the facts that decide how it is checked, declared once by the operation
 * that needs it (src/operations/*.ts, src/admin/operations.ts).
 */
export interface Permission {
  /** "kms:Encrypt", "kms:ReEncryptTo", "iam:CreateUser", "edgekms:AuditFlush"… */
  action: string;
  /** Decided by identity policies alone: no key policy is involved (CreateKey, ListKeys, alias resources…). */
  iamOnly: boolean;
  /** May act on a resource of another account (a key by its ARN or a ciphertext). */
  crossAccount: boolean;
  /** The action takes an encryption context, so grant constraints apply to it. */
  usesEncryptionContext: boolean;
  /** Only the operator, or an account root in its own account (the audit trail's admin calls); never an IAM user. */
  rootOnly?: boolean;
  /** Only the operator (creating accounts). */
  operatorOnly?: boolean;
  /**
   * About the caller itself, which any principal may ask without a policy
   * (sts:GetCallerIdentity: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html):
   * allowed when the resource is the caller's own ARN, and only then.
   */
  selfOnly?: boolean;
}

/** What a key contributes to a decision. */
export interface KeyFacts {
  arn: string;
  account: string;
  policy: PolicyDocument;
  keySpec: string;
  keyUsage: string;
  origin: string;
  tags: readonly { TagKey: string; TagValue: string }[];
  aliases: readonly string[];
  /** A multi-Region key's type (kms:MultiRegion, kms:MultiRegionKeyType); absent for a single-Region key. */
  multiRegionKeyType?: "PRIMARY" | "REPLICA";
}

/** A grant's constraints: encryption-context pairs (own keys only; read through Maps). */
export interface GrantConstraints {
  EncryptionContextSubset?: Readonly<Record<string, string>>;
  EncryptionContextEquals?: Readonly<Record<string, string>>;
}

export interface GrantFacts {
  grantId: string;
  grantee: string;
  operations: readonly string[];
  constraints?: GrantConstraints;
  retiringPrincipal?: string;
  /** `arn:aws:iam::<account>:root` of the account that created it. */
  issuingAccount: string;
}

export interface AuthzRequest {
  caller: AuthzCaller;
  permission: Permission;
  /** The resource ARN the permission is checked on: a key, an alias, a user, or "*". */
  resource: string;
  /** The account that owns the resource (the caller's for "*"). */
  resourceAccount: string;
  /** The key, for permissions on a key. */
  key?: KeyFacts;
  /** The key's grants. */
  grants?: Iterable<GrantFacts>;
  /** Condition keys of the request (lower-cased names). */
  context: RequestContext;
  /** The request's encryption context, for grant constraints. */
  encryptionContext?: Readonly<Record<string, string>>;
  /** CreateGrant: the grant being created (a grant-authorized CreateGrant may only narrow its parent). */
  newGrant?: { operations: readonly string[]; constraints?: GrantConstraints };
  /** RetireGrant: the grant being retired (its retiring principal, grantee and issuer may retire it). */
  retiring?: GrantFacts;
  /** A batch entry: the match steps its group has left (conditions.ts MATCH_STEPS_PER_BATCH_GROUP). */
  matchBudget?: MatchBudget;
}

export type Decision =
  | { allow: true; basis: string }
  /** `hidden`: the caller may not learn that the resource exists (another account's key for an action that is not cross-account). */
  | { allow: false; message: string; hidden?: boolean };

/** The decisions an identity's policies reach (an account root is allowed in its own account). */
type IdentityDecision = "Root" | "Allow" | "Deny" | "NoMatch";

const rootArn = (account: string): string => `arn:aws:iam::${account}:root`;

function identityDecision(r: AuthzRequest): IdentityDecision {
  const { caller } = r;
  if (caller.type === "Root") return "Root";
  let allowed = false;
  for (const doc of caller.policies) {
    const d = evaluatePolicy(doc, { action: r.permission.action, resource: r.resource, principal: { arn: caller.arn, accountId: caller.accountId }, context: r.context }, false);
    if (d === "Deny") return "Deny";
    if (d === "Allow") allowed = true;
  }
  return allowed ? "Allow" : "NoMatch";
}

const denied = (r: AuthzRequest, why: string): Decision => ({
  allow: false,
  message: `User: ${r.caller.arn} is not authorized to perform: ${r.permission.action} on resource: ${r.resource} ${why}`,
});
const noIdentityAllow = (r: AuthzRequest) => denied(r, `because no identity-based policy allows the ${r.permission.action} action`);
const identityDeny = (r: AuthzRequest) => denied(r, "with an explicit deny in an identity-based policy");

/** Own entries of a user map, read without its prototype. */
const pairs = (m: Readonly<Record<string, string>> | undefined): Map<string, string> => new Map(m ? Object.entries(m) : []);

/** Whether every pair of `want` is in `have`. */
const includes = (have: Map<string, string>, want: Map<string, string>): boolean => {
  for (const [k, v] of want) if (have.get(k) !== v) return false;
  return true;
};
const sameMap = (a: Map<string, string>, b: Map<string, string>): boolean => a.size === b.size && includes(a, b);

/** The request's encryption context meets a grant's constraints. */
function constraintsMet(c: GrantConstraints | undefined, ec: Map<string, string>): boolean {
  if (!c) return true;
  if (c.EncryptionContextEquals && !sameMap(ec, pairs(c.EncryptionContextEquals))) return false;
  if (c.EncryptionContextSubset && !includes(ec, pairs(c.EncryptionContextSubset))) return false;
  return true;
}

/**
 * A grant made through a grant may only be as strict or stricter (AWS: "a grant that includes
 * CreateGrant can only create equally or more constrained grants"): every encryption context the
 * child admits, the parent admits too.
 */
function atLeastAsStrict(parent: GrantConstraints | undefined, child: GrantConstraints | undefined): boolean {
  if (!parent || (!parent.EncryptionContextEquals && !parent.EncryptionContextSubset)) return true;
  const childEquals = child?.EncryptionContextEquals ? pairs(child.EncryptionContextEquals) : undefined;
  const childSubset = child?.EncryptionContextSubset ? pairs(child.EncryptionContextSubset) : undefined;
  if (!childEquals && !childSubset) return false;
  if (parent.EncryptionContextEquals) {
    // Only the one context the parent admits: the child must pin exactly that context.
    return childEquals !== undefined && sameMap(childEquals, pairs(parent.EncryptionContextEquals))
      && (childSubset === undefined || includes(childEquals, childSubset));
  }
  const need = pairs(parent.EncryptionContextSubset);
  // Every context the child admits contains the child's pinned pairs, so those must cover the parent's.
  return (childEquals !== undefined && includes(childEquals, need)) || (childSubset !== undefined && includes(childSubset, need));
}

/** Whether a grant's grantee principal names the caller: its ARN, its account, its account root, or its service. */
export function isGrantee(grantee: string, caller: Pick<AuthzCaller, "arn" | "accountId" | "service">): boolean {
  return grantee === caller.arn || grantee === caller.accountId || grantee === rootArn(caller.accountId)
    || (caller.service !== undefined && grantee === caller.service);
}

/** The grant that gives the caller this permission, its constraints met, if any. */
function grantFor(r: AuthzRequest): GrantFacts | undefined {
  const action = r.permission.action.replace(/^kms:/, "");
  const ec = pairs(r.encryptionContext);
  for (const g of r.grants ?? []) {
    if (!isGrantee(g.grantee, r.caller) || !g.operations.includes(action)) continue;
    if (r.newGrant) {
      // A grant-authorized CreateGrant: a subset of the parent's operations, constraints as strict or stricter.
      if (!r.newGrant.operations.every((op) => g.operations.includes(op))) continue;
      if (!atLeastAsStrict(g.constraints, r.newGrant.constraints)) continue;
    } else if (r.permission.usesEncryptionContext && !constraintsMet(g.constraints, ec)) {
      continue;
    }
    return g;
  }
  return undefined;
}

/**
 * The last key context made, and what it was made from. A batch's entries for a key share their
 * request's condition keys and the vault's KeyFacts (the same objects, src/vault/batch.ts), so
 * each entry would make the same copy again; it is made once while all three are unchanged.
 * Neither the request's context nor a key context is changed once made (the policy code reads them).
 */
let lastKeyContext: { context: RequestContext; key: KeyFacts; account: string; made: RequestContext } | undefined;

/** The key's attributes as condition keys, over the request's (a copy without a prototype). */
function keyContext(r: AuthzRequest, key: KeyFacts): RequestContext {
  const last = lastKeyContext;
  if (last && last.context === r.context && last.key === key && last.account === r.caller.accountId) return last.made;
  const context: RequestContext = Object.assign(Object.create(null) as RequestContext, r.context);
  context["kms:keyspec"] = key.keySpec;
  context["kms:keyusage"] = key.keyUsage;
  context["kms:keyorigin"] = key.origin;
  context["kms:multiregion"] = String(key.multiRegionKeyType !== undefined);
  if (key.multiRegionKeyType) context["kms:multiregionkeytype"] = key.multiRegionKeyType;
  context["kms:calleraccount"] = r.caller.accountId;
  // Tag keys that differ only in case ("env", "ENV") all count: a Deny on one cannot be dodged by the other.
  for (const t of key.tags) addConditionValue(context as Record<string, string | string[]>, `aws:resourcetag/${t.TagKey.toLowerCase()}`, t.TagValue);
  context["kms:resourcealiases"] = [...key.aliases];
  lastKeyContext = { context: r.context, key, account: r.caller.accountId, made: context };
  return context;
}

/** Permissions no key policy is involved in: identity policies, in the caller's own account only. */
function identityOnly(r: AuthzRequest): Decision {
  if (r.permission.selfOnly) return r.resource === r.caller.arn ? { allow: true, basis: "own identity" } : denied(r, "because it is about another principal");
  if (r.caller.operator) return { allow: true, basis: "operator" };
  if (r.permission.operatorOnly) return denied(r, "because only the operator may perform it");
  if (r.resourceAccount !== r.caller.accountId) return denied(r, "because the resource belongs to another account");
  const identity = identityDecision(r);
  if (identity === "Root") return { allow: true, basis: "account root" };
  if (r.permission.rootOnly) return denied(r, "because only the account root (or the operator) may perform it");
  if (identity === "Deny") return identityDeny(r);
  if (identity === "Allow") return { allow: true, basis: "identity policy" };
  return noIdentityAllow(r);
}

/** RetireGrant: its retiring principal, its grantee if it includes RetireGrant, or its issuing account. */
function retire(r: AuthzRequest, g: GrantFacts): Decision {
  if (g.retiringPrincipal !== undefined && g.retiringPrincipal === r.caller.arn) return { allow: true, basis: "retiring principal" };
  if (g.grantee === r.caller.arn && g.operations.includes("RetireGrant")) return { allow: true, basis: "grantee" };
  if (g.issuingAccount === rootArn(r.caller.accountId)) {
    // A principal of the issuing account needs kms:RetireGrant from the key's policies (or is its root).
    const byPolicy = r.key ? onKey({ ...r, retiring: undefined }, r.key) : identityOnly(r);
    if (byPolicy.allow) return { allow: true, basis: `issuing account (${byPolicy.basis})` };
  }
  return denied(r, "because it is not the grant's retiring principal, its grantee with RetireGrant, or its issuing account");
}

/**
 * The decision for a permission on a key (AWS's order): an explicit Deny in the key policy or
 * the caller's identity policies wins; then, in the key's account, a key-policy Allow naming the
 * caller, or naming the account with the caller its root or allowed by its identity policies;
 * across accounts, a key-policy Allow AND the caller's own identity policies (or its root);
 * then a grant for the caller that covers the action, its constraints met.
 */
function onKey(r: AuthzRequest, key: KeyFacts): Decision {
  const sameAccount = key.account === r.caller.accountId;
  if (!sameAccount && !r.permission.crossAccount) return { allow: false, hidden: true, message: "Key does not exist" };
  const context = keyContext(r, key);
  const withKey: AuthzRequest = { ...r, context };
  const principal = { arn: r.caller.arn, accountId: r.caller.accountId, ...(r.caller.service ? { service: r.caller.service } : {}) };
  const keyPolicy = evaluateKeyPolicy(key.policy, { action: r.permission.action, resource: key.arn, principal, context });
  const identity = r.caller.service ? "NoMatch" : identityDecision(withKey);
  if (keyPolicy === "Deny") return denied(r, "with an explicit deny in a resource-based policy");
  if (identity === "Deny") return identityDeny(r);
  if (sameAccount || r.caller.service) {
    if (keyPolicy === "AllowPrincipal") return { allow: true, basis: "key policy" };
    if (keyPolicy === "AllowAccount" && identity === "Root") return { allow: true, basis: "key policy (account root)" };
    if (keyPolicy === "AllowAccount" && identity === "Allow") return { allow: true, basis: "key policy and identity policy" };
  } else if (keyPolicy !== "NoMatch") {
    // Across accounts the key policy only admits; the caller's own account must allow too.
    if (identity === "Root") return { allow: true, basis: "key policy and account root (cross-account)" };
    if (identity === "Allow") return { allow: true, basis: "key policy and identity policy (cross-account)" };
  }
  const grant = grantFor(withKey);
  if (grant) return { allow: true, basis: `grant ${grant.grantId}` };
  if (keyPolicy === "NoMatch") return denied(r, `because no resource-based policy allows the ${r.permission.action} action`);
  return noIdentityAllow(r);
}

export function authorize(r: AuthzRequest): Decision {
  try {
    return withMatchBudget(() => {
      if (r.retiring) return retire(r, r.retiring);
      if (r.permission.iamOnly || r.permission.rootOnly || r.permission.operatorOnly || r.permission.selfOnly) return identityOnly(r);
      if (!r.key) return { allow: false, message: `${r.permission.action} needs a key` };
      return onKey(r, r.key);
    }, r.matchBudget);
  } catch (e) {
    // Neither outcome of an unfinished match can be assumed: refused (conditions.ts).
    if (e instanceof PolicyCostExceeded) return denied(r, `because ${e.message}`);
    throw e;
  }
}
