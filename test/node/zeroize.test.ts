// After every operation, successful or failed, the core's linear memory is exactly as it
// was before the first operation: no key, round key, hash key or text survives.
import { beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import * as core from "../../src/crypto/node.js";
import { expandKey } from "../reference/aes-reference.js";

let pristine: Uint8Array;
beforeAll(() => {
  pristine = core.coreMemorySnapshot(); // first use in this file: a fresh instance
});

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function expectClean(secrets: Uint8Array[]): void {
  const mem = core.coreMemorySnapshot();
  for (const s of secrets) if (s.length >= 8) expect(contains(mem, s), "secret bytes left in memory").toBe(false);
  let diff = 0;
  for (let i = 0; i < mem.length; i++) if (mem[i] !== pristine[i]) diff++;
  expect(diff, "bytes differing from the pristine instance").toBe(0);
}

const roundKeys = (k: Uint8Array) => expandKey(k);

describe("zeroization", () => {
  it("after GCM seal and open, small and multi-chunk", () => {
    for (const len of [16, 1000, 150_000]) {
      const key = randomBytes(32), iv = randomBytes(12), pt = randomBytes(len), aad = randomBytes(40);
      const sealed = core.aesGcmSeal(key, iv, pt, aad);
      expectClean([key, ...roundKeys(key), pt.subarray(0, 64)]);
      core.aesGcmOpen(key, iv, sealed, aad);
      expectClean([key, ...roundKeys(key), pt.subarray(0, 64), pt.subarray(len - 32)]);
    }
  });

  it("after a failed GCM open (tag mismatch), including the multi-chunk path", () => {
    for (const len of [40, 150_000]) {
      const key = randomBytes(16), iv = randomBytes(20), pt = randomBytes(len);
      const sealed = core.aesGcmSeal(key, iv, pt);
      sealed[sealed.length - 1] ^= 1;
      expect(() => core.aesGcmOpen(key, iv, sealed)).toThrow(core.AuthenticationError);
      expectClean([key, ...roundKeys(key), pt.subarray(0, 32)]);
    }
  });

  it("after wrap and unwrap, successful and failed", () => {
    const kek = randomBytes(32), key = randomBytes(32);
    const wrapped = core.aesKeyWrapPad(kek, key);
    expectClean([kek, key, ...roundKeys(kek)]);
    core.aesKeyUnwrapPad(kek, wrapped);
    expectClean([kek, key, ...roundKeys(kek)]);
    wrapped[9] ^= 1;
    expect(() => core.aesKeyUnwrapPad(kek, wrapped)).toThrow(core.AuthenticationError);
    expectClean([kek, key, ...roundKeys(kek)]);
    const kw = core.aesKeyWrap(kek, key);
    core.aesKeyUnwrap(kek, kw);
    expectClean([kek, key, ...roundKeys(kek)]);
  });

  it("after calls rejected for bad arguments", () => {
    const key = randomBytes(32);
    expect(() => core.aesGcmSeal(key, new Uint8Array(0), randomBytes(10))).toThrow(core.CryptoError);
    expect(() => core.aesKeyWrap(key, randomBytes(12))).toThrow(core.CryptoError);
    expectClean([key]);
  });
});
