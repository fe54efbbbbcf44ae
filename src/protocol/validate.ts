// Input validation at the boundary, from the service model's constraints. Constraint
// failures collect into one ValidationException ("N validation errors detected: …",
// camelCase member paths); a member of the wrong JSON type is a SerializationException.
// Every user string (member, list item, map key and value) must be well-formed Unicode: JSON
// can carry a lone UTF-16 surrogate ("\ud800"), which UTF-8 encoding would silently replace by
// U+FFFD, so two different encryption contexts would encode, and authenticate, alike.
import { clip, KmsError, validationError } from "./errors.js";
import { decodeBase64 } from "./codec.js";
import { MAX_BODY_BYTES } from "../kms/limits.js";

export type Rule =
  | { kind: "string"; min?: number; max?: number; pattern?: RegExp }
  | { kind: "blob"; min?: number; max?: number; overMax?: string }
  | { kind: "int"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number }
  | { kind: "bool" }
  | { kind: "timestamp" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "map"; keyMax?: number; valueMax?: number; totalMax?: number }
  | { kind: "list"; item: Rule; min?: number; max?: number }
  | { kind: "struct"; fields: Schema };

export type Field = Rule & { required?: boolean };
export type Schema = Record<string, Field>;

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
// String.prototype.isWellFormed is ES2024 (workerd and Node >= 20 have it); the project's lib is ES2023.
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();
const WELL_FORMED = "be a well-formed Unicode string (no unpaired surrogate code units)";
const WELL_FORMED_MAP = "have keys and values that are well-formed Unicode strings (no unpaired surrogate code units)";
/**
 * The most characters of a caller's value (or map key) a validation message repeats. A batch
 * entry's message becomes its result's ErrorMessage and its record's errorMessage, and a batch body
 * may hold 1 MiB: an enum or pattern failure must not repeat it all.
 */
export const MAX_ECHOED_CHARS = 256;
const echoed = (value: string): string => `'${clip(value, MAX_ECHOED_CHARS)}'`;
const typeError = (path: string, expected: string): KmsError =>
  new KmsError("SerializationException", `Value at '${path}' must be ${expected}`);

/**
 * The most constraint failures a ValidationException spells out; the rest are counted ("and N
 * more"). A list of 20,000 empty strings in a 64 KiB body was 20,000 messages, 8 MB of error text
 * and of audit record, and a batch entry's (in a 1 MiB body) more than a Durable Object can store.
 */
export const MAX_VALIDATION_ERRORS = 10;

/** The failures of one request's validation: the first MAX_VALIDATION_ERRORS in full, the others counted. */
class Failures {
  readonly shown: string[] = [];
  more = 0;
  add(message: string): void {
    if (this.shown.length < MAX_VALIDATION_ERRORS) this.shown.push(message);
    else this.more++;
  }
}

function check(rule: Rule, value: unknown, path: string, errors: Failures): unknown {
  const fail = (constraint: string, shown?: string) =>
    errors.add(`Value ${shown === undefined ? "" : `${shown} `}at '${path}' failed to satisfy constraint: Member must ${constraint}`);
  switch (rule.kind) {
    case "string": {
      if (typeof value !== "string") throw typeError(path, "a string");
      // Not echoed: the value is refused as a whole, before any other constraint looks at it.
      if (!isWellFormed(value)) { fail(WELL_FORMED); return value; }
      if (rule.min !== undefined && value.length < rule.min) fail(`have length greater than or equal to ${rule.min}`, echoed(value));
      if (rule.max !== undefined && value.length > rule.max) fail(`have length less than or equal to ${rule.max}`);
      if (rule.pattern && !rule.pattern.test(value)) fail(`satisfy regular expression pattern: ${rule.pattern.source}`, echoed(value));
      return value;
    }
    case "blob": {
      if (typeof value !== "string") throw typeError(path, "a base64-encoded string");
      const bytes = decodeBase64(value, path);
      if (rule.min !== undefined && bytes.length < rule.min) fail(`have length greater than or equal to ${rule.min}`);
      // overMax: what to do instead, said after AWS's own words (Encrypt's 4096 bytes → envelope encryption).
      if (rule.max !== undefined && bytes.length > rule.max) fail(`have length less than or equal to ${rule.max}${rule.overMax ? ` (${rule.overMax})` : ""}`);
      return bytes;
    }
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw typeError(path, "an integer");
      if (rule.min !== undefined && value < rule.min) fail(`have value greater than or equal to ${rule.min}`, String(value));
      if (rule.max !== undefined && value > rule.max) fail(`have value less than or equal to ${rule.max}`, String(value));
      return value;
    }
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) throw typeError(path, "a number");
      if (rule.min !== undefined && value < rule.min) fail(`have value greater than or equal to ${rule.min}`, String(value));
      if (rule.max !== undefined && value > rule.max) fail(`have value less than or equal to ${rule.max}`, String(value));
      return value;
    }
    case "bool":
      if (typeof value !== "boolean") throw typeError(path, "a boolean");
      return value;
    case "timestamp":
      if (typeof value !== "number" || !Number.isFinite(value)) throw typeError(path, "a timestamp (epoch seconds)");
      return value;
    case "enum":
      if (typeof value !== "string") throw typeError(path, "a string");
      if (!isWellFormed(value)) { fail(WELL_FORMED); return value; }
      if (!rule.values.includes(value)) fail(`satisfy enum value set: [${rule.values.join(", ")}]`, echoed(value));
      return value;
    case "map": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw typeError(path, "a map of strings");
      // Every key ("__proto__", "constructor", …) is data: Object.fromEntries defines own
      // properties, where `out[k] = v` would call the Object.prototype "__proto__" setter and
      // drop the pair. The map keeps Object.prototype because Durable Object RPC (structured
      // clone) refuses null-prototype objects, so readers look up own keys only.
      const out: [string, string][] = [];
      let malformed = false;
      let total = 0;
      for (const [k, v] of Object.entries(value)) {
        if (!isWellFormed(k)) { malformed = true; continue; } // not echoed in a member path
        if (typeof v !== "string") throw typeError(`${path}.${clip(k, MAX_ECHOED_CHARS)}`, "a string");
        if (!isWellFormed(v)) { malformed = true; continue; }
        if (rule.keyMax !== undefined && k.length > rule.keyMax) fail(`have keys of length less than or equal to ${rule.keyMax}`);
        if (rule.valueMax !== undefined && v.length > rule.valueMax) fail(`have values of length less than or equal to ${rule.valueMax}`);
        out.push([k, v]);
        total += k.length + v.length;
      }
      if (malformed) fail(WELL_FORMED_MAP);
      if (rule.totalMax !== undefined && total > rule.totalMax) fail(`have keys and values of total length less than or equal to ${rule.totalMax}`);
      return Object.fromEntries(out);
    }
    case "list": {
      if (!Array.isArray(value)) throw typeError(path, "a list");
      if (rule.min !== undefined && value.length < rule.min) fail(`have length greater than or equal to ${rule.min}`);
      // Too long: refused as a whole, its items not looked at one by one.
      if (rule.max !== undefined && value.length > rule.max) { fail(`have length less than or equal to ${rule.max}`); return value; }
      return value.map((item, i) => check(rule.item, item, `${path}.${i + 1}.member`, errors));
    }
    case "struct": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw typeError(path, "a structure");
      return validateInto(rule.fields, value as Record<string, unknown>, `${path}.`, errors);
    }
  }
}

/** A schema's members with their member-path names, made once per schema (a batch validates up to 1,000 entries against one). */
const members = new WeakMap<Schema, [name: string, field: Field, camelName: string][]>();
const membersOf = (schema: Schema) => {
  let m = members.get(schema);
  if (!m) members.set(schema, (m = Object.entries(schema).map(([name, field]) => [name, field, camel(name)])));
  return m;
};

function validateInto(schema: Schema, body: Record<string, unknown>, prefix: string, errors: Failures): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field, camelName] of membersOf(schema)) {
    const value = Object.hasOwn(body, name) ? body[name] : undefined;
    if (value === undefined || value === null) {
      if (field.required) errors.add(`Value null at '${prefix + camelName}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    out[name] = check(field, value, prefix + camelName, errors);
  }
  return out;
}

/** Validates a request body against its operation's schema; unknown members are ignored, as AWS does. */
export function validate<T>(schema: Schema, body: Record<string, unknown>): T {
  const errors = new Failures();
  const out = validateInto(schema, body, "", errors);
  if (errors.shown.length) throw validationError(errors.shown, errors.more);
  return out as T;
}

// Shapes shared by many operations (the AWS KMS API Reference, https://docs.aws.amazon.com/kms/latest/APIReference/API_Types.html).
export const KEY_ID: Field = { kind: "string", min: 1, max: 2048 };
/**
 * An encryption context's keys and values, in all, fit in a request body (MAX_BODY_BYTES), as a
 * single request's must: a batch entry, in a larger body (docs/batch.md), is held to the same, so
 * no entry's audit record is larger than a single request's could be.
 */
export const ENCRYPTION_CONTEXT: Field = { kind: "map", totalMax: MAX_BODY_BYTES };
export const GRANT_TOKENS: Field = { kind: "list", item: { kind: "string", min: 1, max: 8192 }, min: 0, max: 10 };
export const MARKER: Field = { kind: "string", min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ };
export const limit = (max: number): Field => ({ kind: "int", min: 1, max });
