// The public entry points: web-stream pairs (encryptStream, decryptStream) and one-shot calls
// (encrypt, decrypt) over the engines. The pair is a WritableStream feeding a ReadableStream with
// real backpressure: a write is split into slices of at most SLICE bytes and each slice's output
// waits until the reader has room (and, for the signed suites, until the signature hash has caught
// up: Encryptor/Decryptor.ready()), so memory stays bounded by the frame size plus a few slices,
// whatever the input size or the size of a single write.
import { concat } from "./bytes.js";
import { Decryptor, decryptorOptions, prepareEncrypt, type Encryptor } from "./engine.js";
import { EnvelopeError, fail } from "./errors.js";
import type { DecryptOptions, EncryptOptions, MessageHeader } from "./types.js";

/**
 * Input bytes per engine call: 16 frames, from 256 KiB to 1 MiB. Large frames need large slices: at
 * 64 KiB frames the per-call costs (a promise round trip through both streams, an output buffer, a
 * hash message) of 256 KiB slices were a third of the time a 1 GiB file took (docs/envelope.md,
 * "Throughput and threads"). Small frames do not (their per-frame costs dwarf the per-call ones), and
 * smaller slices hold less memory.
 */
const MIN_SLICE = 256 * 1024;
const MAX_SLICE = 1024 * 1024;
const sliceFor = (frameLength: number, max = MAX_SLICE) => Math.min(max, MAX_SLICE, Math.max(MIN_SLICE, 16 * frameLength));
/** The readable's queue holds at most one slice's output (frame overhead included) and a bit. */
const READABLE_HIGH_WATER = MAX_SLICE + MAX_SLICE / 4;

interface Engine {
  /** The message's frame length (0 until a decryptor has read the header). */
  frameLength(): number;
  /** A smaller slice than sliceFor's, when the engine wants one (the signature hashed on a worker thread). */
  maxSlice(): number | undefined;
  start(): Promise<Uint8Array | undefined>;
  push(data: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  /** A promise while the engine wants no more input yet (a signature hash running behind). */
  ready(): Promise<void> | undefined;
  finish(): Promise<Uint8Array | undefined>;
  dispose(): void;
}

export interface StreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  header: Promise<MessageHeader>;
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return fail("INVALID_ARGUMENT", "stream chunks must be Uint8Array (or ArrayBuffer / ArrayBufferView)");
}

function pair(engine: Engine): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  let rc!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  let cancelled: unknown;
  let isCancelled = false;
  let failed = false;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        rc = c;
      },
      pull() {
        signal();
      },
      cancel(reason) {
        isCancelled = true;
        cancelled = reason;
        engine.dispose();
        signal();
      },
    },
    { highWaterMark: READABLE_HIGH_WATER, size: (c) => c.byteLength },
  );
  const checkCancelled = () => {
    if (isCancelled) throw new EnvelopeError("INVALID_ARGUMENT", "the output stream was cancelled", { cause: cancelled });
  };
  /** Queues bytes, then waits while the queue holds more than room (bytes). */
  const emit = async (bytes: Uint8Array | undefined, room = READABLE_HIGH_WATER) => {
    checkCancelled();
    if (!bytes || bytes.length === 0) return;
    rc.enqueue(bytes);
    while (!isCancelled && READABLE_HIGH_WATER - (rc.desiredSize ?? 0) >= room) await new Promise<void>((r) => { wake = r; });
  };
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (!failed) {
        failed = true;
        engine.dispose();
        if (!isCancelled) rc.error(e);
      }
      throw e;
    }
  };
  const writable = new WritableStream<Uint8Array>(
    {
      start: () => guard(async () => { await emit(await engine.start()); }),
      write: (chunk) => guard(async () => {
        const b = asBytes(chunk);
        for (let o = 0; o < b.length; ) {
          checkCancelled(); // not the engine: it was disposed
          const slice = sliceFor(engine.frameLength(), engine.maxSlice());
          const out = engine.push(o === 0 && b.length <= slice ? b : b.subarray(o, o + slice));
          o += slice;
          await emit(out instanceof Promise ? await out : out, slice + slice / 4);
          const ready = engine.ready();
          if (ready) await ready;
        }
      }),
      close: () => guard(async () => {
        await emit(await engine.finish());
        if (!isCancelled) rc.close();
      }),
      abort: (reason) => {
        if (!failed) {
          failed = true;
          engine.dispose();
          if (!isCancelled) rc.error(reason);
        }
      },
    },
    { highWaterMark: 1 },
  );
  return { readable, writable };
}

/**
 * Encrypts what is written to `writable` into an AWS Encryption SDK message read from `readable`.
 * The materials are requested at once; `header` resolves when the header is made.
 */
export function encryptStream(o: EncryptOptions): StreamPair {
  let enc: Encryptor | undefined;
  let headerResolve!: (h: MessageHeader) => void;
  let headerReject!: (e: unknown) => void;
  const header = new Promise<MessageHeader>((res, rej) => { headerResolve = res; headerReject = rej; });
  header.catch(() => undefined);
  const { readable, writable } = pair({
    async start() {
      try {
        enc = await prepareEncrypt(o);
      } catch (e) {
        headerReject(e);
        throw e;
      }
      headerResolve(enc.header);
      return enc.start();
    },
    frameLength: () => enc?.header.frameLength ?? 0,
    maxSlice: () => enc?.maxSlice(),
    push: (d) => enc!.push(d),
    ready: () => enc!.ready(),
    finish: () => enc!.finish(),
    dispose: () => enc?.dispose(),
  });
  return { readable, writable, header };
}

/**
 * Decrypts the message written to `writable`; `readable` gives the plaintext. A frame's plaintext is
 * released only after its tag verifies; for the signed suites the final frame is held back until
 * the signature verifies, and the readable errors (EnvelopeError "SIGNATURE") if it does not, so a
 * reader that sees the stream close normally has a verified message. `header` resolves once the
 * header is authenticated.
 */
export function decryptStream(o: DecryptOptions): StreamPair {
  let dec: Decryptor | undefined;
  let optionError: unknown;
  try {
    dec = new Decryptor(decryptorOptions(o));
  } catch (e) {
    optionError = e;
  }
  const header = dec ? dec.header : Promise.reject(optionError);
  header.catch(() => undefined);
  const { readable, writable } = pair({
    async start() {
      if (!dec) throw optionError;
      return undefined;
    },
    frameLength: () => dec?.frameLength ?? 0,
    maxSlice: () => dec?.maxSlice(),
    push: (d) => dec!.push(d),
    ready: () => dec!.ready(),
    finish: () => dec!.finish(),
    dispose: () => dec?.dispose(),
  });
  return { readable, writable, header };
}

/** Encrypts plaintext in memory. */
export async function encrypt(plaintext: Uint8Array, o: EncryptOptions): Promise<{ result: Uint8Array; header: MessageHeader }> {
  const p = asBytes(plaintext);
  const enc = await prepareEncrypt(o.plaintextLength === undefined ? { ...o, plaintextLength: p.length } : o);
  try {
    const parts = [enc.start()];
    // Slice by slice, as the streams do: a signed message's hash may run behind on another thread (ready()).
    const slice = sliceFor(enc.header.frameLength, enc.maxSlice());
    for (let o = 0; o < p.length; o += slice) {
      const body = enc.push(o === 0 && p.length <= slice ? p : p.subarray(o, o + slice));
      if (body) parts.push(body);
      const ready = enc.ready();
      if (ready) await ready;
    }
    parts.push(await enc.finish());
    return { result: concat(parts), header: enc.header };
  } catch (e) {
    enc.dispose();
    throw e;
  }
}

/** Decrypts a whole message in memory (the plaintext is returned only if everything verifies). */
export async function decrypt(message: Uint8Array, o: DecryptOptions): Promise<{ plaintext: Uint8Array; header: MessageHeader }> {
  const m = asBytes(message);
  const dec = new Decryptor(decryptorOptions(o));
  const parts: Uint8Array[] = [];
  try {
    for (let o = 0; o < m.length; ) {
      const slice = sliceFor(dec.frameLength, dec.maxSlice());
      const a = await dec.push(o === 0 && m.length <= slice ? m : m.subarray(o, o + slice));
      o += slice;
      if (a) parts.push(a);
      const ready = dec.ready();
      if (ready) await ready;
    }
    if (m.length === 0) {
      const a = await dec.push(m);
      if (a) parts.push(a);
    }
    const b = await dec.finish();
    if (b) parts.push(b);
  } catch (e) {
    for (const p of parts) p.fill(0);
    throw e;
  }
  return { plaintext: parts.length === 1 ? parts[0]! : concat(parts), header: await dec.header };
}
