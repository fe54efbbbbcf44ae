// SYMMETRIC_DEFAULT: AES-256-GCM under a 256-bit key, ciphertext blobs of docs/formats.md
// ("Ciphertext blob"), the encryption context bound as additional authenticated data.
// https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#symmetric-cmks
import { aesGcmOpen, aesGcmSeal, AuthenticationError } from "../../crypto/index.js";
import { decodeHeader, encodeHeader, HEADER_LENGTH, IV_LENGTH, type BlobHeader } from "../blob.js";
import { encodeContext } from "../context.js";
import { randomIv } from "./iv-pool.js";
import { grantSet, own, type CryptoOutcome, type KeyType } from "./types.js";

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const GRANT_OPERATIONS = grantSet("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo");

export const SYMMETRIC_DEFAULT: KeyType = {
  spec: "SYMMETRIC_DEFAULT",
  usages: ["ENCRYPT_DECRYPT"],
  algorithms: () => ({ EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] }),
  grantOperations: () => GRANT_OPERATIONS,
  rotates: true,
  customerMasterKeySpec: true,
  generate: async () => ({ material: crypto.getRandomValues(new Uint8Array(32)) }),
  // Symmetric material is used by sealSymmetric and openSymmetric below, under the blob format.
  load: async () => ({}),
  // A 256-bit AES key, as generated.
  importMaterial: async (material) =>
    material.length === 32 ? { ok: true, value: { material: own(material) } } : { ok: false, reason: `symmetric key material must be 32 bytes, not ${material.length}` },
};

/** Encrypts under one material version: header || AES-GCM(plaintext), AAD = header || context. */
export function sealSymmetric(key: Uint8Array, keyId: string, version: number, plaintext: Uint8Array, context: Record<string, string> | undefined): Uint8Array {
  const iv = randomIv(IV_LENGTH);
  const header = encodeHeader(keyId, version, iv);
  return concat(header, aesGcmSeal(key, iv, plaintext, encodeContext(context, header)));
}

/** The header of a blob made by sealSymmetric, or undefined for anything else. */
export const symmetricHeader = (blob: Uint8Array): BlobHeader | undefined => decodeHeader(blob);

/** Decrypts a blob under the material its header names; a wrong context or any tampering fails alike. */
export function openSymmetric(key: Uint8Array, header: BlobHeader, blob: Uint8Array, context: Record<string, string> | undefined): CryptoOutcome<Uint8Array> {
  try {
    return { ok: true, value: aesGcmOpen(key, header.iv, blob.subarray(HEADER_LENGTH), encodeContext(context, blob.subarray(0, HEADER_LENGTH))) };
  } catch (e) {
    if (e instanceof AuthenticationError) return { ok: false, reason: "authentication tag mismatch (tampered blob or wrong encryption context)" };
    throw e;
  }
}
