// Zeroization of every region and global that can hold key material or data.
import { BUF_SIZE, KEY, BUF, RKB, RK, S, BLK, KS, J0, CTR, EJ0, TAG, TAGC, PAD } from "./layout";
import { ghashWipe } from "./ghash";
import { gcmWipeState } from "./gcm";
import { rounds } from "./aes";

let used: i32 = 0; // high-water mark of BUF bytes written since the last wipe

/**
 * Records that the first n bytes of BUF hold data, so that wipe() clears them.
 * Entry points call it before validating lengths: the caller wrote the bytes anyway.
 */
export function touch(n: i64): void {
  const m = <i32>min<i64>(max<i64>(n, 0), BUF_SIZE);
  if (m > used) used = m;
}

/** Zeroizes all working memory. Must be called after every operation, success or not. */
export function wipe(): void {
  memory.fill(KEY, 0, 32);
  memory.fill(BUF, 0, <usize>used);
  used = 0;
  memory.fill(RKB, 0, 240);
  memory.fill(RK, 0, 15 * 128);
  memory.fill(S, 0, 128);
  memory.fill(BLK, 0, 128);
  memory.fill(KS, 0, 128);
  memory.fill(J0, 0, 16);
  memory.fill(CTR, 0, 16);
  memory.fill(EJ0, 0, 16);
  memory.fill(TAG, 0, 16);
  memory.fill(TAGC, 0, 16);
  memory.fill(PAD, 0, 16);
  ghashWipe();
  gcmWipeState();
  rounds = 0;
}
