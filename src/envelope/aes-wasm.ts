// AES-GCM on the project's WASM core (src/crypto): for browsers and Workers, where no synchronous
// native AES-GCM exists (WebCrypto's is asynchronous, one promise per frame). The core must have been
// handed its module (setCoreModule; the Node entry of src/crypto does it by itself).
import { AuthenticationError, aesGcmOpen, aesGcmSeal } from "../crypto/api.js";
import type { AesGcmKey, AesGcmProvider } from "./types.js";

export const wasmAesGcm: AesGcmProvider = {
  name: "wasm",
  importKey(key: Uint8Array): AesGcmKey {
    const k = key.slice();
    return {
      seal(iv, aad, src, out, offset) {
        const sealed = aesGcmSeal(k, iv, src, aad);
        out.set(sealed, offset);
      },
      open(iv, aad, sealed, out, offset) {
        let pt: Uint8Array;
        try {
          pt = aesGcmOpen(k, iv, sealed, aad);
        } catch (e) {
          if (e instanceof AuthenticationError) return false;
          throw e;
        }
        out.set(pt, offset);
        pt.fill(0);
        return true;
      },
      dispose() {
        k.fill(0);
      },
    };
  },
};
