// Big-endian u32s in byte arrays (docs/formats.md's lengths and versions), byte by byte: a
// DataView would need the array's ArrayBuffer, which V8 must first move off its heap for the
// small arrays these formats use.

export function putU32(out: Uint8Array, o: number, n: number): void {
  out[o] = n >>> 24;
  out[o + 1] = (n >>> 16) & 0xff;
  out[o + 2] = (n >>> 8) & 0xff;
  out[o + 3] = n & 0xff;
}

export const getU32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
