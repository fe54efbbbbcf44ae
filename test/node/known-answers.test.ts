// The typed-in vectors (test/vectors/known-answers.ts) against all three implementations.
import { describe, expect, it } from "vitest";
import { createCipheriv, createDecipheriv } from "node:crypto";
import * as core from "../../src/crypto/node.js";
import * as ref from "../reference/aes-reference.js";
import { GCM_VECTORS, KW_VECTORS, KWP_VECTORS, hex, toHex } from "../vectors/known-answers.js";

type Gcm = {
  seal(k: Uint8Array, iv: Uint8Array, p: Uint8Array, a: Uint8Array): Uint8Array;
  open(k: Uint8Array, iv: Uint8Array, s: Uint8Array, a: Uint8Array): Uint8Array;
};
const nodeGcm: Gcm = {
  seal(k, iv, p, a) {
    const c = createCipheriv(`aes-${k.length * 8}-gcm` as "aes-256-gcm", k, iv);
    c.setAAD(a);
    return Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
  },
  open(k, iv, s, a) {
    const d = createDecipheriv(`aes-${k.length * 8}-gcm` as "aes-256-gcm", k, iv);
    d.setAAD(a);
    d.setAuthTag(s.subarray(s.length - 16));
    return Buffer.concat([d.update(s.subarray(0, s.length - 16)), d.final()]);
  },
};
const GCM_IMPLS: [string, Gcm][] = [
  ["wasm core", { seal: core.aesGcmSeal, open: core.aesGcmOpen }],
  ["node:crypto", nodeGcm],
  ["reference", { seal: ref.gcmSeal, open: ref.gcmOpen }],
];

type Wrap = { wrap(k: Uint8Array, d: Uint8Array): Uint8Array; unwrap(k: Uint8Array, w: Uint8Array): Uint8Array };
const nodeWrap = (pad: boolean): Wrap => {
  const alg = (k: Uint8Array) => `id-aes${k.length * 8}-wrap${pad ? "-pad" : ""}`;
  const iv = Buffer.from(pad ? "a65959a6" : "a6a6a6a6a6a6a6a6", "hex");
  return {
    wrap: (k, d) => { const c = createCipheriv(alg(k), k, iv); return Buffer.concat([c.update(d), c.final()]); },
    unwrap: (k, w) => { const c = createDecipheriv(alg(k), k, iv); return Buffer.concat([c.update(w), c.final()]); },
  };
};
const KW_IMPLS: [string, Wrap][] = [
  ["wasm core", { wrap: core.aesKeyWrap, unwrap: core.aesKeyUnwrap }],
  ["node:crypto", nodeWrap(false)],
  ["reference", { wrap: ref.keyWrap, unwrap: ref.keyUnwrap }],
];
const KWP_IMPLS: [string, Wrap][] = [
  ["wasm core", { wrap: core.aesKeyWrapPad, unwrap: core.aesKeyUnwrapPad }],
  ["node:crypto", nodeWrap(true)],
  ["reference", { wrap: ref.keyWrapPad, unwrap: ref.keyUnwrapPad }],
];

describe.each(GCM_IMPLS)("AES-GCM known answers: %s", (_name, impl) => {
  it.each(GCM_VECTORS.map((v) => [v.source, v] as const))("%s", (_s, v) => {
    const sealed = impl.seal(hex(v.key), hex(v.iv), hex(v.pt), hex(v.aad));
    expect(toHex(sealed)).toBe(v.ct + v.tag);
    expect(toHex(impl.open(hex(v.key), hex(v.iv), sealed, hex(v.aad)))).toBe(v.pt);
  });
});

describe.each(KW_IMPLS)("AES-KW known answers: %s", (_name, impl) => {
  it.each(KW_VECTORS.map((v) => [v.source, v] as const))("%s", (_s, v) => {
    expect(toHex(impl.wrap(hex(v.kek), hex(v.key)))).toBe(v.wrapped);
    expect(toHex(impl.unwrap(hex(v.kek), hex(v.wrapped)))).toBe(v.key);
  });
});

describe.each(KWP_IMPLS)("AES-KWP known answers: %s", (_name, impl) => {
  it.each(KWP_VECTORS.map((v) => [v.source, v] as const))("%s", (_s, v) => {
    expect(toHex(impl.wrap(hex(v.kek), hex(v.key)))).toBe(v.wrapped);
    expect(toHex(impl.unwrap(hex(v.kek), hex(v.wrapped)))).toBe(v.key);
  });
});
