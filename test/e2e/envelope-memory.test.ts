// A 200 MB file round-trips through `edgekms encrypt | decrypt` (unsigned 0x0478 and signed 0x0578)
// with the CLI process's peak resident set (getrusage ru_maxrss) under 100 MB each time: memory
// is bounded by the frame size, not the input size. And a large signed file in 64 KiB frames, whose
// signature the CLI hashes on a worker thread (docs/envelope.md, "Throughput and threads"), round-trips
// under 100 MB too, the worker included (the preload counts it), decrypts with the AWS Encryption SDK,
// and fails without output when a frame in its middle or its signature is modified.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { edgekmsMeasured, esdkKmsClient, newKeyArn, pseudoRandom, tempDir } from "./envelope-helpers.js";

const SIZE = 200 * 1024 * 1024;
const LIMIT = 100 * 1000 * 1000;

async function writeBig(path: string, size = SIZE): Promise<string> {
  const block = pseudoRandom(1 << 20, 99);
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  for (let done = 0; done < size; ) {
    const n = Math.min(block.length, size - done);
    block[0] = done & 0xff; // no two blocks alike
    block[1] = (done >> 8) & 0xff;
    block[2] = (done >> 16) & 0xff;
    const chunk = block.subarray(0, n);
    hash.update(chunk);
    if (!out.write(Buffer.from(chunk))) await once(out, "drain");
    done += n;
  }
  out.end();
  await once(out, "finish");
  return hash.digest("hex");
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest("hex");
}

describe("edgekms envelope CLI: memory bounded by the frame size", () => {
  for (const suite of ["0x0478", "0x0578"]) {
    it(`${suite}: 200 MB encrypt and decrypt, each with peak RSS under 100 MB`, { timeout: 600_000 }, async () => {
      const key = await newKeyArn();
      const dir = tempDir();
      const input = join(dir, "big.bin");
      const digest = await writeBig(input);
      try {
        const enc = await edgekmsMeasured(["encrypt", "-i", input, "-o", join(dir, "big.enc"), "-w", `key=${key}`, "--algorithm", suite]);
        expect(enc.code, enc.stderr).toBe(0);
        expect(statSync(join(dir, "big.enc")).size).toBeGreaterThan(SIZE);
        const dec = await edgekmsMeasured(["decrypt", "-i", join(dir, "big.enc"), "-o", join(dir, "big.out"), "-w", `key=${key}`]);
        expect(dec.code, dec.stderr).toBe(0);
        expect(await sha256(join(dir, "big.out"))).toBe(digest);
        console.log(`${suite}: peak RSS encrypt ${(enc.maxRssBytes / 1e6).toFixed(1)} MB, decrypt ${(dec.maxRssBytes / 1e6).toFixed(1)} MB`);
        expect(enc.maxRssBytes).toBeGreaterThan(10e6); // measured at all
        expect(enc.maxRssBytes).toBeLessThan(LIMIT);
        expect(dec.maxRssBytes).toBeLessThan(LIMIT);
        expect([enc.workers, dec.workers]).toEqual([0, 0]); // 4 KiB frames: the hash stays on the calling thread
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("edgekms envelope CLI: a large signed file in 64 KiB frames (the signature hashed on a worker thread)", () => {
  it("0x0578, 80 MiB: round trip under 100 MB with the worker, the SDK decrypts it, a modified frame or signature fails with no output", { timeout: 600_000 }, async () => {
    const key = await newKeyArn();
    const dir = tempDir();
    const size = 80 * 1024 * 1024 + 1234; // 1280 frames of 64 KiB and a final frame of 1234 bytes
    const input = join(dir, "big.bin");
    try {
      const digest = await writeBig(input, size);
      const encPath = join(dir, "big.enc");
      const enc = await edgekmsMeasured(["encrypt", "-i", input, "-o", encPath, "-w", `key=${key}`, "--algorithm", "0x0578", "--frame-length", "65536"]);
      expect(enc.code, enc.stderr).toBe(0);
      const dec = await edgekmsMeasured(["decrypt", "-i", encPath, "-o", join(dir, "big.out"), "-w", `key=${key}`]);
      expect(dec.code, dec.stderr).toBe(0);
      expect(await sha256(join(dir, "big.out"))).toBe(digest);
      console.log(`0x0578, 64 KiB frames, 80 MiB: peak RSS encrypt ${(enc.maxRssBytes / 1e6).toFixed(1)} MB, decrypt ${(dec.maxRssBytes / 1e6).toFixed(1)} MB`);
      // 80 MiB ≥ the CLI's 64 MiB threshold (SIGNATURE_WORKER_BYTES) in frames ≥ 16 KiB: both ran the hash worker.
      expect([enc.workers, dec.workers]).toEqual([1, 1]);
      expect(enc.maxRssBytes).toBeLessThan(LIMIT);
      expect(dec.maxRssBytes).toBeLessThan(LIMIT);
      rmSync(join(dir, "big.out"));
      const message = readFileSync(encPath);
      const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const { plaintext } = await esdk.decrypt(new KmsKeyringNode({ keyIds: [key], clientProvider: esdkKmsClient }), message);
      expect(createHash("sha256").update(plaintext).digest("hex")).toBe(digest);
      // Frame 700 (in the middle of the message and of a 1 MiB slice); the last byte of the signature.
      const headerLength = message.length - 1280 * (65536 + 32) - (24 + 1234 + 16) - footerLength(message);
      for (const [name, at, why] of [
        ["frame", headerLength + 699 * (65536 + 32) + 16 + 5000, /frame 700: the authentication tag does not verify/],
        ["signature", message.length - 1, /signature/i],
      ] as const) {
        const bad = Buffer.from(message);
        bad[at] ^= 0x04;
        const f = join(dir, `${name}.enc`);
        writeFileSync(f, bad);
        const out = join(dir, `${name}.out`);
        const r = await edgekmsMeasured(["decrypt", "-i", f, "-o", out, "-w", `key=${key}`]);
        expect(r.code, name).toBe(1);
        expect(r.stderr, name).toMatch(why);
        expect(r.stderr, name).toMatch(/no output written/);
        expect(existsSync(out), name).toBe(false);
      }
      expect(readdirSync(dir).filter((n) => n.includes("edgekms-partial"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The signature footer's length: a 2-byte length, then a DER signature (0x30 …). */
function footerLength(m: Buffer): number {
  for (let n = 110; n >= 96; n--) if (m.readUInt16BE(m.length - n - 2) === n && m[m.length - n] === 0x30) return n + 2;
  throw new Error("no footer found");
}
