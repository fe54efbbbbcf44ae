// Condition operators of the IAM policy language. A request context maps lower-cased keys to
// a string or a list of strings (multi-valued keys such as kms:EncryptionContextKeys).
// Evaluation never throws: a value that does not parse as the operator's type (number, date,
// IP address, ARN) simply does not match.

import type { ConditionClause } from "./document.js";

export type ContextValue = string | string[] | undefined;
export type RequestContext = Record<string, ContextValue>;

/**
 * `*` matches any run of characters, `?` any one (StringLike, ArnLike, actions, resources).
 * `literal` marks the pattern's characters that are never wildcards: those a policy variable put
 * there (a request's value, or `${*}` and `${?}`), so that no value can widen a pattern.
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false, literal?: Uint8Array): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  // iterative matcher with backtracking on the last '*': linear in practice, but a '*' before a
  // long literal that nearly matches at every place costs pattern × value steps, so the steps
  // are counted (PolicyCostExceeded).
  const budget = MATCH_STEPS_PER_CHAR * (p.length + v.length) + MATCH_STEPS_BASE;
  let steps = 0;
  let pi = 0, vi = 0, star = -1, mark = 0;
  while (vi < v.length) {
    if (++steps > budget || --sharedSteps < 0) throw new PolicyCostExceeded();
    if (pi < p.length && (isWild(p, literal, pi, "?") || p[pi] === v[vi])) { pi++; vi++; }
    else if (pi < p.length && isWild(p, literal, pi, "*")) { star = pi++; mark = vi; }
    else if (star >= 0) { pi = star + 1; vi = ++mark; }
    else return false;
  }
  while (pi < p.length && isWild(p, literal, pi, "*")) pi++;
  return pi === p.length;
}

/** Whether the pattern's character at `i` is the wildcard `c` (not a literal one a variable put there). */
const isWild = (p: string, literal: Uint8Array | undefined, i: number, c: string): boolean => p[i] === c && !(literal && literal[i]);

/**
 * Steps a wildcard match may take: this many per character of pattern and value, and a few more.
 * An ordinary pattern takes about one step per character; only backtracking over a long literal
 * takes more. A request's values (an encryption context) are chosen by its caller, and policy
 * variables put them into patterns too: a pattern "* /${kms:EncryptionContext:t}/ *" (without the
 * spaces) and values of 30,000 characters took 5.5 s of a vault's CPU per Encrypt (an outsider's
 * review).
 */
export const MATCH_STEPS_PER_CHAR = 64;
const MATCH_STEPS_BASE = 4096;

/**
 * Steps all the matches of one authorization may take together: each match is held to its own
 * budget above, and a request of many statements, policy values and long values could still add
 * up to hundreds of milliseconds (an outsider's review measured 320-490 ms with ten statements).
 * Four million steps are some tens of milliseconds; an ordinary request takes a few thousand.
 */
export const MATCH_STEPS_PER_AUTHORIZATION = 4_000_000;
/** What is left of the running authorization's steps (withMatchBudget); unbounded outside one. */
let sharedSteps = Infinity;

/**
 * Steps the authorizations of one batch group take together (the entries of one request for one
 * key, which one vault call runs one after another: src/vault/batch.ts): at least this many, and
 * MATCH_STEPS_PER_BATCH_ENTRY per entry for larger groups (batchGroupSteps). Each authorization
 * still has at most MATCH_STEPS_PER_AUTHORIZATION. Without a budget of its own, a batch of 1,000
 * entries whose encryption contexts made every match as dear as allowed held its vault for 1,000
 * times the dearest single request (tens of seconds); now a group of up to 122 entries for at
 * most four times it, a group of 1,000 for 131 million steps (~1.3 s at ~10 ns a step).
 */
export const MATCH_STEPS_PER_BATCH_GROUP = 4 * MATCH_STEPS_PER_AUTHORIZATION;
/**
 * A batch entry's average share of its group's steps, for groups of more than 122 entries: an
 * entry under heavy but ordinary policies (ten identity policies with IgnoreCase, Bool, Numeric and
 * Date conditions over 40 context keys and 100 CIDRs, a key policy denying outside 200 CIDRs) takes
 * ~129,000 (test/node/authorize.test.ts), about 1.3 ms.
 */
export const MATCH_STEPS_PER_BATCH_ENTRY = 131_072;

/** The steps a batch group of `entries` entries shares. */
export const batchGroupSteps = (entries: number): number => Math.max(MATCH_STEPS_PER_BATCH_GROUP, entries * MATCH_STEPS_PER_BATCH_ENTRY);

/**
 * Steps left to a group of authorizations (batchGroupSteps), shared across their awaits; `also`, a
 * second budget every step is charged to as well (a ReEncrypt destination's, per request: key-vault.ts).
 */
export interface MatchBudget { left: number; also?: MatchBudget }

/** A count of steps as a budget may hold it: nothing if it is not a finite number (NaN would never run out), never below 0. */
export const stepsLeft = (n: number): number => (Number.isFinite(n) ? Math.max(0, n) : 0);
/** What a budget has left. */
const leftOf = (b: MatchBudget): number => stepsLeft(b.left);

/**
 * Runs `evaluate` (synchronous: no other authorization runs meanwhile) with MATCH_STEPS_PER_AUTHORIZATION
 * steps for all its matches, or fewer if `group` has fewer left; what it takes is charged to `group`.
 */
export function withMatchBudget<T>(evaluate: () => T, group?: MatchBudget): T {
  const outer = sharedSteps;
  const start = group ? Math.min(MATCH_STEPS_PER_AUTHORIZATION, leftOf(group), group.also ? leftOf(group.also) : Infinity) : MATCH_STEPS_PER_AUTHORIZATION;
  sharedSteps = start;
  try {
    return evaluate();
  } catch (e) {
    // The group's message only when its steps ran out (not when one match broke its own budget).
    if (e instanceof PolicyCostExceeded && group && start < MATCH_STEPS_PER_AUTHORIZATION && sharedSteps < 0) throw new PolicyCostExceeded(BATCH_GROUP_EXCEEDED);
    throw e;
  } finally {
    if (group) {
      const used = start - Math.max(0, sharedSteps);
      group.left = leftOf(group) - used;
      if (group.also) group.also.left = Math.max(0, leftOf(group.also) - used);
    }
    sharedSteps = outer;
  }
}

const BATCH_GROUP_EXCEEDED = "the batch's entries for this key together took too long to match policy patterns";

/**
 * A match over its step budget. The authorizer refuses the request (authorize.ts): neither a match
 * nor a mismatch can be assumed, since one would let an Allow apply and the other escape a Deny.
 */
export class PolicyCostExceeded extends Error {
  constructor(message = "a policy pattern took too long to match the request's values") {
    super(message);
  }
}

/** A policy string with its variables replaced: the text, and which characters came from a variable. */
export interface Resolved {
  text: string;
  literal: Uint8Array;
}

/** `key` or `key, 'default'` (a quote in the default doubled), spaces around either ignored. */
const VARIABLE_BODY = /^\s*([^\s,'${}]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$/;

/**
 * The `${…}` of `s` in order, as [start, end after "}", body]; undefined if one is not closed.
 * One pass with indexOf: a regular expression looking for each "${"'s "}" scanned to the end of
 * the string for every unclosed one (quadratic: 0.4 s for 32,000 characters of them).
 */
function variableSpans(s: string): Array<[number, number, string]> | undefined {
  const out: Array<[number, number, string]> = [];
  for (let at = s.indexOf("${"); at >= 0; ) {
    const close = s.indexOf("}", at + 2);
    if (close < 0) return undefined;
    out.push([at, close + 1, s.slice(at + 2, close)]);
    at = s.indexOf("${", close + 1);
  }
  return out;
}

const isEscape = (body: string) => body === "*" || body === "?" || body === "$";

/** Whether every "${" of `s` starts a variable resolveVariables can read (a key, a key with a default, or ${*} ${?} ${$}). */
export function variablesWellFormed(s: string): boolean {
  const spans = variableSpans(s);
  return spans !== undefined && spans.every(([, , body]) => isEscape(body) || VARIABLE_BODY.test(body));
}

/** Charges `n` steps to the running authorization's budget (withMatchBudget). */
function charge(n: number): void {
  sharedSteps -= n;
  if (sharedSteps < 0) throw new PolicyCostExceeded();
}

/**
 * Replaces the policy variables of `template` (a Resource or a condition value of a policy of
 * Version 2012-10-17) with the request's values
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):
 * `${key}` is the single value of condition key `key` (any case), `${key, 'default'}` the default
 * where the request has none, `${*}`, `${?}` and `${$}` those characters, never wildcards. One pass:
 * a value that looks like a variable stays as it is. Undefined when a variable has no value (a key
 * the request lacks or holds several values of, no default, or a malformed `${…}` of a stored
 * policy): the value is then "effectively null", equal to and like nothing (callers below).
 * The text made counts against the authorization's steps: a policy may hold a variable thousands
 * of times, and a caller's value may be 60,000 characters (another account's identity policy,
 * evaluated in the key's vault, made 1.1 GB of it in one authorization: an outsider's review).
 */
export function resolveVariables(template: string, ctx: RequestContext): Resolved | undefined {
  const spans = variableSpans(template);
  if (!spans) return undefined;
  const pieces: string[] = [];
  const fromVariable: boolean[] = [];
  let last = 0;
  let length = 0;
  for (const [start, end, body] of spans) {
    let value: string | undefined;
    if (isEscape(body)) value = body;
    else {
      const v = VARIABLE_BODY.exec(body);
      if (!v) return undefined;
      const key = v[1]!.toLowerCase();
      const raw = Object.hasOwn(ctx, key) ? ctx[key] : undefined;
      value = typeof raw === "string" ? raw : v[2]?.replaceAll("''", "'");
    }
    if (value === undefined) return undefined;
    pieces.push(template.slice(last, start), value);
    fromVariable.push(false, true);
    length += start - last + value.length;
    last = end;
  }
  pieces.push(template.slice(last));
  fromVariable.push(false);
  length += template.length - last;
  charge(length);
  const literal = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    if (fromVariable[i]) literal.fill(1, at, at + pieces[i]!.length);
    at += pieces[i]!.length;
  }
  return { text: pieces.join(""), literal };
}

function parseIp(s: string): { v6: boolean; bytes: number[] } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const b = s.split(".").map(Number);
    return b.every((x) => x <= 255) ? { v6: false, bytes: b } : undefined;
  }
  if (!s.includes(":")) return undefined;
  const [head, tail] = s.split("::");
  if (s.split("::").length > 2) return undefined;
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  if (tail === undefined && h.length !== 8) return undefined;
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { v6: true, bytes: groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 255]; }) };
}

/** The longest text an address or CIDR can have ("ffff:…:ffff/128" is 43 characters); longer is neither. */
const MAX_IP_TEXT = 64;
/** Addresses and CIDRs parsed, by their text, at most this many (then the cache starts again). */
const IP_CACHE_ENTRIES = 4096;
type Cidr = { v6: boolean; bytes: number[]; bits: number };
/**
 * Parsed addresses (bits: all) and CIDRs by their text: a condition compares a request's addresses
 * with a policy's CIDRs again and again (ForAnyValue over many values), and parsing both each time,
 * then comparing bit by bit, took ~4 µs a comparison (an outsider's review: 11 s for one Encrypt's
 * 4 million steps). Only short texts are kept: nothing longer is an address.
 */
const cidrCache = new Map<string, Cidr | null>();

function parseCidr(text: string): Cidr | undefined {
  if (text.length > MAX_IP_TEXT) return undefined;
  const cached = cidrCache.get(text);
  if (cached !== undefined) return cached ?? undefined;
  let parsed: Cidr | undefined;
  const parts = text.split("/");
  const n = parts.length <= 2 ? parseIp(parts[0]!) : undefined;
  // Only digits: Number("") and Number(" 8") would read as a prefix length too.
  if (n && (parts[1] === undefined || /^\d{1,3}$/.test(parts[1]))) {
    const bits = parts[1] === undefined ? n.bytes.length * 8 : Number(parts[1]);
    if (bits <= n.bytes.length * 8) parsed = { ...n, bits };
  }
  if (cidrCache.size >= IP_CACHE_ENTRIES) cidrCache.clear();
  cidrCache.set(text, parsed ?? null);
  return parsed;
}

export function ipInCidr(ip: string, cidr: string): boolean {
  // The request's value is an address: "10.0.0.1/32" is not one.
  if (ip.includes("/")) return false;
  const a = parseCidr(ip), n = parseCidr(cidr);
  if (!a || !n || a.v6 !== n.v6) return false;
  const whole = n.bits >> 3;
  for (let i = 0; i < whole; i++) if (a.bytes[i] !== n.bytes[i]) return false;
  const rest = n.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a.bytes[whole]! & mask) === (n.bytes[whole]! & mask);
}

/** The first five colon-separated segments and the rest, each with where it starts. */
function arnSegments(s: string): Array<[string, number]> | undefined {
  const out: Array<[string, number]> = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const end = s.indexOf(":", start);
    if (end < 0) return undefined;
    out.push([s.slice(start, end), start]);
    start = end + 1;
  }
  out.push([s.slice(start), start]);
  return out;
}

/** ARN matching segment by segment (arn:partition:service:region:account:resource), wildcards within each. */
function arnMatch(pattern: string, value: string, literal?: Uint8Array): boolean {
  const p = arnSegments(pattern), v = arnSegments(value);
  if (!p || !v) return false;
  return p.every(([seg, at], i) => wildcardMatch(seg, v[i]![0], false, literal?.subarray(at, at + seg.length)));
}

// Numbers are integers or decimals, dates are W3C ISO 8601 dates or epoch seconds, per "IAM JSON
// policy elements: Condition operators" (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
/** Number() alone would also read "", " 7" and "0x10" as numbers. */
const parseNumber = (s: string): number => (/^[+-]?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN);
/** An ISO 8601 date, or date-time with a zone. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
/** Epoch seconds or ISO 8601; NaN otherwise (Date.parse alone is lenient: V8 reads "March 7" as a date in 2001). */
const parseDate = (s: string): number => (/^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : ISO_DATE.test(s) ? Date.parse(s) : NaN);

/**
 * Steps a comparison is charged before its length (positive()), so that a step of each operator
 * costs about what a wildcard step does: an authorization of 4 million steps of any one of them took
 * 26-49 ms, of wildcard steps 44 ms (Node 22.23, ForAnyValue over 2,000 context keys; with one step
 * a comparison, DateEquals took 125 ms and StringEquals 96). The wildcard operators count their own.
 */
const COMPARISON_STEPS: ReadonlyMap<string, number> = new Map([
  ["StringEquals", 3], ["StringEqualsIgnoreCase", 8], ["Bool", 3],
  ["NumericEquals", 12], ["NumericLessThan", 12], ["NumericLessThanEquals", 12], ["NumericGreaterThan", 12], ["NumericGreaterThanEquals", 12],
  ["DateEquals", 30], ["DateLessThan", 30], ["DateLessThanEquals", 30], ["DateGreaterThan", 30], ["DateGreaterThanEquals", 30],
  ["IpAddress", 10],
]);

/** One value against one policy value (its variables resolved, if it has any), for a non-negated base operator. */
function positive(base: string, policyValue: string, value: string, literal?: Uint8Array): boolean {
  // Every comparison counts against the authorization's steps, as a wildcard match counts its own
  // (~10 ns a step): what the comparison costs in such steps (COMPARISON_STEPS), and one more per 8
  // characters for those that lower-case or parse both strings, whose cost a caller's long values
  // set. Uncounted, 10 identity policies of StringEqualsIgnoreCase values against 60,000-character
  // contexts took 0.8 s per Encrypt (an outsider's review); a step per character made ordinary
  // policies' batches run out (a second review); a flat step was far too little for Date, Numeric
  // and IpAddress (a third).
  const fixed = COMPARISON_STEPS.get(base);
  if (fixed !== undefined) charge(base === "StringEquals" ? fixed : fixed + ((value.length + policyValue.length) >> 3));
  switch (base) {
    case "StringEquals": return value === policyValue;
    case "StringEqualsIgnoreCase": return value.toLowerCase() === policyValue.toLowerCase();
    case "StringLike": return wildcardMatch(policyValue, value, false, literal);
    case "NumericEquals": return parseNumber(value) === parseNumber(policyValue);
    case "NumericLessThan": return parseNumber(value) < parseNumber(policyValue);
    case "NumericLessThanEquals": return parseNumber(value) <= parseNumber(policyValue);
    case "NumericGreaterThan": return parseNumber(value) > parseNumber(policyValue);
    case "NumericGreaterThanEquals": return parseNumber(value) >= parseNumber(policyValue);
    case "DateEquals": return parseDate(value) === parseDate(policyValue);
    case "DateLessThan": return parseDate(value) < parseDate(policyValue);
    case "DateLessThanEquals": return parseDate(value) <= parseDate(policyValue);
    case "DateGreaterThan": return parseDate(value) > parseDate(policyValue);
    case "DateGreaterThanEquals": return parseDate(value) >= parseDate(policyValue);
    case "Bool": return value.toLowerCase() === policyValue.toLowerCase();
    case "IpAddress": return ipInCidr(value, policyValue);
    case "ArnEquals": case "ArnLike": return arnMatch(policyValue, value, literal);
    default: return false;
  }
}

// Negated operators and the positive operator they negate (a Map: no inherited entries).
const NEGATED: ReadonlyMap<string, string> = new Map([
  ["StringNotEquals", "StringEquals"],
  ["StringNotEqualsIgnoreCase", "StringEqualsIgnoreCase"],
  ["StringNotLike", "StringLike"],
  ["NumericNotEquals", "NumericEquals"],
  ["DateNotEquals", "DateEquals"],
  ["NotIpAddress", "IpAddress"],
  ["ArnNotEquals", "ArnEquals"],
  ["ArnNotLike", "ArnLike"],
]);

/**
 * Whether a single request value satisfies the clause's operator against its policy values
 * (`resolved`: with their variables resolved). A value whose variable has no value is "effectively
 * null. There is no equal or like value", and "inverted condition operators like StringNotEquals
 * or StringNotLike do match against a null value"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html, "Policy
 * variables with no value"): it matches nothing, so its positive operator is false and its
 * negated one true. (A Deny written "StringNotEquals … ${aws:username}" so applies to a caller
 * without a user name, as AWS's does; the one time it was made not to apply, a caller could
 * switch such a Deny off by leaving a context key out: an outsider's review.)
 */
function valueMatches(c: ConditionClause, value: string, resolved?: Array<Resolved | undefined>): boolean {
  const base = NEGATED.get(c.operator);
  const op = base ?? c.operator;
  const any = resolved
    ? resolved.some((r) => r !== undefined && positive(op, r.text, value, r.literal))
    : c.values.some((pv) => positive(op, pv, value));
  return base ? !any : any; // NOR, or OR, over the values
}

/** Evaluates one condition clause against the request context. */
export function clauseHolds(c: ConditionClause, ctx: RequestContext): boolean {
  // Own keys only: on an ordinary object "constructor" or "__proto__" would otherwise find
  // Object.prototype's members, making an absent key present with a non-string value.
  const raw = Object.hasOwn(ctx, c.key) ? ctx[c.key] : undefined;
  const present = raw !== undefined && !(Array.isArray(raw) && raw.length === 0);
  if (c.operator === "Null") {
    // "Null": {"key": "true"} holds when the key is absent.
    return c.values.some((v) => (v.toLowerCase() === "true") === !present);
  }
  if (!present && !c.set) return c.ifExists || NEGATED.has(c.operator);
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  // Resolved once the request has values to compare (Null and the other answers above need none).
  const resolved = c.variables && values.length ? c.values.map((v) => resolveVariables(v, ctx)) : undefined;
  if (c.set === "ForAllValues") return values.every((v) => valueMatches(c, v, resolved)); // true for an empty set
  if (c.set === "ForAnyValue") return values.some((v) => valueMatches(c, v, resolved)); // false for an empty set
  return values.some((v) => valueMatches(c, v, resolved));
}
