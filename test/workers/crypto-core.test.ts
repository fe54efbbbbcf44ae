// The crypto core inside workerd: the same vectors as in Node, plus agreement with the
// runtime's own WebCrypto AES-GCM and AES-KW on random inputs.
import { describe, expect, it } from "vitest";
import * as core from "../../src/crypto/index.js";
import { GCM_VECTORS, KW_VECTORS, KWP_VECTORS, hex, toHex } from "../vectors/known-answers.js";

describe("crypto core in workerd", () => {
  it.each(GCM_VECTORS.map((v) => [v.source, v] as const))("GCM %s", (_s, v) => {
    const sealed = core.aesGcmSeal(hex(v.key), hex(v.iv), hex(v.pt), hex(v.aad));
    expect(toHex(sealed)).toBe(v.ct + v.tag);
    expect(toHex(core.aesGcmOpen(hex(v.key), hex(v.iv), sealed, hex(v.aad)))).toBe(v.pt);
  });

  it.each([...KW_VECTORS, ...KWP_VECTORS].map((v) => [v.source, v] as const))("wrap %s", (s, v) => {
    const pad = s.startsWith("RFC 5649");
    const wrapped = (pad ? core.aesKeyWrapPad : core.aesKeyWrap)(hex(v.kek), hex(v.key));
    expect(toHex(wrapped)).toBe(v.wrapped);
    expect(toHex((pad ? core.aesKeyUnwrapPad : core.aesKeyUnwrap)(hex(v.kek), wrapped))).toBe(v.key);
  });

  it("agrees with workerd's WebCrypto AES-GCM on random inputs", async () => {
    for (let i = 0; i < 200; i++) {
      const key = crypto.getRandomValues(new Uint8Array(i % 2 ? 32 : 16));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const aad = crypto.getRandomValues(new Uint8Array(i % 7));
      const pt = crypto.getRandomValues(new Uint8Array((i * 37) % 3000));
      const ck = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
      const expected = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, ck, pt));
      expect(toHex(core.aesGcmSeal(key, iv, pt, aad))).toBe(toHex(expected));
      expect(toHex(core.aesGcmOpen(key, iv, expected, aad))).toBe(toHex(pt));
    }
  });

  it("agrees with workerd's WebCrypto AES-KW", async () => {
    for (let i = 0; i < 50; i++) {
      const kek = crypto.getRandomValues(new Uint8Array(32));
      const data = crypto.getRandomValues(new Uint8Array(16 + 8 * (i % 6)));
      const wk = await crypto.subtle.importKey("raw", kek, "AES-KW", false, ["wrapKey"]);
      const inner = await crypto.subtle.importKey("raw", data, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
      const expected = new Uint8Array(await crypto.subtle.wrapKey("raw", inner, wk, "AES-KW"));
      expect(toHex(core.aesKeyWrap(kek, data))).toBe(toHex(expected));
    }
  });

  it("rejects tampering and bad arguments with typed errors", () => {
    const key = new Uint8Array(32), iv = new Uint8Array(12);
    const sealed = core.aesGcmSeal(key, iv, new Uint8Array(10));
    sealed[0] ^= 1;
    expect(() => core.aesGcmOpen(key, iv, sealed)).toThrow(core.AuthenticationError);
    expect(() => core.aesGcmSeal(new Uint8Array(5), iv, sealed)).toThrow(core.CryptoError);
  });
});

describe("worker", () => {
  it("answers its health route", async () => {
    const { SELF } = await import("cloudflare:test");
    const res = await SELF.fetch("https://edgekms.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service: "edgekms", status: "ok" });
  });
});
