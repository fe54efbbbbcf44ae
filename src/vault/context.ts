// Canonical encoding of an encryption context, v1 (docs/formats.md): order-independent and
// unambiguous. 0x01, then u16 BE pair count, then for each pair sorted by the UTF-8 bytes of
// its key: u32 BE key length, key, u32 BE value length, value.

import { putU32 } from "./u32.js";

const enc = new TextEncoder();
/** The u16 pair count of the format. */
const MAX_PAIRS = 0xffff;
// String.prototype.isWellFormed is ES2024 (workerd and Node >= 20 have it); the project's lib is ES2023.
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * UTF-8 of a context string. A lone surrogate would become U+FFFD, so two different contexts
 * would encode alike: validation refuses such strings at the boundary, and one reaching here is
 * a programming error.
 */
function utf8(s: string): Uint8Array {
  if (typeof s !== "string" || !isWellFormed(s)) throw new TypeError("encryption context: not a well-formed Unicode string");
  return enc.encode(s);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The output array of `size` bytes: the prefix, then the format's version byte and u16 BE pair count. */
function begin(size: number, prefix: Uint8Array | undefined, pairs: number): Uint8Array {
  const out = new Uint8Array(size);
  const start = prefix?.length ?? 0;
  if (prefix) out.set(prefix);
  out[start] = 1;
  out[start + 1] = pairs >>> 8;
  out[start + 2] = pairs & 0xff;
  return out;
}

/** Whether `s` is a string of ASCII characters only (its UTF-8 is then its code units, one byte each). */
function isAscii(s: unknown): s is string {
  if (typeof s !== "string") return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The encoding of `context`, after the bytes of `prefix` when given (the blob header, so that the
 * AAD is made in one array rather than copied into a second).
 */
export function encodeContext(context: Record<string, string> | undefined, prefix?: Uint8Array): Uint8Array {
  // Own enumerable keys only (Object.keys, as Object.entries), whatever the object's prototype:
  // a key named "__proto__" or "constructor" is data like any other.
  const keys = context == null ? [] : Object.keys(context);
  if (keys.length > MAX_PAIRS) throw new RangeError(`encryption context: more than ${MAX_PAIRS} pairs`);
  const start = prefix?.length ?? 0;
  // Most contexts are ASCII: their UTF-8 is their code units, and sorting keys by code unit (the
  // default sort) is sorting them by UTF-8 bytes. Anything else takes the general path.
  let size = start + 3;
  for (const k of keys) {
    const v = context![k];
    if (!isAscii(k) || !isAscii(v)) return encodeGeneral(context!, prefix);
    size += 8 + k.length + v.length;
  }
  keys.sort();
  const out = begin(size, prefix, keys.length);
  let o = start + 3;
  for (const k of keys) {
    const v = context![k];
    putU32(out, o, k.length);
    o += 4;
    for (let i = 0; i < k.length; i++) out[o + i] = k.charCodeAt(i);
    o += k.length;
    putU32(out, o, v.length);
    o += 4;
    for (let i = 0; i < v.length; i++) out[o + i] = v.charCodeAt(i);
    o += v.length;
  }
  return out;
}

/** Any context: each string checked well-formed and encoded as UTF-8, the pairs sorted by their keys' bytes. */
function encodeGeneral(context: Record<string, string>, prefix: Uint8Array | undefined): Uint8Array {
  const pairs = Object.entries(context)
    .map(([k, v]) => [utf8(k), utf8(v)] as const)
    .sort((x, y) => compareBytes(x[0], y[0]));
  const start = prefix?.length ?? 0;
  let size = start + 3;
  for (const [k, v] of pairs) size += 8 + k.length + v.length;
  const out = begin(size, prefix, pairs.length);
  let o = start + 3;
  for (const [k, v] of pairs) {
    putU32(out, o, k.length);
    out.set(k, o + 4);
    o += 4 + k.length;
    putU32(out, o, v.length);
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}
