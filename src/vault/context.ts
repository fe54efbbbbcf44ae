// Canonical encoding of an encryption context, v1 (docs/formats.md): order-independent and
// unambiguous. 0x01, then u16 BE pair count, then for each pair sorted by the UTF-8 bytes of
// its key: u32 BE key length, key, u32 BE value length, value.

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

export function encodeContext(context: Record<string, string> | undefined): Uint8Array {
  // Own enumerable keys only (Object.entries), whatever the object's prototype: a key named
  // "__proto__" or "constructor" is data like any other.
  const pairs = Object.entries(context ?? {})
    .map(([k, v]) => [utf8(k), utf8(v)] as const)
    .sort((x, y) => compareBytes(x[0], y[0]));
  if (pairs.length > MAX_PAIRS) throw new RangeError(`encryption context: more than ${MAX_PAIRS} pairs`);
  let size = 3;
  for (const [k, v] of pairs) size += 8 + k.length + v.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint16(1, pairs.length);
  let o = 3;
  for (const [k, v] of pairs) {
    view.setUint32(o, k.length);
    out.set(k, o + 4);
    o += 4 + k.length;
    view.setUint32(o, v.length);
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}
