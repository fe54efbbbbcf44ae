// A slow, readable reference of AES, GCM, KW and KWP written straight from the
// specifications, for differential tests only. Variable-time and not for production.

// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (FIPS-197 §4.2).
function gmul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return p;
}

// S-box from its definition (FIPS-197 §5.1.1): multiplicative inverse, then the affine map.
const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  let inv = 0;
  for (let y = 1; y < 256 && x !== 0; y++) if (gmul(x, y) === 1) inv = y;
  let s = 0;
  for (let i = 0; i < 8; i++) {
    const bit = ((inv >> i) ^ (inv >> ((i + 4) % 8)) ^ (inv >> ((i + 5) % 8)) ^ (inv >> ((i + 6) % 8)) ^ (inv >> ((i + 7) % 8)) ^ (0x63 >> i)) & 1;
    s |= bit << i;
  }
  SBOX[x] = s;
  INV_SBOX[s] = x;
}

/** KeyExpansion (FIPS-197 §5.2): returns Nr+1 round keys of 16 bytes. */
export function expandKey(key: Uint8Array): Uint8Array[] {
  const nk = key.length / 4;
  if (![4, 6, 8].includes(nk)) throw new Error("AES key must be 16, 24 or 32 bytes");
  const nr = nk + 6;
  const w: number[][] = [];
  for (let i = 0; i < nk; i++) w.push([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
  let rcon = 1;
  for (let i = nk; i < 4 * (nr + 1); i++) {
    let t = [...w[i - 1]];
    if (i % nk === 0) {
      t = [SBOX[t[1]] ^ rcon, SBOX[t[2]], SBOX[t[3]], SBOX[t[0]]];
      rcon = gmul(rcon, 2);
    } else if (nk > 6 && i % nk === 4) {
      t = t.map((b) => SBOX[b]);
    }
    w.push(w[i - nk].map((b, j) => b ^ t[j]));
  }
  const rks: Uint8Array[] = [];
  for (let r = 0; r <= nr; r++) rks.push(Uint8Array.from(w.slice(4 * r, 4 * r + 4).flat()));
  return rks;
}

// The state is 16 bytes in input order: byte r + 4c is row r, column c.
function shiftRows(s: Uint8Array, inverse: boolean): Uint8Array {
  const out = new Uint8Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const from = inverse ? (c - r + 4) % 4 : (c + r) % 4;
      out[r + 4 * c] = s[r + 4 * from];
    }
  }
  return out;
}

function mixColumns(s: Uint8Array, m: number[]): Uint8Array {
  const out = new Uint8Array(16);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v ^= gmul(m[(k - r + 4) % 4], s[k + 4 * c]);
      out[r + 4 * c] = v;
    }
  }
  return out;
}

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x ^ b[i]);

export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const rk = expandKey(key);
  const nr = rk.length - 1;
  let s = xor(block, rk[0]);
  for (let r = 1; r <= nr; r++) {
    s = shiftRows(s.map((b) => SBOX[b]), false);
    if (r < nr) s = mixColumns(s, [2, 3, 1, 1]);
    s = xor(s, rk[r]);
  }
  return s;
}

export function aesDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const rk = expandKey(key);
  const nr = rk.length - 1;
  let s = xor(block, rk[nr]);
  for (let r = nr - 1; r >= 0; r--) {
    s = shiftRows(s, true).map((b) => INV_SBOX[b]);
    s = xor(s, rk[r]);
    if (r > 0) s = mixColumns(s, [0x0e, 0x0b, 0x0d, 0x09]);
  }
  return s;
}

// GCM (SP 800-38D). Blocks are handled as BigInt with the first byte most significant.
const toBig = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
const fromBig = (v: bigint): Uint8Array => {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
};
const R = 0xe1n << 120n;

/** Algorithm 1 (§6.3): multiplication in GF(2^128), bit by bit. */
function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n, v = y;
  for (let i = 127; i >= 0; i--) {
    if ((x >> BigInt(i)) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

function ghash(h: bigint, data: Uint8Array): bigint {
  let y = 0n;
  for (let i = 0; i < data.length; i += 16) {
    const block = new Uint8Array(16);
    block.set(data.subarray(i, i + 16));
    y = gfMul(y ^ toBig(block), h);
  }
  return y;
}

const pad16 = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(b.length / 16) * 16);
  out.set(b);
  return out;
};
const lenBlock = (a: number, b: number): Uint8Array => {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(a) * 8n);
  v.setBigUint64(8, BigInt(b) * 8n);
  return out;
};
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

function gctr(key: Uint8Array, icb: Uint8Array, x: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length);
  const cb = icb.slice();
  for (let i = 0; i < x.length; i += 16) {
    const ks = aesEncryptBlock(key, cb);
    for (let j = i; j < Math.min(i + 16, x.length); j++) out[j] = x[j] ^ ks[j - i];
    const v = new DataView(cb.buffer);
    v.setUint32(12, (v.getUint32(12) + 1) >>> 0);
  }
  return out;
}

function gcmParts(key: Uint8Array, iv: Uint8Array): { h: bigint; j0: Uint8Array } {
  const h = toBig(aesEncryptBlock(key, new Uint8Array(16)));
  const j0 = iv.length === 12
    ? concat(iv, Uint8Array.of(0, 0, 0, 1))
    : fromBig(ghash(h, concat(pad16(iv), lenBlock(0, iv.length))));
  return { h, j0 };
}

function gcmTag(key: Uint8Array, h: bigint, j0: Uint8Array, aad: Uint8Array, c: Uint8Array): Uint8Array {
  const s = ghash(h, concat(pad16(aad), pad16(c), lenBlock(aad.length, c.length)));
  return gctr(key, j0, fromBig(s));
}

const inc32 = (b: Uint8Array): Uint8Array => {
  const out = b.slice();
  const v = new DataView(out.buffer);
  v.setUint32(12, (v.getUint32(12) + 1) >>> 0);
  return out;
};

/** Algorithm 4 (§7.1): returns C || T. */
export function gcmSeal(key: Uint8Array, iv: Uint8Array, p: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
  const { h, j0 } = gcmParts(key, iv);
  const c = gctr(key, inc32(j0), p);
  return concat(c, gcmTag(key, h, j0, aad, c));
}

/** Algorithm 5 (§7.2): throws on a tag mismatch. */
export function gcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
  const c = sealed.subarray(0, sealed.length - 16);
  const { h, j0 } = gcmParts(key, iv);
  const t = gcmTag(key, h, j0, aad, c);
  if (t.some((b, i) => b !== sealed[c.length + i])) throw new Error("GCM tag mismatch");
  return gctr(key, inc32(j0), c);
}

// Key wrap (RFC 3394 §2.2.1/§2.2.2, index-based form) with a given initial value.
function w(kek: Uint8Array, a0: Uint8Array, p: Uint8Array): Uint8Array {
  const n = p.length / 8;
  let a = a0.slice();
  const r = Array.from({ length: n }, (_, i) => p.slice(8 * i, 8 * i + 8));
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const b = aesEncryptBlock(kek, concat(a, r[i - 1]));
      a = b.slice(0, 8);
      const t = BigInt(n * j + i);
      for (let k = 0; k < 8; k++) a[7 - k] ^= Number((t >> BigInt(8 * k)) & 0xffn);
      r[i - 1] = b.slice(8);
    }
  }
  return concat(a, ...r);
}

function wInverse(kek: Uint8Array, c: Uint8Array): { a: Uint8Array; p: Uint8Array } {
  const n = c.length / 8 - 1;
  let a = c.slice(0, 8);
  const r = Array.from({ length: n }, (_, i) => c.slice(8 * (i + 1), 8 * (i + 2)));
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      const t = BigInt(n * j + i);
      for (let k = 0; k < 8; k++) a[7 - k] ^= Number((t >> BigInt(8 * k)) & 0xffn);
      const b = aesDecryptBlock(kek, concat(a, r[i - 1]));
      a = b.slice(0, 8);
      r[i - 1] = b.slice(8);
    }
  }
  return { a, p: concat(...r) };
}

const KW_IV = Uint8Array.of(0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6);

export function keyWrap(kek: Uint8Array, p: Uint8Array): Uint8Array {
  if (p.length < 16 || p.length % 8) throw new Error("KW input must be a multiple of 8, at least 16 bytes");
  return w(kek, KW_IV, p);
}

export function keyUnwrap(kek: Uint8Array, c: Uint8Array): Uint8Array {
  if (c.length < 24 || c.length % 8) throw new Error("KW ciphertext length");
  const { a, p } = wInverse(kek, c);
  if (a.some((b, i) => b !== KW_IV[i])) throw new Error("KW integrity check failed");
  return p;
}

/** RFC 5649 §4.1 */
export function keyWrapPad(kek: Uint8Array, p: Uint8Array): Uint8Array {
  if (p.length < 1) throw new Error("KWP input must not be empty");
  const aiv = new Uint8Array(8);
  new DataView(aiv.buffer).setUint32(0, 0xa65959a6);
  new DataView(aiv.buffer).setUint32(4, p.length);
  const padded = new Uint8Array(Math.ceil(p.length / 8) * 8);
  padded.set(p);
  return padded.length === 8 ? aesEncryptBlock(kek, concat(aiv, padded)) : w(kek, aiv, padded);
}

/** RFC 5649 §4.2 */
export function keyUnwrapPad(kek: Uint8Array, c: Uint8Array): Uint8Array {
  if (c.length < 16 || c.length % 8) throw new Error("KWP ciphertext length");
  let a: Uint8Array, p: Uint8Array;
  if (c.length === 16) {
    const b = aesDecryptBlock(kek, c);
    a = b.slice(0, 8);
    p = b.slice(8);
  } else {
    ({ a, p } = wInverse(kek, c));
  }
  const v = new DataView(a.buffer);
  const mli = v.getUint32(4);
  const n = p.length / 8;
  if (v.getUint32(0) !== 0xa65959a6 || mli <= 8 * (n - 1) || mli > 8 * n || p.subarray(mli).some((b) => b !== 0)) {
    throw new Error("KWP integrity check failed");
  }
  return p.slice(0, mli);
}
