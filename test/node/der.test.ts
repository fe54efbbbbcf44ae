// The DER the key types write themselves (src/vault/key-types/der.ts), against @noble/curves'
// encoder and parser: ECDSA signatures both ways, and strictness on the way in.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ecdsaFromDer, ecdsaToDer } from "../../src/vault/key-types/der.js";

const CURVES = [["P-256", p256, 32], ["P-384", p384, 48], ["P-521", p521, 66]] as const;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ECDSA signatures as DER", () => {
  for (const [name, curve, size] of CURVES) {
    it(`${name}: r ‖ s → DER is noble's DER, and back`, () => {
      const n = curve.Point.Fn.ORDER;
      const scalar = fc.bigInt({ min: 1n, max: n - 1n });
      // Small values too, so leading zero bytes and the 0x00 sign byte are exercised.
      const value = fc.oneof(scalar, fc.bigInt({ min: 1n, max: 0xffffn }), fc.bigInt({ min: 1n, max: (1n << 255n) }).filter((x) => x < n));
      fc.assert(fc.property(value, value, (r, s) => {
        const sig = new curve.Signature(r, s);
        const rs = sig.toBytes("compact");
        const der = ecdsaToDer(rs);
        expect(hex(der)).toBe(hex(sig.toBytes("der")));
        expect(hex(ecdsaFromDer(der, size)!)).toBe(hex(rs));
      }), { numRuns: 300 });
    });
  }

  it("refuses what is not strict DER", () => {
    const rs = new p256.Signature(0x80n, 5n).toBytes("compact");
    const good = ecdsaToDer(rs); // 30 07 | 02 02 00 80 | 02 01 05
    expect(hex(good)).toBe("3007020200800201" + "05");
    expect(hex(ecdsaFromDer(good, 32)!)).toBe(hex(rs));
    const bad = [
      "", "30", "3100", "3007020200800201", // empty, no length, wrong tag, truncated
      "300702020080020105" + "00", // a trailing byte
      "3008020200800201" + "05", // the SEQUENCE's length says more than it holds
      "3006020180020105", // r = 0x80 without its sign byte: negative
      "30080203000080020105", // r with a needless leading zero
      "300802020080" + "02020005", // s not minimal
      "3005020002" + "0105", // an empty INTEGER
      "3007040200800201" + "05", // an OCTET STRING, not an INTEGER
      "308107020200800201" + "05", // the long length form for a short length
    ];
    for (const b of bad) expect(ecdsaFromDer(Uint8Array.from(Buffer.from(b, "hex")), 32), b).toBeUndefined();
    // An integer longer than the field is not a signature on the curve.
    expect(ecdsaFromDer(ecdsaToDer(new Uint8Array(66).fill(1)), 32)).toBeUndefined();
  });
});
