// Constant-time AES-128/256 (FIPS-197), bitsliced over eight blocks at a time.
// Layout (see docs/crypto-core.md, "Bitsliced layout"): plane p is one v128 at
// S + 16p; bit b of byte j of plane p is bit p of state byte j of block b.
// So SubBytes is a boolean circuit over the 8 planes, and ShiftRows/MixColumns
// are fixed byte shuffles of each plane. No table lookups, no secret branches.
import { KEY, RKB, RK, S, BLK } from "./layout";
import { ghashBlock } from "./ghash";
import { subBytes1 } from "./aes-single";
import { rounds } from "./schedule";

const M55 = i64x2.splat(0x5555555555555555);
const M33 = i64x2.splat(0x3333333333333333);
const M0F = i64x2.splat(0x0f0f0f0f0f0f0f0f);
const B0 = i8x16.splat(1), B1 = i8x16.splat(2), B2 = i8x16.splat(4), B3 = i8x16.splat(8);
const B4 = i8x16.splat(16), B5 = i8x16.splat(32), B6 = i8x16.splat(64), B7 = i8x16.splat(-128);

// SubBytes (§5.1.1) on the planes at S: the Boyar–Peralta circuit (eprint 2009/191, as in
// BearSSL aes_ct). x0 is the most significant plane (7), x7 the least (0).
export function subBytes(): void {
  const x0 = v128.load(S, 112), x1 = v128.load(S, 96), x2 = v128.load(S, 80), x3 = v128.load(S, 64);
  const x4 = v128.load(S, 48), x5 = v128.load(S, 32), x6 = v128.load(S, 16), x7 = v128.load(S, 0);
  // top linear transformation
  const y14 = v128.xor(x3, x5), y13 = v128.xor(x0, x6), y9 = v128.xor(x0, x3), y8 = v128.xor(x0, x5);
  const t0 = v128.xor(x1, x2), y1 = v128.xor(t0, x7), y4 = v128.xor(y1, x3), y12 = v128.xor(y13, y14);
  const y2 = v128.xor(y1, x0), y5 = v128.xor(y1, x6), y3 = v128.xor(y5, y8), t1 = v128.xor(x4, y12);
  const y15 = v128.xor(t1, x5), y20 = v128.xor(t1, x1), y6 = v128.xor(y15, x7), y10 = v128.xor(y15, t0);
  const y11 = v128.xor(y20, y9), y7 = v128.xor(x7, y11), y17 = v128.xor(y10, y11), y19 = v128.xor(y10, y8);
  const y16 = v128.xor(t0, y11), y21 = v128.xor(y13, y16), y18 = v128.xor(x0, y16);
  // non-linear section: GF(2^8) inversion
  const t2 = v128.and(y12, y15), t3 = v128.and(y3, y6), t4 = v128.xor(t3, t2), t5 = v128.and(y4, x7);
  const t6 = v128.xor(t5, t2), t7 = v128.and(y13, y16), t8 = v128.and(y5, y1), t9 = v128.xor(t8, t7);
  const t10 = v128.and(y2, y7), t11 = v128.xor(t10, t7), t12 = v128.and(y9, y11), t13 = v128.and(y14, y17);
  const t14 = v128.xor(t13, t12), t15 = v128.and(y8, y10), t16 = v128.xor(t15, t12), t17 = v128.xor(t4, t14);
  const t18 = v128.xor(t6, t16), t19 = v128.xor(t9, t14), t20 = v128.xor(t11, t16), t21 = v128.xor(t17, y20);
  const t22 = v128.xor(t18, y19), t23 = v128.xor(t19, y21), t24 = v128.xor(t20, y18);
  const t25 = v128.xor(t21, t22), t26 = v128.and(t21, t23), t27 = v128.xor(t24, t26), t28 = v128.and(t25, t27);
  const t29 = v128.xor(t28, t22), t30 = v128.xor(t23, t24), t31 = v128.xor(t22, t26), t32 = v128.and(t31, t30);
  const t33 = v128.xor(t32, t24), t34 = v128.xor(t23, t33), t35 = v128.xor(t27, t33), t36 = v128.and(t24, t35);
  const t37 = v128.xor(t36, t34), t38 = v128.xor(t27, t36), t39 = v128.and(t29, t38), t40 = v128.xor(t25, t39);
  const t41 = v128.xor(t40, t37), t42 = v128.xor(t29, t33), t43 = v128.xor(t29, t40), t44 = v128.xor(t33, t37);
  const t45 = v128.xor(t42, t41);
  const z0 = v128.and(t44, y15), z1 = v128.and(t37, y6), z2 = v128.and(t33, x7), z3 = v128.and(t43, y16);
  const z4 = v128.and(t40, y1), z5 = v128.and(t29, y7), z6 = v128.and(t42, y11), z7 = v128.and(t45, y17);
  const z8 = v128.and(t41, y10), z9 = v128.and(t44, y12), z10 = v128.and(t37, y3), z11 = v128.and(t33, y4);
  const z12 = v128.and(t43, y13), z13 = v128.and(t40, y5), z14 = v128.and(t29, y2), z15 = v128.and(t42, y9);
  const z16 = v128.and(t45, y14), z17 = v128.and(t41, y8);
  // bottom linear transformation
  const t46 = v128.xor(z15, z16), t47 = v128.xor(z10, z11), t48 = v128.xor(z5, z13), t49 = v128.xor(z9, z10);
  const t50 = v128.xor(z2, z12), t51 = v128.xor(z2, z5), t52 = v128.xor(z7, z8), t53 = v128.xor(z0, z3);
  const t54 = v128.xor(z6, z7), t55 = v128.xor(z16, z17), t56 = v128.xor(z12, t48), t57 = v128.xor(t50, t53);
  const t58 = v128.xor(z4, t46), t59 = v128.xor(z3, t54), t60 = v128.xor(t46, t57), t61 = v128.xor(z14, t57);
  const t62 = v128.xor(t52, t58), t63 = v128.xor(t49, t58), t64 = v128.xor(z4, t59), t65 = v128.xor(t61, t62);
  const t66 = v128.xor(z1, t63);
  const s0 = v128.xor(t59, t63), s6 = v128.xor(t56, v128.not(t62)), s7 = v128.xor(t48, v128.not(t60));
  const t67 = v128.xor(t64, t65), s3 = v128.xor(t53, t66), s4 = v128.xor(t51, t66), s5 = v128.xor(t47, t65);
  const s1 = v128.xor(t64, v128.not(s3)), s2 = v128.xor(t55, v128.not(t67));
  v128.store(S, s0, 112); v128.store(S, s1, 96); v128.store(S, s2, 80); v128.store(S, s3, 64);
  v128.store(S, s4, 48); v128.store(S, s5, 32); v128.store(S, s6, 16); v128.store(S, s7, 0);
}

// Inverse affine map of FIPS-197 §5.3.2 (b'_i = b_{i+2} ^ b_{i+5} ^ b_{i+7} ^ 0x05_i),
// applied to the planes in place. InvSubBytes = invAffine ∘ SubBytes ∘ invAffine,
// because SubBytes(x) = Aff(inv(x)) and inv is an involution.
function invAffine(): void {
  const z0 = v128.load(S, 0), z1 = v128.load(S, 16), z2 = v128.load(S, 32), z3 = v128.load(S, 48);
  const z4 = v128.load(S, 64), z5 = v128.load(S, 80), z6 = v128.load(S, 96), z7 = v128.load(S, 112);
  v128.store(S, v128.not(v128.xor(v128.xor(z2, z5), z7)), 0);
  v128.store(S, v128.xor(v128.xor(z3, z6), z0), 16);
  v128.store(S, v128.not(v128.xor(v128.xor(z4, z7), z1)), 32);
  v128.store(S, v128.xor(v128.xor(z5, z0), z2), 48);
  v128.store(S, v128.xor(v128.xor(z6, z1), z3), 64);
  v128.store(S, v128.xor(v128.xor(z7, z2), z4), 80);
  v128.store(S, v128.xor(v128.xor(z0, z3), z5), 96);
  v128.store(S, v128.xor(v128.xor(z1, z4), z6), 112);
}

export function invSubBytes(): void {
  invAffine();
  subBytes();
  invAffine();
}

// Byte shuffles within a plane (state byte j = row j%4, column j/4).
@inline function sr(x: v128): v128 { // ShiftRows, FIPS-197 §5.1.2
  return i8x16.shuffle(x, x, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
}
@inline function r1sr(x: v128): v128 { // ShiftRows, then each column rotated up one row
  return i8x16.shuffle(x, x, 5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
}
@inline function r1(x: v128): v128 { // each column rotated up one row
  return i8x16.shuffle(x, x, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
}
@inline function r2(x: v128): v128 { // each column rotated up two rows
  return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}
@inline function isr(x: v128): v128 { // InvShiftRows, FIPS-197 §5.3.1
  return i8x16.shuffle(x, x, 0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3);
}

// MixColumns (FIPS-197 §5.1.3) as s' = 2·(s ^ r1 s) ^ r1 s ^ r2(s ^ r1 s), where u = the
// (already row-shifted) state, v = r1 u, and t = u ^ v. xtime on planes: plane p takes
// plane p-1, and plane 7 folds into planes 0, 1, 3, 4 (the polynomial 0x11b).
@inline function mixStore(
  v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, v6: v128, v7: v128,
  t0: v128, t1: v128, t2: v128, t3: v128, t4: v128, t5: v128, t6: v128, t7: v128, rk: usize,
): void {
  v128.store(S, v128.xor(v128.xor(t7, v0), v128.xor(r2(t0), v128.load(rk, 0))), 0);
  v128.store(S, v128.xor(v128.xor(v128.xor(t0, t7), v1), v128.xor(r2(t1), v128.load(rk, 16))), 16);
  v128.store(S, v128.xor(v128.xor(t1, v2), v128.xor(r2(t2), v128.load(rk, 32))), 32);
  v128.store(S, v128.xor(v128.xor(v128.xor(t2, t7), v3), v128.xor(r2(t3), v128.load(rk, 48))), 48);
  v128.store(S, v128.xor(v128.xor(v128.xor(t3, t7), v4), v128.xor(r2(t4), v128.load(rk, 64))), 64);
  v128.store(S, v128.xor(v128.xor(t4, v5), v128.xor(r2(t5), v128.load(rk, 80))), 80);
  v128.store(S, v128.xor(v128.xor(t5, v6), v128.xor(r2(t6), v128.load(rk, 96))), 96);
  v128.store(S, v128.xor(v128.xor(t6, v7), v128.xor(r2(t7), v128.load(rk, 112))), 112);
}

/** ShiftRows, MixColumns and AddRoundKey of one full encryption round (§5.1). */
function encRound(rk: usize): void {
  const a0 = v128.load(S, 0), a1 = v128.load(S, 16), a2 = v128.load(S, 32), a3 = v128.load(S, 48);
  const a4 = v128.load(S, 64), a5 = v128.load(S, 80), a6 = v128.load(S, 96), a7 = v128.load(S, 112);
  const v0 = r1sr(a0), v1 = r1sr(a1), v2 = r1sr(a2), v3 = r1sr(a3);
  const v4 = r1sr(a4), v5 = r1sr(a5), v6 = r1sr(a6), v7 = r1sr(a7);
  mixStore(v0, v1, v2, v3, v4, v5, v6, v7,
    v128.xor(sr(a0), v0), v128.xor(sr(a1), v1), v128.xor(sr(a2), v2), v128.xor(sr(a3), v3),
    v128.xor(sr(a4), v4), v128.xor(sr(a5), v5), v128.xor(sr(a6), v6), v128.xor(sr(a7), v7), rk);
}

/** Final round: ShiftRows and AddRoundKey, no MixColumns (§5.1). */
function encLast(rk: usize): void {
  for (let p: usize = 0; p < 128; p += 16) {
    v128.store(S + p, v128.xor(sr(v128.load(S + p)), v128.load(rk + p)));
  }
}

/** InvShiftRows, AddRoundKey, InvMixColumns of one decryption round (§5.3). */
function decRound(rk: usize): void {
  // InvMixColumns(s) = MixColumns(s ^ 4·(s ^ r2 s))  (4· = xtime twice)
  const a0 = v128.xor(isr(v128.load(S, 0)), v128.load(rk, 0)), a1 = v128.xor(isr(v128.load(S, 16)), v128.load(rk, 16));
  const a2 = v128.xor(isr(v128.load(S, 32)), v128.load(rk, 32)), a3 = v128.xor(isr(v128.load(S, 48)), v128.load(rk, 48));
  const a4 = v128.xor(isr(v128.load(S, 64)), v128.load(rk, 64)), a5 = v128.xor(isr(v128.load(S, 80)), v128.load(rk, 80));
  const a6 = v128.xor(isr(v128.load(S, 96)), v128.load(rk, 96)), a7 = v128.xor(isr(v128.load(S, 112)), v128.load(rk, 112));
  const w0 = v128.xor(a0, r2(a0)), w1 = v128.xor(a1, r2(a1)), w2 = v128.xor(a2, r2(a2)), w3 = v128.xor(a3, r2(a3));
  const w4 = v128.xor(a4, r2(a4)), w5 = v128.xor(a5, r2(a5)), w6 = v128.xor(a6, r2(a6)), w7 = v128.xor(a7, r2(a7));
  // x = 2·w
  const x0 = w7, x1 = v128.xor(w0, w7), x2 = w1, x3 = v128.xor(w2, w7);
  const x4 = v128.xor(w3, w7), x5 = w4, x6 = w5, x7 = w6;
  // u = s ^ 2·x
  const u0 = v128.xor(a0, x7), u1 = v128.xor(a1, v128.xor(x0, x7)), u2 = v128.xor(a2, x1);
  const u3 = v128.xor(a3, v128.xor(x2, x7)), u4 = v128.xor(a4, v128.xor(x3, x7));
  const u5 = v128.xor(a5, x4), u6 = v128.xor(a6, x5), u7 = v128.xor(a7, x6);
  const v0 = r1(u0), v1 = r1(u1), v2 = r1(u2), v3 = r1(u3), v4 = r1(u4), v5 = r1(u5), v6 = r1(u6), v7 = r1(u7);
  mixStore(v0, v1, v2, v3, v4, v5, v6, v7,
    v128.xor(u0, v0), v128.xor(u1, v1), v128.xor(u2, v2), v128.xor(u3, v3),
    v128.xor(u4, v4), v128.xor(u5, v5), v128.xor(u6, v6), v128.xor(u7, v7), ZERO_RK);
}
const ZERO_RK: usize = memory.data(128, 16);

function decLast(rk: usize): void {
  for (let p: usize = 0; p < 128; p += 16) {
    v128.store(S + p, v128.xor(isr(v128.load(S + p)), v128.load(rk + p)));
  }
}

// 8×8 bit-matrix transpose in every byte lane: block b (register b) ↔ plane p.
// The network is its own inverse. rk (128 bytes of planes) is XORed into the result.
function transpose(src: usize, dst: usize, rk: usize): void {
  let a0 = v128.load(src, 0), a1 = v128.load(src, 16), a2 = v128.load(src, 32), a3 = v128.load(src, 48);
  let a4 = v128.load(src, 64), a5 = v128.load(src, 80), a6 = v128.load(src, 96), a7 = v128.load(src, 112);
  let t: v128;
  t = v128.and(v128.xor(i64x2.shr_u(a0, 1), a1), M55); a1 = v128.xor(a1, t); a0 = v128.xor(a0, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a2, 1), a3), M55); a3 = v128.xor(a3, t); a2 = v128.xor(a2, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a4, 1), a5), M55); a5 = v128.xor(a5, t); a4 = v128.xor(a4, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a6, 1), a7), M55); a7 = v128.xor(a7, t); a6 = v128.xor(a6, i64x2.shl(t, 1));
  t = v128.and(v128.xor(i64x2.shr_u(a0, 2), a2), M33); a2 = v128.xor(a2, t); a0 = v128.xor(a0, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a1, 2), a3), M33); a3 = v128.xor(a3, t); a1 = v128.xor(a1, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a4, 2), a6), M33); a6 = v128.xor(a6, t); a4 = v128.xor(a4, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a5, 2), a7), M33); a7 = v128.xor(a7, t); a5 = v128.xor(a5, i64x2.shl(t, 2));
  t = v128.and(v128.xor(i64x2.shr_u(a0, 4), a4), M0F); a4 = v128.xor(a4, t); a0 = v128.xor(a0, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a1, 4), a5), M0F); a5 = v128.xor(a5, t); a1 = v128.xor(a1, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a2, 4), a6), M0F); a6 = v128.xor(a6, t); a2 = v128.xor(a2, i64x2.shl(t, 4));
  t = v128.and(v128.xor(i64x2.shr_u(a3, 4), a7), M0F); a7 = v128.xor(a7, t); a3 = v128.xor(a3, i64x2.shl(t, 4));
  v128.store(dst, v128.xor(a0, v128.load(rk, 0)), 0); v128.store(dst, v128.xor(a1, v128.load(rk, 16)), 16);
  v128.store(dst, v128.xor(a2, v128.load(rk, 32)), 32); v128.store(dst, v128.xor(a3, v128.load(rk, 48)), 48);
  v128.store(dst, v128.xor(a4, v128.load(rk, 64)), 64); v128.store(dst, v128.xor(a5, v128.load(rk, 80)), 80);
  v128.store(dst, v128.xor(a6, v128.load(rk, 96)), 96); v128.store(dst, v128.xor(a7, v128.load(rk, 112)), 112);
}

/**
 * Encrypts the 8 blocks at BLK in place under the loaded key (FIPS-197 §5.1).
 * If ghBlocks > 0, also absorbs that many GHASH blocks from gh, one per round: the
 * scalar multiplies of GHASH then overlap with the vector work of the cipher.
 */
export function encrypt8(gh: usize = 0, ghBlocks: i32 = 0): void {
  const nr = <usize>rounds;
  transpose(BLK, S, RK);
  for (let r: usize = 1; r < nr; r++) {
    subBytes();
    if (<i32>r <= ghBlocks) ghashBlock(gh + ((r - 1) << 4));
    encRound(RK + (r << 7));
  }
  subBytes();
  encLast(RK + (nr << 7));
  transpose(S, BLK, ZERO_RK);
}

/** Decrypts the 8 blocks at BLK in place (FIPS-197 §5.3, InvCipher). */
export function decrypt8(): void {
  const nr = <usize>rounds;
  transpose(BLK, S, RK + (nr << 7));
  for (let r = nr - 1; r >= 1; r--) {
    invSubBytes();
    decRound(RK + (r << 7));
  }
  invSubBytes();
  decLast(RK);
  transpose(S, BLK, ZERO_RK);
}

/** SubWord of FIPS-197 §5.2 on the 4 bytes at ptr (lanes 4..15 are don't-care). */
function subWord(ptr: usize): void {
  store<u32>(ptr, i32x4.extract_lane(subBytes1(v128.load32_zero(ptr)), 0));
}

/**
 * KeyExpansion (FIPS-197 §5.2) of the key at KEY, then bitslicing of every round key.
 * Returns false for a key length other than 16, 24 or 32 bytes.
 */
export function expandKey(keyLen: i32): bool {
  let nk: i32;
  if (keyLen == 16) { nk = 4; rounds = 10; } else if (keyLen == 24) { nk = 6; rounds = 12; } else if (keyLen == 32) { nk = 8; rounds = 14; } else { rounds = 0; return false; }
  memory.copy(RKB, KEY, <usize>keyLen);
  const words = 4 * (rounds + 1);
  let rcon: u32 = 1;
  for (let i = nk; i < words; i++) {
    const w = RKB + (<usize>i << 2);
    let temp = load<u32>(w - 4);
    if (i % nk == 0) {
      store<u32>(w, rotr<u32>(temp, 8)); // RotWord (bytes little-endian in the u32)
      subWord(w);
      temp = load<u32>(w) ^ rcon; // Rcon[i/Nk] = x^(i/Nk - 1) in the first byte
      rcon = (rcon << 1) ^ (((rcon >> 7) & 1) * 0x11b);
    } else if (nk > 6 && i % nk == 4) {
      store<u32>(w, temp);
      subWord(w);
      temp = load<u32>(w);
    }
    store<u32>(w, load<u32>(w - (<usize>nk << 2)) ^ temp);
  }
  // Bitslice each round key: plane p byte j = 0xFF where bit p of key byte j is set.
  for (let r = 0; r <= rounds; r++) {
    const k = v128.load(RKB + (<usize>r << 4));
    const o = RK + (<usize>r << 7);
    v128.store(o, i8x16.eq(v128.and(k, B0), B0), 0); v128.store(o, i8x16.eq(v128.and(k, B1), B1), 16);
    v128.store(o, i8x16.eq(v128.and(k, B2), B2), 32); v128.store(o, i8x16.eq(v128.and(k, B3), B3), 48);
    v128.store(o, i8x16.eq(v128.and(k, B4), B4), 64); v128.store(o, i8x16.eq(v128.and(k, B5), B5), 80);
    v128.store(o, i8x16.eq(v128.and(k, B6), B6), 96); v128.store(o, i8x16.eq(v128.and(k, B7), B7), 112);
  }
  return true;
}
