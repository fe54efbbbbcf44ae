// Shared by the envelope e2e tests: the built CLI (dist/cli/edgekms.js) run against the e2e server,
// KMS keys, and a KMS client for the AWS Encryption SDK's KmsKeyringNode.
import { inject } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient, rememberSecrets } from "./client.js";

export const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

/** A fresh directory under the system temp dir. */
export function tempDir(tag = "edgekms-envelope-"): string {
  return mkdtempSync(join(tmpdir(), tag));
}

/** An empty HOME, so that no ~/.aws of the machine is read. */
const HOME = tempDir("edgekms-envelope-home-");

export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME,
    AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"),
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: E2E.accessKeyId,
    AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey,
    ...extra,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

export interface Run { code: number; stdout: Buffer; stderr: string }

/** Runs `edgekms <args>` to completion (stdin from `input` when given). */
export function edgekms(args: string[], o: { input?: Uint8Array | string; env?: Record<string, string | undefined> } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: cliEnv(o.env), input: o.input, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

/**
 * Runs the CLI asynchronously (the event loop stays free) and reports the child's peak resident set
 * (getrusage ru_maxrss, written at exit by a preloaded module) in bytes, and how many worker threads
 * it started (the preload counts the constructions of node:worker_threads' Worker, which the
 * signature's hash worker uses; docs/envelope.md, "Throughput and threads").
 */
export function edgekmsMeasured(args: string[]): Promise<Run & { maxRssBytes: number; workers: number }> {
  const rssFile = join(tempDir("edgekms-envelope-rss-"), "maxrss");
  const preload = "data:text/javascript," + encodeURIComponent(`import { writeFileSync } from "node:fs";
    const wt = process.getBuiltinModule("node:worker_threads");
    let workers = 0;
    const W = wt.Worker;
    wt.Worker = class extends W { constructor(...a) { super(...a); workers++; } };
    process.on("exit", () => writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify({ kb: process.resourceUsage().maxRSS, workers })));`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", preload, CLI, ...args], { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      let kb = NaN, workers = NaN;
      try {
        ({ kb, workers } = JSON.parse(readFileSync(rssFile, "utf8")) as { kb: number; workers: number });
      } catch {
        /* the child died before its exit handler */
      }
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err, maxRssBytes: kb * 1024, workers });
    });
  });
}

/** Every file under dir, relative, sorted. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, rel + n + "/");
      else out.push(rel + n);
    }
  };
  walk(dir, "");
  return out;
}

export function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

/** A symmetric key in the region; its ARN. */
export async function newKeyArn(region = "us-east-1", description = "envelope e2e"): Promise<string> {
  const r = await kmsClient(region).send(new K.CreateKeyCommand({ Description: description }));
  return r.KeyMetadata!.Arn!;
}

/**
 * The AWS SDK's aggregated KMS client (what KmsKeyringNode calls: generateDataKey, encrypt,
 * decrypt) against the e2e server, remembering every plaintext (data key) it sends or receives
 * for the suite's audit scan, as test/e2e/client.ts does.
 */
export function esdkKmsClient(region: string): K.KMS {
  return rememberSecrets(new K.KMS({ endpoint: inject("kmsEndpoint"), region, credentials: { accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey }, maxAttempts: 1 }));
}

/** Deterministic bytes that do not compress (xorshift), so sizes and frames are realistic. */
export function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The metadata lines of a --metadata-output file or stdout. */
export function metadata(text: string): Array<{
  mode: string; input: string; output: string; wrapping_keys: string[]; bytes_in: number; bytes_out: number;
  header: { version: number; algorithm: string; algorithm_id: string; message_id: string; encryption_context: Record<string, string>; frame_length: number; content_type: number; encrypted_data_keys: { key_provider: { provider_id: string; key_info: string }; encrypted_data_key: string }[] };
}> {
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}
