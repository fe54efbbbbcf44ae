// AES Key Wrap (RFC 3394 §2.2) and AES Key Wrap with Padding (RFC 5649 §4), in place
// in BUF. Each step is one AES block, strictly sequential, so blocks go through the
// single-block cipher (aes-single.ts) rather than the 8-wide bitsliced one.
import { BUF, BUF_SIZE, OK, ERR_KEY_LENGTH, ERR_DATA_LENGTH, ERR_AUTH } from "./layout";
import { expandKey } from "./aes";
import { encrypt1, decrypt1 } from "./aes-single";
import { touch } from "./watermark";

const KW_IV: u64 = 0xa6a6a6a6a6a6a6a6; // RFC 3394 §2.2.3.1 default IV
const KWP_ICV: u64 = 0xa65959a6; // RFC 5649 §3 alternative IV, high half
/** Largest plaintext key accepted for wrapping (the wrapped form must fit in BUF). */
export const MAX_WRAP_INPUT: i32 = BUF_SIZE - 16;

let outLen: i32 = 0;
/** Length of the result of the last successful wrap or unwrap. */
export function kw_out_len(): i32 { return outLen; }

// R[i] (1-based semiblock i of the wrapped form) lives at BUF + 8i; A at BUF.
/** W(S) of RFC 3394 §2.2.1 (index-based form) over n semiblocks, A initialised. */
function wrapCore(a0: u64, n: i32): void {
  let a = a0;
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const r = BUF + (<usize>i << 3);
      const b = encrypt1(i64x2.replace_lane(i64x2.splat(bswap<u64>(a)), 1, load<u64>(r))); // B = AES(K, A | R[i])
      a = bswap<u64>(i64x2.extract_lane(b, 0)) ^ <u64>(n * j + i); // A = MSB(64, B) ^ t
      store<u64>(r, i64x2.extract_lane(b, 1)); // R[i] = LSB(64, B)
    }
  }
  store<u64>(BUF, bswap<u64>(a));
}

/** W^-1(C) of RFC 3394 §2.2.2 (index-based form); returns the recovered A. */
function unwrapCore(n: i32): u64 {
  let a = bswap<u64>(load<u64>(BUF));
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      const r = BUF + (<usize>i << 3);
      const b = decrypt1(i64x2.replace_lane(i64x2.splat(bswap<u64>(a ^ <u64>(n * j + i))), 1, load<u64>(r))); // B = AES-1(K, (A ^ t) | R[i])
      a = bswap<u64>(i64x2.extract_lane(b, 0));
      store<u64>(r, i64x2.extract_lane(b, 1));
    }
  }
  return a;
}

/** Wraps len bytes at BUF (key at KEY). pad = 0: RFC 3394, pad = 1: RFC 5649. */
export function kw_wrap(keyLen: i32, len: i32, pad: i32): i32 {
  outLen = 0;
  touch(<i64>len + 16);
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return ERR_KEY_LENGTH;
  if (len > MAX_WRAP_INPUT) return ERR_DATA_LENGTH;
  if (pad == 0 && (len < 16 || (len & 7) != 0)) return ERR_DATA_LENGTH; // §2: n ≥ 2 semiblocks
  if (pad != 0 && len < 1) return ERR_DATA_LENGTH; // RFC 5649 §4.1: 1 ≤ m
  const padded = (len + 7) & ~7;
  expandKey(keyLen);
  memory.copy(BUF + 8, BUF, <usize>len);
  memory.fill(BUF + 8 + <usize>len, 0, <usize>(padded - len)); // RFC 5649 §4.1 step 1 padding
  const n = padded >> 3;
  if (pad == 0) {
    wrapCore(KW_IV, n);
  } else {
    const aiv = (KWP_ICV << 32) | <u64><u32>len; // AIV = A65959A6 || MLI (RFC 5649 §3)
    if (n == 1) {
      // RFC 5649 §4.1 step 2, special case: C = AES(K, AIV | P[1])
      v128.store(BUF, encrypt1(i64x2.replace_lane(i64x2.splat(bswap<u64>(aiv)), 1, load<u64>(BUF, 8))));
    } else {
      wrapCore(aiv, n);
    }
  }
  outLen = padded + 8;
  return OK;
}

/** Unwraps len bytes at BUF; on success the key is at BUF and kw_out_len() says its size. */
export function kw_unwrap(keyLen: i32, len: i32, pad: i32): i32 {
  outLen = 0;
  touch(len);
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return ERR_KEY_LENGTH;
  if (len > BUF_SIZE || (len & 7) != 0) return ERR_DATA_LENGTH;
  if (pad == 0 && len < 24) return ERR_DATA_LENGTH; // at least A and two semiblocks
  if (pad != 0 && len < 16) return ERR_DATA_LENGTH; // at least A and one semiblock
  expandKey(keyLen);
  const n = (len >> 3) - 1;
  let bad: u64;
  let mli: i32 = 0;
  if (pad == 0) {
    bad = unwrapCore(n) ^ KW_IV; // RFC 3394 §2.2.3: A must equal the IV
  } else {
    let a: u64;
    if (n == 1) {
      const b = decrypt1(v128.load(BUF)); // RFC 5649 §4.2 step 1, special case
      a = bswap<u64>(i64x2.extract_lane(b, 0));
      store<u64>(BUF, i64x2.extract_lane(b, 1), 8);
    } else {
      a = unwrapCore(n);
    }
    // RFC 5649 §3 checks, without branching on the (secret until verified) result:
    // MSB(32, A) = A65959A6; 8(n-1) < MLI ≤ 8n; the padding bytes are zero.
    bad = (a >> 32) ^ KWP_ICV;
    const mli64 = a & 0xffffffff;
    const lo = <u64>(8 * (n - 1));
    const hi = <u64>(8 * n);
    bad |= ((lo - mli64) >> 63) ^ 1; // 1 unless mli > lo
    bad |= (hi - mli64) >> 63; // 1 if mli > hi
    const padStart = <i64>mli64 - <i64>lo; // 1..8 when valid
    const last = BUF + (<usize>n << 3);
    for (let k = 0; k < 8; k++) {
      const inPad = <u64>((<i64>k - padStart) >>> 63) ^ 1; // 1 when k ≥ padStart
      bad |= <u64>load<u8>(last + <usize>k) * inPad;
    }
    mli = <i32>mli64;
  }
  // bad is non-zero on any failure; fold it to 0/1 without a data-dependent branch.
  const fail = <i32>((bad | (0 - bad)) >> 63);
  if (fail) {
    memory.fill(BUF, 0, <usize>len);
    return ERR_AUTH;
  }
  const resultLen = pad == 0 ? n << 3 : mli;
  memory.copy(BUF, BUF + 8, <usize>resultLen);
  memory.fill(BUF + <usize>resultLen, 0, <usize>(len - resultLen));
  outLen = resultLen;
  return OK;
}
