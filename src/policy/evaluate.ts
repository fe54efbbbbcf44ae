// Evaluation of one policy document for one request: explicit Deny, Allow, or no match.
// Combining the key policy, identity policies and grants is the caller's (authorization) job.
import type { PolicyDocument, PrincipalSpec, Statement } from "./document.js";
import { clauseHolds, resolveVariables, wildcardMatch, type RequestContext } from "./conditions.js";

export interface PolicyRequest {
  /** e.g. "kms:Encrypt" */
  action: string;
  /** The key ARN (or "*" for operations without a resource). */
  resource: string;
  principal: { arn: string; accountId: string; service?: string };
  context: RequestContext;
}

export type Decision = "Deny" | "Allow" | "NoMatch";

const rootArn = (account: string) => `arn:aws:iam::${account}:root`;

/**
 * Whether a Principal element names the caller. An account id or account root ARN names the
 * account as a whole: every principal of the account (the key policy then delegates to IAM).
 */
export function principalMatches(spec: PrincipalSpec, p: PolicyRequest["principal"]): boolean {
  if (spec.any) return true;
  if (p.service && spec.service.includes(p.service)) return true;
  return spec.aws.some((a) => a === p.accountId || a === rootArn(p.accountId) || a === p.arn);
}

/** Actions are case-insensitive and may use wildcards ("kms:*", "kms:Generate*"). */
const actionMatches = (patterns: string[], action: string) => patterns.some((p) => wildcardMatch(p, action, true));
/**
 * Resources may use wildcards. With `ctx` (the statement holds policy variables) each pattern's
 * variables are resolved first, and one whose variable has no value "will not match any resource"
 * (reference_policies_variables.html, "Policy variables with no value").
 */
const resourceMatches = (patterns: string[], resource: string, ctx?: RequestContext) => patterns.some((p) => {
  if (p === "*") return true;
  if (!ctx) return wildcardMatch(p, resource);
  const r = resolveVariables(p, ctx);
  return r !== undefined && wildcardMatch(r.text, resource, false, r.literal);
});

export function statementApplies(s: Statement, r: PolicyRequest, withPrincipal: boolean): boolean {
  if (withPrincipal) {
    if (s.principal && !principalMatches(s.principal, r.principal)) return false;
    if (s.notPrincipal && principalMatches(s.notPrincipal, r.principal)) return false;
    if (!s.principal && !s.notPrincipal) return false;
  }
  if (s.actions && !actionMatches(s.actions, r.action)) return false;
  if (s.notActions && actionMatches(s.notActions, r.action)) return false;
  const variables = s.resourceVariables ? r.context : undefined;
  if (s.resources && !resourceMatches(s.resources, r.resource, variables)) return false;
  if (s.notResources && resourceMatches(s.notResources, r.resource, variables)) return false;
  return s.conditions.every((c) => clauseHolds(c, r.context));
}

/**
 * Deny if any applicable statement denies; else Allow if any allows; else NoMatch.
 * Resource policies (key policies) match on Principal; identity policies have none
 * (withPrincipal = false: they apply to the principal they are attached to).
 */
export function evaluatePolicy(doc: PolicyDocument, r: PolicyRequest, withPrincipal: boolean): Decision {
  let allowed = false;
  for (const s of doc.statements) {
    if (!statementApplies(s, r, withPrincipal)) continue;
    if (s.effect === "Deny") return "Deny";
    allowed = true;
  }
  return allowed ? "Allow" : "NoMatch";
}

export type KeyPolicyDecision = "Deny" | "AllowPrincipal" | "AllowAccount" | "NoMatch";

/**
 * A key policy's decision, telling apart an Allow that names the caller (or "*") from one that
 * names only the caller's account: the latter delegates to the account's identity policies.
 */
export function evaluateKeyPolicy(doc: PolicyDocument, r: PolicyRequest): KeyPolicyDecision {
  let decision: KeyPolicyDecision = "NoMatch";
  for (const s of doc.statements) {
    if (!statementApplies(s, r, true)) continue;
    if (s.effect === "Deny") return "Deny";
    const direct = !s.principal || s.principal.any || s.principal.aws.includes(r.principal.arn) || (r.principal.service !== undefined && s.principal.service.includes(r.principal.service));
    if (direct) decision = "AllowPrincipal";
    else if (decision === "NoMatch") decision = "AllowAccount";
  }
  return decision;
}
