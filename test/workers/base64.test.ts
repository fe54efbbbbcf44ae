// decodeBase64 in workerd, where it uses the runtime's Uint8Array.fromBase64 (src/protocol/codec.ts):
// it must accept exactly the strings the strict pattern B64 accepts, and decode them as atob does.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { B64, decodeBase64 } from "../../src/protocol/codec.js";
import { KmsError } from "../../src/protocol/errors.js";

/** The reference: B64, then atob. `undefined` for a refused string. */
function reference(s: string): number[] | undefined {
  if (!B64.test(s)) return undefined;
  return [...atob(s)].map((c) => c.charCodeAt(0));
}

function ours(s: string): number[] | undefined {
  try {
    return [...decodeBase64(s, "blob")];
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).type).toBe("SerializationException");
    return undefined;
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Characters the runtime's decoder treats specially, or that B64 refuses. */
const ODD = ["=", " ", "\t", "\n", "\r", "\f", "-", "_", ".", "é", "\u0000", "\ud800", "Ａ"];

describe("decodeBase64 on the runtime's decoder", () => {
  it("runs on Uint8Array.fromBase64 here (else this file tests the fallback)", () => {
    expect(typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64).toBe("function");
  });

  it.each([
    "", "AAAA", "AA==", "AAA=", "QR==", "QUJD", "/+/+", "A===", "====", "AB=C", "AA= ", " AAA", "AA\nA", "AAA", "AA",
    "AA==AA==", "AAAA ", "AAA\t=", "-_-_", "QUJD\u0000", "AA=\n=",
  ])("%j as the reference", (s) => {
    expect(ours(s)).toEqual(reference(s));
  });

  it("accepts and refuses as the reference on strings of the alphabet and odd characters", () => {
    const char = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ALPHABET) }, { weight: 1, arbitrary: fc.constantFrom(...ODD) });
    fc.assert(fc.property(fc.array(char, { maxLength: 24 }).map((a) => a.join("")), (s) => {
      expect(ours(s)).toEqual(reference(s));
    }), { numRuns: 5000 });
  });

  it("as the reference on valid encodings with one character inserted, removed or replaced", () => {
    const edit = fc.record({ bytes: fc.uint8Array({ maxLength: 40 }), at: fc.nat(), kind: fc.constantFrom("insert", "remove", "replace", "none"), c: fc.constantFrom(...ODD, "A", "/") });
    fc.assert(fc.property(edit, ({ bytes, at, kind, c }) => {
      const valid = btoa(String.fromCharCode(...bytes));
      const i = valid.length ? at % valid.length : 0;
      const s = kind === "insert" ? valid.slice(0, i) + c + valid.slice(i)
        : kind === "remove" ? valid.slice(0, i) + valid.slice(i + 1)
          : kind === "replace" ? valid.slice(0, i) + c + valid.slice(i + 1) : valid;
      expect(ours(s)).toEqual(reference(s));
      if (kind === "none") expect(ours(s)).toEqual([...bytes]);
    }), { numRuns: 5000 });
  });
});
