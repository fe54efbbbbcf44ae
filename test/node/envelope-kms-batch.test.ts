// The KMS client's batch calls (src/envelope/kms-client.ts; docs/envelope.md, "Many messages: batch
// calls") against two fake KMS servers on loopback: one that answers like AWS KMS, which has no batch
// operations (UnknownOperationException for EdgeKMSBatch.*), and one that takes them as EdgeKMS does
// (docs/batch.md). Against AWS the client falls back to single calls after one refused batch, and
// every message still round-trips — also through the CLI; against the batching server concurrent
// calls go together, each entry keeps its own answer or its own error (the single call's), an error
// the single call would retry is retried alone, and no request passes the entry or body limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt, encrypt, CachingMaterialsManager } from "../../src/envelope/node.js";
import { KmsKeyring } from "../../src/envelope/kms-keyring.js";
import { KmsError, KmsHttpClient, kmsClientProvider, MAX_BATCH_BODY_BYTES } from "../../src/envelope/kms-client.js";

const ACCOUNT = "111122223333";
const arn = (id: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`;
const CREDS = { accessKeyId: "AKIAFAKEKMS000000001", secretAccessKey: "fake-kms-secret" };
const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

/** A fake KMS: data keys wrapped with AES-256-GCM under one server key, the key id and context as AAD. */
class FakeKms {
  readonly counts = new Map<string, number>();
  /** Entries per batch request received, and each request's body size. */
  readonly batches: Array<{ target: string; entries: number; bytes: number }> = [];
  /** Fail these many calls of a key with ThrottlingException (per entry in a batch), then answer. */
  throttle = new Map<string, number>();
  private readonly key = randomBytes(32);
  private server!: Server;
  url = "";
  constructor(readonly knowsBatch: boolean) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (b: Buffer) => parts.push(b));
      req.on("end", () => {
        const target = String(req.headers["x-amz-target"]);
        this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
        const body = Buffer.concat(parts);
        const answer = (status: number, json: unknown) => {
          res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify(json));
        };
        const input = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
        const [service, op] = target.split(".");
        if (service === "TrentService") {
          const r = this.op(op!, input);
          return "__type" in r ? answer(400, r) : answer(200, r);
        }
        if (service === "EdgeKMSBatch" && this.knowsBatch && op!.startsWith("Batch")) {
          const entries = input.Entries as Record<string, unknown>[];
          this.batches.push({ target, entries: entries.length, bytes: body.length });
          if (body.length > MAX_BATCH_BODY_BYTES || entries.length > 1000) return answer(400, { __type: "ValidationException", message: "batch too large" });
          return answer(200, {
            Results: entries.map((e, Index) => {
              const r = this.op(op!.slice(5), e);
              return "__type" in r ? { Index, ErrorCode: r.__type, ErrorMessage: r.message } : { Index, ...r };
            }),
          });
        }
        // As AWS answers an X-Amz-Target it does not know.
        answer(400, { __type: "com.amazon.coral.service#UnknownOperationException" });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  count(target: string): number {
    return this.counts.get(target) ?? 0;
  }

  private aad(keyId: string, ec: unknown): Buffer {
    const pairs = Object.entries((ec ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Buffer.from(JSON.stringify([keyId, pairs]));
  }

  private op(op: string, input: Record<string, unknown>): Record<string, unknown> {
    const keyId = String(input.KeyId ?? "");
    const id = keyId.replace(/^arn:.*:key\//, "");
    if (id.startsWith("denied")) return { __type: "AccessDeniedException", message: `User is not authorized to perform kms:${op} on ${arn(id)}` };
    const left = this.throttle.get(id) ?? 0;
    if (left > 0) {
      this.throttle.set(id, left - 1);
      return { __type: "ThrottlingException", message: "Rate exceeded" };
    }
    const wrap = (pt: Buffer) => {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", this.key, iv);
      c.setAAD(this.aad(arn(id), input.EncryptionContext));
      const ct = Buffer.concat([c.update(pt), c.final()]);
      return Buffer.concat([Buffer.from(`${id}|`), iv, ct, c.getAuthTag()]).toString("base64");
    };
    if (op === "GenerateDataKey") {
      const pt = randomBytes(Number(input.NumberOfBytes));
      return { KeyId: arn(id), Plaintext: pt.toString("base64"), CiphertextBlob: wrap(pt) };
    }
    if (op === "Encrypt") return { KeyId: arn(id), CiphertextBlob: wrap(Buffer.from(String(input.Plaintext), "base64")) };
    if (op === "Decrypt") {
      const blob = Buffer.from(String(input.CiphertextBlob), "base64");
      const bar = blob.indexOf("|");
      const owner = blob.subarray(0, bar).toString();
      if (owner !== id) return { __type: "IncorrectKeyException", message: "" };
      try {
        const d = createDecipheriv("aes-256-gcm", this.key, blob.subarray(bar + 1, bar + 13));
        d.setAAD(this.aad(arn(owner), input.EncryptionContext));
        d.setAuthTag(blob.subarray(blob.length - 16));
        const pt = Buffer.concat([d.update(blob.subarray(bar + 13, blob.length - 16)), d.final()]);
        return { KeyId: arn(owner), Plaintext: pt.toString("base64") };
      } catch {
        return { __type: "InvalidCiphertextException", message: "" };
      }
    }
    return { __type: "UnknownOperationException", message: "" };
  }
}

const aws = new FakeKms(false);
const edge = new FakeKms(true);
beforeAll(async () => {
  await aws.start();
  await edge.start();
});
afterAll(async () => {
  await aws.stop();
  await edge.stop();
});

function keyring(url: string, batch: boolean | { maxEntries?: number } = true, keys = ["gen", "second"]) {
  const client = kmsClientProvider({ endpoint: url, credentials: CREDS, batch });
  return { client, ring: new KmsKeyring({ generatorKeyId: arn(keys[0]!), keyIds: keys.slice(1).map(arn), client }) };
}

const messages = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(randomBytes(100 + i)));

describe("against AWS KMS (no batch operations)", () => {
  it("one refused batch, then single calls for every region of the endpoint; 40 messages round-trip", async () => {
    const { ring, client } = keyring(aws.url);
    const pts = messages(40);
    const sealed = await Promise.all(pts.map((pt, i) => encrypt(pt, { keyring: ring, encryptionContext: { n: String(i) } })));
    const back = await Promise.all(sealed.map((s) => decrypt(s.result, { keyring: ring })));
    back.forEach((b, i) => expect(Buffer.from(b.plaintext).equals(Buffer.from(pts[i]!))).toBe(true));
    sealed.forEach((s, i) => expect(s.header.encryptionContext.n).toBe(String(i)));
    // Every message has its own data key, wrapped under both keys.
    expect(new Set(sealed.map((s) => Buffer.from(s.header.encryptedDataKeys[0]!.ciphertext).toString("hex"))).size).toBe(40);
    const batchTries = [...aws.counts].filter(([t]) => t.startsWith("EdgeKMSBatch.")).reduce((n, [, c]) => n + c, 0);
    expect(batchTries).toBe(1);
    expect(aws.count("TrentService.GenerateDataKey")).toBe(40);
    expect(aws.count("TrentService.Encrypt")).toBe(40);
    expect(aws.count("TrentService.Decrypt")).toBe(40);
    expect((client("us-east-1") as KmsHttpClient).batchSupport.supported).toBe(false);
    expect((client("us-west-2") as KmsHttpClient).batchSupport.supported).toBe(false); // the same endpoint
  });

  it("the CLI over a directory: the same files back, one batch attempt, then single calls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-batch-aws-"));
    const src = join(dir, "src");
    mkdirSync(src);
    for (let i = 0; i < 25; i++) writeFileSync(join(src, `f${i}`), randomBytes(500 + i));
    const before = new Map(aws.counts);
    const delta = (t: string) => aws.count(t) - (before.get(t) ?? 0);
    const env = { ...process.env, HOME: dir, AWS_ENDPOINT_URL_KMS: aws.url, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey };
    const cli = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (b: Buffer) => (stderr += b));
      p.on("close", (code) => resolve({ code, stderr }));
    });
    const enc = await cli(["encrypt", "-r", "-i", src, "-o", join(dir, "enc"), "-w", `key=${arn("gen")}`, `key=${arn("second")}`, "-c", "app=fallback"]);
    expect(enc.code, enc.stderr).toBe(0);
    const dec = await cli(["decrypt", "-r", "-i", join(dir, "enc"), "-o", join(dir, "dec"), "-w", `key=${arn("second")}`, "-c", "app=fallback", "--suffix", ""]);
    expect(dec.code, dec.stderr).toBe(0);
    for (let i = 0; i < 25; i++) expect(readFileSync(join(dir, "dec", `f${i}.encrypted`)).equals(readFileSync(join(src, `f${i}`)))).toBe(true);
    expect(readdirSync(join(dir, "dec")).length).toBe(25);
    // Each process found out once (GenerateDataKey's batch on encrypt, Decrypt's on decrypt), then went single.
    expect(delta("EdgeKMSBatch.BatchGenerateDataKey") + delta("EdgeKMSBatch.BatchEncrypt")).toBeLessThanOrEqual(1);
    expect(delta("EdgeKMSBatch.BatchDecrypt")).toBeLessThanOrEqual(1);
    expect(delta("TrentService.GenerateDataKey")).toBe(25);
    expect(delta("TrentService.Encrypt")).toBe(25);
    expect(delta("TrentService.Decrypt")).toBe(25);
  });
});

describe("against a server with batch operations", () => {
  it("concurrent calls go together; each message its own data key and context; an entry's error is the single call's", async () => {
    const { ring } = keyring(edge.url);
    const batchesBefore = edge.batches.length;
    const pts = messages(60);
    const sealed = await Promise.all(pts.map((pt, i) => encrypt(pt, { keyring: ring, encryptionContext: { n: String(i) } })));
    const back = await Promise.all(sealed.map((s) => decrypt(s.result, { keyring: ring })));
    back.forEach((b, i) => expect(Buffer.from(b.plaintext).equals(Buffer.from(pts[i]!))).toBe(true));
    expect(new Set(sealed.map((s) => Buffer.from(s.header.encryptedDataKeys[1]!.ciphertext).toString("hex"))).size).toBe(60);
    const mine = edge.batches.slice(batchesBefore);
    // 60 messages × (GenerateDataKey, Encrypt, Decrypt): a handful of requests, not 180.
    expect(mine.reduce((n, b) => n + b.entries, 0)).toBeGreaterThanOrEqual(150);
    expect(mine.length).toBeLessThanOrEqual(12);

    // A denied key fails its messages alone, with the error a single call gives.
    const denied = keyring(edge.url, true, ["denied-1"]).ring;
    const single = keyring(edge.url, false, ["denied-1"]).ring;
    const results = await Promise.allSettled([
      ...messages(5).map((pt) => encrypt(pt, { keyring: ring })),
      ...messages(5).map((pt) => encrypt(pt, { keyring: denied })),
    ]);
    expect(results.slice(0, 5).every((r) => r.status === "fulfilled")).toBe(true);
    const alone = await encrypt(new Uint8Array(5), { keyring: single }).then(() => undefined, (e: Error) => e);
    expect(alone).toBeInstanceOf(KmsError);
    for (const r of results.slice(5)) {
      expect(r.status).toBe("rejected");
      const e = (r as PromiseRejectedResult).reason as KmsError;
      expect(e).toBeInstanceOf(KmsError);
      expect(e.name).toBe("AccessDeniedException");
      expect(e.message).toBe(alone!.message);
    }
  });

  it("an entry the single call would retry (ThrottlingException) is retried alone and succeeds", async () => {
    const { ring, client } = keyring(edge.url, true, ["busy"]);
    edge.throttle.set("busy", 1);
    const singlesBefore = edge.count("TrentService.GenerateDataKey");
    const sealed = await Promise.all(messages(8).map((pt) => encrypt(pt, { keyring: ring })));
    expect(sealed.length).toBe(8);
    expect(edge.count("TrentService.GenerateDataKey") - singlesBefore).toBeGreaterThanOrEqual(1);
    expect((client("us-east-1") as KmsHttpClient).batchSupport.supported).toBe(true);
  });

  it("no request passes the entry limit or 1 MiB of body: large encryption contexts split the batch", async () => {
    const { ring } = keyring(edge.url, { maxEntries: 25 }, ["big"]);
    const before = edge.batches.length;
    const ctx = { pad: "x".repeat(50_000) }; // ~50 KB per entry: at most ~20 in 1 MiB
    await Promise.all(messages(70).map((pt) => encrypt(pt, { keyring: ring, encryptionContext: ctx })));
    const mine = edge.batches.slice(before);
    expect(mine.length).toBeGreaterThanOrEqual(4); // 70 entries of ~50 KB: at least four requests of at most 1 MiB
    for (const b of mine) {
      expect(b.entries).toBeLessThanOrEqual(25);
      expect(b.bytes).toBeLessThanOrEqual(MAX_BATCH_BODY_BYTES);
    }
    expect(Math.max(...mine.map((b) => b.entries))).toBeGreaterThan(1);
    expect(Math.max(...mine.map((b) => b.bytes))).toBeGreaterThan(MAX_BATCH_BODY_BYTES / 2);
  });

  it("the caching materials manager still makes one data key for many concurrent messages", async () => {
    const { ring } = keyring(edge.url, true, ["cached"]);
    const cmm = new CachingMaterialsManager({ keyring: ring, maxAgeMs: 60_000, maxMessages: 10 });
    const before = [...edge.counts].reduce((n, [, c]) => n + c, 0);
    const batchedBefore = edge.batches.reduce((n, b) => n + b.entries, 0);
    const sealed = await Promise.all(messages(30).map((pt) => encrypt(pt, { materials: cmm, plaintextLength: pt.length })));
    const keys = sealed.map((s) => Buffer.from(s.header.encryptedDataKeys[0]!.ciphertext).toString("hex"));
    // Ten messages per data key, in the order the messages began: three data keys.
    expect(new Set(keys).size).toBe(3);
    expect(new Set(keys.slice(0, 10)).size).toBe(1);
    expect(new Set(keys.slice(10, 20)).size).toBe(1);
    const calls = [...edge.counts].reduce((n, [, c]) => n + c, 0) - before;
    const entries = edge.batches.reduce((n, b) => n + b.entries, 0) - batchedBefore;
    expect(calls).toBe(3); // three GenerateDataKey calls, one after the other (each waited for by the others)
    expect(entries).toBe(0);
  });
});
