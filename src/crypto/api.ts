// The synchronous crypto API over the WebAssembly core. Environment-neutral: the
// entry modules (node.ts, index.ts) hand it a compiled WebAssembly.Module once.
import { CryptoError, AuthenticationError } from "./errors.js";

export { CryptoError, AuthenticationError } from "./errors.js";
export type { CryptoErrorCode } from "./errors.js";

/** GCM authentication tag length in bytes (only full-length tags are produced or accepted). */
export const GCM_TAG_LENGTH = 16;

interface CoreExports {
  memory: WebAssembly.Memory;
  key_ptr(): number;
  buf_ptr(): number;
  buf_size(): number;
  tag_ptr(): number;
  gcm_seal(keyLen: number, ivLen: number, aadLen: number, ptLen: number): number;
  gcm_open(keyLen: number, ivLen: number, aadLen: number, ctLen: number): number;
  gcm_init(keyLen: number, ivLen: number): number;
  gcm_aad(len: number): number;
  gcm_encrypt(len: number): number;
  gcm_absorb(len: number): number;
  gcm_decrypt(len: number): number;
  gcm_finish(): number;
  gcm_verify(): number;
  kw_wrap(keyLen: number, len: number, pad: number): number;
  kw_unwrap(keyLen: number, len: number, pad: number): number;
  kw_out_len(): number;
  wipe(): void;
}

// Status codes of assembly/layout.ts
const STATUS_MESSAGES: Record<number, [CryptoError["code"], string]> = {
  1: ["INVALID_KEY_LENGTH", "key must be 16, 24 or 32 bytes"],
  2: ["INVALID_IV_LENGTH", "IV length out of range"],
  3: ["INVALID_DATA_LENGTH", "data length out of range"],
  5: ["INTERNAL", "crypto core called out of order"],
};
const ERR_AUTH = 4;

interface Core {
  x: CoreExports;
  mem: Uint8Array;
  key: number;
  buf: number;
  bufSize: number;
  tag: number;
}

let pending: WebAssembly.Module | undefined;
let core: Core | undefined;

/** Supplies the compiled core; it is instantiated on first use, once per isolate/process. */
export function setCoreModule(module: WebAssembly.Module): void {
  if (!core) pending = module;
}

function getCore(): Core {
  if (core) return core;
  if (!pending) throw new CryptoError("INTERNAL", "crypto core module not loaded");
  const instance = new WebAssembly.Instance(pending, {
    env: { abort: () => { throw new CryptoError("INTERNAL", "crypto core aborted"); } },
  });
  const x = instance.exports as unknown as CoreExports;
  // The module's memory has a fixed size (initial = maximum), so this view stays valid.
  core = { x, mem: new Uint8Array(x.memory.buffer), key: x.key_ptr(), buf: x.buf_ptr(), bufSize: x.buf_size(), tag: x.tag_ptr() };
  pending = undefined;
  return core;
}

/** Test hook: a copy of the core's whole linear memory. */
export function coreMemorySnapshot(): Uint8Array {
  return getCore().mem.slice();
}

function check(status: number, what: string): void {
  if (status === 0) return;
  if (status === ERR_AUTH) throw new AuthenticationError(what);
  const [code, message] = STATUS_MESSAGES[status] ?? ["INTERNAL", `status ${status}`];
  throw new CryptoError(code, `${what}: ${message}`);
}

function bytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError("INVALID_ARGUMENT", `${name} must be a Uint8Array`);
  }
  return value;
}

function aesKey(value: unknown, name: string): Uint8Array {
  const k = bytes(value, name);
  if (k.length !== 16 && k.length !== 24 && k.length !== 32) {
    throw new CryptoError("INVALID_KEY_LENGTH", `${name} must be 16, 24 or 32 bytes, got ${k.length}`);
  }
  return k;
}

function checkIv(c: Core, iv: Uint8Array, what: string): void {
  if (iv.length < 1 || iv.length > c.bufSize) {
    throw new CryptoError("INVALID_IV_LENGTH", `${what}: IV must be 1..${c.bufSize} bytes, got ${iv.length}`);
  }
}

function startGcm(c: Core, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, what: string): void {
  c.mem.set(key, c.key);
  c.mem.set(iv, c.buf);
  check(c.x.gcm_init(key.length, iv.length), what);
  for (let off = 0; off < aad.length; off += c.bufSize) {
    const chunk = aad.subarray(off, off + c.bufSize);
    c.mem.set(chunk, c.buf);
    check(c.x.gcm_aad(chunk.length), what);
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** Key at KEY; [iv | aad | data] at BUF, for the one-shot entry points. */
function layOut(c: Core, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): void {
  c.mem.set(key, c.key);
  c.mem.set(iv, c.buf);
  if (aad.length) c.mem.set(aad, c.buf + iv.length);
  if (data.length) c.mem.set(data, c.buf + iv.length + aad.length);
}

/** AES-GCM encryption (SP 800-38D). Returns ciphertext || 16-byte tag. */
export function aesGcmSeal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const k = aesKey(key, "key"), n = bytes(iv, "iv"), p = bytes(plaintext, "plaintext"), a = bytes(aad, "aad");
  const c = getCore();
  checkIv(c, n, "aesGcmSeal");
  if (n.length + a.length + p.length + GCM_TAG_LENGTH <= c.bufSize) {
    try {
      layOut(c, k, n, a, p);
      check(c.x.gcm_seal(k.length, n.length, a.length, p.length), "aesGcmSeal");
      return c.mem.slice(c.buf, c.buf + p.length + GCM_TAG_LENGTH);
    } finally {
      c.x.wipe();
    }
  }
  const out = new Uint8Array(p.length + GCM_TAG_LENGTH);
  try {
    startGcm(c, k, n, a, "aesGcmSeal");
    for (let off = 0; off < p.length; off += c.bufSize) {
      const chunk = p.subarray(off, off + c.bufSize);
      c.mem.set(chunk, c.buf);
      check(c.x.gcm_encrypt(chunk.length), "aesGcmSeal");
      out.set(c.mem.subarray(c.buf, c.buf + chunk.length), off);
    }
    check(c.x.gcm_finish(), "aesGcmSeal");
    out.set(c.mem.subarray(c.tag, c.tag + GCM_TAG_LENGTH), p.length);
  } finally {
    c.x.wipe();
  }
  return out;
}

/** AES-GCM decryption. Throws AuthenticationError unless the tag verifies; no plaintext is released before that. */
export function aesGcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const k = aesKey(key, "key"), n = bytes(iv, "iv"), s = bytes(sealed, "sealed"), a = bytes(aad, "aad");
  if (s.length < GCM_TAG_LENGTH) {
    throw new CryptoError("INVALID_DATA_LENGTH", `aesGcmOpen: sealed input must be at least ${GCM_TAG_LENGTH} bytes`);
  }
  const c = getCore();
  const ctLen = s.length - GCM_TAG_LENGTH;
  checkIv(c, n, "aesGcmOpen");
  if (n.length + a.length + s.length <= c.bufSize) {
    try {
      layOut(c, k, n, a, s);
      check(c.x.gcm_open(k.length, n.length, a.length, ctLen), "aesGcmOpen");
      return c.mem.slice(c.buf, c.buf + ctLen);
    } finally {
      c.x.wipe();
    }
  }
  try {
    startGcm(c, k, n, a, "aesGcmOpen");
    for (let off = 0; off < ctLen; off += c.bufSize) {
      const chunk = s.subarray(off, Math.min(off + c.bufSize, ctLen));
      c.mem.set(chunk, c.buf);
      check(c.x.gcm_absorb(chunk.length), "aesGcmOpen");
    }
    c.mem.set(s.subarray(ctLen), c.tag);
    check(c.x.gcm_verify(), "aesGcmOpen");
    const out = new Uint8Array(ctLen);
    for (let off = 0; off < ctLen; off += c.bufSize) {
      const chunk = s.subarray(off, Math.min(off + c.bufSize, ctLen));
      c.mem.set(chunk, c.buf);
      check(c.x.gcm_decrypt(chunk.length), "aesGcmOpen");
      out.set(c.mem.subarray(c.buf, c.buf + chunk.length), off);
    }
    return out;
  } finally {
    c.x.wipe();
  }
}

function wrap(kek: unknown, keyData: unknown, pad: number, what: string): Uint8Array {
  const k = aesKey(kek, "kek"), d = bytes(keyData, "keyData");
  const c = getCore();
  if (d.length > c.bufSize - 16) {
    throw new CryptoError("INVALID_DATA_LENGTH", `${what}: key data must be at most ${c.bufSize - 16} bytes`);
  }
  try {
    c.mem.set(k, c.key);
    c.mem.set(d, c.buf);
    check(c.x.kw_wrap(k.length, d.length, pad), what);
    return c.mem.slice(c.buf, c.buf + c.x.kw_out_len());
  } finally {
    c.x.wipe();
  }
}

function unwrap(kek: unknown, wrapped: unknown, pad: number, what: string): Uint8Array {
  const k = aesKey(kek, "kek"), w = bytes(wrapped, "wrapped");
  const c = getCore();
  if (w.length > c.bufSize) {
    throw new CryptoError("INVALID_DATA_LENGTH", `${what}: wrapped key must be at most ${c.bufSize} bytes`);
  }
  try {
    c.mem.set(k, c.key);
    c.mem.set(w, c.buf);
    check(c.x.kw_unwrap(k.length, w.length, pad), what);
    return c.mem.slice(c.buf, c.buf + c.x.kw_out_len());
  } finally {
    c.x.wipe();
  }
}

/** AES Key Wrap, RFC 3394. keyData: a multiple of 8 bytes, at least 16. */
export function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  return wrap(kek, keyData, 0, "aesKeyWrap");
}
/** AES Key Unwrap, RFC 3394. Throws AuthenticationError if the integrity check fails. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return unwrap(kek, wrapped, 0, "aesKeyUnwrap");
}
/** AES Key Wrap with Padding, RFC 5649. keyData: at least 1 byte. */
export function aesKeyWrapPad(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  return wrap(kek, keyData, 1, "aesKeyWrapPad");
}
/** AES Key Unwrap with Padding, RFC 5649. Throws AuthenticationError if the integrity check fails. */
export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return unwrap(kek, wrapped, 1, "aesKeyUnwrapPad");
}
