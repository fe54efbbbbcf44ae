// edgekms/envelope: envelope encryption in the AWS Encryption SDK message format (docs/envelope.md).
//
// This entry is environment-neutral (browsers, Workers, Node): AES-GCM runs in the project's WASM
// core and signatures in @noble/curves. The package's "node" export condition picks ./node.js
// instead, which is this same API with node:crypto (AES-NI) underneath. Outside Node, hand the
// WASM core to setCoreModule() once before the first message (Workers: import the .wasm module).
export type {
  SuiteId,
  CommitmentPolicy,
  EncryptedDataKey,
  EncryptionMaterials,
  DecryptionMaterials,
  Keyring,
  EncryptionRequest,
  DecryptionRequest,
  MaterialsManager,
  EncryptOptions,
  DecryptOptions,
  MessageHeader,
  AesGcmProvider,
  AesGcmKey,
} from "./types.js";
export { EnvelopeError } from "./errors.js";
export type { EnvelopeErrorCode } from "./errors.js";
export { encryptStream, decryptStream, encrypt, decrypt } from "./stream.js";
export { DefaultMaterialsManager, MultiKeyring } from "./materials.js";
export { RawAesKeyring } from "./raw-aes-keyring.js";
export { CachingMaterialsManager } from "./caching.js";
export { SUITES, DEFAULT_SUITE, DEFAULT_FRAME_LENGTH, ENCODED_SIGNER_KEY } from "./suites.js";
export type { SuiteInfo } from "./suites.js";
export { parseHeader, serializeEncryptionContext } from "./format.js";
/** Decrypt's defaults of maxEncryptedDataKeys and maxFrameLength (docs/envelope.md, "Limits"). */
export { DEFAULT_MAX_DECRYPT_EDKS, DEFAULT_MAX_FRAME } from "./engine.js";
export { wasmAesGcm } from "./aes-wasm.js";
export { setCoreModule } from "../crypto/api.js";
