// Parsing of IAM-style policy documents (key policies and identity policies) into a checked,
// normalised form. Anything malformed is reported with a reason (MalformedPolicyDocument).

import { variablesWellFormed } from "./conditions.js";

export type Effect = "Allow" | "Deny";

export interface PrincipalSpec {
  any: boolean; // "*" or {"AWS": "*"}
  aws: string[]; // account ids, root/user/role ARNs
  service: string[];
}

export interface ConditionClause {
  operator: string; // base operator, e.g. StringEquals
  ifExists: boolean;
  set?: "ForAnyValue" | "ForAllValues";
  key: string; // lower-cased for lookup
  values: string[];
  /** Some value holds a policy variable (Version 2012-10-17 only), resolved per request (conditions.ts). */
  variables?: true;
}

export interface Statement {
  sid?: string;
  effect: Effect;
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  conditions: ConditionClause[];
  /** Resource or NotResource holds a policy variable (Version 2012-10-17 only), resolved per request. */
  resourceVariables?: true;
}

export interface PolicyDocument {
  version?: string;
  id?: string;
  statements: Statement[];
}

export class PolicyError extends Error {}

/**
 * A key policy is a resource-based policy: each statement names its principals (Principal or
 * NotPrincipal). An identity (IAM) policy applies to the identity it is attached to and names
 * none. See "Key policies in AWS KMS" (docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)
 * and "IAM JSON policy elements: Principal" (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
 */
/**
 * "key" and "identity" are what PutKeyPolicy/CreateKey and PutUserPolicy accept. "stored-key"
 * reads a key policy stored before statements without a Principal were refused: such a
 * statement never applied (a key policy statement applies only to the principals it names),
 * so it is kept and still never applies, rather than making the key unusable.
 */
export type PolicyKind = "key" | "identity" | "stored-key" | "stored-identity";

/**
 * The elements of a policy and of a statement (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html).
 * Any other name is refused: read as absent, a misspelled "Conditon" made an Allow unconditional
 * (an outsider's review).
 */
const DOCUMENT_ELEMENTS: ReadonlySet<string> = new Set(["Version", "Id", "Statement"]);
const STATEMENT_ELEMENTS: ReadonlySet<string> = new Set(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]);

export const OPERATORS = new Set([
  "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
  "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
  "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
  "Bool", "Null", "IpAddress", "NotIpAddress", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike",
]);

const asList = (v: unknown, what: string): string[] => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.some((x) => typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean")) {
    throw new PolicyError(`${what} must be a string or a non-empty list of strings`);
  }
  return list.map(String);
};

/**
 * An AWS principal as a policy may name it: "*", an account id, or the ARN of an account root,
 * user or role (arn:aws:iam::…), or of a role session or federated user (arn:aws:sts::…), names
 * of IAM's characters and no wildcards
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
 * a pattern there would never match, so a Deny written with one would silently not apply.
 */
const IAM_NAME = "[\\w+=,.@-]+";
const AWS_PRINCIPAL = new RegExp(`^(\\d{12}|arn:aws[a-z-]*:iam::\\d{12}:(root|(user|role)/(${IAM_NAME}/)*${IAM_NAME})|arn:aws[a-z-]*:sts::\\d{12}:(assumed-role/${IAM_NAME}/${IAM_NAME}|federated-user/${IAM_NAME}))$`);

function principal(v: unknown, what: string, lenient: boolean): PrincipalSpec {
  if (v === "*") return { any: true, aws: [], service: [] };
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new PolicyError(`${what} must be "*" or an object`);
  const out: PrincipalSpec = { any: false, aws: [], service: [] };
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === "AWS") {
      const list = asList(x, `${what}.AWS`);
      if (list.includes("*")) out.any = true;
      for (const p of list) {
        if (p !== "*" && !lenient && !AWS_PRINCIPAL.test(p)) {
          throw new PolicyError(`${what}.AWS has an invalid principal: ${p}`);
        }
      }
      out.aws = list.filter((p) => p !== "*");
    } else if (k === "Service") {
      out.service = asList(x, `${what}.Service`);
    } else {
      throw new PolicyError(`${what} has an unsupported principal type: ${k}`);
    }
  }
  return out;
}

/** Whether a string holds a policy variable: the 2012-10-17 language has them, 2008-10-17 none (its `${` is text). */
const holdsVariable = (s: string) => s.includes("${");

/**
 * A new policy's variables must be readable: a malformed `${…}` never has a value, and a Deny
 * holding one would silently never apply (as a principal pattern would, above).
 */
function checkVariables(values: string[], where: string, strict: boolean): void {
  if (!strict) return;
  const bad = values.find((v) => holdsVariable(v) && !variablesWellFormed(v));
  if (bad !== undefined) throw new PolicyError(`${where} has a malformed policy variable: ${bad}`);
}

function conditions(v: unknown, variables: boolean, strict: boolean): ConditionClause[] {
  if (v === undefined) return [];
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new PolicyError("Condition must be an object");
  const out: ConditionClause[] = [];
  for (const [rawOp, block] of Object.entries(v as Record<string, unknown>)) {
    let op = rawOp;
    let set: ConditionClause["set"];
    const q = /^(ForAnyValue|ForAllValues):(.+)$/.exec(op);
    if (q) {
      set = q[1] as ConditionClause["set"];
      op = q[2];
    }
    const ifExists = op.endsWith("IfExists");
    if (ifExists) op = op.slice(0, -"IfExists".length);
    if (!OPERATORS.has(op) || (ifExists && op === "Null")) throw new PolicyError(`Unknown condition operator: ${rawOp}`);
    if (block === null || typeof block !== "object" || Array.isArray(block)) throw new PolicyError(`Condition ${rawOp} must map keys to values`);
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      const list = asList(values, `Condition ${rawOp}.${key}`);
      // Variables are substituted in String, ARN and Bool conditions only; elsewhere (Numeric, Date,
      // IpAddress, Null) "${…}" is text, as in AWS (reference_policies_elements_condition_operators.html):
      // substituted in NotIpAddress, a caller's context could switch a Deny off.
      const substitutes = variables && (op.startsWith("String") || op.startsWith("Arn") || op === "Bool");
      if (substitutes) checkVariables(list, `Condition ${rawOp}.${key}`, strict);
      out.push({ operator: op, ifExists, set, key: key.toLowerCase(), values: list, ...(substitutes && list.some(holdsVariable) ? { variables: true as const } : {}) });
    }
  }
  return out;
}

function pair(s: Record<string, unknown>, a: string, b: string, required: boolean): [string[] | undefined, string[] | undefined] {
  if (s[a] !== undefined && s[b] !== undefined) throw new PolicyError(`A statement cannot have both ${a} and ${b}`);
  if (required && s[a] === undefined && s[b] === undefined) throw new PolicyError(`A statement needs ${a} or ${b}`);
  return [s[a] === undefined ? undefined : asList(s[a], a), s[b] === undefined ? undefined : asList(s[b], b)];
}

/** Parses policy JSON text of the given kind; throws PolicyError with the reason when it is malformed. */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PolicyError("The policy is not valid JSON");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new PolicyError("The policy must be a JSON object");
  const d = doc as Record<string, unknown>;
  // Documents stored before a rule are read as they were accepted, with what the rule would have
  // refused made harmless (below); new ones are held to every rule.
  const stored = kind === "stored-key" || kind === "stored-identity";
  const identity = kind === "identity" || kind === "stored-identity";
  const unknown = Object.keys(d).find((k) => !DOCUMENT_ELEMENTS.has(k));
  if (unknown !== undefined && !stored) throw new PolicyError(`The policy has an unknown element: ${unknown}`);
  if (d.Version !== undefined && d.Version !== "2012-10-17" && d.Version !== "2008-10-17") throw new PolicyError(`Unsupported policy Version: ${String(d.Version)}`);
  // Policy variables are those of the 2012-10-17 language; without a Version (2008-10-17) "${…}" is text.
  const variables = d.Version === "2012-10-17";
  const raw = Array.isArray(d.Statement) ? d.Statement : d.Statement === undefined ? [] : [d.Statement];
  if (raw.length === 0) throw new PolicyError("The policy has no Statement");
  const statements = raw.flatMap((st, i): Statement[] => {
    if (st === null || typeof st !== "object" || Array.isArray(st)) throw new PolicyError(`Statement ${i} must be an object`);
    const s = st as Record<string, unknown>;
    if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new PolicyError(`Statement ${i} needs Effect Allow or Deny`);
    if (s.Principal !== undefined && s.NotPrincipal !== undefined) throw new PolicyError("A statement cannot have both Principal and NotPrincipal");
    const names = s.Principal !== undefined || s.NotPrincipal !== undefined;
    if (kind === "key" && !names) throw new PolicyError(`Statement ${i} of a key policy needs a Principal or NotPrincipal`);
    if (identity && names && !stored) throw new PolicyError(`Statement ${i} of an identity policy cannot specify a Principal or NotPrincipal`);
    // What IAM refuses in a statement. A stored Allow with any of it never applies; a stored Deny
    // still does (as it was read when stored).
    // What IAM refuses in a statement. Of a stored one, an Allow that an unknown element (a
    // misspelled Condition?) or NotPrincipal made wider than its author can have meant never
    // applies, and a stored Deny still does; a numeric Sid or a missing Resource change nothing
    // it was read as, and are kept (dropping its Allow could lock a key's root out for good).
    const odd = Object.keys(s).find((k) => !STATEMENT_ELEMENTS.has(k));
    const widened = odd !== undefined ? `Statement ${i} has an unknown element: ${odd}`
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html: with Allow, "not supported".
      : s.Effect === "Allow" && s.NotPrincipal !== undefined ? `Statement ${i} uses NotPrincipal with Allow (NotPrincipal must be used with Deny)`
      : undefined;
    const refusal = widened
      ?? (s.Sid !== undefined && typeof s.Sid !== "string" ? `Statement ${i} has a Sid that is not a string`
      : identity && s.Resource === undefined && s.NotResource === undefined ? `Statement ${i} of an identity policy needs a Resource or NotResource`
      : undefined);
    if (refusal !== undefined && !stored) throw new PolicyError(refusal);
    if (widened !== undefined && s.Effect === "Allow") return [];
    const [actions, notActions] = pair(s, "Action", "NotAction", true);
    const [resources, notResources] = pair(s, "Resource", "NotResource", false);
    const resourceVariables = variables && [...(resources ?? []), ...(notResources ?? [])].some(holdsVariable);
    if (resourceVariables) checkVariables([...(resources ?? []), ...(notResources ?? [])], `Statement ${i}'s Resource`, !stored);
    return [{
      ...(typeof s.Sid === "string" ? { sid: s.Sid } : {}),
      effect: s.Effect,
      ...(s.Principal !== undefined ? { principal: principal(s.Principal, "Principal", kind === "stored-key") } : {}),
      ...(s.NotPrincipal !== undefined ? { notPrincipal: principal(s.NotPrincipal, "NotPrincipal", kind === "stored-key") } : {}),
      ...(actions ? { actions } : {}),
      ...(notActions ? { notActions } : {}),
      ...(resources ? { resources } : {}),
      ...(notResources ? { notResources } : {}),
      conditions: conditions(s.Condition, variables, !stored),
      ...(resourceVariables ? { resourceVariables: true as const } : {}),
    }];
  });
  return { ...(typeof d.Version === "string" ? { version: d.Version } : {}), ...(typeof d.Id === "string" ? { id: d.Id } : {}), statements };
}
