// ECDSA signatures on node:crypto: the running hash is OpenSSL's (createSign/createVerify), several
// times faster than a JS SHA-384 on large messages. Used by the Node entry (node.ts).
//
// SHA-384 is the slowest step of a signed message (~0.8 GB/s on one core, against ~3-4 GB/s for the
// frames' AES-GCM at 64 KiB frames), and it is serial. So a large message is hashed on a worker
// thread (node:worker_threads) while the calling thread goes on with AES-GCM, parsing and I/O:
// update() copies the bytes into a ring of shared memory (SharedArrayBuffer) that the worker hashes
// in order, and ready() holds the engine back while more than HIGH_WATER bytes wait, so the ring
// is never overrun and memory stays bounded. The worker signs or verifies with the message's key at
// the end (a KeyObject, passed by postMessage).
//
// A worker takes ~50 ms to start and ~12-14 MB of memory, so it runs only once started with
// startSignatureWorker() (the CLI does for large signed files in long frames), is shared by the
// process's messages, and ends when idle. A message uses it if it runs (or is starting) as the
// message begins; otherwise, and for messages under HASH_WORKER_THRESHOLD bytes, the hash is on the
// calling thread as before (a hash's state cannot move between threads). docs/envelope.md, "Throughput and threads".
import { Buffer } from "node:buffer";
import { ECDH, KeyObject, createSign, createVerify, type Sign, type Verify } from "node:crypto";
import type { Worker } from "node:worker_threads";
import { EnvelopeError } from "./errors.js";
import type { SignatureProvider, StreamSigner, StreamVerifier } from "./signature.js";

/** Buffer's copy with any Uint8Array as the source (it reads only the view's bytes). */
const copyBytes = (from: Uint8Array, to: Buffer, at: number, start: number, end: number): number =>
  Buffer.prototype.copy.call(from, to, at, start, end);

const name = (hash: string) => hash.replace("-", "").toLowerCase(); // "SHA-384" -> "sha384"

/**
 * Bytes of a message hashed on the calling thread before it moves to the (running) worker: below
 * this, the worker's messages cost more than they save (~1 ms of hashing a MiB).
 */
export const HASH_WORKER_THRESHOLD = 1024 * 1024;
/**
 * The engine's input slices while a message may hash on the worker (maxSlice(); stream.ts slices by
 * 1 MiB otherwise). The calling thread is not what bounds such a message (SHA-384 on the worker is),
 * so smaller slices cost it no speed, and each halves what is in flight: the ring below, and the
 * stream's output slices. With 1 MiB slices a signed file in 64 KiB frames peaked ~2 MB higher.
 */
export const WORKER_SLICE = 512 * 1024;
/**
 * ready() waits while more than this many bytes are queued: a slice and the part of a frame a
 * decryptor carries over from the previous one (up to 64 KiB frames; longer ones take the copying path).
 */
const HIGH_WATER = WORKER_SLICE + 128 * 1024;
/** The shared ring a message's bytes pass through: a slice being hashed and the next one. */
const RING = 2 * HIGH_WATER;
/** Bytes a message buffers while the worker it will use is still starting. */
const BOOT_BUFFER = 2 * 1024 * 1024;
/** An idle worker (no message open) ends after this long. */
const IDLE_MS = 5000;

// The worker: one running hash (a Sign or Verify object) per open message, fed from its ring or from
// a transferred buffer, in order. Evaluated from this string, so that it needs no file of its own (nor
// a TypeScript loader under test runners); as a script or as a module (a worker inherits the process's
// --input-type), hence getBuiltinModule rather than require or import.
const WORKER_SOURCE = `"use strict";
const { parentPort } = process.getBuiltinModule("node:worker_threads");
const { createSign, createVerify } = process.getBuiltinModule("node:crypto");
const jobs = new Map();
const job = (id) => {
  const j = jobs.get(id);
  if (!j) throw new Error("message " + id + " is not open");
  return j;
};
parentPort.on("message", (m) => {
  try {
    switch (m.op) {
      case "open":
        jobs.set(m.id, { h: m.sign ? createSign(m.hash) : createVerify(m.hash), ring: new Uint8Array(m.ring) });
        return;
      case "data": {
        const j = job(m.id);
        if (m.buf) {
          j.h.update(new Uint8Array(m.buf));
          m.buf.transfer(0); // freed now, not at this thread's next garbage collection
        } else {
          j.h.update(j.ring.subarray(m.a, m.b));
        }
        parentPort.postMessage({ id: m.id, op: "done" });
        return;
      }
      case "sign": {
        const j = job(m.id);
        jobs.delete(m.id);
        parentPort.postMessage({ id: m.id, op: "signature", sig: new Uint8Array(j.h.sign({ key: m.key, dsaEncoding: "der" })) });
        return;
      }
      case "verify": {
        const j = job(m.id);
        jobs.delete(m.id);
        let ok;
        try { ok = j.h.verify({ key: m.key, dsaEncoding: "der" }, m.sig); } catch { ok = false; }
        parentPort.postMessage({ id: m.id, op: "verified", ok });
        return;
      }
      case "close":
        jobs.delete(m.id);
        return;
      case "crash": // tests: a failure outside any message's handling
        setImmediate(() => { throw new Error("crash requested"); });
        return;
    }
  } catch (e) {
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, op: "error", message: String(e && e.message || e) });
  }
});
parentPort.postMessage({ id: 0, op: "online" });
`;

interface WorkerReply { id: number; op: "online" | "done" | "signature" | "verified" | "error"; sig?: Uint8Array; ok?: boolean; message?: string }

/** The process's hash worker: shared by the open messages, ended when idle. */
class HashWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, HashJob>();
  private nextId = 1;
  /** Promises of the calling thread waiting for a reply: the worker keeps the process alive only while some do. */
  private waiting = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;
  online = false;
  /** Messages hashed here (tests). */
  messages = 0;
  /** Resolves true once the worker runs, false if it failed first. */
  readonly started: Promise<boolean>;
  private setStarted!: (ok: boolean) => void;

  constructor() {
    this.started = new Promise((r) => { this.setStarted = r; });
    // Loaded here, not at import: a process that never starts the worker need not load the module.
    const { Worker } = process.getBuiltinModule("node:worker_threads");
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: "edgekms-envelope-hash",
      execArgv: [], // not the process's preloads and loaders: this code needs none
      // It holds almost nothing on its heap (the bytes are in shared memory): keep its heaps small.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    this.worker.unref();
    this.worker.on("message", (m: WorkerReply) => {
      if (m.op === "online") {
        this.online = true;
        this.setStarted(true);
        return;
      }
      this.jobs.get(m.id)?.reply(m);
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`it exited (code ${code})`)));
    this.armIdle();
  }

  /** (Re)starts the idle countdown if no message is open. */
  armIdle(): void {
    if (this.jobs.size > 0) return;
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.jobs.size > 0) return;
      if (current === this) current = undefined;
      this.online = false;
      this.setStarted(false);
      void this.worker.terminate();
    }, IDLE_MS);
    this.idle.unref();
  }

  open(job: HashJob, sign: boolean, hash: string, ring: SharedArrayBuffer): number {
    const id = this.nextId++;
    this.messages++;
    this.jobs.set(id, job);
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    this.post({ op: "open", id, sign, hash, ring });
    return id;
  }

  close(id: number, tell: boolean): void {
    if (!this.jobs.delete(id)) return;
    if (tell) this.post({ op: "close", id });
    if (current === this) this.armIdle();
  }

  post(message: unknown, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(message, transfer);
  }

  /** A reply is awaited: keep the process alive until it comes (or the worker fails). */
  hold(): void {
    if (this.waiting++ === 0) this.worker.ref();
  }

  release(): void {
    if (--this.waiting === 0) this.worker.unref();
  }

  private fail(e: unknown): void {
    if (current === this) current = undefined;
    this.online = false;
    this.setStarted(false);
    if (this.idle) clearTimeout(this.idle);
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const j of jobs) j.fail(e);
    void this.worker.terminate().catch(() => undefined);
  }

  /** Tests: make the worker thread fail (as a crash would). */
  crash(): void {
    this.post({ op: "crash", id: 0 });
  }

  /** Tests: end the worker now. */
  async stop(): Promise<void> {
    if (current === this) current = undefined;
    if (this.idle) clearTimeout(this.idle);
    await this.worker.terminate();
  }
}

let current: HashWorker | undefined;

/**
 * Starts the worker thread that hashes the signature of large signed messages (if it is not running):
 * the messages that begin from now on use it. Resolves true once it runs, false if it cannot. It never
 * keeps the process alive, and ends after 5 s without a message.
 */
export function startSignatureWorker(): Promise<boolean> {
  if (!current) {
    try {
      current = new HashWorker();
    } catch {
      return Promise.resolve(false);
    }
  } else {
    current.armIdle();
  }
  return current.started;
}

/** Tests: the worker of this process, if one runs. */
export function _hashWorkerForTests(): { crash(): void; stop(): Promise<void>; readonly online: boolean; readonly messages: number } | undefined {
  return current;
}

function workerError(e: unknown): EnvelopeError {
  const why = e instanceof Error ? e.message : String(e);
  return new EnvelopeError("SIGNATURE", `the message signature could not be computed: its hash worker thread failed (${why})`, { cause: e });
}

type Final = { op: "sign"; key: KeyObject } | { op: "verify"; key: KeyObject; sig: Uint8Array };

/** One message's hash on the worker. */
class HashJob {
  private readonly ring = new SharedArrayBuffer(RING);
  /**
   * The ring as a Buffer: bytes go in with Buffer's copy (a plain memmove). Uint8Array.set into
   * shared memory copies with relaxed atomics, byte by byte when source and ring are not aligned
   * alike: 2.1 against 17 GB/s (Node 22, 512 KiB copies), and it was 20-21% of the calling thread's
   * time decrypting 1 GiB of 0x0578 (docs/envelope.md, "Throughput and threads").
   */
  private readonly view = Buffer.from(this.ring);
  private readonly id: number;
  /** Ring bytes written and hashed (monotonic; position = count % RING). */
  private head = 0;
  private tail = 0;
  /** Per data message in flight: [bytes, of which in the ring]. */
  private readonly inflight: Array<[number, number]> = [];
  private queued = 0;
  private error: EnvelopeError | undefined;
  private waiter: { resolve(): void; reject(e: unknown): void } | undefined;
  private waiting: Promise<void> | undefined;
  private final: { resolve(m: WorkerReply): void; reject(e: unknown): void } | undefined;
  private closed = false;

  constructor(private readonly worker: HashWorker, sign: boolean, hash: string) {
    this.id = worker.open(this, sign, hash, this.ring);
  }

  /** Queues a copy of b (the caller keeps b). */
  update(b: Uint8Array): void {
    if (this.error || this.closed || b.length === 0) return;
    if (b.length > RING - (this.head - this.tail)) {
      // More than the ring's free space (one huge element, or a caller that ignored ready()): a copy of its own.
      this.send(new Uint8Array(b)); // a copy: it is transferred
      return;
    }
    for (let off = 0; off < b.length; ) {
      const pos = this.head % RING;
      const n = Math.min(b.length - off, RING - pos);
      copyBytes(b, this.view, pos, off, off + n);
      this.head += n;
      off += n;
      this.inflight.push([n, n]);
      this.queued += n;
      this.worker.post({ op: "data", id: this.id, a: pos, b: pos + n });
    }
  }

  /** Queues bytes this module owns (transferred, not copied). */
  send(owned: Uint8Array): void {
    if (this.error || this.closed || owned.length === 0) return;
    this.inflight.push([owned.length, 0]);
    this.queued += owned.length;
    this.worker.post({ op: "data", id: this.id, buf: owned.buffer }, [owned.buffer as ArrayBuffer]);
  }

  ready(): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (this.queued <= HIGH_WATER || this.closed) return undefined;
    if (!this.waiting) {
      this.waiting = new Promise<void>((resolve, reject) => {
        this.worker.hold();
        this.waiter = {
          resolve: () => { this.worker.release(); this.waiting = undefined; resolve(); },
          reject: (e) => { this.worker.release(); this.waiting = undefined; reject(e); },
        };
      });
      this.waiting.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
    }
    return this.waiting;
  }

  /** Signs or verifies once every queued byte is hashed (the worker takes its messages in order). */
  finish(f: Final): Promise<WorkerReply> {
    if (this.error) return Promise.reject(this.error);
    if (this.closed) return Promise.reject(new EnvelopeError("INVALID_ARGUMENT", "the message's signature was already made or it was disposed"));
    return new Promise<WorkerReply>((resolve, reject) => {
      this.worker.hold();
      this.final = {
        resolve: (m) => { this.worker.release(); resolve(m); },
        reject: (e) => { this.worker.release(); reject(e); },
      };
      this.worker.post({ ...f, id: this.id });
    });
  }

  reply(m: WorkerReply): void {
    if (m.op === "done") {
      const [n, inRing] = this.inflight.shift() ?? [0, 0];
      this.queued -= n;
      this.tail += inRing;
      if (this.waiter && this.queued <= HIGH_WATER) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve();
      }
      return;
    }
    if (m.op === "error") {
      this.worker.close(this.id, false);
      this.fail(new Error(m.message));
      return;
    }
    // signature / verified: the worker closed the message.
    this.closed = true;
    this.worker.close(this.id, false);
    const f = this.final;
    this.final = undefined;
    f?.resolve(m);
  }

  fail(e: unknown): void {
    if (this.error) return;
    this.error = e instanceof EnvelopeError ? e : workerError(e);
    const w = this.waiter, f = this.final;
    this.waiter = undefined;
    this.final = undefined;
    w?.reject(this.error);
    f?.reject(this.error);
  }

  /** The message was abandoned (failed or cancelled): forget it, release whoever waits. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.worker.close(this.id, true);
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
    const f = this.final;
    this.final = undefined;
    f?.reject(new EnvelopeError("INVALID_ARGUMENT", "the message was disposed before its signature was complete"));
  }
}

/**
 * A message's running hash. With the worker running (or starting) as the message begins: buffered
 * up to the threshold, then on the worker (a starting worker is waited for once BOOT_BUFFER bytes are
 * buffered). Otherwise on the calling thread throughout.
 */
class RunningHash {
  private buffered: Uint8Array[] | undefined;
  private bytes = 0;
  private inline: Sign | Verify | undefined;
  private job: HashJob | undefined;
  private readonly worker: HashWorker | undefined;
  private booting: Promise<void> | undefined;

  constructor(private readonly sign: boolean, private readonly hash: string, private readonly threshold: number) {
    this.worker = threshold === Infinity ? undefined : current;
    if (this.worker) {
      this.buffered = [];
      if (threshold <= 0 && this.worker.online) this.promote();
    } else {
      this.inline = this.newInline();
    }
  }

  private newInline(): Sign | Verify {
    return this.sign ? createSign(this.hash) : createVerify(this.hash);
  }

  update(b: Uint8Array): void {
    if (this.job) return this.job.update(b);
    if (this.inline) {
      this.inline.update(b);
      return;
    }
    if (!this.buffered || b.length === 0) return; // disposed, or nothing
    this.bytes += b.length;
    this.buffered.push(new Uint8Array(b)); // a copy (Buffer.prototype.slice would not be one)
    if (this.bytes > this.threshold && this.worker!.online) this.promote();
  }

  /** Moves the message to the worker with what was buffered (or, if it has gone, to the calling thread). */
  private promote(): void {
    const chunks = this.buffered;
    if (!chunks) return;
    this.buffered = undefined;
    const w = this.worker;
    if (w && w.online && current === w) {
      this.job = new HashJob(w, this.sign, this.hash);
      for (const c of chunks) this.job.send(c);
    } else {
      this.inline = this.newInline();
      for (const c of chunks) this.inline.update(c);
    }
  }

  /** The calling thread's hash, with whatever was buffered. */
  private local(): Sign | Verify {
    if (!this.inline) {
      this.inline = this.newInline();
      for (const c of this.buffered ?? []) this.inline.update(c);
      this.buffered = undefined;
    }
    return this.inline;
  }

  /** WORKER_SLICE while the message may move to the worker, or is on it. */
  maxSlice(): number | undefined {
    return this.worker ? WORKER_SLICE : undefined;
  }

  ready(): Promise<void> | undefined {
    if (this.job) return this.job.ready();
    if (!this.buffered || this.bytes <= Math.max(this.threshold, BOOT_BUFFER)) return undefined;
    // Still buffering past BOOT_BUFFER: the worker is starting; wait for it (or for its failure).
    const w = this.worker!;
    if (!this.booting) {
      w.hold();
      this.booting = w.started.then(() => {
        w.release();
        this.booting = undefined;
        this.promote();
      });
    }
    return this.booting;
  }

  async signWith(key: KeyObject): Promise<Uint8Array> {
    if (this.job) {
      const m = await this.job.finish({ op: "sign", key });
      return new Uint8Array(m.sig!);
    }
    return new Uint8Array((this.local() as Sign).sign({ key, dsaEncoding: "der" }));
  }

  async verifyWith(key: KeyObject, signature: Uint8Array): Promise<boolean> {
    if (this.job) {
      const m = await this.job.finish({ op: "verify", key, sig: signature });
      return m.ok === true;
    }
    try {
      return (this.local() as Verify).verify({ key, dsaEncoding: "der" }, signature);
    } catch {
      return false; // not a DER signature
    }
  }

  dispose(): void {
    this.job?.dispose();
    this.buffered = undefined;
  }
}

const OPENSSL_CURVE = { "P-256": "prime256v1", "P-384": "secp384r1" } as const;

/**
 * ECDSA on node:crypto; a message's hash on the worker thread once it passes `hashWorkerThreshold`
 * bytes (default HASH_WORKER_THRESHOLD; Infinity: never) if the worker runs as the message begins.
 */
export function nodeSignatureProvider(o: { hashWorkerThreshold?: number } = {}): SignatureProvider {
  const threshold = o.hashWorkerThreshold ?? HASH_WORKER_THRESHOLD;
  return {
    name: "node",
    async signer(_curve, hash, privateKey): Promise<StreamSigner> {
      const key = KeyObject.from(privateKey);
      const h = new RunningHash(true, name(hash), threshold);
      return {
        update: (b) => h.update(b),
        sign: () => h.signWith(key),
        ready: () => h.ready(),
        maxSlice: () => h.maxSlice(),
        dispose: () => h.dispose(),
      };
    },
    async verifier(_curve, hash, publicKey): Promise<StreamVerifier> {
      const key = KeyObject.from(publicKey);
      const h = new RunningHash(false, name(hash), threshold);
      return {
        update: (b) => h.update(b),
        verify: (signature) => h.verifyWith(key, signature),
        ready: () => h.ready(),
        maxSlice: () => h.maxSlice(),
        dispose: () => h.dispose(),
      };
    },
    decompress: (curve, compressed) => new Uint8Array(ECDH.convertKey(compressed, OPENSSL_CURVE[curve], undefined, undefined, "uncompressed") as Buffer),
  };
}

/** The Node entry's default. */
export const nodeSignatures: SignatureProvider = nodeSignatureProvider();
