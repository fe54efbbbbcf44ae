// A 200 MB file round-trips through `edgekms encrypt | decrypt` (unsigned 0x0478 and signed 0x0578)
// with the CLI process's peak resident set (getrusage ru_maxrss) under 100 MB each time: memory
// is bounded by the frame size, not the input size.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { edgekmsMeasured, newKeyArn, pseudoRandom, tempDir } from "./envelope-helpers.js";

const SIZE = 200 * 1024 * 1024;
const LIMIT = 100 * 1000 * 1000;

async function writeBig(path: string): Promise<string> {
  const block = pseudoRandom(1 << 20, 99);
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  for (let done = 0; done < SIZE; ) {
    const n = Math.min(block.length, SIZE - done);
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
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
