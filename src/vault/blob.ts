// Ciphertext blob, format v1 (docs/formats.md):
//   [0]      0x01 format version
//   [1]      key ID kind: 0x01 UUID, 0x02 multi-Region ("mrk-")
//   [2..18)  key ID, 16 bytes
//   [18..22) key material version, u32 big-endian (1-based)
//   [22..34) IV, 12 random bytes
//   [34..)   AES-256-GCM ciphertext || 16-byte tag
// AAD = bytes [0..34) || canonical encryption context, so every header byte is authenticated.

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

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function keyIdBytes(keyId: string): [number, Uint8Array] {
  const mrk = keyId.startsWith("mrk-");
  const h = mrk ? keyId.slice(4) : keyId.replaceAll("-", "");
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return [mrk ? KIND_MRK : KIND_UUID, out];
}

export function encodeHeader(keyId: string, materialVersion: number, iv: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  const [kind, id] = keyIdBytes(keyId);
  h[0] = BLOB_VERSION;
  h[1] = kind;
  h.set(id, 2);
  new DataView(h.buffer).setUint32(18, materialVersion);
  h.set(iv, 22);
  return h;
}

/** Parses the header; undefined for anything that is not a v1 blob. */
export function decodeHeader(blob: Uint8Array): BlobHeader | undefined {
  if (blob.length < MIN_BLOB_LENGTH || blob[0] !== BLOB_VERSION) return undefined;
  const id = hex(blob.subarray(2, 18));
  let keyId: string;
  if (blob[1] === KIND_UUID) keyId = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
  else if (blob[1] === KIND_MRK) keyId = `mrk-${id}`;
  else return undefined;
  const materialVersion = new DataView(blob.buffer, blob.byteOffset, blob.length).getUint32(18);
  if (materialVersion === 0) return undefined;
  return { keyId, materialVersion, iv: blob.slice(22, 34) };
}
