// Imported key material (origin EXTERNAL): the RSA wrapping key and import token that
// GetParametersForImport hands out, and the unwrapping of what ImportKeyMaterial brings
// (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html). The wrapping key
// is made in the vault and its private half never leaves it (stored wrapped under the region
// root key); the token names the parameters it belongs to. Byte formats: docs/formats.md,
// "Import token" and "Imported key material".
import { aesKeyUnwrapPad } from "../crypto/index.js";
import type { CryptoOutcome } from "./key-types/types.js";
import type { KeyRecord } from "./key-record.js";

/** ImportKeyMaterial's wrapping algorithms EdgeKMS takes (RSAES_PKCS1_V1_5 is refused, as AWS has since 2023; SM2PKE is China-only). */
export const WRAPPING_ALGORITHMS = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"] as const;
export const WRAPPING_KEY_SPECS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];
export type WrappingKeySpec = keyof typeof WRAPPING_KEY_SPECS;

/** How long a wrapping key and import token stay usable (AWS: 24 hours). */
export const IMPORT_PARAMETERS_VALID_MS = 24 * 3_600_000;
/** Parameters a key keeps (the oldest are dropped beyond it; a dropped token is then invalid). */
export const MAX_IMPORT_PARAMETERS = 10;
/** The vault's storage key of its import parameters. */
export const IMPORT_PARAMETERS = "import-parameters";

/** One GetParametersForImport answer, as the vault keeps it. */
export interface ImportParameters {
  tokenId: string; // 32 hex
  algorithm: WrappingAlgorithm;
  spec: WrappingKeySpec;
  validTo: number; // ms
  /** The wrapping key's private half, DER PKCS#8, wrapped under the region root key. */
  wrappedPrivateKey: Uint8Array;
}

const TOKEN_MAGIC = [0x45, 0x4b, 0x49, 0x54]; // "EKIT"
const TOKEN_VERSION = 1;
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The import token of a key's parameters: "EKIT", version 1, 16-byte token id, key id (UTF-8, length-prefixed). */
export function encodeImportToken(keyId: string, tokenId: string): Uint8Array {
  const id = new TextEncoder().encode(keyId);
  const out = new Uint8Array(4 + 1 + 16 + 1 + id.length);
  out.set(TOKEN_MAGIC, 0);
  out[4] = TOKEN_VERSION;
  for (let i = 0; i < 16; i++) out[5 + i] = Number.parseInt(tokenId.slice(2 * i, 2 * i + 2), 16);
  out[21] = id.length;
  out.set(id, 22);
  return out;
}

/** The key id and token id an import token names, or undefined if it is not one. */
export function decodeImportToken(token: Uint8Array): { keyId: string; tokenId: string } | undefined {
  if (token.length < 22 || TOKEN_MAGIC.some((b, i) => token[i] !== b) || token[4] !== TOKEN_VERSION) return undefined;
  const length = token[21]!;
  if (token.length !== 22 + length) return undefined;
  let keyId: string;
  try {
    keyId = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(token.subarray(22));
  } catch {
    return undefined;
  }
  return { keyId, tokenId: hex(token.subarray(5, 21)) };
}

/** A fresh RSA wrapping key: its private half (DER PKCS#8) and public half (DER SubjectPublicKeyInfo). */
export async function newWrappingKey(spec: WrappingKeySpec): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array; tokenId: string }> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: WRAPPING_KEY_SPECS[spec], publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt"],
  )) as CryptoKeyPair;
  return {
    privateKey: new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
    publicKey: new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
    tokenId: hex(crypto.getRandomValues(new Uint8Array(16))),
  };
}

/**
 * The key material inside EncryptedKeyMaterial: RSAES-OAEP of the material itself, or
 * (RSA_AES_KEY_WRAP_*) RSAES-OAEP of an ephemeral AES key followed by AES key wrap with padding
 * (RFC 5649) of the material under it
 * (https://docs.aws.amazon.com/kms/latest/developerguide/importing-get-public-key-and-token.html#select-wrapping-algorithm).
 */
export async function unwrapImported(privateKey: Uint8Array, params: Pick<ImportParameters, "algorithm" | "spec">, encrypted: Uint8Array): Promise<CryptoOutcome<Uint8Array>> {
  const hash = params.algorithm.endsWith("SHA_1") ? "SHA-1" : "SHA-256";
  const key = await crypto.subtle.importKey("pkcs8", privateKey, { name: "RSA-OAEP", hash }, false, ["decrypt"]);
  const modulus = WRAPPING_KEY_SPECS[params.spec] / 8;
  const oaep = async (c: Uint8Array): Promise<Uint8Array | undefined> => {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, key, c));
    } catch {
      return undefined;
    }
  };
  if (params.algorithm.startsWith("RSAES_OAEP")) {
    if (encrypted.length !== modulus) return { ok: false, reason: `${params.algorithm} with ${params.spec} makes ${modulus}-byte ciphertexts, not ${encrypted.length}` };
    const material = await oaep(encrypted);
    return material ? { ok: true, value: material } : { ok: false, reason: `RSAES-OAEP decryption failed (${params.algorithm})` };
  }
  if (encrypted.length <= modulus) return { ok: false, reason: `${params.algorithm}: no wrapped key material after the ${modulus}-byte RSA part` };
  const aesKey = await oaep(encrypted.subarray(0, modulus));
  if (!aesKey) return { ok: false, reason: `RSAES-OAEP decryption of the AES key failed (${params.algorithm})` };
  try {
    if (![16, 24, 32].includes(aesKey.length)) return { ok: false, reason: `the AES wrapping key is ${aesKey.length} bytes, not 16, 24 or 32` };
    return { ok: true, value: aesKeyUnwrapPad(aesKey, encrypted.subarray(modulus)) };
  } catch {
    return { ok: false, reason: "AES key unwrap (RFC 5649) of the key material failed" };
  } finally {
    aesKey.fill(0);
  }
}

/**
 * KeyMaterialId of imported material: SHA-256 over a label, the key id and the material, so
 * that importing the same material again gives the same id (and other material another) while
 * two keys given the same material get different ids. Hex, 64 digits, as AWS's ids.
 */
export async function importedMaterialId(keyId: string, material: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode(`edgekms-imported-key-material-v1\0${keyId}\0`);
  const input = new Uint8Array(label.length + material.length);
  input.set(label);
  input.set(material, label.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  input.fill(0);
  return hex(digest);
}

/**
 * Whether every material bound to the key is present: an EXTERNAL key is usable only then
 * (deleting or letting any of them expire makes it PendingImport). Material imported for a
 * pending rotation is not bound yet.
 */
export const allMaterialPresent = (rec: KeyRecord): boolean =>
  rec.materials.length > 0 && rec.materials.every((m) => m.imported?.pendingRotation || m.wrapped !== undefined);

/** The earliest expiry of imported material still present (the vault's alarm deletes it then). */
export function nextExpiry(rec: KeyRecord | undefined): number | undefined {
  let due: number | undefined;
  for (const m of rec?.materials ?? []) {
    const t = m.wrapped ? m.imported?.validTo : undefined;
    if (t !== undefined && (due === undefined || t < due)) due = t;
  }
  return due;
}
