// edgekms/envelope under the "node" export condition: the same API as index.ts with AES-GCM and the
// signature hash on node:crypto (OpenSSL, AES-NI), and the WASM core for frames too small for
// node:crypto's per-call cost to pay off. Either can be forced per call ({ aes: nodeAesGcm } or
// { aes: wasmAesGcm }) to compare them (bench/envelope.ts).
import "../crypto/node.js";
import { hybridAesGcm } from "./aes-node.js";
import { wasmAesGcm } from "./aes-wasm.js";
import { setPlatform } from "./platform.js";
import { nodeSignatures } from "./sign-node.js";

// node:crypto for frames of 512 bytes and more, the WASM core below (docs/envelope.md).
setPlatform({ aes: hybridAesGcm(wasmAesGcm), signatures: nodeSignatures });

export * from "./index.js";
export { nodeAesGcm, hybridAesGcm, NODE_CROSSOVER } from "./aes-node.js";
