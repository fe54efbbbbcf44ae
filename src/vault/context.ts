// Canonical encoding of an encryption context, v1 (docs/formats.md): order-independent and
// unambiguous. 0x01, then u16 BE pair count, then for each pair sorted by the UTF-8 bytes of
// its key: u32 BE key length, key, u32 BE value length, value.

const enc = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function encodeContext(context: Record<string, string> | undefined): Uint8Array {
  const pairs = Object.entries(context ?? {})
    .map(([k, v]) => [enc.encode(k), enc.encode(v)] as const)
    .sort((x, y) => compareBytes(x[0], y[0]));
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
