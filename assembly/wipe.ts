// Zeroization of every region and global that can hold key material or data.
import { KEY, BUF, RKB, RK, S, BLK, KS, J0, CTR, EJ0, TAG, TAGC, PAD } from "./layout";
import { ghashWipe } from "./ghash";
import { gcmWipeState } from "./gcm";
import { rounds } from "./schedule";
import { takeWatermark } from "./watermark";

/** Zeroizes all working memory. Must be called after every operation, success or not. */
export function wipe(): void {
  memory.fill(KEY, 0, 32);
  memory.fill(BUF, 0, <usize>takeWatermark());
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
