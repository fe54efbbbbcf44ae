// NIST CAVP vectors from Debian's python3-cryptography-vectors (installed by
// scripts/test-setup.sh). Only full 128-bit tags: the core produces no shorter ones.
import { describe, expect, it } from "vitest";
import * as core from "../../src/crypto/node.js";
import * as ref from "../reference/aes-reference.js";
import { cavpOptedOut, readCavp, type CavpRecord } from "../vectors/cavp.js";
import { hex, toHex } from "../vectors/known-answers.js";

const gcmFiles = ["128", "192", "256"].flatMap((k) => [`ciphers/AES/GCM/gcmEncryptExtIV${k}.rsp`, `ciphers/AES/GCM/gcmDecrypt${k}.rsp`]);

describe("NIST CAVP AES-GCM (gcmtestvectors)", () => {
  for (const file of gcmFiles) {
    it.skipIf(cavpOptedOut())(`${file}: every 128-bit-tag case, WASM core; a sample on the reference`, () => {
      const records = readCavp(file).filter((r) => r.Taglen === "128");
      let checked = 0;
      records.forEach((r: CavpRecord, i) => {
        const key = hex(r.Key), iv = hex(r.IV), aad = hex(r.AAD), sealed = hex(r.CT + r.Tag);
        if (r.fail) {
          expect(() => core.aesGcmOpen(key, iv, sealed, aad), `${file} Count ${r.Count}`).toThrow(core.AuthenticationError);
        } else {
          expect(toHex(core.aesGcmSeal(key, iv, hex(r.PT), aad)), `${file} Count ${r.Count}`).toBe(r.CT + r.Tag);
          expect(toHex(core.aesGcmOpen(key, iv, sealed, aad))).toBe(r.PT);
          if (i % 97 === 0) expect(toHex(ref.gcmSeal(key, iv, hex(r.PT), aad))).toBe(r.CT + r.Tag);
        }
        checked++;
      });
      expect(checked).toBeGreaterThan(1000);
    });
  }
});

const kwFiles = ["128", "192", "256"].flatMap((k) => [`KW_AE_${k}.txt`, `KW_AD_${k}.txt`, `KWP_AE_${k}.txt`, `KWP_AD_${k}.txt`]);

describe("NIST CAVP AES-KW / AES-KWP (kwtestvectors, SP 800-38F)", () => {
  for (const file of kwFiles) {
    const pad = file.startsWith("KWP");
    const wrap = pad ? core.aesKeyWrapPad : core.aesKeyWrap;
    const unwrap = pad ? core.aesKeyUnwrapPad : core.aesKeyUnwrap;
    it.skipIf(cavpOptedOut())(file, () => {
      const records = readCavp(`keywrap/kwtestvectors/${file}`);
      let failures = 0;
      for (const r of records) {
        const k = hex(r.K), c = hex(r.C);
        if (r.fail) {
          failures++;
          expect(() => unwrap(k, c), `${file} COUNT ${r.COUNT}`).toThrow(core.CryptoError);
        } else {
          expect(toHex(wrap(k, hex(r.P))), `${file} COUNT ${r.COUNT}`).toBe(r.C);
          expect(toHex(unwrap(k, c))).toBe(r.P);
        }
      }
      expect(records.length).toBeGreaterThan(50);
      if (file.includes("_AD_")) expect(failures).toBeGreaterThan(0);
    });
  }
});

describe("the CAVP loader", () => {
  it("fails, saying how to install the vectors, when a file is missing (no silent skip)", () => {
    expect(() => readCavp("ciphers/AES/GCM/no-such-file.rsp")).toThrow(/python3-cryptography-vectors.*EDGEKMS_SKIP_CAVP=1/);
  });
});
