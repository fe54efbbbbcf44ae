// npm run bench:envelope — envelope encryption throughput and peak memory: edgekms/envelope (node:crypto
// AES, and the WASM core's AES for comparison) and the `edgekms` CLI against the AWS Encryption SDK for
// JavaScript (@aws-crypto/client-node), 1 GiB encrypt and decrypt, suites 0x0478 and 0x0578, the same
// frame length, KMS keyrings on the same server (npm run serve's, in memory). Each run is its own
// process (bench/envelope-child.mjs; for the CLI rows, the CLI), streaming file to file on tmpfs (/dev/shm when present), timed from the first byte to the
// last (one GenerateDataKey or Decrypt call to the server included); its peak resident set is the
// process's getrusage ru_maxrss. Prints Markdown tables.
//   BENCH_MIB (default 1024), BENCH_FRAMES (default 4096,65536), BENCH_SMALL_MIB (default 128: the
//   input size of the memory-flatness rows), BENCH_IMPLS (default ours,wasm,cli,esdk), BENCH_SUITES
//   (default 0x0478,0x0578), BENCH_ROUNDS (default 1), BENCH_OUTPUT (new: every run writes a new file).
// The library's and the SDK's runs write over an output file made before the first round (the CLI's,
// which renames a temporary file over its output, write new files): on this VM a new file's pages
// cost whatever the host charges to back them again, 0.3-2.2 GB/s for the same copy
// (docs/benchmarks.md, "Output written in place").
// The implementations of a row run in turn, round after round (BENCH_ROUNDS): on a shared machine the
// load changes from minute to minute, so each ratio to the SDK is taken within one round (the same
// minutes) and the tables give the median over the rounds, with the 1-minute load average seen
// during the row's runs and, per run, the share of the machine's CPU time its host took for other
// guests (steal, /proc/stat): the VM's speed follows it. For the signed suite 0x0578 each round
// also hashes the input with SHA-384 on one thread, timed inside the hash only ("SHA-384 alone"):
// every byte of a signed message goes through that one hash in order, so its rate over the SDK's
// is the highest ratio any implementation can reach in that round.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { once } from "node:events";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuTimes, spread, stealPercent, table } from "./harness.ts";
import { BENCH_VARS as VARS, freePort } from "./wrk.ts";

/** One run in its own process: plain JavaScript, so that no TypeScript stripping (amaro) weighs on its memory. */
const CHILD = fileURLToPath(new URL("./envelope-child.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/cli/edgekms.js");
const CREDS = { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
type Impl = "ours" | "wasm" | "cli" | "esdk";
/** The signed suite's bound (envelope-child.mjs "sha384"): one thread's SHA-384 of the input, hash time only. */
const SIGNED = 0x0578;
type Op = "encrypt" | "decrypt";
interface Result { seconds: number; bytes: number; maxRssKB: number }

const IMPL_NAMES: Record<Impl, string> = {
  ours: "edgekms/envelope (node:crypto)",
  wasm: "edgekms/envelope (WASM AES)",
  cli: "edgekms CLI",
  esdk: "@aws-crypto/client-node 5.0.2",
};

// ---------------------------------------------------------------------------------------------
// Parent

function run(cmd: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, cmd, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (b) => (out += b));
    p.stderr.on("data", (b) => (err += b));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd.slice(0, 4).join(" ")} exited ${code}: ${err.slice(0, 2000)}`))));
  });
}

async function runOne(impl: Impl, op: Op, suite: number, frame: number, url: string, keyArn: string, input: string, output: string): Promise<Result> {
  if (impl !== "cli") {
    const env = { ...process.env, BENCH_ACCESS_KEY_ID: CREDS.accessKeyId, BENCH_SECRET_ACCESS_KEY: CREDS.secretAccessKey };
    return JSON.parse(await run([CHILD, impl, op, String(suite), String(frame), url, keyArn, input, output], env));
  }
  // The CLI: wall time of the process (start-up included), peak RSS from a preloaded exit hook.
  const rss = join(mkdtempSync(join(tmpdir(), "edgekms-bench-rss-")), "kb");
  const preload = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(rss)},String(process.resourceUsage().maxRSS)))`;
  const args = op === "encrypt"
    ? ["encrypt", "-i", input, "-o", output, "-w", `key=${keyArn}`, "--algorithm", `0x${suite.toString(16).padStart(4, "0")}`, "--frame-length", String(frame)]
    : ["decrypt", "-i", input, "-o", output, "-w", `key=${keyArn}`];
  const t = performance.now();
  await run(["--import", preload, CLI, ...args, "-q"], { ...process.env, AWS_ENDPOINT_URL_KMS: url, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, HOME: tmpdir() });
  const seconds = (performance.now() - t) / 1000;
  const r = { seconds, bytes: statSync(op === "encrypt" ? input : output).size, maxRssKB: Number(readFileSync(rss, "utf8")) };
  rmSync(rss, { force: true });
  return r;
}

async function makeInput(path: string, bytes: number): Promise<string> {
  const block = Buffer.alloc(1 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    block.writeInt32LE(x | 0, i);
  }
  const h = createHash("sha256");
  const out = createWriteStream(path);
  for (let done = 0, i = 0; done < bytes; i++) {
    block.writeUInt32LE(i, 0); // every MiB differs
    const chunk = Buffer.from(block.subarray(0, Math.min(block.length, bytes - done)));
    h.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
    done += chunk.length;
  }
  out.end();
  await once(out, "finish");
  return h.digest("hex");
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest("hex");
}

/** A file of `bytes` zero bytes, its pages made now: the library and SDK runs write their output over it in place. */
function preallocate(path: string, bytes: number): void {
  const zeros = Buffer.alloc(1 << 20);
  const fd = openSync(path, "w");
  try {
    for (let done = 0; done < bytes; done += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - done));
  } finally {
    closeSync(fd);
  }
}

const rate = (r: Result) => r.bytes / 1e6 / r.seconds;
const mb = (kb: number) => (kb / 1024).toFixed(0);

async function parent(): Promise<void> {
  const MIB = Number(process.env.BENCH_MIB ?? 1024);
  const SMALL_MIB = Number(process.env.BENCH_SMALL_MIB ?? 128);
  const FRAMES = (process.env.BENCH_FRAMES ?? "4096,65536").split(",").map(Number);
  const IMPLS = (process.env.BENCH_IMPLS ?? "ours,wasm,cli,esdk").split(",") as Impl[];
  const SUITES = (process.env.BENCH_SUITES ?? "0x0478,0x0578").split(",").map(Number);
  const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  // new: every run writes a new output file, as the CLI always does (docs/benchmarks.md, "Output written in place").
  const FRESH = process.env.BENCH_OUTPUT === "new";
  if (!existsSync(join(ROOT, "dist/envelope/node.js"))) throw new Error("dist/envelope is missing: npm run build first (npm run bench:envelope does)");
  // @ts-expect-error: plain ESM script without types
  const { startServer } = await import("../scripts/serve.mjs");
  const { url, mf } = await startServer({ port: await freePort(), persist: false, vars: VARS });
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = mkdtempSync(join(base, "edgekms-bench-envelope-"));
  try {
    const { KMSClient, CreateKeyCommand } = await import("@aws-sdk/client-kms");
    const kms = new KMSClient({ endpoint: url, region: "us-east-1", credentials: CREDS });
    const keyArn = (await kms.send(new CreateKeyCommand({ Description: "bench envelope" }))).KeyMetadata!.Arn!;
    const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
    console.log(`# bench:envelope — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${cpu}, Node ${process.versions.node}, ${MIB} MiB, tmpfs ${base}, ${ROUNDS} round${ROUNDS > 1 ? "s" : ""}\n`);

    const rows: string[][] = [];
    const ratio: string[][] = [];
    const flat: string[][] = [];
    const sizes = [MIB, ...(SMALL_MIB && SMALL_MIB !== MIB ? [SMALL_MIB] : [])];
    for (const size of sizes) {
      const plain = join(dir, `plain-${size}`);
      const digest = await makeInput(plain, size * 1048576);
      // The in-place outputs: the plaintext's size, and the ciphertext's with room for headers, tags and a signature.
      if (!FRESH) {
        preallocate(join(dir, "ct"), Math.ceil(size * 1048576 * 1.01) + 1048576);
        preallocate(join(dir, "pt"), size * 1048576);
      }
      for (const frame of size === MIB ? FRAMES : [FRAMES[0]]) {
        for (const suite of SUITES) {
          const impls = IMPLS.filter((impl) => !(size !== MIB && impl !== "ours" && impl !== "esdk") && !(impl === "wasm" && frame !== FRAMES[0]));
          const got = new Map<Impl, { enc: Result; dec: Result; steal: string }[]>(impls.map((i) => [i, []]));
          const loads: number[] = [];
          const hashed: Result[] = [];
          for (let round = 0; round < (size === MIB ? ROUNDS : 1); round++) {
            for (const impl of impls) {
              loads.push(loadavg()[0]!);
              const cpuBefore = cpuTimes();
              // The CLI writes a temporary file and renames it over its output, so its runs always make new pages.
              const fresh = FRESH || impl === "cli";
              const [ct, pt] = fresh ? [join(dir, "ct-new"), join(dir, "pt-new")] : [join(dir, "ct"), join(dir, "pt")];
              const enc = await runOne(impl, "encrypt", suite, frame, url, keyArn, plain, ct);
              const dec = await runOne(impl, "decrypt", suite, frame, url, keyArn, ct, pt);
              loads.push(loadavg()[0]!);
              const steal = stealPercent(cpuBefore, cpuTimes());
              if ((await sha256(pt)) !== digest) throw new Error(`${impl} ${hex(suite)}: the decrypted file differs from the input`);
              if (fresh) {
                rmSync(ct, { force: true });
                rmSync(pt, { force: true });
              }
              got.get(impl)!.push({ enc, dec, steal });
              process.stderr.write(`${size} MiB ${hex(suite)} frame ${frame} ${impl} round ${round + 1}: encrypt ${rate(enc).toFixed(1)} MB/s, ${mb(enc.maxRssKB)} MB; decrypt ${rate(dec).toFixed(1)} MB/s, ${mb(dec.maxRssKB)} MB; load ${loadavg()[0]!.toFixed(2)}; CPU taken by the host ${steal}\n`);
            }
            if (suite === SIGNED && size === MIB && impls.includes("esdk")) {
              const env = { ...process.env, BENCH_ACCESS_KEY_ID: "", BENCH_SECRET_ACCESS_KEY: "" };
              const h: Result = JSON.parse(await run([CHILD, "sha384", "encrypt", String(suite), String(frame), url, keyArn, plain, join(dir, "ct")], env));
              hashed.push(h);
              process.stderr.write(`${size} MiB ${hex(suite)} frame ${frame} SHA-384 alone round ${round + 1}: ${rate(h).toFixed(1)} MB/s\n`);
            }
          }
          const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
          for (const impl of impls) {
            const runs = got.get(impl)!;
            const peak = (k: "enc" | "dec") => mb(Math.max(...runs.map((r) => r[k].maxRssKB)));
            if (size === MIB) rows.push([hex(suite), String(frame), IMPL_NAMES[impl], spread(runs.map((r) => rate(r.enc))), spread(runs.map((r) => rate(r.dec))), peak("enc"), peak("dec"), load, runs.map((r) => r.steal).join(", ")]);
            else flat.push([hex(suite), IMPL_NAMES[impl], `${size} MiB`, peak("enc"), peak("dec")]);
          }
          const esdk = got.get("esdk");
          if (size === MIB && esdk) {
            for (const impl of impls.filter((i) => i !== "esdk")) {
              const runs = got.get(impl)!;
              // Within each round: the same minutes of the machine's load.
              const x = (k: "enc" | "dec") => spread(runs.map((r, i) => rate(r[k]) / rate(esdk[i]![k])), 2, "×");
              ratio.push([hex(suite), String(frame), IMPL_NAMES[impl], x("enc"), x("dec"), load, runs.map((r, i) => `${r.steal}/${esdk[i]!.steal}`).join(", ")]);
            }
            if (hashed.length) {
              // No signed message can be made or checked faster than its one SHA-384: this is the most any implementation can reach.
              const x = (k: "enc" | "dec") => spread(hashed.map((h, i) => rate(h) / rate(esdk[i]![k])), 2, "×");
              rows.push([hex(suite), String(frame), "SHA-384 alone (the bound)", spread(hashed.map(rate)), "same", "–", "–", load, "–"]);
              ratio.push([hex(suite), String(frame), "SHA-384 alone (the bound)", x("enc"), x("dec"), load, "–"]);
            }
          }
        }
      }
      for (const f of [plain, join(dir, "ct"), join(dir, "pt")]) rmSync(f, { force: true });
    }
    console.log(`### ${MIB} MiB, file to file on tmpfs (${FRESH ? "every run to a new file" : "the library and the SDK writing over a file made beforehand, the CLI to a new file"})\n`);
    table(["suite", "frame", "implementation", "encrypt MB/s", "decrypt MB/s", "encrypt peak RSS MB", "decrypt peak RSS MB", "load avg", "CPU taken by the host, per run"], rows);
    console.log(`\n### Against the AWS Encryption SDK (throughput ratio, same suite and frame${ROUNDS > 1 ? ", median of the rounds' ratios (range)" : ""})\n`);
    table(["suite", "frame", "implementation", "encrypt", "decrypt", "load avg", "CPU taken by the host, per round (this one/the SDK)"], ratio);
    if (flat.length) {
      console.log(`\n### Peak RSS against input size (frame ${FRAMES[0]}): ${SMALL_MIB} MiB beside the ${MIB} MiB rows above\n`);
      const big = new Map(rows.filter((r) => r[1] === String(FRAMES[0])).map((r) => [`${r[0]}|${r[2]}`, r]));
      table(["suite", "implementation", `peak RSS ${SMALL_MIB} MiB enc / dec`, `peak RSS ${MIB} MiB enc / dec`],
        flat.map((f) => { const b = big.get(`${f[0]}|${f[1]}`); return [f[0], f[1], `${f[3]} / ${f[4]}`, b ? `${b[5]} / ${b[6]}` : "–"]; }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await mf.dispose();
  }
}

const hex = (s: number) => `0x${s.toString(16).padStart(4, "0")}`;

await parent();
