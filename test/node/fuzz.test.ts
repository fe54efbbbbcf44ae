// Property-based fuzzing of the parsers that take untrusted input: the request decoder against
// every operation's schema, the SigV4 Authorization header, policy documents and their
// evaluation, the ciphertext-blob header, and the canonical encryption-context encoding.
// Inputs favour what has broken such code before: keys named like Object.prototype members,
// lone UTF-16 surrogates, U+FFFD, NUL and JSON metacharacters. Seeded, so a run is repeatable.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBody } from "../../src/protocol/codec.js";
import { KmsError } from "../../src/protocol/errors.js";
import { validate, type Rule, type Schema } from "../../src/protocol/validate.js";
import { OPERATORS, parsePolicy, PolicyError, type PolicyKind } from "../../src/policy/document.js";
import type { RequestContext } from "../../src/policy/conditions.js";
import { evaluateKeyPolicy, evaluatePolicy, type PolicyRequest } from "../../src/policy/evaluate.js";
import { decodeHeader, encodeHeader, HEADER_LENGTH, MIN_BLOB_LENGTH } from "../../src/vault/blob.js";
import { encodeContext } from "../../src/vault/context.js";

/**
 * Loads a module written against the Workers types by a computed specifier: a static import
 * would make tsconfig.node.json typecheck it (and everything behind it) against Node's types.
 * At run time it is an ordinary import; the type is the part of the module this file uses.
 */
const workersModule = async <T>(specifier: string): Promise<T> => (await import(/* @vite-ignore */ specifier)) as T;
const { OPERATIONS } = await workersModule<{ OPERATIONS: ReadonlyMap<string, { name: string; schema: Schema }> }>("../../src/operations/index.js");
const { parseAuthorization } = await workersModule<{
  parseAuthorization(header: string | null): { accessKeyId: string; scopeDate: string; region: string; service: string; signedHeaders: string[]; signature: string };
}>("../../src/protocol/sigv4.js");

const SEED = 0x6b6d73;
const RUNS = 400;
const check = <Ts>(property: fc.IProperty<Ts>, numRuns = RUNS): void => fc.assert(property, { seed: SEED, numRuns });

// String.prototype.isWellFormed is ES2024; the project's lib is ES2023.
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Only a client error (KmsError, 4xx) may escape a parser of request input. */
function expectClientError(e: unknown): void {
  expect(e).toBeInstanceOf(KmsError);
  expect((e as KmsError).status).toBeGreaterThanOrEqual(400);
  expect((e as KmsError).status).toBeLessThan(500);
}

// ---- strings and JSON ----------------------------------------------------------------------

const PROTO_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "__defineGetter__"];
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const wellFormedUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\ufffd", "\u{1F511}", '"', "\\", "/", ":", "*", "?", "=", ",", ";", " ") },
);
const unit = fc.oneof({ weight: 8, arbitrary: wellFormedUnit }, { weight: 1, arbitrary: loneSurrogate });
/** Any string: full Unicode, and in one string of five, lone surrogates (which fail validation, so not more often). */
const anyString = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: wellFormedUnit, maxLength: 20 }) }, { weight: 1, arbitrary: fc.string({ unit, maxLength: 20 }) });
const wellFormedString = fc.string({ unit: "binary", maxLength: 20 });
const anyKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), anyString);

/** An object whose keys are all own data properties, "__proto__" included (as JSON.parse makes them). */
const objectOf = <T>(value: fc.Arbitrary<T>, key: fc.Arbitrary<string> = anyKey) =>
  fc.array(fc.tuple(key, value), { maxLength: 5 }).map((entries) => Object.fromEntries(entries) as Record<string, T>);

const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double(), anyString,
    fc.array(tie("json"), { maxLength: 4 }),
    objectOf(tie("json")),
  ),
}));

// ---- request decoder -----------------------------------------------------------------------

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** Mostly `valid`, sometimes `other`. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: other });

/**
 * A value for a rule: mostly one that satisfies it, so that whole requests often pass and what
 * they become can be checked; else of the wrong shape or JSON type.
 */
function valueFor(rule: Rule): fc.Arbitrary<unknown> {
  const typed = ((): fc.Arbitrary<unknown> => {
    switch (rule.kind) {
      case "string": return rule.pattern ? mostly(fc.stringMatching(rule.pattern, { size: "xsmall" }), anyString) : anyString;
      case "blob": return mostly(fc.uint8Array({ minLength: rule.min ?? 0, maxLength: 64 }).map(b64), anyString);
      case "int": return mostly(fc.integer({ min: rule.min ?? -5, max: Math.min(rule.max ?? 5000, 5000) }), fc.oneof(fc.integer(), fc.double()));
      case "bool": return fc.boolean();
      case "number": return mostly(fc.double({ min: rule.min ?? -5, max: Math.min(rule.max ?? 5000, 5000), noNaN: true }), fc.oneof(fc.double(), anyString));
      case "timestamp": return fc.double();
      case "enum": return mostly(fc.constantFrom(...rule.values), anyString);
      case "map": return objectOf(mostly(anyString, json));
      case "list": return fc.array(valueFor(rule.item), { maxLength: 4 });
      case "struct": return bodyFor(rule.fields);
    }
  })();
  return fc.oneof({ weight: 15, arbitrary: typed }, { weight: 1, arbitrary: json });
}

/** A request body for a schema: some of its members, plus stray keys. */
function bodyFor(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const members = Object.fromEntries(Object.entries(schema).map(([name, field]) => [name, valueFor(field)]));
  return fc.tuple(fc.record(members, { requiredKeys: [] }), objectOf(json)).map(([known, stray]) => ({ ...stray, ...known }));
}

/**
 * Checks a validated value against its input: strings are well-formed, and a map keeps every
 * input pair as an own property, whatever the key (a dropped "__proto__" pair would change the
 * meaning of an encryption context or a grant constraint).
 */
function expectFaithful(rule: Rule, input: unknown, output: unknown): void {
  switch (rule.kind) {
    case "string": case "enum":
      expect(isWellFormed(output as string)).toBe(true);
      return;
    case "map":
      expect(Object.entries(output as object)).toEqual(Object.entries(input as object));
      for (const [k, v] of Object.entries(output as object)) expect(isWellFormed(k) && isWellFormed(v as string)).toBe(true);
      return;
    case "list":
      (output as unknown[]).forEach((item, i) => expectFaithful(rule.item, (input as unknown[])[i], item));
      return;
    case "struct":
      expectFaithfulBody(rule.fields, input as Record<string, unknown>, output as Record<string, unknown>);
      return;
    default: // blob, int, bool, timestamp: no string to check
  }
}

function expectFaithfulBody(schema: Schema, input: Record<string, unknown>, output: Record<string, unknown>): void {
  for (const [name, field] of Object.entries(schema)) {
    if (Object.hasOwn(output, name)) expectFaithful(field, input[name], output[name]);
  }
}

/** Operation names (a counterexample shows the name, not the whole operation). */
const operations = [...OPERATIONS.keys()];
const schemaOf = (name: string): Schema => OPERATIONS.get(name)!.schema;

describe("request decoder (parseBody + validate) against every operation's schema", () => {
  it("has the operations to fuzz", () => expect(operations.length).toBeGreaterThan(20));

  it("schema-shaped JSON: only a 4xx KmsError escapes; what passes is faithful and well-formed", () => {
    const arb = fc.constantFrom(...operations).chain((op) => bodyFor(schemaOf(op)).map((body) => ({ op, text: JSON.stringify(body) })));
    check(fc.property(arb, ({ op, text }) => {
      let out: Record<string, unknown>;
      try {
        out = validate(schemaOf(op), parseBody(text));
      } catch (e) {
        expectClientError(e);
        return;
      }
      expectFaithfulBody(schemaOf(op), JSON.parse(text), out);
    }), 1000);
  });

  it("arbitrary text and arbitrary JSON: only a 4xx KmsError escapes", () => {
    const text = fc.oneof(fc.string({ unit, maxLength: 60 }), json.map((v) => JSON.stringify(v) ?? ""), fc.json());
    check(fc.property(fc.constantFrom(...operations), text, (op, body) => {
      try {
        validate(schemaOf(op), parseBody(body));
      } catch (e) {
        expectClientError(e);
      }
    }));
  });
});

// ---- SigV4 Authorization header ------------------------------------------------------------

describe("SigV4 Authorization header parser", () => {
  const component = fc.oneof(fc.constantFrom("Credential", "Signature", "SignedHeaders", ...PROTO_KEYS), anyString);
  const scope = fc.array(fc.oneof(fc.constantFrom("AKIDEXAMPLE", "20261128", "us-east-1", "kms", "aws4_request", ""), anyString), { maxLength: 7 }).map((s) => s.join("/"));
  // Valid values too, so that headers that parse are generated as well as ones that do not.
  const value = fc.oneof(scope, fc.constantFrom("AKIDEXAMPLE/20261128/us-east-1/kms/aws4_request", "a".repeat(64), "host;x-amz-date", ""), anyString);
  const pair = fc.oneof(fc.tuple(component, value).map(([k, v]) => `${k}=${v}`), anyString);
  const algorithm = fc.constantFrom("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA1");
  const separator = fc.constantFrom(",", ", ", " ,");
  /** The three components, each valid or not, in any order, among stray pairs: these parse often. */
  const nearValid = fc.tuple(
    algorithm,
    mostly(fc.constant("Credential=AKIDEXAMPLE/20261128/us-east-1/kms/aws4_request"), scope.map((v) => `Credential=${v}`)),
    mostly(fc.constant("SignedHeaders=host;x-amz-date"), value.map((v) => `SignedHeaders=${v}`)),
    mostly(fc.constant(`Signature=${"0f".repeat(32)}`), value.map((v) => `Signature=${v}`)),
    fc.array(pair, { maxLength: 2 }),
    separator,
  ).chain(([alg, ...rest]) => {
    const sep = rest.pop() as string;
    const parts = rest.flat() as string[];
    return fc.shuffledSubarray(parts, { minLength: parts.length }).map((p) => `${alg} ${p.join(sep)}`);
  });
  const header = fc.oneof(
    nearValid,
    fc.tuple(algorithm, fc.array(pair, { maxLength: 5 }), separator).map(([alg, parts, sep]) => `${alg} ${parts.join(sep)}`),
    fc.string({ unit, maxLength: 80 }),
  );

  it("only a 4xx KmsError escapes; a parsed header has the five scope parts", () => {
    check(fc.property(fc.option(header, { nil: null }), (h) => {
      try {
        const auth = parseAuthorization(h);
        expect([auth.accessKeyId, auth.scopeDate, auth.region, auth.service].every((s) => typeof s === "string" && s !== "")).toBe(true);
        expect(auth.signature).toMatch(/^[0-9a-f]{64}$/);
      } catch (e) {
        expectClientError(e);
      }
    }), 1000);
  });
});

// ---- policies ------------------------------------------------------------------------------

describe("policy documents: parser and evaluator", () => {
  const ACCT = "111122223333";
  const CONTEXT_KEYS = ["aws:SourceIp", "aws:CurrentTime", "kms:CallerAccount", "kms:EncryptionContextKeys", "kms:RotationPeriodInDays", "aws:PrincipalArn", ...PROTO_KEYS];
  const VALUES = ["*", "10.0.0.0/8", "10.0.0.0/", "2001:db8::/32", "::", "1.2.3.4", "2026-11-28T12:00:00Z", "March 7", "1796000000", "365", "", "0x10", "true", "TRUE",
    ACCT, `arn:aws:iam::${ACCT}:root`, `arn:aws:iam::${ACCT}:user/alice`, "arn:*:*:*:*:*", "kms:*", "kms:Encrypt"];
  const likely = <T>(common: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: common }, { weight: 1, arbitrary: other });
  const value = fc.oneof(fc.constantFrom(...VALUES), anyString);
  const values = fc.oneof(value, fc.array(value, { maxLength: 3 }), json);
  const operator = fc.tuple(fc.constantFrom("", "", "", "ForAnyValue:", "ForAllValues:", "Bogus:"), likely(fc.constantFrom(...OPERATORS), anyString), fc.constantFrom("", "", "IfExists"))
    .map(([set, op, suffix]) => `${set}${op}${suffix}`);
  // Two sorts of document: noisy ones (any member of any type), which mostly exercise the
  // parser's refusals, and well-formed ones of the kind at hand, which parse and so reach the
  // evaluator with conditions on every sort of key.
  const conditionKey = fc.oneof(fc.constantFrom(...CONTEXT_KEYS), anyKey);
  const noisyCondition = fc.oneof(
    { weight: 5, arbitrary: fc.array(fc.tuple(operator, objectOf(values, conditionKey)), { maxLength: 3 }).map((e) => Object.fromEntries(e)) },
    { weight: 1, arbitrary: json },
  );
  const principal = fc.oneof(fc.constantFrom("*", ACCT), objectOf(values, fc.constantFrom("AWS", "Service", "Federated", "__proto__")), json);
  /** Mostly a value that matches the request, so evaluation gets as far as the conditions. */
  const matching = (...common: unknown[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...common) }, { weight: 1, arbitrary: values });
  const noisyStatement = fc.tuple(
    fc.record({
      Effect: fc.oneof({ weight: 9, arbitrary: fc.constantFrom("Allow", "Deny") }, { weight: 1, arbitrary: json }),
      Principal: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("*", { AWS: ACCT }, { AWS: "*" }) }, { weight: 1, arbitrary: principal }),
      Action: matching("*", "kms:*", "kms:Encrypt", ["kms:Decrypt", "kms:Encrypt"]),
      Resource: matching("*", `arn:aws:kms:us-east-1:${ACCT}:key/*`),
      Condition: noisyCondition,
    }, { requiredKeys: ["Effect", "Action"] }),
    // Rarer members, each of which makes the statement mean something else or malformed.
    fc.record({ Sid: fc.oneof(anyString, json), NotPrincipal: principal, NotAction: values, NotResource: values }, { requiredKeys: [] }),
    fc.nat(9),
  ).map(([common, rare, dice]) => (dice === 0 ? { ...common, ...rare } : dice === 1 ? { ...rare, Effect: common.Effect } : common));
  const noisyDocument = fc.record({
    Version: fc.constantFrom("2012-10-17", "2008-10-17", "2099-01-01"),
    Id: anyString,
    Statement: fc.oneof(fc.array(noisyStatement, { maxLength: 3 }), noisyStatement, json),
  }, { requiredKeys: ["Statement"] });

  const goodValues = fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 }));
  const goodOperator = fc.oneof(
    fc.constant("Null"),
    fc.tuple(fc.constantFrom("", "", "ForAnyValue:", "ForAllValues:"), fc.constantFrom(...[...OPERATORS].filter((o) => o !== "Null")), fc.constantFrom("", "IfExists"))
      .map(([set, op, suffix]) => `${set}${op}${suffix}`),
  );
  const goodCondition = fc.array(fc.tuple(goodOperator, objectOf(goodValues, conditionKey)), { minLength: 1, maxLength: 3 }).map((e) => Object.fromEntries(e));
  const goodStatement = (k: PolicyKind) => fc.tuple(
    fc.record({
      Effect: fc.constantFrom("Allow", "Deny"),
      Action: fc.constantFrom("*", "kms:*", "kms:Encrypt", ["kms:Decrypt", "kms:Encrypt"]),
      Resource: fc.constantFrom("*", `arn:aws:kms:us-east-1:${ACCT}:key/*`),
      Condition: goodCondition,
    }, { requiredKeys: ["Effect", "Action", "Condition"] }),
    fc.constantFrom("*", { AWS: ACCT }, { AWS: "*" }, { AWS: `arn:aws:iam::${ACCT}:user/alice` }),
  ).map(([s, p]) => (k === "key" ? { ...s, Principal: p } : s));
  const goodDocument = (k: PolicyKind) => fc.array(goodStatement(k), { minLength: 1, maxLength: 3 }).map((Statement) => ({ Version: "2012-10-17", Statement }));

  /** A policy kind and a document text: mostly well-formed for that kind, else noise. */
  const kindAndText = fc.constantFrom<PolicyKind>("key", "identity").chain((k) => fc.oneof(
    { weight: 4, arbitrary: goodDocument(k).map((d) => JSON.stringify(d)) },
    { weight: 4, arbitrary: noisyDocument.map((d) => JSON.stringify(d)) },
    { weight: 1, arbitrary: json.map((v) => JSON.stringify(v) ?? "") },
    { weight: 1, arbitrary: fc.string({ unit, maxLength: 40 }) },
  ).map((text) => [k, text] as const));

  /** Context entries with lower-cased keys, as the request context has them. */
  const contextEntries = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...CONTEXT_KEYS), anyKey).map((k) => k.toLowerCase()), fc.oneof(value, fc.array(value, { maxLength: 3 }))),
    { maxLength: 6 },
  );
  const contextOf = (prototype: object | null, entries: [string, string | string[]][]): RequestContext => {
    const ctx = Object.create(prototype) as RequestContext;
    for (const [k, v] of entries) Object.defineProperty(ctx, k, { value: v, enumerable: true, writable: true, configurable: true });
    return ctx;
  };
  const request = fc.record({
    action: likely(fc.constantFrom("kms:Encrypt", "kms:Decrypt", "kms:CreateGrant"), anyString),
    resource: likely(fc.constantFrom("*", `arn:aws:kms:us-east-1:${ACCT}:key/k`), anyString),
    principal: fc.record({
      arn: likely(fc.constantFrom(`arn:aws:iam::${ACCT}:user/alice`, `arn:aws:iam::${ACCT}:root`), anyString),
      accountId: likely(fc.constant(ACCT), anyString),
      service: fc.oneof(fc.constant(undefined), anyString),
    }, { requiredKeys: ["arn", "accountId"] }),
  });

  it("parsePolicy throws nothing but PolicyError; a key policy's statements name principals, an identity policy's do not", () => {
    check(fc.property(kindAndText, ([k, text]) => {
      let doc;
      try {
        doc = parsePolicy(text, k);
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyError);
        return;
      }
      for (const s of doc.statements) expect(s.principal !== undefined || s.notPrincipal !== undefined).toBe(k === "key");
    }), 1000);
  });

  it("a parsed policy evaluates without throwing, and only own context keys count", () => {
    check(fc.property(kindAndText, request, contextEntries, ([k, text], r, entries) => {
      let doc;
      try {
        doc = parsePolicy(text, k);
      } catch {
        return;
      }
      const plain: PolicyRequest = { ...r, context: contextOf(Object.prototype, entries) };
      const bare: PolicyRequest = { ...r, context: contextOf(null, entries) };
      const decision = evaluatePolicy(doc, plain, k === "key");
      expect(["Allow", "Deny", "NoMatch"]).toContain(decision);
      expect(evaluatePolicy(doc, bare, k === "key")).toBe(decision);
      const keyDecision = evaluateKeyPolicy(doc, plain);
      expect(["Deny", "AllowPrincipal", "AllowAccount", "NoMatch"]).toContain(keyDecision);
      expect(evaluateKeyPolicy(doc, bare)).toBe(keyDecision);
    }), 1000);
  });
});

// ---- ciphertext blob header ----------------------------------------------------------------

describe("ciphertext-blob header parser", () => {
  const blob = fc.oneof(
    fc.uint8Array({ maxLength: 2 * MIN_BLOB_LENGTH }),
    // Mostly well-formed headers, so the accepting paths are reached too.
    fc.tuple(fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1, 2, 3, 255), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(0, 1, 2, 0xffffffff), fc.uint8Array({ minLength: 0, maxLength: 40 }))
      .map(([version, kind, id, material, rest]) => {
        const b = new Uint8Array(HEADER_LENGTH + rest.length);
        b[0] = version;
        b[1] = kind;
        b.set(id, 2);
        new DataView(b.buffer).setUint32(18, material);
        b.set(rest, 22);
        return b;
      }),
  );
  // A view into a larger buffer, as a blob decoded from a request may be.
  const view = fc.tuple(blob, fc.nat(7)).map(([b, offset]) => {
    const buffer = new Uint8Array(b.length + offset + 3);
    buffer.set(b, offset);
    return buffer.subarray(offset, offset + b.length);
  });

  it("never throws; accepts exactly the v1 headers, which re-encode to the same bytes", () => {
    check(fc.property(view, (b) => {
      const header = decodeHeader(b);
      const valid = b.length >= MIN_BLOB_LENGTH && b[0] === 1 && (b[1] === 1 || b[1] === 2) && new DataView(b.buffer, b.byteOffset, b.length).getUint32(18) !== 0;
      expect(header !== undefined).toBe(valid);
      if (header) expect(encodeHeader(header.keyId, header.materialVersion, header.iv)).toEqual(b.slice(0, HEADER_LENGTH));
    }), 1000);
  });
});

// ---- encryption-context encoding -----------------------------------------------------------

describe("canonical encryption-context encoding", () => {
  // A small alphabet, so that different maps often share keys, values and prefixes.
  const piece = fc.constantFrom("", "a", "b", "ab", "\u0000", "\u0001", "é", "\ufffd", "\u{1F511}", ...PROTO_KEYS);
  const text = fc.array(piece, { maxLength: 3 }).map((p) => p.join(""));
  const entries = fc.array(fc.tuple(text, text), { maxLength: 5 });
  const nullMap = (pairs: [string, string][]): Record<string, string> => {
    const m = Object.create(null) as Record<string, string>;
    for (const [k, v] of pairs) m[k] = v; // no "__proto__" setter on a null-prototype object
    return m;
  };
  const sameMap = (a: Record<string, string>, b: Record<string, string>) => {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
  };
  const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

  /** docs/formats.md's encoding, written as plainly as it reads: UTF-8 by TextEncoder, pairs sorted by their keys' bytes. */
  const reference = (m: Record<string, string>): Uint8Array => {
    const te = new TextEncoder();
    const pairs = Object.entries(m).map(([k, v]) => [te.encode(k), te.encode(v)]);
    pairs.sort(([a], [b]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
      return a.length - b.length;
    });
    const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    return Uint8Array.from([1, pairs.length >> 8, pairs.length & 255, ...pairs.flatMap(([k, v]) => [...u32(k.length), ...k, ...u32(v.length), ...v])]);
  };
  const asciiEntries = fc.array(fc.tuple(fc.string({ unit: "binary-ascii", maxLength: 8 }), fc.string({ unit: "binary-ascii", maxLength: 8 })), { maxLength: 6 });

  it("is the format's encoding (docs/formats.md), ASCII maps (their fast path) and others alike, after a prefix when given", () => {
    expect(encodeContext({ b: "2", a: "1" })).toEqual(Uint8Array.from([1, 0, 2, 0, 0, 0, 1, 97, 0, 0, 0, 1, 49, 0, 0, 0, 1, 98, 0, 0, 0, 1, 50]));
    expect(encodeContext(undefined)).toEqual(Uint8Array.from([1, 0, 0]));
    check(fc.property(fc.oneof(entries, asciiEntries).map(nullMap), fc.uint8Array({ maxLength: 40 }), (m, prefix) => {
      expect(encodeContext(m)).toEqual(reference(m));
      expect(encodeContext(m, prefix)).toEqual(Uint8Array.from([...prefix, ...reference(m)]));
    }), 1000);
  });

  it("is injective: two maps encode alike exactly when they are the same map", () => {
    check(fc.property(entries, entries, (x, y) => {
      const a = nullMap(x), b = nullMap(y);
      expect(sameBytes(encodeContext(a), encodeContext(b))).toBe(sameMap(a, b));
    }), 1000);
  });

  it("does not depend on key order or on the prototype", () => {
    check(fc.property(entries.map(nullMap), fc.func(fc.integer()), (m, order) => {
      const shuffled = Object.entries(m).sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
      expect(encodeContext(nullMap(shuffled))).toEqual(encodeContext(m));
      expect(encodeContext(Object.fromEntries(shuffled))).toEqual(encodeContext(m));
    }));
  });

  it("refuses a map holding a string that is not well-formed, rather than encode U+FFFD", () => {
    const bad = fc.tuple(wellFormedString, loneSurrogate, wellFormedString).map(([a, s, b]) => a + s + b);
    check(fc.property(entries, bad, fc.boolean(), (pairs, s, asKey) => {
      const m = nullMap([...pairs, asKey ? [s, "v"] : ["k", s]]);
      expect(() => encodeContext(m)).toThrow(TypeError);
    }));
  });
});
