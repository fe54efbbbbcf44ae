// `edgekms encrypt -r` / `decrypt -r` over a directory of many small files against the e2e server
// (issue 15): the KMS calls of many files go together as EdgeKMS batch requests (docs/batch.md;
// docs/envelope.md, "Many messages: batch calls"). A counting proxy between the CLI and the server
// counts the requests (and hands every data key it sees to the suite's audit scan). With two
// wrapping keys and an encryption context: far fewer requests than files, every file its own data
// key, both encrypted data keys and the context, the metadata as without batching, the AWS
// Encryption SDK decrypts the files; --no-batch makes the single calls; a file whose key is
// disabled fails alone and leaves no output.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { spawn } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
import { buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { kmsClient } from "./client.js";
import { remember } from "./secrets.js";
import { CLI, cliEnv, esdkKmsClient, metadata, newKeyArn, pseudoRandom, tempDir, tree } from "./envelope-helpers.js";

const FILES = 300;

/** Forwards to the e2e server; counts requests by X-Amz-Target and the entries of batch requests. */
class CountingProxy {
  counts = new Map<string, number>();
  entries = new Map<string, number>();
  private server!: Server;
  url = "";

  async start(upstream: string): Promise<void> {
    const up = new URL(upstream);
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (b: Buffer) => parts.push(b));
      req.on("end", () => {
        const body = Buffer.concat(parts);
        const target = String(req.headers["x-amz-target"]);
        this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
        const input = JSON.parse(body.toString() || "{}") as { Entries?: Array<{ Plaintext?: string }>; Plaintext?: string };
        if (input.Entries) this.entries.set(target, (this.entries.get(target) ?? 0) + input.Entries.length);
        for (const e of input.Entries ?? [input]) if (e.Plaintext) remember(Buffer.from(e.Plaintext, "base64"));
        const fwd = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          const out: Buffer[] = [];
          r.on("data", (b: Buffer) => out.push(b));
          r.on("end", () => {
            const answer = Buffer.concat(out);
            try {
              const json = JSON.parse(answer.toString()) as { Results?: Array<{ Plaintext?: string }>; Plaintext?: string };
              for (const x of json.Results ?? [json]) if (x.Plaintext) remember(Buffer.from(x.Plaintext, "base64"));
            } catch {
              /* not JSON */
            }
            res.writeHead(r.statusCode ?? 502, r.headers);
            res.end(answer);
          });
        });
        fwd.on("error", () => res.destroy());
        fwd.end(body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  reset(): void {
    this.counts = new Map();
    this.entries = new Map();
  }

  total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const proxy = new CountingProxy();
let a: string, b: string;

beforeAll(async () => {
  await proxy.start(inject("kmsEndpoint"));
  [a, b] = [await newKeyArn(), await newKeyArn()];
});
afterAll(() => proxy.stop());

/** Runs the CLI (asynchronously: the proxy lives in this process's event loop) through the proxy. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: cliEnv({ AWS_ENDPOINT_URL_KMS: proxy.url }), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.on("data", (x: Buffer) => (stdout += x));
    p.stderr.on("data", (x: Buffer) => (stderr += x));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** FILES files of 1 KiB (one empty) in three directories. */
function smallTree(): string {
  const src = tempDir("edgekms-batch-src-");
  for (const d of ["", "x", "x/y"]) mkdirSync(join(src, d), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, ["", "x", "x/y"][i % 3]!, `f${i}.bin`), pseudoRandom(i === 7 ? 0 : 1024, i + 1));
  return src;
}

describe("edgekms encrypt -r / decrypt -r: batch calls", () => {
  it(`${FILES} files, two wrapping keys, a context: a few batch requests; every file its own data key; the SDK decrypts them`, { timeout: 300_000 }, async () => {
    const src = smallTree();
    const enc = join(tempDir(), "enc");
    const meta = join(tempDir(), "meta.jsonl");
    proxy.reset();
    const e = await cli(["encrypt", "-r", "-i", src, "-o", enc, "-w", `key=${a}`, `key=${b}`, "-c", "project=batch", "tier=1", "--metadata-output", meta]);
    expect(e.code, e.stderr).toBe(0);
    const encRequests = proxy.total();
    console.log(`encrypt ${FILES} files, 2 keys: ${encRequests} requests`, Object.fromEntries(proxy.counts), "entries", Object.fromEntries(proxy.entries));
    // 600 single calls (GenerateDataKey and Encrypt per file) without batching.
    expect(encRequests).toBeLessThan(FILES / 10);
    expect(proxy.entries.get("EdgeKMSBatch.BatchGenerateDataKey")! + (proxy.counts.get("TrentService.GenerateDataKey") ?? 0)).toBe(FILES);
    expect(proxy.entries.get("EdgeKMSBatch.BatchEncrypt")! + (proxy.counts.get("TrentService.Encrypt") ?? 0)).toBe(FILES);

    const lines = metadata(readFileSync(meta, "utf8"));
    expect(lines.length).toBe(FILES);
    expect(lines.map((l) => l.input)).toEqual(tree(src).map((f) => join(src, f))); // file order, as without batching
    for (const l of lines) {
      expect(l.mode).toBe("encrypt");
      expect(l.wrapping_keys).toEqual([a, b]);
      expect(l.header.encryption_context).toEqual({ project: "batch", tier: "1" });
      expect(l.bytes_out).toBeGreaterThan(l.bytes_in);
    }
    // Each file its own data key: every encrypted data key (under either key) differs.
    const edks = lines.flatMap((l) => l.header.encrypted_data_keys.map((k) => k.encrypted_data_key));
    expect(new Set(edks).size).toBe(2 * FILES);

    // The AWS Encryption SDK decrypts them (a sample across the directories), with either key.
    const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    for (const i of [0, 1, 2, 7, 150, 299]) {
      const rel = `${["", "x/", "x/y/"][i % 3]}f${i}.bin`;
      const key = i % 2 ? b : a;
      const { plaintext, messageHeader } = await esdk.decrypt(new KmsKeyringNode({ keyIds: [key], clientProvider: esdkKmsClient }), readFileSync(join(enc, `${rel}.encrypted`)));
      expect(Buffer.from(plaintext).equals(readFileSync(join(src, rel))), rel).toBe(true);
      expect(messageHeader.encryptionContext).toMatchObject({ project: "batch", tier: "1" });
    }

    // And back with the CLI: the Decrypt calls batched too.
    const back = join(tempDir(), "back");
    proxy.reset();
    const d = await cli(["decrypt", "-r", "-i", enc, "-o", back, "-w", `key=${b}`, "-c", "project=batch", "--suffix", ".plain"]);
    expect(d.code, d.stderr).toBe(0);
    console.log(`decrypt ${FILES} files: ${proxy.total()} requests`, Object.fromEntries(proxy.counts));
    expect(proxy.total()).toBeLessThan(FILES / 10);
    expect(proxy.entries.get("EdgeKMSBatch.BatchDecrypt")! + (proxy.counts.get("TrentService.Decrypt") ?? 0)).toBe(FILES);
    for (const f of tree(src)) expect(readFileSync(join(back, `${f}.encrypted.plain`)).equals(readFileSync(join(src, f))), f).toBe(true);
  });

  it("--no-batch makes the single calls, and writes the same metadata", { timeout: 120_000 }, async () => {
    const src = tempDir("edgekms-batch-nobatch-");
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `g${i}`), pseudoRandom(300, 1000 + i));
    proxy.reset();
    const meta = join(tempDir(), "meta.jsonl");
    const r = await cli(["encrypt", "-r", "-i", src, "-o", join(tempDir(), "out"), "-w", `key=${a}`, `key=${b}`, "--no-batch", "--metadata-output", meta]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.fromEntries(proxy.counts)).toEqual({ "TrentService.GenerateDataKey": 20, "TrentService.Encrypt": 20 });
    const batched = join(tempDir(), "meta2.jsonl");
    expect((await cli(["encrypt", "-r", "-i", src, "-o", join(tempDir(), "out2"), "-w", `key=${a}`, `key=${b}`, "--metadata-output", batched])).code).toBe(0);
    // The same fields and values, apart from what differs per message (ids, data keys) and the output path.
    const shape = (file: string) => metadata(readFileSync(file, "utf8")).map((l) => ({ ...l, output: "", header: { ...l.header, message_id: "", encrypted_data_keys: l.header.encrypted_data_keys.map((k) => ({ ...k, encrypted_data_key: "" })) } }));
    expect(shape(batched)).toEqual(shape(meta));
  });

  it("a file whose key is disabled fails alone, with the single call's error, and leaves no output", { timeout: 120_000 }, async () => {
    const doomed = await newKeyArn();
    const src = tempDir("edgekms-batch-mixed-");
    const enc = join(tempDir(), "enc");
    mkdirSync(enc);
    for (let i = 0; i < 12; i++) writeFileSync(join(src, `h${i}`), pseudoRandom(700, 2000 + i));
    // h3 and h8 under the doomed key, the others under a.
    for (const [keys, names] of [[doomed, ["h3", "h8"]], [a, readdirSync(src).filter((n) => n !== "h3" && n !== "h8")]] as const) {
      const one = tempDir("edgekms-batch-part-");
      for (const n of names) writeFileSync(join(one, n), readFileSync(join(src, n)));
      const r = await cli(["encrypt", "-r", "-i", one, "-o", enc, "-w", `key=${keys}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    await kmsClient().send(new K.DisableKeyCommand({ KeyId: doomed }));
    const back = join(tempDir(), "back");
    proxy.reset();
    const d = await cli(["decrypt", "-r", "-i", enc, "-o", back, "-w", "discovery=true"]);
    expect(d.code).toBe(1);
    expect(proxy.counts.get("EdgeKMSBatch.BatchDecrypt")).toBeGreaterThanOrEqual(1);
    const failed = d.stderr.split("\n").filter(Boolean);
    expect(failed.length, d.stderr).toBe(2);
    for (const n of ["h3", "h8"]) {
      const line = failed.find((l) => l.includes(`${n}.encrypted:`));
      expect(line, d.stderr).toMatch(/DisabledException/);
      expect(line).toMatch(/\(no output written\)$/);
    }
    expect(tree(back)).toEqual(readdirSync(src).filter((n) => n !== "h3" && n !== "h8").map((n) => `${n}.encrypted.decrypted`).sort());
    expect(readdirSync(back).filter((n) => n.includes("edgekms-partial"))).toEqual([]);
    // The same error as a single call gives it.
    const alone = await cli(["decrypt", "-i", join(enc, "h3.encrypted"), "-o", join(tempDir(), "h3"), "-w", "discovery=true"]);
    expect(alone.code).toBe(1);
    const tail = (s: string) => s.slice(s.indexOf("h3.encrypted:"));
    expect(tail(failed.find((l) => l.includes("h3.encrypted:"))!)).toBe(tail(alone.stderr.trim()));
  });
});
