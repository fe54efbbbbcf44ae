// The AWS Encryption SDK message format: encryption context, encrypted data keys, the version 1 and 2
// headers and the body AAD (message-format.html, body-aad-reference.html). docs/envelope.md, "Message format".
import { EnvelopeError, fail } from "./errors.js";
import { IV_LENGTH, TAG_LENGTH, hex16, suiteInfo, type SuiteInfo } from "./suites.js";
import type { EncryptedDataKey, MessageHeader, SuiteId } from "./types.js";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8");

export const utf8 = (s: string): Uint8Array => encoder.encode(s);

function decodeStrict(b: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(b);
  } catch {
    return fail("MALFORMED_HEADER", `${what} is not valid UTF-8`);
  }
}

const MAX_U16 = 0xffff;
export const CONTENT_NON_FRAMED = 1;
export const CONTENT_FRAMED = 2;
export const ENDFRAME = 0xffffffff;
/** Version 1 header "type" byte: customer authenticated encrypted data. */
const V1_TYPE = 0x80;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function checkEncryptionContext(ec: unknown): Record<string, string> {
  if (ec === null || typeof ec !== "object" || Array.isArray(ec)) fail("INVALID_ARGUMENT", "encryptionContext must be an object of string keys and values");
  for (const [k, v] of Object.entries(ec as object)) {
    if (typeof v !== "string") fail("INVALID_ARGUMENT", `encryption context value of ${JSON.stringify(k)} must be a string`);
  }
  return ec as Record<string, string>;
}

/** Entries sorted by the UTF-8 bytes of their keys, encoded. */
function encodedEntries(ec: Record<string, string>, order: "utf8" | "locale"): [Uint8Array, Uint8Array][] {
  const entries = Object.entries(ec);
  if (order === "locale") entries.sort(([a], [b]) => a.localeCompare(b));
  const enc = entries.map(([k, v]) => [utf8(k), utf8(v)] as [Uint8Array, Uint8Array]);
  if (order === "utf8") enc.sort(([a], [b]) => compareBytes(a, b));
  return enc;
}

/**
 * The serialized encryption context without its 2-byte length: count, then (key length, key, value
 * length, value) sorted by key bytes; empty for an empty context. This is the header's AAD field and
 * the raw keyrings' AAD. order "locale" reproduces the AWS Encryption SDK for JavaScript's raw keyrings
 * without utf8Sorting (String.localeCompare), which differs only for some keys.
 */
export function serializeEncryptionContext(ec: Record<string, string>, order: "utf8" | "locale" = "utf8"): Uint8Array {
  const entries = encodedEntries(checkEncryptionContext(ec), order);
  if (entries.length === 0) return new Uint8Array(0);
  if (entries.length > MAX_U16) fail("LIMIT", `encryption context has ${entries.length} pairs (at most ${MAX_U16})`);
  let size = 2;
  for (const [k, v] of entries) {
    if (k.length > MAX_U16 || v.length > MAX_U16) fail("LIMIT", "an encryption context key or value exceeds 65535 bytes");
    size += 4 + k.length + v.length;
  }
  if (size > MAX_U16) fail("LIMIT", `serialized encryption context is ${size} bytes (at most ${MAX_U16})`);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, entries.length);
  let o = 2;
  for (const [k, v] of entries) {
    dv.setUint16(o, k.length); out.set(k, o + 2); o += 2 + k.length;
    dv.setUint16(o, v.length); out.set(v, o + 2); o += 2 + v.length;
  }
  return out;
}

export function providerInfoBytes(edk: EncryptedDataKey): Uint8Array {
  return edk.rawInfo ?? utf8(edk.providerInfo);
}

export interface HeaderFields {
  suite: SuiteInfo;
  messageId: Uint8Array;
  encryptionContext: Record<string, string>;
  encryptedDataKeys: EncryptedDataKey[];
  frameLength: number;
  /** Version 2: the key commitment. */
  commitment?: Uint8Array;
}

/** The header body (everything the header authentication tag covers). */
export function serializeHeaderBody(h: HeaderFields): Uint8Array {
  const ec = serializeEncryptionContext(h.encryptionContext);
  const edks = h.encryptedDataKeys.map((e) => {
    if (!(e.ciphertext instanceof Uint8Array) || typeof e.providerId !== "string") fail("KEYRING", "an encrypted data key is malformed");
    return [utf8(e.providerId), providerInfoBytes(e), e.ciphertext] as const;
  });
  if (edks.length === 0) fail("NO_DATA_KEY", "no encrypted data keys: the message could never be decrypted");
  if (edks.length > MAX_U16) fail("LIMIT", `${edks.length} encrypted data keys (at most ${MAX_U16})`);
  const v2 = h.suite.version === 2;
  if (h.messageId.length !== (v2 ? 32 : 16)) fail("INVALID_ARGUMENT", "message id has the wrong length");
  let size = (v2 ? 1 + 2 + 32 : 1 + 1 + 2 + 16) + 2 + ec.length + 2;
  for (const parts of edks) for (const p of parts) {
    if (p.length > MAX_U16) fail("LIMIT", "an encrypted data key field exceeds 65535 bytes");
    size += 2 + p.length;
  }
  size += v2 ? 1 + 4 + 32 : 1 + 4 + 1 + 4;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  if (v2) {
    out[o++] = 2;
  } else {
    out[o++] = 1;
    out[o++] = V1_TYPE;
  }
  dv.setUint16(o, h.suite.id); o += 2;
  out.set(h.messageId, o); o += h.messageId.length;
  dv.setUint16(o, ec.length); o += 2;
  out.set(ec, o); o += ec.length;
  dv.setUint16(o, edks.length); o += 2;
  for (const parts of edks) for (const p of parts) {
    dv.setUint16(o, p.length); out.set(p, o + 2); o += 2 + p.length;
  }
  out[o++] = CONTENT_FRAMED;
  if (v2) {
    dv.setUint32(o, h.frameLength); o += 4;
    if (!h.commitment || h.commitment.length !== 32) fail("INVALID_ARGUMENT", "a committing suite needs a 32-byte commitment");
    out.set(h.commitment, o); o += 32;
  } else {
    o += 4; // reserved, zero
    out[o++] = IV_LENGTH;
    dv.setUint32(o, h.frameLength); o += 4;
  }
  if (o !== size) throw new EnvelopeError("INVALID_ARGUMENT", "header size mismatch");
  return out;
}

export interface ParsedHeader {
  header: MessageHeader;
  suite: SuiteInfo;
  /** The bytes the header authentication covers. */
  body: Uint8Array;
  /** Version 1: the header IV; version 2: 12 zero bytes. */
  headerIv: Uint8Array;
  headerTag: Uint8Array;
  commitment?: Uint8Array;
}

/** Reads from buf; "more" is thrown (as the sentinel NEED_MORE) when buf ends before the header does. */
class Reader {
  o = 0;
  /** When NEED_MORE was thrown: the byte count that would have let the read go on. */
  needed = 0;
  private readonly dv: DataView;
  constructor(readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number): void {
    if (this.o + n > this.b.length) {
      this.needed = this.o + n;
      throw NEED_MORE;
    }
  }
  u8(): number { this.need(1); return this.b[this.o++]!; }
  u16(): number { this.need(2); const v = this.dv.getUint16(this.o); this.o += 2; return v; }
  u32(): number { this.need(4); const v = this.dv.getUint32(this.o); this.o += 4; return v; }
  bytes(n: number): Uint8Array { this.need(n); const v = this.b.subarray(this.o, this.o + n); this.o += n; return v; }
  field(): Uint8Array { return this.bytes(this.u16()); }
}
const NEED_MORE = Symbol("need more");

function parseEncryptionContext(aad: Uint8Array): Record<string, string> {
  const ec: Record<string, string> = Object.create(null);
  if (aad.length === 0) return { ...ec };
  const r = new Reader(aad);
  try {
    const count = r.u16();
    for (let i = 0; i < count; i++) {
      const k = decodeStrict(r.field(), "an encryption context key");
      const v = decodeStrict(r.field(), "an encryption context value");
      if (Object.prototype.hasOwnProperty.call(ec, k)) fail("MALFORMED_HEADER", `encryption context key ${JSON.stringify(k)} appears twice`);
      ec[k] = v;
    }
  } catch (e) {
    if (e === NEED_MORE) fail("MALFORMED_HEADER", "encryption context is shorter than its pairs say");
    throw e;
  }
  if (r.o !== aad.length) fail("MALFORMED_HEADER", `encryption context has ${aad.length - r.o} bytes after its pairs`);
  return { ...ec };
}

/**
 * Parses the header at the start of buf. Returns undefined when buf ends before the header does
 * (more input needed: o.need.bytes is then a lower bound of the header's length); throws
 * EnvelopeError when what is there is malformed.
 */
export function parseHeader(buf: Uint8Array, o: { maxEncryptedDataKeys?: number; need?: { bytes: number } } = {}): ParsedHeader | undefined {
  const r = new Reader(buf);
  try {
    const version = r.u8();
    if (version !== 1 && version !== 2) {
      fail("MALFORMED_HEADER", `not an AWS Encryption SDK message: version byte 0x${version.toString(16).padStart(2, "0")} (expected 0x01 or 0x02)`);
    }
    if (version === 1) {
      const type = r.u8();
      if (type !== V1_TYPE) fail("MALFORMED_HEADER", `version 1 header type 0x${type.toString(16)} (expected 0x80)`);
    }
    const suiteId = r.u16();
    const suite = suiteInfo(suiteId);
    if (suite.version !== version) {
      fail("MALFORMED_HEADER", `suite ${hex16(suiteId)} belongs to message format version ${suite.version}, header says ${version}`);
    }
    const messageId = r.bytes(version === 2 ? 32 : 16);
    const ecBytes = r.field();
    const edkCount = r.u16();
    if (edkCount === 0) fail("MALFORMED_HEADER", "header lists no encrypted data keys");
    if (o.maxEncryptedDataKeys !== undefined && edkCount > o.maxEncryptedDataKeys) {
      fail("TOO_MANY_DATA_KEYS", `message has ${edkCount} encrypted data keys, more than maxEncryptedDataKeys ${o.maxEncryptedDataKeys}`);
    }
    // Located first, decoded once the whole header is there (a header arriving in many pieces is re-read).
    const edkFields: [Uint8Array, Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < edkCount; i++) edkFields.push([r.field(), r.field(), r.field()]);
    const contentType = r.u8();
    let frameLength: number;
    let headerIv: Uint8Array;
    let commitment: Uint8Array | undefined;
    let bodyEnd: number;
    if (version === 2) {
      if (contentType !== CONTENT_FRAMED) fail("MALFORMED_HEADER", `content type ${contentType} (version 2 messages are framed: 2)`);
      frameLength = r.u32();
      commitment = r.bytes(32).slice();
      bodyEnd = r.o;
      headerIv = new Uint8Array(IV_LENGTH);
    } else {
      if (contentType !== CONTENT_FRAMED && contentType !== CONTENT_NON_FRAMED) fail("MALFORMED_HEADER", `unknown content type ${contentType}`);
      const reserved = r.u32();
      if (reserved !== 0) fail("MALFORMED_HEADER", "reserved header bytes are not zero");
      const ivLength = r.u8();
      if (ivLength !== IV_LENGTH) fail("MALFORMED_HEADER", `header IV length ${ivLength} (expected ${IV_LENGTH})`);
      frameLength = r.u32();
      bodyEnd = r.o;
      headerIv = r.bytes(IV_LENGTH).slice();
    }
    if (contentType === CONTENT_FRAMED && frameLength === 0) fail("MALFORMED_HEADER", "frame length 0 in a framed message");
    if (contentType === CONTENT_NON_FRAMED && frameLength !== 0) fail("MALFORMED_HEADER", "non-zero frame length in a non-framed message");
    const headerTag = r.bytes(TAG_LENGTH).slice();
    const encryptionContext = parseEncryptionContext(ecBytes);
    const encryptedDataKeys: EncryptedDataKey[] = edkFields.map(([id, info, ct], i) => ({
      providerId: decodeStrict(id, `encrypted data key ${i + 1}'s provider id`),
      providerInfo: lenientDecoder.decode(info),
      rawInfo: info.slice(),
      ciphertext: ct.slice(),
    }));
    return {
      header: {
        version,
        suite: suiteId as SuiteId,
        messageId: messageId.slice(),
        encryptionContext,
        encryptedDataKeys,
        frameLength,
        contentType: contentType as 1 | 2,
        headerLength: r.o,
      },
      suite,
      body: buf.slice(0, bodyEnd),
      headerIv,
      headerTag,
      commitment,
    };
  } catch (e) {
    if (e === NEED_MORE) {
      if (o.need) o.need.bytes = r.needed;
      return undefined;
    }
    throw e;
  }
}

const FRAME_LABEL = utf8("AWSKMSEncryptionClient Frame");
const FINAL_LABEL = utf8("AWSKMSEncryptionClient Final Frame");
const SINGLE_LABEL = utf8("AWSKMSEncryptionClient Single Block");

/** The body AAD (body-aad-reference.html): message id, label, sequence number, content length (8 bytes). Reused per frame. */
export class BodyAad {
  private readonly r: Uint8Array;
  private readonly f: Uint8Array;
  private readonly s: Uint8Array;
  private readonly rv: DataView;
  private readonly fv: DataView;
  private readonly sv: DataView;
  constructor(messageId: Uint8Array) {
    const make = (label: Uint8Array): Uint8Array => {
      const b = new Uint8Array(messageId.length + label.length + 12);
      b.set(messageId);
      b.set(label, messageId.length);
      return b;
    };
    this.r = make(FRAME_LABEL);
    this.f = make(FINAL_LABEL);
    this.s = make(SINGLE_LABEL);
    this.rv = new DataView(this.r.buffer);
    this.fv = new DataView(this.f.buffer);
    this.sv = new DataView(this.s.buffer);
  }
  private static fill(b: Uint8Array, dv: DataView, seq: number, length: number): Uint8Array {
    const o = b.length - 12;
    dv.setUint32(o, seq);
    dv.setUint32(o + 4, Math.floor(length / 0x100000000));
    dv.setUint32(o + 8, length >>> 0);
    return b;
  }
  regular(seq: number, length: number): Uint8Array { return BodyAad.fill(this.r, this.rv, seq, length); }
  final(seq: number, length: number): Uint8Array { return BodyAad.fill(this.f, this.fv, seq, length); }
  single(length: number): Uint8Array { return BodyAad.fill(this.s, this.sv, 1, length); }
}
