// AES-GCM (NIST SP 800-38D). Two ways in:
//  - one-shot: gcm_seal / gcm_open on [IV | AAD | text | tag] laid out in BUF;
//  - chunked: gcm_init, then gcm_aad / gcm_encrypt / gcm_absorb / gcm_decrypt on BUF,
//    in chunks whose lengths are multiples of 16 except the last of each kind.
// Open is two-pass: GHASH over the ciphertext, constant-time tag check, and only then
// CTR decryption, so no plaintext exists in the module before the tag is verified.
import { BUF, BUF_SIZE, KEY, BLK, KS, J0, CTR, EJ0, TAG, TAGC, OK, ERR_KEY_LENGTH, ERR_IV_LENGTH, ERR_DATA_LENGTH, ERR_AUTH, ERR_STATE } from "./layout";
import { encrypt8, expandKey } from "./aes";
import { rounds } from "./schedule";
import { ghashInit, ghashUpdate, ghashOutput } from "./ghash";
import { touch } from "./watermark";

let ready = false;
let verified = false; // the tag of the current open has been checked
let ksPos: usize = 128; // next unused keystream byte in KS
let aadBits: u64 = 0;
let textBits: u64 = 0;

// @ts-ignore: decorator
@inline function inc32(ptr: usize): void { // §6.2: increment the rightmost 32 bits mod 2^32
  store<u32>(ptr, bswap<u32>(bswap<u32>(load<u32>(ptr, 12)) + 1), 12);
}

/** Encrypts CTR … CTR+7 into BLK (advancing CTR), absorbing ghBlocks GHASH blocks at gh meanwhile. */
function keystream(gh: usize, ghBlocks: i32): void {
  for (let b: usize = 0; b < 128; b += 16) {
    v128.store(BLK + b, v128.load(CTR));
    inc32(CTR);
  }
  encrypt8(gh, ghBlocks);
}

/** Refills the keystream pool KS. */
function refill(): void {
  keystream(0, 0);
  memory.copy(KS, BLK, 128);
  ksPos = 0;
}

/** XORs keystream into [p, end) from the pool, refilling it when empty. Returns the new p. */
function fromPool(p: usize, end: usize): usize {
  while (p < end) {
    if (ksPos == 128) refill();
    if ((ksPos & 15) == 0 && p + 16 <= end) {
      v128.store(p, v128.xor(v128.load(p), v128.load(KS + ksPos)));
      p += 16;
      ksPos += 16;
    } else {
      store<u8>(p, load<u8>(p) ^ load<u8>(KS + ksPos));
      p++;
      ksPos++;
    }
  }
  return p;
}

/**
 * GCTR (§6.5) over len bytes at ptr, in place. With absorb, the resulting ciphertext
 * is also fed to GHASH, stitched into the cipher rounds of the following batch.
 */
function gctr(ptr: usize, len: i32, absorb: bool): void {
  const end = ptr + <usize>len;
  let h = ptr; // next ciphertext byte not yet absorbed
  let p = ptr;
  // leftover keystream from the previous call (or from init)
  if (ksPos < 128) p = fromPool(p, min(end, p + (128 - ksPos)));
  const maxStitch = rounds - 1;
  while (end - p >= 128) {
    let nb: i32 = 0;
    if (absorb) {
      nb = min(<i32>((p - h) >> 4), maxStitch);
    }
    keystream(h, nb);
    h += <usize>nb << 4;
    for (let b: usize = 0; b < 128; b += 16) v128.store(p + b, v128.xor(v128.load(p + b), v128.load(BLK + b)));
    p += 128;
  }
  fromPool(p, end);
  if (absorb) ghashUpdate(h, <i32>(end - h));
}

/** Key at KEY (16, 24 or 32 bytes), IV at iv: derives H = E(K, 0^128), J0 (§7.1 steps 1–2) and E(K, J0). */
function start(keyLen: i32, iv: usize, ivLen: i32): i32 {
  ready = false;
  verified = false;
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return ERR_KEY_LENGTH;
  if (ivLen < 1 || ivLen > BUF_SIZE) return ERR_IV_LENGTH;
  expandKey(keyLen);
  memory.fill(KEY, 0, 32);
  memory.fill(BLK, 0, 128);
  if (ivLen == 12) {
    // Fast path: J0 = IV || 0^31 || 1. H, E(J0) and six keystream blocks in one batch.
    memory.copy(J0, iv, 12);
    store<u32>(J0, bswap<u32>(1), 12);
    v128.store(CTR, v128.load(J0));
    for (let b: usize = 16; b < 128; b += 16) {
      v128.store(BLK + b, v128.load(CTR));
      inc32(CTR);
    }
    encrypt8();
    ghashInit(BLK);
    v128.store(EJ0, v128.load(BLK, 16));
    memory.copy(KS, BLK, 128);
    v128.store(KS, i8x16.splat(0));
    v128.store(KS, i8x16.splat(0), 16);
    ksPos = 32;
  } else {
    // J0 = GHASH(IV || 0^(s+64) || [len(IV)]_64)
    encrypt8();
    ghashInit(BLK);
    ghashUpdate(iv, ivLen);
    memory.fill(TAGC, 0, 16);
    store<u64>(TAGC, bswap<u64>(<u64>ivLen << 3), 8);
    ghashUpdate(TAGC, 16);
    ghashOutput(J0);
    ghashInit(BLK);
    v128.store(CTR, v128.load(J0));
    refill(); // blocks J0 .. J0+7
    v128.store(EJ0, v128.load(KS));
    v128.store(KS, i8x16.splat(0));
    ksPos = 16;
  }
  memory.fill(BLK, 0, 128);
  aadBits = 0;
  textBits = 0;
  ready = true;
  return OK;
}

function absorbAad(ptr: usize, len: i32): void {
  ghashUpdate(ptr, len);
  aadBits += <u64>len << 3;
}

function computeTag(out: usize): void { // §7.1 steps 5–6
  store<u64>(TAGC, bswap<u64>(aadBits));
  store<u64>(TAGC, bswap<u64>(textBits), 8);
  ghashUpdate(TAGC, 16);
  ghashOutput(out);
  v128.store(out, v128.xor(v128.load(out), v128.load(EJ0)));
}

/** Constant-time comparison of the computed tag with the one at tag (§7.2 step 8). */
function verify(tag: usize): i32 {
  computeTag(TAGC);
  const diff = v128.any_true(v128.xor(v128.load(TAGC), v128.load(tag)));
  v128.store(TAGC, i8x16.splat(0));
  verified = diff == 0;
  return <i32>diff * ERR_AUTH;
}

function oneShotLengths(ivLen: i32, aadLen: i32, textLen: i32): i32 {
  if (ivLen < 1) return ERR_IV_LENGTH;
  if (aadLen < 0 || textLen < 0 || <i64>ivLen + aadLen + textLen + 16 > BUF_SIZE) return ERR_DATA_LENGTH;
  return OK;
}

/** One-shot seal of [IV | AAD | plaintext] in BUF; leaves ciphertext || tag at BUF. */
export function gcm_seal(keyLen: i32, ivLen: i32, aadLen: i32, ptLen: i32): i32 {
  touch(<i64>ivLen + aadLen + ptLen + 16);
  let st = oneShotLengths(ivLen, aadLen, ptLen);
  if (st != OK) return st;
  st = start(keyLen, BUF, ivLen);
  if (st != OK) return st;
  absorbAad(BUF + <usize>ivLen, aadLen);
  const pt = BUF + <usize>(ivLen + aadLen);
  gctr(pt, ptLen, true);
  textBits = <u64>ptLen << 3;
  computeTag(pt + <usize>ptLen);
  memory.copy(BUF, pt, <usize>ptLen + 16);
  ready = false;
  return OK;
}

/** One-shot open of [IV | AAD | ciphertext | tag] in BUF; leaves the plaintext at BUF only if the tag verifies. */
export function gcm_open(keyLen: i32, ivLen: i32, aadLen: i32, ctLen: i32): i32 {
  touch(<i64>ivLen + aadLen + ctLen + 16);
  let st = oneShotLengths(ivLen, aadLen, ctLen);
  if (st != OK) return st;
  st = start(keyLen, BUF, ivLen);
  if (st != OK) return st;
  absorbAad(BUF + <usize>ivLen, aadLen);
  const ct = BUF + <usize>(ivLen + aadLen);
  ghashUpdate(ct, ctLen);
  textBits = <u64>ctLen << 3;
  st = verify(ct + <usize>ctLen);
  if (st != OK) return st;
  gctr(ct, ctLen, false);
  memory.copy(BUF, ct, <usize>ctLen);
  ready = false;
  return OK;
}

/** Chunked: starts an operation with the key at KEY and the IV at BUF. */
export function gcm_init(keyLen: i32, ivLen: i32): i32 {
  touch(ivLen);
  return start(keyLen, BUF, ivLen);
}

// @ts-ignore: decorator
@inline function chunk(len: i32): i32 {
  touch(len);
  if (!ready) return ERR_STATE;
  if (len < 0 || len > BUF_SIZE) return ERR_DATA_LENGTH;
  return OK;
}

/** Chunked: absorbs len bytes of additional authenticated data from BUF. */
export function gcm_aad(len: i32): i32 {
  const st = chunk(len);
  if (st == OK) absorbAad(BUF, len);
  return st;
}

/** Chunked seal: encrypts len bytes at BUF in place and absorbs the ciphertext. */
export function gcm_encrypt(len: i32): i32 {
  const st = chunk(len);
  if (st != OK) return st;
  gctr(BUF, len, true);
  textBits += <u64>len << 3;
  return OK;
}

/** Chunked open, pass 1: absorbs len bytes of ciphertext at BUF without decrypting. */
export function gcm_absorb(len: i32): i32 {
  const st = chunk(len);
  if (st != OK) return st;
  ghashUpdate(BUF, len);
  textBits += <u64>len << 3;
  return OK;
}

/** Chunked open, pass 2 (only after gcm_verify succeeded): decrypts len bytes at BUF in place. */
export function gcm_decrypt(len: i32): i32 {
  if (!verified) return ERR_STATE;
  const st = chunk(len);
  if (st == OK) gctr(BUF, len, false);
  return st;
}

/** Chunked seal: writes the 16-byte tag to TAG. */
export function gcm_finish(): i32 {
  if (!ready) return ERR_STATE;
  computeTag(TAG);
  return OK;
}

/** Chunked open: checks the tag at TAG; gcm_decrypt is refused unless this succeeded. */
export function gcm_verify(): i32 {
  if (!ready) return ERR_STATE;
  return verify(TAG);
}

export function gcmWipeState(): void {
  ready = false;
  verified = false;
  ksPos = 128;
  aadBits = 0;
  textBits = 0;
}
