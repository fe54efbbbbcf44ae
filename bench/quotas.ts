// npm run bench:quotas — what request-rate quotas cost and how accurate they are (issue 15,
// docs/quotas.md; tables in docs/benchmarks.md, "Quotas"):
// (1) accuracy: N isolates running the Worker's own limiter (src/quota/limiter.ts) against one
//     counter, simulated in Node on virtual time (bench/quota-sim.ts): how far over a quota a
//     burst or an overload across isolates gets, and how much is throttled below it;
// (2) the limiter's own cost: one decision (AccountLimiter.charge) in Node, in ns;
// (3) Encrypt 32 B with quotas on (AWS's defaults) and off (QUOTAS=off): two workerds side by
//     side, a wrk run against each at the same moment, round after round (bench/paired.ts): req/s
//     and workerd CPU µs per request, and each round's ratio (the target: on within 5% of off).
import { readFileSync } from "node:fs";
import * as K from "@aws-sdk/client-kms";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { adminCall } from "../dist/cli/admin-client.js";
import { cpuNs, measure, median, table } from "./harness.ts";
import { BENCH_VARS, ensureWrk, signKms, workerdPid } from "./wrk.ts";
import { alternatingRounds, serversSideBySide, simultaneousRounds, type Server } from "./paired.ts";
import { accuracy } from "./quota-sim.ts";
import { AccountLimiter, SYNC_MS, UsageBoard } from "../src/quota/limiter.ts";

const SECONDS = process.env.BENCH_SECONDS ?? "4";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "4");
const CONNS = (process.env.BENCH_CONNS ?? "1,16").split(",").map(Number);
const ISOLATES = (process.env.BENCH_ISOLATES ?? "1,2,8,32,128").split(",").map(Number);
const PARTS = new Set((process.env.BENCH_PARTS ?? "accuracy,cost,throughput").split(","));
/** Both servers driven at the same moment (default), or in turn (BENCH_MODE=alternating, as bench:last-usage). */
const SIMULTANEOUS = process.env.BENCH_MODE !== "alternating";
const fmt = (x: number) => `${x.toFixed(2)}×`;

/** The cost bench's Worker: the real chargeOperation and QuotaCounter, bundled from src/. */
const COST_WORKER = `
import { chargeOperation } from "../src/quota/enforce.ts";
import { quotaCounterStub } from "../src/placement.ts";
export { QuotaCounter } from "../src/quota/counter.ts";
const ACCOUNT = "123456789012";
const encrypt = { name: "Encrypt", quota: { byAlgorithm: ["EncryptionAlgorithm"] } };
const input = { KeyId: "k", Plaintext: new Uint8Array(32) };
let now = 0;
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const n = Number(u.searchParams.get("n")), what = u.searchParams.get("what");
    if (what === "report") {
      for (let i = 0; i < n; i++) await quotaCounterStub(env, "us-east-1", ACCOUNT).report("bench", { CryptographicOperationsSymmetric: 1000 }, 1000);
      return new Response("ok");
    }
    const e = what === "off" ? { ...env, QUOTAS: "off" } : env;
    now ||= Date.now();
    for (let i = 0; i < n; i++) {
      const wait = chargeOperation(e, ACCOUNT, "us-east-1", encrypt, input, (now += 1e-6));
      if (wait) await wait;
    }
    return new Response("ok");
  },
};`;

async function bundle(source: string): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: new URL(".", import.meta.url).pathname, sourcefile: "quota-cost-worker.js", loader: "js" },
    bundle: true, format: "esm", platform: "neutral", target: "es2022", external: ["cloudflare:*", "node:*"], write: false, logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}

async function sequential<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

if (PARTS.has("accuracy")) {
  const QUOTA = 1000;
  console.log(`\n(1) Accuracy: N isolates sharing a quota of ${QUOTA}/s through one counter (the Worker's limiter, simulated on virtual time; reports every ${SYNC_MS} ms, sooner when throttling)\n`);
  const rows: string[][] = [];
  for (const latency of [20, 100]) {
    for (const n of ISOLATES) {
      const r = await accuracy(n, QUOTA, latency);
      rows.push([String(n), `${latency} ms`, fmt(r.coldBurst), fmt(r.warmBurst), fmt(r.overloadMax), fmt(r.overloadMean), `${(100 * r.underQuota).toFixed(1)}%`, `${(100 * r.shift).toFixed(0)}%`]);
    }
  }
  table(["isolates", "counter one way", "burst, cold isolates", "burst, warm isolates", "3× overload: busiest second", "3× overload: mean/s", "80% load admitted", "load moved to one isolate: admitted, 1st s"], rows);
}

if (PARTS.has("cost")) {
  // A quota no run of this loop exhausts, and a clock that advances (the bucket refills on every call) but never makes a report due.
  const limiter = new AccountLimiter({ report: async (counts, interval) => ({ quotas: {}, ...new UsageBoard().report("x", counts, interval, 0) }), limitOf: () => 1e12 });
  await limiter.charge("CryptographicOperationsSymmetric", 1, 0, () => {});
  let t = 0;
  const ops = await measure(() => limiter.charge("CryptographicOperationsSymmetric", 1, (t += 1e-6), () => {}));
  console.log(`\n(2) The cost of enforcement\n\nOne decision of the limiter (AccountLimiter.charge: token bucket, no report due) in Node: ${(1e9 / ops).toFixed(0)} ns\n`);

  // In workerd: the Worker's own chargeOperation (an Encrypt's quota, its account's limiter, its bucket) N times per request, and N reports to a QuotaCounter.
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: await bundle(COST_WORKER) }],
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8"))![1],
    compatibilityFlags: ["nodejs_compat"],
    // REGIONS as wrangler.toml has it for us-east-1; every default × 10^6, so the loop never runs out of tokens.
    bindings: { REGIONS: { "us-east-1": { locationHint: "enam" } }, QUOTAS: "on", QUOTA_SCALE: "1000000" },
    durableObjects: { QUOTA_COUNTER: { className: "QuotaCounter", useSQLite: true } },
    durableObjectsPersist: false,
  });
  try {
    const url = await mf.ready;
    const pid = workerdPid(Number(url.port));
    if (!pid) throw new Error(`no workerd listening on ${url.port}`);
    /** workerd's CPU ns for one request doing `n` of `what`, less the same request with n = 0 (best of 5 each). */
    const cpuOf = async (what: string, n: number) => {
      const one = async (k: number) => {
        const c0 = cpuNs(pid);
        const res = await mf.dispatchFetch(`http://bench/?what=${what}&n=${k}`);
        if ((await res.text()) !== "ok") throw new Error(`${what}: ${res.status}`);
        return cpuNs(pid) - c0;
      };
      await one(n);
      const best = async (k: number) => Math.min(...(await sequential(5, () => one(k))));
      return ((await best(n)) - (await best(0))) / n;
    };
    const on = await cpuOf("on", 200_000);
    const off = await cpuOf("off", 200_000);
    const report = await cpuOf("report", 2_000);
    table(["in workerd (CPU, best of 5)", "per call"], [
      ["chargeOperation, QUOTAS=on (Encrypt's quota, a warm bucket)", `${on.toFixed(0)} ns`],
      ["chargeOperation, QUOTAS=off", `${off.toFixed(0)} ns`],
      ["one report to the QuotaCounter and its answer (both sides, RPC included)", `${(report / 1000).toFixed(1)} µs`],
    ]);
    console.log(`\nPer request, for an isolate serving R requests a second of one account (one report a second): ${(on - off).toFixed(0)} ns + ${(report / 1000).toFixed(1)} µs ÷ R; at R = 100, ${((on - off) / 1000 + report / 1000 / 100).toFixed(2)} µs\n`);
  } finally {
    await mf.dispose();
  }
}

if (PARTS.has("throughput")) {
  const wrk = ensureWrk();
  // AWS's defaults on the "on" server (the other benchmarks raise them, bench/wrk.ts).
  const { QUOTA_SCALE: _raised, ...AWS_DEFAULTS } = BENCH_VARS;
  const { servers, dispose } = await serversSideBySide({ on: AWS_DEFAULTS, off: { ...AWS_DEFAULTS, QUOTAS: "off" } });
  try {
    const keys = new Map<string, string[]>();
    for (const s of servers) {
      const operator = { endpoint: s.url, region: "us-east-1", accessKeyId: BENCH_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: BENCH_VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
      // Sixteen keys at once is past CreateKey's 5 a second: the operator raises the account's quota (the admin API).
      await adminCall(operator, "PutAccountQuotas", { Quotas: [{ QuotaName: "CreateKey", Value: 100 }] });
      const kms = new K.KMSClient({ endpoint: s.url, region: "us-east-1", credentials: { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey } });
      const ids: string[] = [];
      for (let i = 0; i < 16; i++) ids.push((await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      keys.set(s.name, ids);
    }
    const pt = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
    console.log(`\n(3) Encrypt 32 B with quotas on (AWS's defaults: 50,000/s symmetric in us-east-1) and off: two workerds side by side, state on disk, wrk ${SECONDS} s per run, ${ROUNDS} rounds ${SIMULTANEOUS ? "with both driven at the same moment" : "alternating which goes first"}; ratios are medians of each round's\n`);
    const rows: string[][] = [];
    for (const c of CONNS) {
      for (const nKeys of [1, 16]) {
        const requests = (s: Server) => Promise.all(keys.get(s.name)!.slice(0, nKeys).map((KeyId) => signKms(s.url, "Encrypt", { KeyId, Plaintext: pt })));
        const r = await (SIMULTANEOUS ? simultaneousRounds : alternatingRounds)(wrk, servers, requests, c, SECONDS, ROUNDS);
        // Each round's on ÷ off (its two runs saw the same machine), then their median.
        const ratios = (xs: number[], ys: number[]) => xs.map((x, i) => (100 * x) / ys[i]);
        const rpsRatios = ratios(r.on.rps, r.off.rps);
        const cpuRatios = ratios(r.on.cpuUsPerReq, r.off.cpuUsPerReq);
        rows.push([String(nKeys), String(c), median(r.off.rps).toFixed(0), median(r.on.rps).toFixed(0), `${median(rpsRatios).toFixed(1)}%`,
          median(r.off.cpuUsPerReq).toFixed(0), median(r.on.cpuUsPerReq).toFixed(0), `${median(cpuRatios).toFixed(1)}%`,
          rpsRatios.map((x) => x.toFixed(0)).join(" ")]);
      }
    }
    table(["keys", "connections", "req/s off", "req/s on", "req/s on ÷ off", "CPU µs/req off", "CPU µs/req on", "CPU on ÷ off", "each round's req/s on ÷ off (%)"], rows);
  } finally {
    await dispose();
  }
}
