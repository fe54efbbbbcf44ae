// Large frames and the signature hash's worker thread (src/envelope/sign-node.ts; docs/envelope.md,
// "Threads"): messages of many 1 MiB slices at 64 KiB frames round-trip, interoperate with the AWS
// Encryption SDK both ways whichever thread hashes them, and fail exactly as on one thread — a frame
// modified in the middle of a slice releases none of its plaintext, a bad signature holds the final
// frame back, truncation is reported; a worker that dies fails its message with a clear error; and a
// process exits when its streams end or fail (no worker keeps it alive).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient } from "@aws-crypto/client-node";
import {
  EnvelopeError, RawAesKeyring, decrypt, decryptStream, encryptStream, parseHeader, startSignatureWorker, type SuiteId,
} from "../../src/envelope/node.js";
import { platform, setPlatform, type Platform } from "../../src/envelope/platform.js";
import { _hashWorkerForTests, nodeSignatureProvider, WORKER_SLICE } from "../../src/envelope/sign-node.js";

const MiB = 1024 * 1024;
const FRAME = 64 * 1024;
const wrapping = new Uint8Array(randomBytes(32));
const ours = () => new RawAesKeyring({ keyNamespace: "threads", keyName: "k", key: wrapping });
const theirs = () => new RawAesKeyringNode({
  keyNamespace: "threads", keyName: "k", unencryptedMasterKey: wrapping.slice(),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/** 24 MiB and a bit: 24 slices of the streams, a final frame of 1234 bytes. */
const PT = new Uint8Array(randomBytes(24 * MiB + 1234));

let saved: Platform;
const onWorker = nodeSignatureProvider({ hashWorkerThreshold: 0 }); // the worker from the first byte
const onCaller = nodeSignatureProvider({ hashWorkerThreshold: Infinity }); // never

/** Runs f with the signature hash on the worker (started first) or on the calling thread. */
async function hashed<T>(where: "worker" | "caller", f: () => Promise<T>): Promise<T> {
  if (where === "worker") expect(await startSignatureWorker()).toBe(true);
  setPlatform({ aes: saved.aes, signatures: where === "worker" ? onWorker : onCaller });
  try {
    return await f();
  } finally {
    setPlatform(saved);
  }
}

const onWorkerCount = () => _hashWorkerForTests()?.messages ?? 0;

/** Encrypts through the streams, written in odd-sized chunks. */
async function encryptStreamed(pt: Uint8Array, suite: SuiteId, frameLength = FRAME): Promise<Uint8Array> {
  const { readable, writable } = encryptStream({ keyring: ours(), suite, frameLength, encryptionContext: { test: "threads" } });
  const w = writable.getWriter();
  const writing = (async () => {
    for (let o = 0; o < pt.length; o += 3 * MiB + 5) await w.write(pt.subarray(o, o + 3 * MiB + 5));
    await w.close();
  })();
  const parts: Uint8Array[] = [];
  for await (const c of readable as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  await writing;
  return Buffer.concat(parts);
}

/** Decrypts through the streams; returns what was released before the end or the error. */
async function decryptStreamed(message: Uint8Array): Promise<{ released: Uint8Array; error?: EnvelopeError }> {
  const { readable, writable } = decryptStream({ keyring: ours() });
  const w = writable.getWriter();
  const writing = (async () => {
    for (let o = 0; o < message.length; o += 2 * MiB + 7) await w.write(message.subarray(o, o + 2 * MiB + 7));
    await w.close();
  })().catch(() => undefined);
  const parts: Uint8Array[] = [];
  let error: EnvelopeError | undefined;
  try {
    for await (const c of readable as unknown as AsyncIterable<Uint8Array>) parts.push(Uint8Array.from(c));
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    error = e as EnvelopeError;
  }
  await writing;
  return { released: Buffer.concat(parts), error };
}

/** The signature footer's length (2 + DER) of a message whose final frame holds 1234 bytes. */
function footerLength(m: Uint8Array): number {
  for (let n = 64; n <= 110; n++) {
    const at = m.length - 2 - n;
    const final = at - (4 + 4 + 12 + 4 + 1234 + 16);
    if (((m[at]! << 8) | m[at + 1]!) === n && m.subarray(final, final + 4).every((b) => b === 0xff)) return 2 + n;
  }
  throw new Error("no signature footer found");
}

/** Offset of regular frame n (1-based) in a message whose header is h bytes long. */
const frameAt = (h: number, n: number) => h + (n - 1) * (FRAME + 32);

beforeAll(() => {
  saved = platform();
});

afterAll(async () => {
  setPlatform(saved);
});

describe("64 KiB frames over many slices", () => {
  for (const suite of [0x0478, 0x0578] as SuiteId[]) {
    const signed = suite === 0x0578;
    it(`0x0${suite.toString(16)}: round trip, and both ways with the ESDK, the signature hashed on the worker and on the calling thread`, async () => {
      const before = onWorkerCount();
      const mine = await hashed("worker", () => encryptStreamed(PT, suite));
      // The ESDK verifies it...
      const back = await esdk.decrypt(theirs(), mine);
      expect(Buffer.compare(back.plaintext, PT)).toBe(0);
      expect(back.messageHeader.frameLength).toBe(FRAME);
      // ...and so do we, hashing on either thread.
      for (const where of ["worker", "caller"] as const) {
        const r = await hashed(where, () => decryptStreamed(mine));
        expect(r.error).toBeUndefined();
        expect(Buffer.compare(r.released, PT)).toBe(0);
      }
      expect(mine.byteLength, "the caller's buffer (a Buffer) is intact").toBeGreaterThan(PT.length);
      // The ESDK's message at the same frame length decrypts here.
      const theirMessage = (await esdk.encrypt(theirs(), PT, { suiteId: suite, frameLength: FRAME })).result;
      const r = await hashed("worker", () => decryptStreamed(theirMessage));
      expect(r.error).toBeUndefined();
      expect(Buffer.compare(r.released, PT)).toBe(0);
      // Our message hashed on the calling thread decrypts with the worker, and the one-shot API too.
      const plain = await hashed("caller", () => encryptStreamed(PT, suite));
      const one = await hashed("worker", () => decrypt(plain, { keyring: ours() }));
      expect(Buffer.compare(one.plaintext, PT)).toBe(0);
      // Signed messages went through the worker (encrypt, two decryptions, the one-shot); unsigned ones never.
      expect(onWorkerCount() - before).toBe(signed ? 4 : 0);
    });

    it(`0x0${suite.toString(16)}: a frame modified in the middle of a slice fails with its number and releases none of its plaintext`, async () => {
      const message = await hashed("worker", () => encryptStreamed(PT.subarray(0, 8 * MiB + 1234), suite));
      const header = parseHeader(message)!.header.headerLength;
      const bad = Uint8Array.from(message);
      bad[frameAt(header, 40) + 16 + 1000]! ^= 0x20; // frame 40: the middle of the third 1 MiB slice
      const r = await hashed("worker", () => decryptStreamed(bad));
      expect(r.error?.code).toBe("TAG_MISMATCH");
      expect(r.error?.message).toMatch(/^frame 40:/);
      expect(r.released.length).toBeLessThanOrEqual(39 * FRAME);
      expect(Buffer.compare(r.released, PT.subarray(0, r.released.length))).toBe(0);
    });
  }

  it("0x0578: a modified signature holds the final frame back and fails SIGNATURE; truncations fail TRUNCATED", async () => {
    const pt = PT.subarray(0, 6 * MiB + 1234);
    const message = await hashed("worker", () => encryptStreamed(pt, 0x0578));
    const bad = Uint8Array.from(message);
    bad[bad.length - 10]! ^= 1; // in the DER signature
    const r = await hashed("worker", () => decryptStreamed(bad));
    expect(r.error?.code).toBe("SIGNATURE");
    expect(r.released.length).toBe(pt.length - 1234); // every regular frame, not the final one
    expect(Buffer.compare(r.released, pt.subarray(0, r.released.length))).toBe(0);
    const footer = footerLength(message);
    for (const cut of [message.length - 1, message.length - footer, message.length - footer - 10, Math.floor(message.length / 2)]) {
      const t = await hashed("worker", () => decryptStreamed(message.subarray(0, cut)));
      expect(t.error?.code, `cut at ${cut} of ${message.length}`).toBe("TRUNCATED");
      expect(t.released.length).toBeLessThan(pt.length);
    }
  });
});

describe("slices", () => {
  it("16 frames per engine call, from 256 KiB to 1 MiB: a single 8 MiB write comes out in 1 MiB slices at 64 KiB frames, 256 KiB ones at 4 KiB", async () => {
    for (const [frameLength, slice] of [[FRAME, MiB], [4096, 256 * 1024]] as const) {
      const { readable, writable } = encryptStream({ keyring: ours(), suite: 0x0478, frameLength });
      const w = writable.getWriter();
      const writing = w.write(PT.subarray(0, 8 * MiB)).then(() => w.close());
      const sizes: number[] = [];
      for await (const c of readable as unknown as AsyncIterable<Uint8Array>) sizes.push(c.length);
      await writing;
      const full = (slice / frameLength) * (frameLength + 32); // a slice's frames
      expect(sizes.filter((n) => n === full).length, `frame ${frameLength}`).toBe(8 * MiB / slice);
      expect(Math.max(...sizes)).toBe(full);
    }
  });

  it("a signed message whose hash may go to the worker comes out in 512 KiB slices (WORKER_SLICE), on one thread in 1 MiB ones", async () => {
    for (const where of ["worker", "caller"] as const) {
      const sizes = await hashed(where, async () => {
        const { readable, writable } = encryptStream({ keyring: ours(), suite: 0x0578, frameLength: FRAME });
        const w = writable.getWriter();
        const writing = w.write(PT.subarray(0, 8 * MiB)).then(() => w.close());
        const out: number[] = [];
        for await (const c of readable as unknown as AsyncIterable<Uint8Array>) out.push(c.length);
        await writing;
        return out;
      });
      const slice = where === "worker" ? WORKER_SLICE : MiB;
      const full = (slice / FRAME) * (FRAME + 32);
      expect(Math.max(...sizes), where).toBe(full);
      expect(sizes.filter((n) => n === full).length, where).toBe(8 * MiB / slice);
    }
  });
});

describe("the worker thread", () => {
  it("dying in the middle of a message fails that message with a clear error; the next message works", async () => {
    expect(await startSignatureWorker()).toBe(true);
    setPlatform({ aes: saved.aes, signatures: onWorker });
    try {
      const { readable, writable } = encryptStream({ keyring: ours(), suite: 0x0578, frameLength: FRAME });
      const reading = (async () => {
        for await (const _ of readable as unknown as AsyncIterable<Uint8Array>) void _;
      })();
      reading.catch(() => undefined);
      const w = writable.getWriter();
      await w.write(PT.subarray(0, 4 * MiB));
      _hashWorkerForTests()!.crash();
      await new Promise((r) => setTimeout(r, 200));
      const failure = (async () => {
        for (let o = 4 * MiB; o < PT.length; o += MiB) await w.write(PT.subarray(o, o + MiB));
        await w.close();
      })();
      await expect(failure).rejects.toThrow(/hash worker thread failed/);
      const e = await reading.then(() => undefined, (x) => x);
      expect(e).toBeInstanceOf(EnvelopeError);
      expect((e as EnvelopeError).code).toBe("SIGNATURE");
      expect((e as Error).message).toMatch(/^the message signature could not be computed: its hash worker thread failed/);
    } finally {
      setPlatform(saved);
    }
    const again = await hashed("worker", () => encryptStreamed(PT.subarray(0, 3 * MiB), 0x0578));
    const back = await esdk.decrypt(theirs(), again);
    expect(Buffer.compare(back.plaintext, PT.subarray(0, 3 * MiB))).toBe(0);
  });

  it("runs only once started; a message that begins while none runs, or under the threshold, is hashed on the calling thread", async () => {
    await _hashWorkerForTests()?.stop();
    expect(_hashWorkerForTests()).toBeUndefined();
    const message = await encryptStreamed(PT.subarray(0, 4 * MiB), 0x0578); // the Node entry's default provider
    expect(_hashWorkerForTests()).toBeUndefined();
    const starting = startSignatureWorker(); // a message that begins while it starts waits for it
    const r = await decryptStreamed(message);
    expect(await starting).toBe(true);
    expect(r.error?.message).toBeUndefined();
    expect(Buffer.compare(r.released, PT.subarray(0, 4 * MiB))).toBe(0);
    expect(onWorkerCount()).toBe(1); // a fresh worker's count
    const small = await encryptStreamed(PT.subarray(0, 100_000), 0x0578); // under the threshold: not sent to it
    expect(onWorkerCount()).toBe(1);
    expect((await decryptStreamed(small)).released.length).toBe(100_000);
  });
});

describe("a process with streams on the worker exits when they end or fail", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const lib = new URL("dist/envelope/node.js", `file://${root}`).href;
  const run = (body: string) => {
    const script = `
      const { RawAesKeyring, encryptStream, decryptStream, startSignatureWorker } = await import(${JSON.stringify(lib)});
      const keyring = new RawAesKeyring({ keyNamespace: "exit", keyName: "k", key: new Uint8Array(32).fill(7) });
      const pt = new Uint8Array(12 * 1024 * 1024).fill(5);
      async function drain(readable) { const parts = []; for await (const c of readable) parts.push(c); return Buffer.concat(parts); }
      async function pump(pair, data) { const w = pair.writable.getWriter(); for (let o = 0; o < data.length; o += 1 << 20) await w.write(data.subarray(o, o + (1 << 20))); await w.close(); }
      if (!(await startSignatureWorker())) throw new Error("no worker");
      ${body}
    `;
    const t = Date.now();
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 30_000 });
    return { ...r, ms: Date.now() - t };
  };

  it.runIf(existsSync(fileURLToPath(new URL("dist/envelope/node.js", `file://${root}`))))("after a round trip, a failed decryption, an abandoned stream", () => {
    const cases = {
      roundTrip: `
        const enc = encryptStream({ keyring, suite: 0x0578, frameLength: 65536 });
        const [ct] = await Promise.all([drain(enc.readable), pump(enc, pt)]);
        const dec = decryptStream({ keyring });
        const [back] = await Promise.all([drain(dec.readable), pump(dec, ct)]);
        console.log(back.length === pt.length && back.every((b) => b === 5) ? "ok" : "wrong");`,
      failed: `
        const enc = encryptStream({ keyring, suite: 0x0578, frameLength: 65536 });
        const [ct] = await Promise.all([drain(enc.readable), pump(enc, pt)]);
        ct[ct.length - 8] ^= 1;
        const dec = decryptStream({ keyring });
        const out = await Promise.allSettled([drain(dec.readable), pump(dec, ct)]);
        console.log(out[0].status === "rejected" && out[0].reason.code === "SIGNATURE" ? "ok" : "wrong");`,
      abandoned: `
        const enc = encryptStream({ keyring, suite: 0x0578, frameLength: 65536 });
        const w = enc.writable.getWriter();
        const r = enc.readable.getReader();
        (async () => { for (;;) { const x = await r.read(); if (x.done) break; } })();
        for (let o = 0; o < 6 * 1024 * 1024; o += 1 << 20) await w.write(pt.subarray(o, o + (1 << 20)));
        console.log("ok"); // neither closed nor aborted`,
    };
    for (const [name, body] of Object.entries(cases)) {
      const r = run(body);
      expect(r.stderr, name).toBe("");
      expect(r.stdout.trim(), name).toBe("ok");
      expect(r.status, name).toBe(0);
      // The idle worker would end after 5 s: a process that took that long waited for it.
      expect(r.ms, `${name}: exited after ${r.ms} ms`).toBeLessThan(4000);
    }
  });
});
