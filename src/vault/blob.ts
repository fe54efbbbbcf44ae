// Ciphertext blob, format v1 (docs/formats.md):
//   [0]      0x01 format version
//   [1]      key ID kind: 0x01 UUID, 0x02 multi-Region ("mrk-")
//   [2..18)  key ID, 16 bytes
//   [18..22) key material version, u32 big-endian (1-based)
//   [22..34) IV, 12 random bytes
//   [34..)   AES-256-GCM ciphertext || 16-byte tag
// AAD = bytes [0..34) || canonical encryption context, so every header byte is authenticated.

import { getU32, putU32 } from "./u32.js";

export const BLOB_VERSION = 1;
export const HEADER_LENGTH = 34;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const MIN_BLOB_LENGTH = HEADER_LENGTH + TAG_LENGTH;
const KIND_UUID = 1;
const KIND_MRK = 2;

export interface BlobHeader {
  keyId: string;
  materialVersion: number;
  iv: Uint8Array;
}

// Every seal encodes its key's id and every open decodes it (a batch does so per entry), so
// both are made cheap: two hex digits per byte from a table, and a key id's bytes kept once made.
const HEX = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, "0"));
const hex = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
};

const KEY_ID_BYTES = new Map<string, [number, Uint8Array]>();
const MAX_KEY_ID_BYTES = 1024;

/** The key id's kind and 16 bytes (callers copy them; never written). */
function keyIdBytes(keyId: string): [number, Uint8Array] {
  let known = KEY_ID_BYTES.get(keyId);
  if (!known) {
    const mrk = keyId.startsWith("mrk-");
    const h = mrk ? keyId.slice(4) : keyId.replaceAll("-", "");
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
    if (KEY_ID_BYTES.size >= MAX_KEY_ID_BYTES) KEY_ID_BYTES.clear();
    KEY_ID_BYTES.set(keyId, (known = [mrk ? KIND_MRK : KIND_UUID, out]));
  }
  return known;
}

export function encodeHeader(keyId: string, materialVersion: number, iv: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  const [kind, id] = keyIdBytes(keyId);
  h[0] = BLOB_VERSION;
  h[1] = kind;
  h.set(id, 2);
  putU32(h, 18, materialVersion);
  h.set(iv, 22);
  return h;
}

/** Parses the header; undefined for anything that is not a v1 blob. */
export function decodeHeader(blob: Uint8Array): BlobHeader | undefined {
  if (blob.length < MIN_BLOB_LENGTH || blob[0] !== BLOB_VERSION) return undefined;
  let keyId: string;
  if (blob[1] === KIND_UUID) {
    keyId = "";
    for (let i = 2; i < 18; i++) keyId += (i === 6 || i === 8 || i === 10 || i === 12 ? "-" : "") + HEX[blob[i]];
  } else if (blob[1] === KIND_MRK) keyId = `mrk-${hex(blob.subarray(2, 18))}`;
  else return undefined;
  const materialVersion = getU32(blob, 18);
  if (materialVersion === 0) return undefined;
  return { keyId, materialVersion, iv: blob.slice(22, 34) };
}
