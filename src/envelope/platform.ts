// Which AES-GCM and signature implementations this entry point uses by default: the neutral entry
// (index.ts) leaves the WASM core and @noble; the Node entry (node.ts) installs node:crypto.
import { wasmAesGcm } from "./aes-wasm.js";
import { nobleSignatures, type SignatureProvider } from "./signature.js";
import type { AesGcmProvider } from "./types.js";

export interface Platform {
  aes: AesGcmProvider;
  signatures: SignatureProvider;
}

let current: Platform = { aes: wasmAesGcm, signatures: nobleSignatures };

export function platform(): Platform {
  return current;
}

export function setPlatform(p: Platform): void {
  current = p;
}
