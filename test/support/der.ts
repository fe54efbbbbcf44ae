// A minimal DER reader for the tests, independent of the vault's encoder (src/vault/key-types/der.ts):
// the node and e2e key-type tests read SPKI, PKCS#8 and signatures with it.
import { expect } from "vitest";

/** The TLVs directly inside `der`. */
export function children(der: Uint8Array): { tag: number; value: Uint8Array }[] {
  const out: { tag: number; value: Uint8Array }[] = [];
  for (let off = 0; off < der.length;) {
    const tag = der[off++]!;
    let len = der[off++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[off++]!;
    }
    expect(off + len).toBeLessThanOrEqual(der.length);
    out.push({ tag, value: der.subarray(off, off + len) });
    off += len;
  }
  return out;
}

/** The value of the one TLV inside `der`, which must have `tag`. */
export function only(der: Uint8Array, tag: number): Uint8Array {
  const c = children(der);
  expect(c.map((x) => x.tag)).toEqual([tag]);
  return c[0]!.value;
}

export const NIST_ALGORITHMS_OID = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04]; // 2.16.840.1.101.3.4

/** The key bytes of an SPKI whose AlgorithmIdentifier is an OID alone (ML-DSA: RFC 9881, ML-KEM: RFC 9935), its last arcs checked. */
export function rawPublicKey(spki: Uint8Array, arcs: [number, number]): Uint8Array {
  const [alg, bits] = children(only(spki, 0x30));
  expect(alg!.tag).toBe(0x30);
  expect(Array.from(only(alg!.value, 0x06))).toEqual([...NIST_ALGORITHMS_OID, ...arcs]);
  expect([bits!.tag, bits!.value[0]]).toEqual([0x03, 0]);
  return bits!.value.subarray(1);
}
