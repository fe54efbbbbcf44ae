// The message engines: Encryptor turns plaintext into header, frames and footer; Decryptor parses a
// message incrementally and releases a frame's plaintext only after its tag verifies (and, for the
// signed suites, the final frame only after the signature verifies). Both are synchronous on the hot
// path (one AES-GCM call per frame, no per-byte JS loops, one output buffer per input slice), so the
// stream wrappers (stream.ts) add only backpressure. docs/envelope.md, "Streaming".
import { concat, equalBytes, randomBytes } from "./bytes.js";
import { DefaultMaterialsManager } from "./materials.js";
import { EnvelopeError, fail } from "./errors.js";
import {
  BodyAad, CONTENT_NON_FRAMED, ENDFRAME, checkEncryptionContext, parseHeader, serializeHeaderBody, type ParsedHeader,
} from "./format.js";
import { checkDataKey, deriveKeys } from "./kdf.js";
import { platform } from "./platform.js";
import type { StreamSigner, StreamVerifier } from "./signature.js";
import {
  DEFAULT_COMMITMENT_POLICY, DEFAULT_FRAME_LENGTH, ENCODED_SIGNER_KEY, encryptSuite, IV_LENGTH, TAG_LENGTH,
  checkDecryptSuite, checkEncryptSuite, checkPolicy, hex16, suiteInfo,
} from "./suites.js";
import type { AesGcmKey, DecryptOptions, EncryptOptions, MaterialsManager, MessageHeader } from "./types.js";

const MAX_SEQ = 0xffffffff; // sequence numbers run 1..2^32-1; the final frame may take the last one
const MAX_FRAME_LENGTH = 0xffffffff;
/** Regular frame overhead: sequence number (4), IV (12), tag (16). */
const FRAME_OVERHEAD = 4 + IV_LENGTH + TAG_LENGTH;
/** Final frame header: end marker (4), sequence number (4), IV (12), content length (4). */
const FINAL_HEADER = 4 + 4 + IV_LENGTH + 4;
const DEFAULT_MAX_NON_FRAMED = 64 * 1024 * 1024;
/**
 * The largest frame decrypt accepts by default. A frame is buffered whole until its tag
 * verifies, and the message's header chooses its length (up to 2^32 - 1): without a limit, a
 * message could make the decryptor hold gigabytes (attack review).
 */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;
/** A header is buffered whole before it is parsed; the format allows ~13 GB, real ones are KBs. */
/**
 * The largest header accepted. It is unauthenticated and parsed again as its bytes arrive, so
 * its cost grows with the square of its size: 64 MiB took 14 s and 0.5 GB (attack review).
 * 4 MiB still holds thousands of encrypted data keys.
 */
const MAX_HEADER = 4 * 1024 * 1024;
/**
 * The most encrypted data keys decrypt accepts by default (maxEncryptedDataKeys overrides it, up to
 * 65 535). A keyring may try each one with a KMS call, so a hostile message of thousands of them
 * made thousands of sequential Decrypt calls (attack review); the AWS Encryption SDK recommends
 * limiting them (https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/configure.html#config-limit-keys).
 * Real messages carry one per wrapping key: a few.
 */
export const DEFAULT_MAX_DECRYPT_EDKS = 10;

function positiveInt(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) fail("INVALID_ARGUMENT", `${name} must be an integer from 1 to ${max}, got ${String(v)}`);
  return v;
}

function materialsManager(o: { keyring?: unknown; materials?: unknown }): MaterialsManager {
  if (o.keyring !== undefined && o.materials !== undefined) fail("INVALID_ARGUMENT", "give either keyring or materials, not both");
  if (o.materials !== undefined) {
    const m = o.materials as MaterialsManager;
    if (typeof m?.getEncryptionMaterials !== "function" || typeof m?.decryptMaterials !== "function") fail("INVALID_ARGUMENT", "materials must be a MaterialsManager");
    return m;
  }
  if (o.keyring === undefined) fail("INVALID_ARGUMENT", "a keyring or a materials manager is required");
  return new DefaultMaterialsManager(o.keyring as never);
}

/** The 12-byte IV of sequence number seq: 8 zero bytes, then seq big-endian. */
function writeIv(dv: DataView, o: number, seq: number): void {
  dv.setUint32(o, 0);
  dv.setUint32(o + 4, 0);
  dv.setUint32(o + 8, seq);
}

function ivMatches(b: Uint8Array, o: number, seq: number): boolean {
  return (b[o]! | b[o + 1]! | b[o + 2]! | b[o + 3]! | b[o + 4]! | b[o + 5]! | b[o + 6]! | b[o + 7]!) === 0 &&
    ((b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!) >>> 0 === seq;
}

function publicHeader(p: Omit<MessageHeader, "headerLength">, headerLength: number): MessageHeader {
  return { ...p, headerLength };
}

export class Encryptor {
  readonly header: MessageHeader;
  /** The plaintext of the frame being filled: grows up to the frame length (a huge frame length costs only what is used). */
  private partial: Uint8Array;
  private partialLen = 0;
  private seq = 1;
  private readonly aad: BodyAad;
  private remaining: number | undefined;
  private done = false;

  constructor(
    private readonly key: AesGcmKey,
    private readonly headerBytes: Uint8Array,
    header: MessageHeader,
    private readonly signer: StreamSigner | undefined,
    plaintextLength: number | undefined,
  ) {
    this.header = header;
    // Grown on first use (reserve): a message made ahead of its input (the CLI's look-ahead over a
    // directory holds hundreds) costs nothing here until then.
    this.partial = new Uint8Array(0);
    this.aad = new BodyAad(header.messageId);
    this.remaining = plaintextLength;
  }

  /** The serialized header (with its authentication): the first bytes of the message. */
  start(): Uint8Array {
    this.signer?.update(this.headerBytes);
    return this.headerBytes;
  }

  /** Encrypts data; returns the complete frames it filled (undefined if none). */
  push(data: Uint8Array): Uint8Array | undefined {
    if (this.done) fail("INVALID_ARGUMENT", "write after the message was finished");
    if (this.remaining !== undefined) {
      this.remaining -= data.length;
      if (this.remaining < 0) fail("PLAINTEXT_LENGTH", "more plaintext than the declared plaintextLength");
    }
    const F = this.header.frameLength;
    const n = Math.floor((this.partialLen + data.length) / F);
    if (n === 0) {
      this.reserve(this.partialLen + data.length);
      this.partial.set(data, this.partialLen);
      this.partialLen += data.length;
      return undefined;
    }
    if (this.seq + n >= MAX_SEQ) fail("LIMIT", "message too long: more than 2^32-1 frames; use a larger frame length");
    const out = new Uint8Array(n * (F + FRAME_OVERHEAD));
    const dv = new DataView(out.buffer);
    let o = 0;
    let d = 0;
    const key = this.key;
    if (this.partialLen > 0) {
      d = F - this.partialLen;
      this.reserve(F);
      this.partial.set(data.subarray(0, d), this.partialLen);
      this.sealRegular(dv, out, o, this.partial.subarray(0, F));
      o += F + FRAME_OVERHEAD;
      this.partialLen = 0;
    }
    while (o < out.length) {
      const seq = this.seq++;
      dv.setUint32(o, seq);
      writeIv(dv, o + 4, seq);
      key.seal(out.subarray(o + 4, o + 16), this.aad.regular(seq, F), data.subarray(d, d + F), out, o + 16);
      d += F;
      o += F + FRAME_OVERHEAD;
    }
    if (d < data.length) {
      this.reserve(data.length - d);
      this.partial.set(data.subarray(d), 0);
      this.partialLen = data.length - d;
    }
    this.signer?.update(out);
    return out;
  }

  /**
   * A promise while the signature hash lags behind (sign-node.ts hashes large messages on a worker
   * thread): the stream waits for it before pushing more, so the bytes in flight stay bounded.
   */
  ready(): Promise<void> | undefined {
    return this.signer?.ready?.();
  }

  /** The largest slice of input to push at a time, when the signature's hash sets one. */
  maxSlice(): number | undefined {
    return this.signer?.maxSlice?.();
  }

  private reserve(n: number): void {
    if (n <= this.partial.length) return;
    const grown = new Uint8Array(Math.min(this.header.frameLength, Math.max(n, this.partial.length * 2)));
    grown.set(this.partial.subarray(0, this.partialLen));
    this.partial.fill(0);
    this.partial = grown;
  }

  private sealRegular(dv: DataView, out: Uint8Array, o: number, src: Uint8Array): void {
    const seq = this.seq++;
    dv.setUint32(o, seq);
    writeIv(dv, o + 4, seq);
    this.key.seal(out.subarray(o + 4, o + 16), this.aad.regular(seq, src.length), src, out, o + 16);
  }

  /** The final frame (with the remaining plaintext, possibly none) and, for signed suites, the footer. */
  async finish(): Promise<Uint8Array> {
    if (this.done) fail("INVALID_ARGUMENT", "the message was already finished");
    this.done = true;
    try {
      const len = this.partialLen;
      const out = new Uint8Array(FINAL_HEADER + len + TAG_LENGTH);
      const dv = new DataView(out.buffer);
      const seq = this.seq;
      dv.setUint32(0, ENDFRAME);
      dv.setUint32(4, seq);
      writeIv(dv, 8, seq);
      dv.setUint32(20, len);
      this.key.seal(out.subarray(8, 20), this.aad.final(seq, len), this.partial.subarray(0, len), out, FINAL_HEADER);
      if (!this.signer) return out;
      this.signer.update(out);
      const sig = await this.signer.sign();
      const footer = new Uint8Array(2 + sig.length);
      new DataView(footer.buffer).setUint16(0, sig.length);
      footer.set(sig, 2);
      return concat([out, footer]);
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    this.done = true;
    this.partial.fill(0);
    this.key.dispose();
    this.signer?.dispose?.();
  }
}

/** Gets materials, derives the keys and builds the header: the first step of every encryption. */
export async function prepareEncrypt(o: EncryptOptions): Promise<Encryptor> {
  if (o === null || typeof o !== "object") fail("INVALID_ARGUMENT", "options are required");
  const policy = checkPolicy(o.commitmentPolicy ?? DEFAULT_COMMITMENT_POLICY);
  const requested = suiteInfo(encryptSuite(o.suite, policy));
  checkEncryptSuite(policy, requested);
  const frameLength = positiveInt(o.frameLength, "frameLength", MAX_FRAME_LENGTH) ?? DEFAULT_FRAME_LENGTH;
  const maxEdks = positiveInt(o.maxEncryptedDataKeys, "maxEncryptedDataKeys", 0xffff);
  if (o.plaintextLength !== undefined && (typeof o.plaintextLength !== "number" || !Number.isInteger(o.plaintextLength) || o.plaintextLength < 0)) {
    fail("INVALID_ARGUMENT", "plaintextLength must be a non-negative integer");
  }
  const encryptionContext = { ...checkEncryptionContext(o.encryptionContext ?? {}) };
  const cmm = materialsManager(o);
  const aes = o.aes ?? platform().aes;

  const m = await cmm.getEncryptionMaterials({ suite: requested.id, encryptionContext, plaintextLength: o.plaintextLength });
  const suite = suiteInfo(m?.suite);
  checkEncryptSuite(policy, suite);
  const dataKey = checkDataKey(suite, m.dataKey, "the materials manager");
  const edks = m.encryptedDataKeys ?? [];
  if (edks.length === 0) fail("NO_DATA_KEY", "the keyring added no encrypted data keys: the message could never be decrypted");
  if (maxEdks !== undefined && edks.length > maxEdks) {
    fail("TOO_MANY_DATA_KEYS", `the keyrings produced ${edks.length} encrypted data keys, more than maxEncryptedDataKeys ${maxEdks}`);
  }
  const ec = checkEncryptionContext(m.encryptionContext);
  let signer: StreamSigner | undefined;
  if (suite.signature) {
    if (!m.signingKey) fail("KEYRING", `suite ${hex16(suite.id)} is signed but the materials carry no signing key`);
    if (typeof ec[ENCODED_SIGNER_KEY] !== "string") fail("KEYRING", `suite ${hex16(suite.id)} is signed but the encryption context lacks ${ENCODED_SIGNER_KEY}`);
    signer = await platform().signatures.signer(suite.signature.curve, suite.signature.hash, m.signingKey);
  }
  const messageId = randomBytes(suite.version === 2 ? 32 : 16);
  const { key: frameKey, commitment } = await deriveKeys(suite, dataKey, messageId);
  let key: AesGcmKey;
  try {
    key = aes.importKey(frameKey);
  } finally {
    frameKey.fill(0);
  }
  const body = serializeHeaderBody({ suite, messageId, encryptionContext: ec, encryptedDataKeys: edks, frameLength, commitment });
  const authLength = suite.version === 2 ? TAG_LENGTH : IV_LENGTH + TAG_LENGTH;
  const headerBytes = new Uint8Array(body.length + authLength);
  headerBytes.set(body);
  // Header authentication: AES-GCM over nothing with the header body as AAD and a zero IV (version 1
  // writes that IV out before the tag).
  key.seal(new Uint8Array(IV_LENGTH), body, new Uint8Array(0), headerBytes, body.length + authLength - TAG_LENGTH);
  const header = publicHeader({
    version: suite.version, suite: suite.id, messageId, encryptionContext: { ...ec },
    encryptedDataKeys: edks.map((e) => ({ ...e })), frameLength, contentType: 2,
  }, headerBytes.length);
  return new Encryptor(key, headerBytes, header, signer, o.plaintextLength);
}

const enum State { Header, Frames, NonFramed, Footer, Done }

export interface DecryptorOptions {
  cmm: MaterialsManager;
  policy: DecryptOptions["commitmentPolicy"] & string;
  maxEdks?: number;
  required?: Record<string, string>;
  requiredKeys?: string[];
  maxNonFramed: number;
  maxFrame: number;
  aes: DecryptOptions["aes"] & object;
}

export function decryptorOptions(o: DecryptOptions): DecryptorOptions {
  if (o === null || typeof o !== "object") fail("INVALID_ARGUMENT", "options are required");
  const policy = checkPolicy(o.commitmentPolicy ?? DEFAULT_COMMITMENT_POLICY);
  const required = o.requiredEncryptionContext === undefined ? undefined : { ...checkEncryptionContext(o.requiredEncryptionContext) };
  const requiredKeys = o.requiredEncryptionContextKeys;
  if (requiredKeys !== undefined && (!Array.isArray(requiredKeys) || requiredKeys.some((k) => typeof k !== "string"))) {
    fail("INVALID_ARGUMENT", "requiredEncryptionContextKeys must be an array of strings");
  }
  return {
    cmm: materialsManager(o),
    policy,
    maxEdks: positiveInt(o.maxEncryptedDataKeys, "maxEncryptedDataKeys", 0xffff) ?? DEFAULT_MAX_DECRYPT_EDKS,
    required,
    requiredKeys: requiredKeys ? [...requiredKeys] : undefined,
    maxNonFramed: positiveInt(o.maxNonFramedBodyLength, "maxNonFramedBodyLength") ?? DEFAULT_MAX_NON_FRAMED,
    maxFrame: positiveInt(o.maxFrameLength, "maxFrameLength") ?? DEFAULT_MAX_FRAME,
    aes: o.aes ?? platform().aes,
  };
}

function checkRequiredContext(ec: Record<string, string>, o: DecryptorOptions): void {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(ec, k);
  for (const k of o.requiredKeys ?? []) {
    if (!has(k)) fail("ENCRYPTION_CONTEXT", `the message's encryption context lacks the required key ${JSON.stringify(k)}`);
  }
  for (const [k, v] of Object.entries(o.required ?? {})) {
    if (!has(k)) fail("ENCRYPTION_CONTEXT", `the message's encryption context lacks the required key ${JSON.stringify(k)}`);
    if (ec[k] !== v) fail("ENCRYPTION_CONTEXT", `the message's encryption context has ${JSON.stringify(k)} = ${JSON.stringify(ec[k])}, not the required ${JSON.stringify(v)}`);
  }
}

export class Decryptor {
  private state = State.Header;
  /** Header bytes gathered so far (header state), or the partial element (a frame or footer) spanning input chunks. */
  private pending = new Uint8Array(0);
  private pendingLen = 0;
  private key?: AesGcmKey;
  private verifier?: StreamVerifier;
  private aad?: BodyAad;
  private F = 0;
  private seq = 1;
  private held?: Uint8Array;
  /** Header bytes known to be needed before parsing again is worth it. */
  private readonly headerNeed = { bytes: 0 };
  private headerResolve!: (h: MessageHeader) => void;
  private headerReject!: (e: unknown) => void;
  /** Resolves once the header is parsed and authenticated. */
  readonly header: Promise<MessageHeader>;

  constructor(private readonly o: DecryptorOptions) {
    this.header = new Promise((res, rej) => { this.headerResolve = res; this.headerReject = rej; });
    this.header.catch(() => undefined);
  }

  get headerDone(): boolean {
    return this.state !== State.Header;
  }

  /** The message's frame length once the header is read (0 before, and for a non-framed message). */
  get frameLength(): number {
    return this.F;
  }

  /** As Encryptor.ready(): a promise while the signature hash lags behind. */
  ready(): Promise<void> | undefined {
    return this.verifier?.ready?.();
  }

  /** As Encryptor.maxSlice() (known once the header is read). */
  maxSlice(): number | undefined {
    return this.verifier?.maxSlice?.();
  }

  /** Feeds message bytes; returns the verified plaintext they complete (undefined if none). */
  push(data: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined {
    if (this.state === State.Header) return this.pushHeader(data);
    return this.pushBody(data);
  }

  private async pushHeader(data: Uint8Array): Promise<Uint8Array | undefined> {
    // The header usually arrives whole in the first write (a 1 MiB slice): it is parsed in place
    // (parseHeader copies every field it returns) rather than after copying the whole write into
    // pending and the rest out of it again: two 1 MiB copies, made while the KMS call runs, for a
    // header of a few hundred bytes. Otherwise the bytes gather in pending.
    const inPlace = this.pendingLen === 0;
    if (!inPlace) this.append(data, 0);
    const buf = inPlace ? data : this.pending.subarray(0, this.pendingLen);
    let parsed: ParsedHeader | undefined;
    try {
      if (buf.length >= this.headerNeed.bytes) parsed = parseHeader(buf, { maxEncryptedDataKeys: this.o.maxEdks, need: this.headerNeed });
    } catch (e) {
      this.headerReject(e);
      throw e;
    }
    if (!parsed) {
      if (inPlace) this.append(data, 0);
      if (this.pendingLen > MAX_HEADER) {
        const e = new EnvelopeError("LIMIT", `the message header is larger than ${MAX_HEADER / 1048576} MiB (not an AWS Encryption SDK message, or a hostile one)`);
        this.headerReject(e);
        throw e;
      }
      return undefined;
    }
    const headerLength = parsed.header.headerLength;
    try {
      // buf is the writer's until this write resolves, which waits for begin().
      await this.begin(parsed, buf.subarray(0, headerLength));
    } catch (e) {
      this.headerReject(e);
      throw e;
    }
    const rest = buf.subarray(headerLength); // a view: pushBody copies whatever it keeps
    this.pending = new Uint8Array(0);
    this.pendingLen = 0;
    this.headerResolve(parsed.header);
    return rest.length ? this.pushBody(rest) : undefined;
  }

  private async begin(p: ParsedHeader, headerBytes: Uint8Array): Promise<void> {
    const { suite, header } = p;
    checkDecryptSuite(this.o.policy, suite);
    checkRequiredContext(header.encryptionContext, this.o);
    if (header.frameLength > this.o.maxFrame) {
      fail("LIMIT", `the message's frame length ${header.frameLength} exceeds maxFrameLength ${this.o.maxFrame} (a frame is held in memory until its tag verifies)`);
    }
    const m = await this.o.cmm.decryptMaterials({
      suite: suite.id,
      encryptionContext: { ...header.encryptionContext },
      encryptedDataKeys: header.encryptedDataKeys.map((e) => ({ ...e })),
    });
    if (m?.suite !== suite.id) fail("KEYRING", `the materials manager returned materials for suite ${hex16(Number(m?.suite))}, the message is ${hex16(suite.id)}`);
    const dataKey = checkDataKey(suite, m.dataKey, "the keyring");
    const { key, commitment } = await deriveKeys(suite, dataKey, header.messageId);
    try {
      if (suite.committing && !equalBytes(commitment!, p.commitment!)) {
        fail("COMMITMENT_MISMATCH", "the header's key commitment does not match the data key (the header was modified or the data key is not this message's)");
      }
      this.key = this.o.aes.importKey(key);
    } finally {
      key.fill(0);
    }
    const sealed = p.headerTag;
    if (!this.key.open(p.headerIv, p.body, sealed, new Uint8Array(0), 0)) {
      this.dispose();
      fail("HEADER_AUTH", "the header authentication tag does not verify: the header was modified");
    }
    if (suite.signature) {
      if (!m.verificationKey) fail("KEYRING", `suite ${hex16(suite.id)} is signed but the materials carry no verification key`);
      this.verifier = await platform().signatures.verifier(suite.signature.curve, suite.signature.hash, m.verificationKey);
      this.verifier.update(headerBytes);
    }

    this.aad = new BodyAad(header.messageId);
    this.F = header.frameLength;
    this.state = header.contentType === CONTENT_NON_FRAMED ? State.NonFramed : State.Frames;
  }

  /**
   * Makes room for an element of `total` bytes in pending at once, once its size is known: grown by
   * doubling as its 1 MiB slices came, a 64 MiB frame went through buffers of 1, 2, … 128 MiB
   * (attack review: ~6× the frame in memory).
   */
  private reserve(total: number): void {
    if (total <= this.pending.length) return;
    const grown = new Uint8Array(total);
    grown.set(this.pending.subarray(0, this.pendingLen));
    this.pending.fill(0);
    this.pending = grown;
  }

  private append(data: Uint8Array, from: number): void {
    const n = data.length - from;
    if (this.pendingLen + n > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.pendingLen + n, this.pending.length * 2, 64));
      grown.set(this.pending.subarray(0, this.pendingLen));
      this.pending.fill(0);
      this.pending = grown;
    }
    this.pending.set(data.subarray(from), this.pendingLen);
    this.pendingLen += n;
  }

  /**
   * The byte length of the element (frame, footer, non-framed body) at the start of b, or -k when
   * at least k bytes are needed to tell.
   */
  private elementSize(b: Uint8Array): number {
    switch (this.state) {
      case State.Frames: {
        if (b.length < 4) return -4;
        const marker = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        if (marker !== ENDFRAME) return this.F + FRAME_OVERHEAD;
        if (b.length < FINAL_HEADER) return -FINAL_HEADER;
        const len = ((b[20]! << 24) | (b[21]! << 16) | (b[22]! << 8) | b[23]!) >>> 0;
        if (len > this.F) fail("MALFORMED_BODY", `final frame (frame ${this.seq}) claims ${len} bytes, more than the frame length ${this.F}`);
        return FINAL_HEADER + len + TAG_LENGTH;
      }
      case State.Footer: {
        if (b.length < 2) return -2;
        return 2 + ((b[0]! << 8) | b[1]!);
      }
      case State.NonFramed: {
        if (b.length < IV_LENGTH + 8) return -(IV_LENGTH + 8);
        const dv = new DataView(b.buffer, b.byteOffset + IV_LENGTH, 8);
        const len = dv.getUint32(0) * 0x100000000 + dv.getUint32(4);
        if (len > this.o.maxNonFramed) {
          fail("LIMIT", `non-framed body of ${len} bytes exceeds maxNonFramedBodyLength ${this.o.maxNonFramed} (a non-framed body is held in memory until its tag verifies)`);
        }
        return IV_LENGTH + 8 + len + TAG_LENGTH;
      }
      default:
        return fail("TRAILING_DATA", `${b.length} bytes after the end of the message`);
    }
  }

  private pushBody(data: Uint8Array): Uint8Array | undefined {
    // The output buffer is made when the first element completes, sized for it and the rest of data:
    // a slice that only adds to a large frame still gathering makes none (each such slice made one
    // of the frame's size so far: another ~frame of memory, for nothing).
    let out: Uint8Array | undefined;
    const outFor = (bound: number): Uint8Array => (out ??= new Uint8Array(this.outputSize(bound)));
    let outLen = 0;
    let p = 0;
    let spanStart = 0; // in-place elements [spanStart, p) not yet given to the verifier
    const flushSpan = () => {
      if (this.verifier && p > spanStart) this.verifier.update(data.subarray(spanStart, p));
    };
    try {
      while (p < data.length) {
        if (this.state === State.Done) fail("TRAILING_DATA", `${data.length - p} bytes after the end of the message`);
        if (this.pendingLen > 0) {
          let total = this.elementSize(this.pending.subarray(0, this.pendingLen));
          while (total < 0) {
            const take = Math.min(-total - this.pendingLen, data.length - p);
            this.append(data.subarray(p, p + take), 0);
            p += take;
            if (this.pendingLen < -total) return outLen ? out!.subarray(0, outLen) : undefined;
            total = this.elementSize(this.pending.subarray(0, this.pendingLen));
          }
          this.reserve(total);
          const take = Math.min(total - this.pendingLen, data.length - p);
          this.append(data.subarray(p, p + take), 0);
          p += take;
          spanStart = p;
          if (this.pendingLen < total) return outLen ? out!.subarray(0, outLen) : undefined;
          const element = this.pending.subarray(0, total);
          if (this.state !== State.Footer) this.verifier?.update(element);
          outLen = this.element(element, outFor(total + data.length - p), outLen);
          this.pendingLen = 0;
          continue;
        }
        const view = data.subarray(p);
        const total = this.elementSize(view);
        if (total < 0 || total > view.length) {
          flushSpan();
          if (total > 0) this.reserve(total);
          this.append(data, p);
          p = data.length;
          spanStart = p;
          break;
        }
        if (this.state === State.Footer) {
          flushSpan();
          spanStart = p + total;
        }
        outLen = this.element(view.subarray(0, total), outFor(view.length), outLen);
        p += total;
      }
      flushSpan();
    } catch (e) {
      out?.fill(0);
      this.dispose();
      throw e;
    }
    return outLen ? out!.subarray(0, outLen) : undefined;
  }

  /** The largest output buffer made so far. */
  private outCap = 0;

  /**
   * The size of the next output buffer: at least `needed`, and the largest size made so far when
   * `needed` is close to it. The needs of a stream of equal slices differ by up to a frame (the part
   * of a frame carried over), and buffers of a size the allocator has not seen freed fragment its
   * heap: a 64 KiB-frame decryption's resident memory crept up by ~5 MB over 256 MiB. Buffers of
   * one size reuse the memory the last one freed (the CLI frees each once written).
   */
  private outputSize(needed: number): number {
    if (needed > this.outCap) this.outCap = needed;
    return needed >= this.outCap - (this.outCap >> 3) ? this.outCap : needed;
  }

  /** Verifies and decrypts one element into out at o; returns the new output length. */
  private element(b: Uint8Array, out: Uint8Array, o: number): number {
    const key = this.key!;
    const aad = this.aad!;
    switch (this.state) {
      case State.Frames: {
        const seq = this.seq;
        const marker = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        if (marker !== ENDFRAME) {
          if (marker !== seq) fail("MALFORMED_BODY", `frame ${seq}: sequence number ${marker} (frames out of order or modified)`);
          if (!ivMatches(b, 4, seq)) fail("MALFORMED_BODY", `frame ${seq}: the IV does not match the sequence number (the frame was modified)`);
          if (!key.open(b.subarray(4, 16), aad.regular(seq, this.F), b.subarray(16), out, o)) {
            fail("TAG_MISMATCH", `frame ${seq}: the authentication tag does not verify (the frame was modified)`);
          }
          if (++this.seq >= MAX_SEQ) fail("LIMIT", "more than 2^32-1 frames");
          return o + this.F;
        }
        const fseq = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
        if (fseq !== seq) fail("MALFORMED_BODY", `final frame: sequence number ${fseq}, expected ${seq} (frames missing or modified)`);
        if (!ivMatches(b, 8, seq)) fail("MALFORMED_BODY", `final frame (frame ${seq}): the IV does not match the sequence number (the frame was modified)`);
        const len = b.length - FINAL_HEADER - TAG_LENGTH;
        const target = this.verifier ? (this.held = new Uint8Array(len)) : out;
        if (!key.open(b.subarray(8, 20), aad.final(seq, len), b.subarray(FINAL_HEADER), target, this.verifier ? 0 : o)) {
          fail("TAG_MISMATCH", `final frame (frame ${seq}): the authentication tag does not verify (the frame was modified)`);
        }
        this.finishBody();
        return this.verifier ? o : o + len;
      }
      case State.NonFramed: {
        if (!ivMatches(b, 0, 1)) fail("MALFORMED_BODY", "non-framed body: the IV is not the one the format prescribes (the body was modified)");
        const len = b.length - IV_LENGTH - 8 - TAG_LENGTH;
        const target = (this.held = new Uint8Array(len));
        if (!key.open(b.subarray(0, IV_LENGTH), aad.single(len), b.subarray(IV_LENGTH + 8), target, 0)) {
          fail("TAG_MISMATCH", "non-framed body: the authentication tag does not verify (the body was modified)");
        }
        this.finishBody();
        return o; // released by finish(): the body is one element, verified above

      }
      case State.Footer: {
        const sig = b.subarray(2);
        if (sig.length === 0) fail("SIGNATURE", "the signature footer is empty");
        this.footer = sig.slice();
        this.state = State.Done;
        return o;
      }
      default:
        return fail("TRAILING_DATA", "bytes after the end of the message");
    }
  }

  private footer?: Uint8Array;

  private finishBody(): void {
    this.key!.dispose();
    this.state = this.verifier ? State.Footer : State.Done;
  }

  /**
   * Ends the message: throws TRUNCATED if it is incomplete, SIGNATURE if the signature does not
   * verify; returns plaintext held back until then (the final frame of a signed message, a non-framed body).
   */
  async finish(): Promise<Uint8Array | undefined> {
    try {
      if (this.state === State.Header) {
        const e = new EnvelopeError("TRUNCATED", this.pendingLen === 0 ? "empty input: not an AWS Encryption SDK message"
          : `the message ends inside its header (after ${this.pendingLen} bytes)`);
        this.headerReject(e);
        throw e;
      }
      if (this.pendingLen > 0 || this.state !== State.Done) {
        if (this.state === State.Frames) fail("TRUNCATED", `the message is truncated: missing final frame (it ends ${this.pendingLen ? "inside" : "after"} frame ${this.pendingLen ? this.seq : this.seq - 1})`);
        if (this.state === State.NonFramed) fail("TRUNCATED", "the message is truncated: the non-framed body is incomplete");
        fail("TRUNCATED", "the message is truncated: missing signature footer");
      }
      if (this.verifier) {
        if (!(await this.verifier.verify(this.footer!))) fail("SIGNATURE", "the message signature does not verify (the message was modified)");
      }
      const held = this.held;
      this.held = undefined;
      return held;
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  dispose(): void {
    this.key?.dispose();
    this.verifier?.dispose?.();
    this.held?.fill(0);
    this.held = undefined;
    this.pending.fill(0);
  }
}
