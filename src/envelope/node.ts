// edgekms/envelope under the "node" export condition: the same API as index.ts with AES-GCM and the
// signature on node:crypto (OpenSSL, AES-NI; the signature hash of large messages on a worker thread,
// sign-node.ts), and the WASM core for frames too small for node:crypto's per-call cost to pay off.
// Either AES can be forced per call ({ aes: nodeAesGcm } or { aes: wasmAesGcm }) to compare them
// (bench/envelope.ts). docs/envelope.md, "Which AES-GCM runs where".
import { existsSync, readFileSync } from "node:fs";
import { setCoreModule } from "../crypto/api.js";
import { hybridAesGcm } from "./aes-node.js";
import { wasmAesGcm as coreAesGcm } from "./aes-wasm.js";
import { setPlatform } from "./platform.js";
import { nodeSignatures } from "./sign-node.js";
import { setDefaultFetch } from "./default-fetch.js";
import type { AesGcmProvider } from "./types.js";

let coreLoaded = false;

/**
 * Compiles the WASM core (src/crypto) on first use, not at import: most messages never need it (their
 * frames are node:crypto's), and compiling it costs ~4 MB of the process's memory.
 */
function loadCore(): void {
  if (coreLoaded) return;
  const beside = new URL("../crypto/edgekms-core.wasm", import.meta.url); // dist/
  const built = new URL("../../build/edgekms-core.wasm", import.meta.url); // run from source
  setCoreModule(new WebAssembly.Module(readFileSync(existsSync(beside) ? beside : built)));
  coreLoaded = true;
}

/** AES-GCM on the WASM core (as in browsers and Workers), its module compiled on first use. */
export const wasmAesGcm: AesGcmProvider = {
  name: "wasm",
  importKey(key) {
    loadCore();
    return coreAesGcm.importKey(key);
  },
};

// node:crypto for frames of 512 bytes and more, the WASM core below (docs/envelope.md).
setPlatform({ aes: hybridAesGcm(wasmAesGcm), signatures: nodeSignatures });
// KMS calls on node:http rather than the global fetch (fetch-node.ts), loaded with the first call.
setDefaultFetch((async (...a: Parameters<typeof fetch>) => (await import("./fetch-node.js")).nodeFetch(...a)) as typeof fetch);

export * from "./index.js";
export { nodeAesGcm, hybridAesGcm, NODE_CROSSOVER } from "./aes-node.js";
export { startSignatureWorker } from "./sign-node.js";
