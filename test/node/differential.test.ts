// Random inputs against node:crypto, both directions, lengths 0 to past the 64 KiB I/O window.
import { describe, expect, it } from "vitest";
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from "node:crypto";
import * as core from "../../src/crypto/node.js";
import * as ref from "../reference/aes-reference.js";

function nodeSeal(k: Buffer, iv: Buffer, p: Buffer, a: Buffer): Buffer {
  const c = createCipheriv(`aes-${k.length * 8}-gcm` as "aes-256-gcm", k, iv);
  c.setAAD(a);
  return Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
}
function nodeOpen(k: Buffer, iv: Buffer, s: Uint8Array, a: Buffer): Buffer {
  const d = createDecipheriv(`aes-${k.length * 8}-gcm` as "aes-256-gcm", k, iv);
  d.setAAD(a);
  d.setAuthTag(s.subarray(s.length - 16));
  return Buffer.concat([d.update(s.subarray(0, s.length - 16)), d.final()]);
}

// Mostly short messages, with every length 0..300 covered, and a tail of large ones.
function lengths(): number[] {
  const out: number[] = [];
  for (let n = 0; n <= 300; n++) out.push(n);
  for (let i = 0; i < 1500; i++) out.push(randomInt(0, 5000));
  out.push(65535, 65536, 65537, 65536 * 2 + 17, 70000, 200_000, 1 << 20);
  for (let i = 0; i < 20; i++) out.push(randomInt(60_000, 140_000));
  return out;
}

describe("AES-GCM vs node:crypto", () => {
  it("seal equals node:crypto and node:crypto opens it; open inverts node:crypto", () => {
    let n = 0;
    for (const len of lengths()) {
      const key = randomBytes(randomInt(2) ? 32 : 16);
      const iv = randomBytes(randomInt(8) === 0 ? randomInt(1, 129) : 12); // OpenSSL caps GCM IVs at 128 bytes
      const aad = randomBytes(randomInt(8) === 0 ? randomInt(0, 70_000) : randomInt(0, 64));
      const pt = randomBytes(len);
      const expected = nodeSeal(key, iv, pt, aad);
      const got = core.aesGcmSeal(key, iv, pt, aad);
      expect(Buffer.from(got).equals(expected), `seal len=${len} iv=${iv.length} aad=${aad.length}`).toBe(true);
      expect(nodeOpen(key, iv, got, aad).equals(pt)).toBe(true);
      expect(Buffer.from(core.aesGcmOpen(key, iv, expected, aad)).equals(pt), `open len=${len}`).toBe(true);
      n++;
    }
    expect(n).toBeGreaterThan(1800);
  });
});

describe("AES-GCM with IVs longer than OpenSSL accepts, vs the reference", () => {
  it("IV lengths 129..4096 bytes", () => {
    for (const ivLen of [129, 200, 255, 256, 257, 1000, 4096]) {
      const key = randomBytes(32), iv = randomBytes(ivLen), pt = randomBytes(randomInt(0, 100)), aad = randomBytes(randomInt(0, 40));
      const sealed = core.aesGcmSeal(key, iv, pt, aad);
      expect(Buffer.from(sealed).equals(Buffer.from(ref.gcmSeal(key, iv, pt, aad))), `iv=${ivLen}`).toBe(true);
      expect(Buffer.from(core.aesGcmOpen(key, iv, sealed, aad)).equals(pt)).toBe(true);
    }
  });
});

describe("AES-KW / AES-KWP vs node:crypto", () => {
  const run = (pad: boolean) => {
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const kek = randomBytes(randomInt(2) ? 32 : 16);
      const len = pad ? randomInt(1, 600) : 8 * randomInt(2, 80);
      const data = randomBytes(len);
      const alg = `id-aes${kek.length * 8}-wrap${pad ? "-pad" : ""}`;
      const iv = Buffer.from(pad ? "a65959a6" : "a6a6a6a6a6a6a6a6", "hex");
      const c = createCipheriv(alg, kek, iv);
      const expected = Buffer.concat([c.update(data), c.final()]);
      const wrapped = pad ? core.aesKeyWrapPad(kek, data) : core.aesKeyWrap(kek, data);
      expect(Buffer.from(wrapped).equals(expected), `${alg} len=${len}`).toBe(true);
      const d = createDecipheriv(alg, kek, iv);
      expect(Buffer.concat([d.update(wrapped), d.final()]).equals(data)).toBe(true);
      const back = pad ? core.aesKeyUnwrapPad(kek, expected) : core.aesKeyUnwrap(kek, expected);
      expect(Buffer.from(back).equals(data)).toBe(true);
      n++;
    }
    return n;
  };
  it("RFC 3394 wrap/unwrap, 2000 random keys and lengths", () => expect(run(false)).toBe(2000));
  it("RFC 5649 wrap/unwrap, 2000 random keys and lengths", () => expect(run(true)).toBe(2000));
});
