// npm run chaos — faults under load (docs/chaos.md): one workerd through miniflare (npm run
// serve's startServer, state persisted in a temp dir) with EdgeKMS and the chaos driver Worker;
// signed load from several accounts on several keys, and during it, each scenario's faults:
// R2 refusing writes for a while, Durable Objects aborted and the whole process restarted,
// vault clocks moved across rotation and deletion dates, a flood of unauthenticated requests.
// Prints a table of figures per scenario and the checks; exits 1 if any check fails.
// Knobs: CHAOS_SECONDS (load per phase, default 20), CHAOS_SCENARIOS (comma list of
// r2-outage, clock-forward, flood, do-aborts; default all), CHAOS_CONCURRENCY (8),
// CHAOS_ACCOUNTS (2, besides the operator's), CHAOS_KEYS (4 per account), CHAOS_OUTAGE_SECONDS
// (15), CHAOS_FLOOD_CONCURRENCY (16), CHAOS_ABORT_EVERY_MS (600), CHAOS_KEEP_STATE=1 (keep the
// state directory).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./wrk.ts";
import { ChaosRun, ChaosServer, DEFAULT_OPTIONS, report, SCENARIOS, type ChaosOptions, type ScenarioResult } from "./chaos-lib.ts";

const num = (name: string, fallback: number) => (process.env[name] !== undefined ? Number(process.env[name]) : fallback);
const opts: ChaosOptions = {
  ...DEFAULT_OPTIONS,
  seconds: num("CHAOS_SECONDS", DEFAULT_OPTIONS.seconds),
  concurrency: num("CHAOS_CONCURRENCY", DEFAULT_OPTIONS.concurrency),
  accounts: num("CHAOS_ACCOUNTS", DEFAULT_OPTIONS.accounts),
  keysPerAccount: num("CHAOS_KEYS", DEFAULT_OPTIONS.keysPerAccount),
  outageSeconds: num("CHAOS_OUTAGE_SECONDS", DEFAULT_OPTIONS.outageSeconds),
  floodConcurrency: num("CHAOS_FLOOD_CONCURRENCY", DEFAULT_OPTIONS.floodConcurrency),
  abortEveryMs: num("CHAOS_ABORT_EVERY_MS", DEFAULT_OPTIONS.abortEveryMs),
};
const names = (process.env.CHAOS_SCENARIOS ?? Object.keys(SCENARIOS).join(",")).split(",").map((s) => s.trim()).filter(Boolean);
for (const n of names) if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}; one of ${Object.keys(SCENARIOS).join(", ")}`);

const stateDir = mkdtempSync(join(tmpdir(), "edgekms-chaos-"));
const server = new ChaosServer(stateDir, await freePort());
const started = new Date();
const t0 = performance.now();
let passed = false;
try {
  await server.start();
  const run = new ChaosRun(server, opts);
  await run.setup();
  console.log(`\nFaults under load: one workerd through miniflare, state on disk (${stateDir}), ${run.accounts.length} accounts × ${opts.keysPerAccount} keys, ${opts.concurrency} concurrent signed requests, ${opts.seconds} s of load per phase; started ${started.toISOString()}, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
  const results: ScenarioResult[] = [];
  for (const n of names) {
    const t = performance.now();
    console.log(`… ${n}`);
    results.push(await SCENARIOS[n]!(run));
    console.log(`  ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  console.log("");
  passed = report(results, (line) => console.log(line));
  console.log(`\n${passed ? "All checks passed" : "SOME CHECKS FAILED"}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all; load average at the end ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
} finally {
  await server.dispose();
  if (process.env.CHAOS_KEEP_STATE !== "1") rmSync(stateDir, { recursive: true, force: true });
}
process.exit(passed ? 0 : 1);
