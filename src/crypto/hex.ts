// Hex encoding and SHA-256 in hex: one copy for SigV4 (src/protocol/sigv4.ts) and the audit
// trail's object names and digests (src/audit). Generic, so it lives beside the crypto core's API.

/** Lowercase hex by arithmetic, without a table or branch (SigV4 encodes the expected signature with it). */
export function toHex(b: ArrayBuffer | Uint8Array): string {
  const bytes = b instanceof Uint8Array ? b : new Uint8Array(b);
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const hi = bytes[i] >> 4;
    const lo = bytes[i] & 15;
    // 0..9 → '0'..'9' (48..57), 10..15 → 'a'..'f' (97..102): add 39 when the nibble exceeds 9.
    s += String.fromCharCode(hi + 48 + (((9 - hi) >> 31) & 39), lo + 48 + (((9 - lo) >> 31) & 39));
  }
  return s;
}

const enc = new TextEncoder();

// The `as BufferSource` cast: this module is also compiled with Node's DOM typings (the clients'
// signer, src/cli/sign.ts, shares SigV4's steps), which want views on an ArrayBuffer; these always are.
/** SHA-256 of bytes, or of a string's UTF-8, as lowercase hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", (typeof data === "string" ? enc.encode(data) : data) as BufferSource));
}
