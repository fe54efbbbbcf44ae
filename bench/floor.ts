// npm run bench:floor — what this runtime charges for the round trips and commits an audited
// Encrypt needs, before any of EdgeKMS's own work. bench/floor/worker.ts answers signed
// Encrypt requests with one more step per route (read the body, call a vault Durable Object,
// call an audit-log Durable Object, group-commit the record there, or commit it in the vault).
// EdgeKMS itself runs beside it. The routes take turns under wrk, round after round, and each
// is read against its own server's bare route measured in the same round: req/s on this VM
// drifts by tens of percent between minutes. Prints a Markdown table per connection count.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { Miniflare } from "miniflare";
// @ts-expect-error: plain ESM script without types
import { compatibilityDate, startServer } from "../scripts/serve.mjs";
import { median, table } from "./harness.ts";
import { BENCH_VARS as VARS, ensureWrk, freePort, luaScript, runWrk, signKms, type Signed } from "./wrk.ts";

const SECONDS = process.env.BENCH_SECONDS ?? "3";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "5");
const CONNS = (process.env.BENCH_CONNS ?? "1,16,64").split(",").map(Number);
const IN_MEMORY = process.env.BENCH_STATE === "memory";
const KEYS = 16;

interface Step { name: string; server: "floor" | "edgekms"; path: string; bare?: boolean }
const ALL_STEPS: Step[] = [
  { name: "bare GET", server: "floor", path: "/health", bare: true },
  { name: "POST, body read", server: "floor", path: "/read" },
  { name: "+ one round trip to a vault Durable Object", server: "floor", path: "/vault" },
  { name: "+ a second round trip, to an audit-log Durable Object", server: "floor", path: "/vault+log" },
  { name: "+ the record group-committed in the audit log", server: "floor", path: "/vault+log-commit" },
  { name: "one round trip, the record committed in the vault", server: "floor", path: "/vault-commit" },
  { name: "batch of 100 entries, one vault call, one group commit", server: "floor", path: "/batch-1" },
  { name: "batch of 100 entries, 16 vault calls (one per key), one group commit", server: "floor", path: "/batch-16" },
  { name: "the same, calls and replies as EdgeKMS's Tables", server: "floor", path: "/batch-16-table" },
  { name: "the same Tables, one call per key in flight per isolate, shared by the requests meanwhile", server: "floor", path: "/batch-16-shared" },
  { name: "EdgeKMS bare GET /health", server: "edgekms", path: "/health", bare: true },
  { name: "EdgeKMS Encrypt 32 B, audited", server: "edgekms", path: "/" },
];

// BENCH_STEPS: a regular expression over the routes' paths, to run only those (and the bare routes they are read against).
const ONLY = process.env.BENCH_STEPS === undefined ? undefined : new RegExp(process.env.BENCH_STEPS);
const STEPS = ALL_STEPS.filter((s) => s.bare || !ONLY || ONLY.test(`${s.server}:${s.path}`));

const wrk = ensureWrk();
const stateDir = mkdtempSync(join(tmpdir(), "edgekms-floor-state-"));
const floorPort = await freePort();
const floor = new Miniflare({
  modules: [{ type: "ESModule", path: "worker.js", contents: stripTypeScriptTypes(readFileSync(new URL("floor/worker.ts", import.meta.url), "utf8")) }],
  compatibilityDate,
  compatibilityFlags: ["nodejs_compat"],
  host: "127.0.0.1",
  port: floorPort,
  durableObjects: { VAULT: { className: "Vault", useSQLite: true }, LOG: { className: "Log", useSQLite: true } },
  durableObjectsPersist: IN_MEMORY ? false : `${stateDir}/floor`,
});
const floorUrl = (await floor.ready).toString().replace(/\/$/, "");
const edgekms = await startServer({ port: await freePort(), persist: IN_MEMORY ? false : `${stateDir}/edgekms`, vars: VARS });
try {
  const kms = new KMSClient({ endpoint: edgekms.url, region: "us-east-1", credentials: { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY } });
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) keys.push((await kms.send(new CreateKeyCommand({ Description: `floor bench ${i}` }))).KeyMetadata!.KeyId!);
  const plaintext = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
  // Both servers get the same signed Encrypt requests; the floor Worker reads them and ignores them.
  const signed = (url: string): Promise<Signed[]> => Promise.all(keys.map((KeyId) => signKms(url, "Encrypt", { KeyId, Plaintext: plaintext })));

  console.log(`\nThe floor of an audited Encrypt: two workerd processes through miniflare's API (state ${IN_MEMORY ? "in memory" : "on disk"}), wrk ${SECONDS} s per route, ${ROUNDS} rounds, ${KEYS} keys\n`);
  for (const c of CONNS) {
    const rps = STEPS.map(() => [] as number[]);
    const share = STEPS.map(() => [] as number[]);
    const cpu = STEPS.map(() => [] as number[]);
    const errors = STEPS.map(() => 0);
    for (let round = 0; round < ROUNDS; round++) {
      const bare: Record<string, number> = {};
      for (const [i, step] of STEPS.entries()) {
        const base = step.server === "floor" ? floorUrl : edgekms.url;
        // signed just before each run, well inside SigV4's 5-minute window
        const r = step.bare ? runWrk(wrk, `${base}${step.path}`, c, SECONDS) : runWrk(wrk, `${base}${step.path}`, c, SECONDS, luaScript(await signed(base), step.path));
        if (step.bare) bare[step.server] = r.rps;
        errors[i] += r.errors ? 1 : 0;
        rps[i].push(r.rps);
        share[i].push(r.rps / bare[step.server]);
        cpu[i].push(r.cpuUsPerReq);
      }
    }
    console.log(`${c} connection${c === 1 ? "" : "s"}:\n`);
    table(
      ["step", "req/s, median", "of its server's bare req/s, median per round", "workerd CPU µs/req, median", "rounds with non-2xx or socket errors"],
      STEPS.map((s, i) => [s.name, median(rps[i]).toFixed(0), `${(median(share[i]) * 100).toFixed(0)}%`, median(cpu[i]).toFixed(0), String(errors[i])]),
    );
    console.log("");
  }
} finally {
  await floor.dispose();
  await edgekms.mf.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
