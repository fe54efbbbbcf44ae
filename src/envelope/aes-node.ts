// AES-GCM on node:crypto (OpenSSL, AES-NI): one cipher object per frame, the key imported once as a
// KeyObject. Used by the Node entry (node.ts); never imported by the environment-neutral modules.
import { createCipheriv, createDecipheriv, createSecretKey, type CipherGCMTypes } from "node:crypto";
import type { AesGcmKey, AesGcmProvider } from "./types.js";

/**
 * Releases a frame's temporary (cipher.update's output: a Buffer with a backing store of its own) at
 * once by detaching it, instead of at the next garbage collection: with one per frame, they otherwise
 * pile up to ~15 MB of resident memory and cost GC time (a 200 MiB CLI round trip peaks at ~85 MB
 * instead of ~100 MB, and 64 KiB frames run ~20% faster).
 */
function free(b: Buffer): void {
  const ab = b.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  if (b.byteOffset === 0 && b.byteLength === ab.byteLength && typeof ab.transfer === "function") ab.transfer(0);
}

/** Frames longer than this are opened in pieces of this size (their plaintext written straight into the output). */
const OPEN_PIECE = 1 << 20;

export const nodeAesGcm: AesGcmProvider = {
  name: "node",
  importKey(key: Uint8Array): AesGcmKey {
    const alg = `aes-${key.length * 8}-gcm` as CipherGCMTypes;
    let k: ReturnType<typeof createSecretKey> | undefined = createSecretKey(key);
    const live = () => {
      if (!k) throw new Error("AES-GCM key used after dispose");
      return k;
    };
    return {
      seal(iv, aad, src, out, offset) {
        const c = createCipheriv(alg, live(), iv);
        c.setAAD(aad);
        const ct = c.update(src);
        out.set(ct, offset);
        const ctLength = ct.length;
        free(ct);
        const tail = c.final();
        if (tail.length) out.set(tail, offset + ctLength);
        out.set(c.getAuthTag(), offset + src.length);
      },
      open(iv, aad, sealed, out, offset) {
        const n = sealed.length - 16;
        if (n < 0) return false;
        const d = createDecipheriv(alg, live(), iv);
        d.setAAD(aad);
        d.setAuthTag(sealed.subarray(n));
        if (n > OPEN_PIECE) {
          // A large frame in pieces, each written into out and freed: whole, update() made one more
          // copy of the frame (a 64 MiB frame held ~6× its size: attack review). Unverified plaintext
          // in out is zeroed if the tag fails.
          for (let at = 0; at < n; at += OPEN_PIECE) {
            const pt = d.update(sealed.subarray(at, Math.min(n, at + OPEN_PIECE)));
            out.set(pt, offset + at);
            pt.fill(0);
            free(pt);
          }
          try {
            d.final();
          } catch {
            out.fill(0, offset, offset + n);
            return false;
          }
          return true;
        }
        const pt = d.update(sealed.subarray(0, n));
        try {
          d.final();
        } catch {
          pt.fill(0);
          return false;
        }
        out.set(pt, offset);
        pt.fill(0);
        free(pt);
        return true;
      },
      dispose() {
        k = undefined;
      },
    };
  },
};

/**
 * Below this many bytes a frame is sealed/opened on the WASM core: node:crypto's fixed cost per
 * cipher object (~3.5 µs) outweighs the WASM core's per-byte cost up to about 256-byte frames
 * (docs/envelope.md, "Which AES-GCM runs where"). At 1 KiB node:crypto is twice as fast, at 4 KiB six times.
 */
export const NODE_CROSSOVER = 512;

/**
 * Short inputs a key still takes on node:crypto before it moves them to the WASM core: the header's
 * tag and a short final frame do not make a message load the core (node.ts compiles it on first use);
 * a message of short frames does.
 */
const SHORT_ON_NODE = 4;

/** The Node entry's default: the WASM core for short inputs (small frames), node:crypto above. */
export function hybridAesGcm(small: AesGcmProvider, threshold = NODE_CROSSOVER): AesGcmProvider {
  return {
    name: "node+wasm",
    importKey(key: Uint8Array): AesGcmKey {
      const big = nodeAesGcm.importKey(key);
      let copy: Uint8Array | undefined = new Uint8Array(key); // a copy: the caller zeroes key once this returns
      let little: AesGcmKey | undefined;
      let shorts = 0;
      const pick = (n: number): AesGcmKey => {
        if (n >= threshold || ++shorts <= SHORT_ON_NODE) return big;
        if (!little) {
          if (!copy) throw new Error("AES-GCM key used after dispose");
          little = small.importKey(copy);
          copy.fill(0);
          copy = undefined;
        }
        return little;
      };
      return {
        seal: (iv, aad, src, out, offset) => pick(src.length).seal(iv, aad, src, out, offset),
        open: (iv, aad, sealed, out, offset) => pick(sealed.length - 16).open(iv, aad, sealed, out, offset),
        dispose() {
          big.dispose();
          little?.dispose();
          copy?.fill(0);
          copy = undefined;
        },
      };
    },
  };
}
