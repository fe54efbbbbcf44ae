// Identity (IAM-style) policies of the caller, evaluated for one action on one resource.
// The vault combines the result with the key policy (vault/key-vault.ts, authorize).
import { parsePolicy, type PolicyDocument } from "../policy/document.js";
import { evaluatePolicy } from "../policy/evaluate.js";
import type { Principal } from "../vault/identity-store.js";

/** An authenticated caller: its principal and, for an IAM user, its inline policies. */
export type Caller = Principal & { policies?: string[] };

/** Root: the account root (implicitly allowed in its account). Otherwise the identity policies' decision. */
export type IdentityDecision = "Root" | "Allow" | "Deny" | "NoMatch";

const parsed = new Map<string, PolicyDocument>();
const MAX_PARSED = 1000;

function doc(text: string): PolicyDocument {
  let d = parsed.get(text);
  if (!d) {
    d = parsePolicy(text); // stored policies were validated when they were put
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(text, d);
  }
  return d;
}

export function identityDecision(caller: Caller, action: string, resource: string, context: Record<string, string | string[]>): IdentityDecision {
  if (caller.type === "Root") return "Root";
  let allowed = false;
  for (const text of caller.policies ?? []) {
    const d = evaluatePolicy(doc(text), { action: `kms:${action}`, resource, principal: { arn: caller.arn, accountId: caller.accountId }, context }, false);
    if (d === "Deny") return "Deny";
    if (d === "Allow") allowed = true;
  }
  return allowed ? "Allow" : "NoMatch";
}
