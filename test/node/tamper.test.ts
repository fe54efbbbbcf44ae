// Every single-bit change to ciphertext, tag, IV or AAD is rejected, as are wrong keys,
// wrong KEKs and truncated inputs.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import * as core from "../../src/crypto/node.js";

function flipEachBit(buf: Uint8Array, check: (mutated: Uint8Array) => void): number {
  let n = 0;
  for (let i = 0; i < buf.length * 8; i++) {
    const m = Uint8Array.from(buf); // a copy (Buffer#slice would be a view)
    m[i >> 3] ^= 1 << (i & 7);
    check(m);
    n++;
  }
  return n;
}

describe("AES-GCM tampering", () => {
  for (const [ptLen, ivLen, aadLen] of [[0, 12, 0], [1, 12, 5], [17, 12, 20], [64, 12, 0], [100, 7, 33], [300, 16, 16]]) {
    it(`rejects every bit flip: plaintext ${ptLen} B, IV ${ivLen} B, AAD ${aadLen} B`, () => {
      const key = randomBytes(32), iv = randomBytes(ivLen), aad = randomBytes(aadLen), pt = randomBytes(ptLen);
      const sealed = core.aesGcmSeal(key, iv, pt, aad);
      const rejected = (f: () => unknown) => expect(f).toThrow(core.AuthenticationError);
      let flips = 0;
      flips += flipEachBit(sealed, (m) => rejected(() => core.aesGcmOpen(key, iv, m, aad)));
      flips += flipEachBit(iv, (m) => rejected(() => core.aesGcmOpen(key, m, sealed, aad)));
      flips += flipEachBit(aad, (m) => rejected(() => core.aesGcmOpen(key, iv, sealed, m)));
      expect(flips).toBe((sealed.length + ivLen + aadLen) * 8);
      expect(Buffer.from(core.aesGcmOpen(key, iv, sealed, aad)).equals(pt)).toBe(true);
    });
  }

  it("rejects a wrong key, a truncated message and extra bytes", () => {
    const key = randomBytes(16), iv = randomBytes(12), pt = randomBytes(50);
    const sealed = core.aesGcmSeal(key, iv, pt);
    expect(() => core.aesGcmOpen(randomBytes(16), iv, sealed)).toThrow(core.AuthenticationError);
    for (const cut of [1, 15, 16, 17, sealed.length - 16]) {
      expect(() => core.aesGcmOpen(key, iv, sealed.subarray(0, sealed.length - cut))).toThrow(core.AuthenticationError);
    }
    expect(() => core.aesGcmOpen(key, iv, sealed.subarray(0, 15))).toThrow(core.CryptoError);
    expect(() => core.aesGcmOpen(key, iv, Buffer.concat([sealed, Buffer.of(0)]))).toThrow(core.AuthenticationError);
  });

  it("rejects a tampered large (multi-chunk) message without releasing plaintext", () => {
    const key = randomBytes(32), iv = randomBytes(12), pt = randomBytes(200_000);
    const sealed = core.aesGcmSeal(key, iv, pt);
    for (const pos of [0, 65535, 65536, 131072, 199_999, sealed.length - 1]) {
      const m = Uint8Array.from(sealed);
      m[pos] ^= 0x80;
      expect(() => core.aesGcmOpen(key, iv, m)).toThrow(core.AuthenticationError);
    }
  });
});

describe("key wrap tampering", () => {
  for (const [name, wrap, unwrap, len] of [
    ["KW", core.aesKeyWrap, core.aesKeyUnwrap, 32],
    ["KWP", core.aesKeyWrapPad, core.aesKeyUnwrapPad, 32],
    ["KWP (one semiblock)", core.aesKeyWrapPad, core.aesKeyUnwrapPad, 5],
  ] as const) {
    it(`${name}: every bit flip, a wrong KEK and truncation are rejected`, () => {
      const kek = randomBytes(32), key = randomBytes(len);
      const wrapped = wrap(kek, key);
      flipEachBit(wrapped, (m) => expect(() => unwrap(kek, m)).toThrow(core.AuthenticationError));
      expect(() => unwrap(randomBytes(32), wrapped)).toThrow(core.AuthenticationError);
      expect(() => unwrap(kek, wrapped.subarray(0, wrapped.length - 8))).toThrow(core.CryptoError);
      expect(() => unwrap(kek, wrapped.subarray(0, wrapped.length - 1))).toThrow(core.CryptoError);
      expect(Buffer.from(unwrap(kek, wrapped)).equals(key)).toBe(true);
    });
  }

  it("an empty or 8-byte input is an error, never an empty key", () => {
    const kek = randomBytes(16);
    for (const bad of [new Uint8Array(0), new Uint8Array(8), randomBytes(8)]) {
      expect(() => core.aesKeyUnwrap(kek, bad)).toThrow(core.CryptoError);
      expect(() => core.aesKeyUnwrapPad(kek, bad)).toThrow(core.CryptoError);
    }
    expect(() => core.aesKeyUnwrap(kek, randomBytes(16))).toThrow(core.CryptoError); // KW needs ≥ 24
  });
});
