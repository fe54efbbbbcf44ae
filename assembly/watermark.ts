// The high-water mark of BUF bytes that hold data: entry points record it (touch) before they
// validate lengths, and wipe() clears that much. A module of its own, so that the wipe (which
// resets every module's state) and the modes (which record it) do not import each other.
import { BUF_SIZE } from "./layout";

let used: i32 = 0; // high-water mark of BUF bytes written since the last wipe

/**
 * Records that the first n bytes of BUF hold data, so that wipe() clears them.
 * Entry points call it before validating lengths: the caller wrote the bytes anyway.
 */
export function touch(n: i64): void {
  const m = <i32>min<i64>(max<i64>(n, 0), BUF_SIZE);
  if (m > used) used = m;
}

/** The mark, reset to zero (for wipe()). */
export function takeWatermark(): i32 {
  const m = used;
  used = 0;
  return m;
}
