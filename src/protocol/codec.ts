// JSON 1.1 body and blob (base64) encoding helpers.
import { KmsError } from "./errors.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

// The runtime's own base64 (workerd has Uint8Array.fromBase64/toBase64; Node 22 does not).
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
const nativeToBase64 = typeof (Uint8Array.prototype as { toBase64?: () => string }).toBase64 === "function";

export const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const PAD = 61; // "="

/** Strict standard base64 with padding (B64); anything else is a SerializationException. */
export function decodeBase64(value: string, member: string): Uint8Array {
  if (nativeFromBase64) {
    // The runtime's decoder checks the alphabet and the padding itself, so B64 is not run again
    // (a batch decodes up to 1,000 blobs). What it allows and B64 does not: ASCII whitespace
    // anywhere, and a last chunk without its padding. Either makes the bytes fewer than a
    // padded string of this length holds, so the length check refuses both. The property test
    // (test/workers/base64.test.ts) holds this to B64.
    const n = value.length;
    if (n % 4 === 0) {
      const pad = n > 0 && value.charCodeAt(n - 1) === PAD ? (value.charCodeAt(n - 2) === PAD ? 2 : 1) : 0;
      let out: Uint8Array | undefined;
      try {
        out = nativeFromBase64(value);
      } catch {
        // not base64: refused below
      }
      if (out && out.length === (n / 4) * 3 - pad) return out;
    }
    throw new KmsError("SerializationException", `Value at '${member}' is not valid base64`);
  }
  if (!B64.test(value)) {
    throw new KmsError("SerializationException", `Value at '${member}' is not valid base64`);
  }
  const bin = atob(value);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  if (nativeToBase64) return (bytes as Uint8Array & { toBase64(): string }).toBase64();
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

// Fatal: a byte sequence that is not UTF-8 is refused, not replaced by U+FFFD, which would make two
// different bodies (two encryption contexts, say) read, authenticate and be recorded alike.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Parses the request body's bytes: UTF-8 (RFC 8259 §8.1) holding one JSON object, else SerializationException. */
export function parseBodyBytes(body: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new KmsError("SerializationException", "The request body is not valid UTF-8.");
  }
  return parseBody(text);
}

/** Parses the request body: one JSON object, else SerializationException. */
export function parseBody(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new KmsError("SerializationException", "Start of structure or map found where not expected / body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new KmsError("SerializationException", "Request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}
