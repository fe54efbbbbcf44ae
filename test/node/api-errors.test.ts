// Wrong types and lengths give typed CryptoErrors, never a trap or garbage.
import { describe, expect, it } from "vitest";
import * as core from "../../src/crypto/node.js";

const k16 = new Uint8Array(16), iv = new Uint8Array(12), pt = new Uint8Array(8);

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(core.CryptoError);
    return (e as core.CryptoError).code;
  }
  return undefined;
}

describe("argument checking", () => {
  it("rejects non-Uint8Array arguments", () => {
    for (const bad of [undefined, null, "key", 42, [1, 2, 3], new ArrayBuffer(16), new Uint16Array(8)]) {
      expect(code(() => core.aesGcmSeal(bad as never, iv, pt))).toBe("INVALID_ARGUMENT");
      expect(code(() => core.aesGcmSeal(k16, bad as never, pt))).toBe("INVALID_ARGUMENT");
      expect(code(() => core.aesGcmOpen(k16, iv, bad as never))).toBe("INVALID_ARGUMENT");
      expect(code(() => core.aesKeyWrapPad(k16, bad as never))).toBe("INVALID_ARGUMENT");
    }
  });

  it("rejects key lengths other than 16, 24 and 32", () => {
    for (const n of [0, 1, 15, 17, 31, 33, 64]) {
      const k = new Uint8Array(n);
      expect(code(() => core.aesGcmSeal(k, iv, pt))).toBe("INVALID_KEY_LENGTH");
      expect(code(() => core.aesGcmOpen(k, iv, new Uint8Array(16)))).toBe("INVALID_KEY_LENGTH");
      expect(code(() => core.aesKeyWrap(k, new Uint8Array(16)))).toBe("INVALID_KEY_LENGTH");
      expect(code(() => core.aesKeyUnwrapPad(k, new Uint8Array(16)))).toBe("INVALID_KEY_LENGTH");
    }
  });

  it("rejects empty and oversized IVs, short sealed input and bad wrap lengths", () => {
    expect(code(() => core.aesGcmSeal(k16, new Uint8Array(0), pt))).toBe("INVALID_IV_LENGTH");
    expect(code(() => core.aesGcmSeal(k16, new Uint8Array(65537), pt))).toBe("INVALID_IV_LENGTH");
    expect(code(() => core.aesGcmOpen(k16, iv, new Uint8Array(15)))).toBe("INVALID_DATA_LENGTH");
    expect(code(() => core.aesKeyWrap(k16, new Uint8Array(8)))).toBe("INVALID_DATA_LENGTH");
    expect(code(() => core.aesKeyWrap(k16, new Uint8Array(20)))).toBe("INVALID_DATA_LENGTH");
    expect(code(() => core.aesKeyWrapPad(k16, new Uint8Array(0)))).toBe("INVALID_DATA_LENGTH");
    expect(code(() => core.aesKeyUnwrap(k16, new Uint8Array(25)))).toBe("INVALID_DATA_LENGTH");
    expect(code(() => core.aesKeyUnwrapPad(k16, new Uint8Array(0)))).toBe("INVALID_DATA_LENGTH");
  });

  it("keeps working after every kind of rejected call", () => {
    const sealed = core.aesGcmSeal(k16, iv, pt);
    expect(core.aesGcmOpen(k16, iv, sealed)).toEqual(pt);
  });
});
