// GHASH (NIST SP 800-38D §6.4) with constant-time carry-less multiplication:
// integer multiplies of operands with "holes" (one data bit in every four), so no
// carry can reach a data bit and nothing is looked up in a table (BearSSL ctmul64).
import { PAD } from "./layout";

// Hash subkey H and its derived forms, and the running GHASH value Y (hi = first 8 bytes).
let h0: u64 = 0, h1: u64 = 0, h2: u64 = 0, h0r: u64 = 0, h1r: u64 = 0, h2r: u64 = 0;
let y0: u64 = 0, y1: u64 = 0;

@inline function bmul64(x: u64, y: u64): u64 { // low 64 bits of the carry-less product
  const x0 = x & 0x1111111111111111, x1 = x & 0x2222222222222222;
  const x2 = x & 0x4444444444444444, x3 = x & 0x8888888888888888;
  const y0 = y & 0x1111111111111111, y1 = y & 0x2222222222222222;
  const y2 = y & 0x4444444444444444, y3 = y & 0x8888888888888888;
  const z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  const z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  const z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  const z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  return (z0 & 0x1111111111111111) | (z1 & 0x2222222222222222)
    | (z2 & 0x4444444444444444) | (z3 & 0x8888888888888888);
}

@inline function rev64(v: u64): u64 { // bit reversal: bits within each byte, then the bytes
  let x = v;
  x = ((x & 0x5555555555555555) << 1) | ((x >> 1) & 0x5555555555555555);
  x = ((x & 0x3333333333333333) << 2) | ((x >> 2) & 0x3333333333333333);
  x = ((x & 0x0f0f0f0f0f0f0f0f) << 4) | ((x >> 4) & 0x0f0f0f0f0f0f0f0f);
  return bswap<u64>(x);
}

/** Sets H from the 16 bytes at ptr and resets Y to zero. */
export function ghashInit(ptr: usize): void {
  h1 = bswap<u64>(load<u64>(ptr));
  h0 = bswap<u64>(load<u64>(ptr, 8));
  h0r = rev64(h0); h1r = rev64(h1);
  h2 = h0 ^ h1; h2r = h0r ^ h1r;
  y0 = 0; y1 = 0;
}

/** Y = (Y ^ X) · H for one 16-byte block X at ptr (§6.4, Algorithm 2 step 4). */
export function ghashBlock(ptr: usize): void {
  y1 ^= bswap<u64>(load<u64>(ptr));
  y0 ^= bswap<u64>(load<u64>(ptr, 8));
  const y0r = rev64(y0), y1r = rev64(y1), y2 = y0 ^ y1, y2r = y0r ^ y1r;
  // Karatsuba on 64-bit halves; the bit-reversed products give the high halves.
  const z0 = bmul64(y0, h0), z1 = bmul64(y1, h1);
  let z2 = bmul64(y2, h2);
  let z0h = bmul64(y0r, h0r), z1h = bmul64(y1r, h1r), z2h = bmul64(y2r, h2r);
  z2 ^= z0 ^ z1;
  z2h ^= z0h ^ z1h;
  z0h = rev64(z0h) >> 1;
  z1h = rev64(z1h) >> 1;
  z2h = rev64(z2h) >> 1;
  let v0 = z0, v1 = z0h ^ z2, v2 = z1 ^ z2h, v3 = z1h;
  // GHASH bit order is reflected: shift the 256-bit product left by one.
  v3 = (v3 << 1) | (v2 >> 63);
  v2 = (v2 << 1) | (v1 >> 63);
  v1 = (v1 << 1) | (v0 >> 63);
  v0 = v0 << 1;
  // reduction modulo x^128 + x^7 + x^2 + x + 1 (§6.3)
  v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
  v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
  v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
  v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
  y0 = v2;
  y1 = v3;
}

/** Absorbs len bytes at ptr; a trailing partial block is zero-padded (§7.1 step 5). */
export function ghashUpdate(ptr: usize, len: i32): void {
  let p = ptr;
  const end = ptr + <usize>len;
  while (p + 16 <= end) {
    ghashBlock(p);
    p += 16;
  }
  if (p < end) {
    v128.store(PAD, i8x16.splat(0));
    memory.copy(PAD, p, end - p);
    ghashBlock(PAD);
    v128.store(PAD, i8x16.splat(0));
  }
}

/** Writes Y (big-endian) to ptr. */
export function ghashOutput(ptr: usize): void {
  store<u64>(ptr, bswap<u64>(y1));
  store<u64>(ptr, bswap<u64>(y0), 8);
}

export function ghashWipe(): void {
  h0 = 0; h1 = 0; h2 = 0; h0r = 0; h1r = 0; h2r = 0; y0 = 0; y1 = 0;
}
