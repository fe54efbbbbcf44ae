// Streaming: 200 MB round-trips through encryptStream and decryptStream (generated on the fly, never
// held) with resident memory staying under 100 MB above the start; large writes are sliced, the
// reader's pace holds the writer back, and a cancelled reader stops the writer.
import { describe, expect, it } from "vitest";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { RawAesKeyring, decryptStream, encrypt, encryptStream, type SuiteId } from "../../src/envelope/node.js";

const keyring = new RawAesKeyring({ keyNamespace: "stream", keyName: "k", key: new Uint8Array(randomBytes(32)) });
const MB = 1024 * 1024;

async function roundTrip(suite: SuiteId, total: number, chunk: number) {
  const block = new Uint8Array(chunk);
  const inHash = createHash("sha256"), outHash = createHash("sha256");
  let produced = 0, received = 0, peak = 0;
  const sample = () => { peak = Math.max(peak, process.memoryUsage.rss()); };
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (produced >= total) return c.close();
      const n = Math.min(chunk, total - produced);
      const b = randomFillSync(new Uint8Array(n)); // a fresh buffer: the consumer may keep it
      inHash.update(b);
      produced += n;
      c.enqueue(b);
      sample();
    },
  }, { highWaterMark: 0 });
  const enc = encryptStream({ keyring, suite });
  const dec = decryptStream({ keyring });
  const a = source.pipeTo(enc.writable);
  const b = enc.readable.pipeTo(dec.writable);
  for await (const c of dec.readable as unknown as AsyncIterable<Uint8Array>) {
    outHash.update(c);
    received += c.length;
    if ((received & (4 * MB - 1)) < c.length) sample();
  }
  await Promise.all([a, b]);
  block.fill(0);
  return { received, same: inHash.digest("hex") === outHash.digest("hex"), peak, header: await enc.header };
}

describe("streaming", () => {
  for (const suite of [0x0478, 0x0578] as SuiteId[]) {
    it(`200 MB round trip (suite 0x0${suite.toString(16)}) stays under 100 MB of RSS above the start`, async () => {
      await roundTrip(suite, 8 * MB, 64 * 1024); // warm up: modules, JIT, pools
      const start = process.memoryUsage.rss();
      const r = await roundTrip(suite, 200 * MB, 64 * 1024);
      expect(r.received).toBe(200 * MB);
      expect(r.same).toBe(true);
      expect(r.header.frameLength).toBe(4096);
      expect(r.peak - start, `peak RSS ${(r.peak / MB).toFixed(0)} MB, start ${(start / MB).toFixed(0)} MB`).toBeLessThan(100 * MB);
    });
  }

  it("a single large write comes out in bounded slices, and the writer waits for the reader", async () => {
    const pt = new Uint8Array(randomBytes(8 * MB));
    const enc = encryptStream({ keyring });
    const w = enc.writable.getWriter();
    let written = false;
    const writing = w.write(pt).then(() => { written = true; });
    const reader = enc.readable.getReader();
    const sizes: number[] = [];
    // Read slowly: the write cannot complete before most of its output has been read.
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      sizes.push(value.length);
      if (sizes.length === 3) expect(written).toBe(false);
      if (written && sizes.length > 3) break;
      await new Promise((r) => setImmediate(r));
    }
    await writing;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024 + (256 * 1024 / 4096) * 32);
    expect(sizes.length).toBeGreaterThan(20);
    reader.releaseLock();
    await enc.readable.cancel();
  });

  it("cancelling the reader makes further writes fail", async () => {
    const enc = encryptStream({ keyring });
    const w = enc.writable.getWriter();
    await enc.readable.cancel(new Error("stop"));
    await expect(w.write(new Uint8Array(10_000))).rejects.toThrow(/cancelled/);
  });

  it("empty input and chunks of every awkward size give the one-shot result's plaintext back", async () => {
    for (const size of [0, 1, 4095, 4096, 4097, 3 * 4096, 100_000]) {
      const pt = new Uint8Array(randomBytes(size));
      for (const chunk of [1, 13, 4096, 70_000]) {
        if (size > 5000 && chunk === 1) continue;
        const enc = encryptStream({ keyring, frameLength: 4096 });
        const dec = decryptStream({ keyring });
        const piped = enc.readable.pipeTo(dec.writable);
        const parts: Uint8Array[] = [];
        const reading = (async () => { for await (const c of dec.readable as unknown as AsyncIterable<Uint8Array>) parts.push(c); })();
        const w = enc.writable.getWriter();
        for (let o = 0; o < size; o += chunk) await w.write(pt.subarray(o, o + chunk));
        await w.close();
        await Promise.all([piped, reading]);
        expect(Buffer.concat(parts).equals(Buffer.from(pt)), `size ${size}, chunk ${chunk}`).toBe(true);
      }
    }
    // One-shot and streamed messages have the same length.
    const pt = new Uint8Array(12_345);
    const one = (await encrypt(pt, { keyring })).result.length;
    const enc = encryptStream({ keyring });
    const w = enc.writable.getWriter();
    const out = (async () => { let n = 0; for await (const c of enc.readable as unknown as AsyncIterable<Uint8Array>) n += c.length; return n; })();
    await w.write(pt);
    await w.close();
    expect(await out).toBe(one);
  });

  it("decryption may reuse its write buffers: the header parsed in the first write keeps its own bytes", async () => {
    // The decryptor parses a header that arrives whole in one write in place (engine.ts pushHeader);
    // the header it reports, and the frames' AAD (the message id), must not be views of that write.
    const pt = new Uint8Array(randomBytes(300_000));
    for (const suite of [0x0478, 0x0578] as const) {
      const { result, header } = await encrypt(pt, { keyring, suite, frameLength: 4096, encryptionContext: { reuse: "buffer" } });
      const dec = decryptStream({ keyring });
      const parts: Uint8Array[] = [];
      const reading = (async () => { for await (const c of dec.readable as unknown as AsyncIterable<Uint8Array>) parts.push(c.slice()); })();
      const w = dec.writable.getWriter();
      const buf = new Uint8Array(64 * 1024); // one buffer for every write, as the CLI reads into two
      for (let o = 0; o < result.length; o += buf.length) {
        const n = Math.min(buf.length, result.length - o);
        buf.set(result.subarray(o, o + n));
        await w.write(buf.subarray(0, n));
        buf.fill(0xa5); // the writer reuses its buffer once the write resolved
      }
      await w.close();
      await reading;
      expect(Buffer.concat(parts).equals(Buffer.from(pt)), `suite ${suite}`).toBe(true);
      const got = await dec.header;
      expect(Buffer.from(got.messageId).equals(Buffer.from(header.messageId))).toBe(true);
      expect(got.encryptedDataKeys.map((k) => Buffer.from(k.ciphertext).toString("hex"))).toEqual(header.encryptedDataKeys.map((k) => Buffer.from(k.ciphertext).toString("hex")));
      expect(got.encryptionContext.reuse).toBe("buffer");
    }
  });
});
