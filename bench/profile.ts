// npm run bench:profile — where the JavaScript time goes under Encrypt load. A V8 CPU profile
// of the Worker's isolate (the Worker and its Durable Objects share it), taken through the
// inspector of npm run serve's workerd while wrk replays signed Encrypt requests over 16 keys.
// Prints the functions with the most self time; writes the whole profile for Chrome DevTools.
// Sampling slows the server down, so read shares, not req/s. BENCH_PROFILE=BatchEncrypt or
// BatchDecrypt profiles batches of 100 entries of 32 B over the 16 keys instead (docs/batch.md;
// over the first BENCH_PROFILE_KEYS keys when given, and of BENCH_ENTRIES entries when given: 16
// entries over 16 keys against 16 over 1 key shows what a vault call costs beyond its entries).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../scripts/serve.mjs";
import { table } from "./harness.ts";
import { BENCH_VARS as VARS, ensureWrk, freePort, luaScript, runWrk, signKms } from "./wrk.ts";

const SECONDS = process.env.BENCH_SECONDS ?? "5";
const CONNS = Number(process.env.BENCH_CONNS ?? "16");
const TOP = Number(process.env.BENCH_TOP ?? "30");
const OUT = process.env.PROFILE_OUT ?? join(tmpdir(), "edgekms-encrypt.cpuprofile");
const SAMPLING_US = 200;
const BATCH = process.env.BENCH_PROFILE;
const BATCH_ENTRIES = Number(process.env.BENCH_ENTRIES ?? "100");
if (BATCH !== undefined && BATCH !== "BatchEncrypt" && BATCH !== "BatchDecrypt") throw new Error("BENCH_PROFILE is BatchEncrypt or BatchDecrypt");

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number }

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspect(url: string): Promise<{ call: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let next = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  return {
    call: (method, params = {}) => new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

/** Self samples per function (name and place in the bundle), heaviest first. */
function selfTime(p: Profile): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)!.callFrame;
    const label = f.url ? `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}` : f.functionName || "(native, unnamed)";
    out.set(label, (out.get(label) ?? 0) + 1);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

const wrk = ensureWrk();
const inspectorPort = await freePort();
const stateDir = mkdtempSync(join(tmpdir(), "edgekms-profile-state-"));
const { url, mf } = await startServer({ port: await freePort(), persist: stateDir, vars: VARS, inspectorPort });
try {
  const kms = new KMSClient({ endpoint: url, region: "us-east-1", credentials: { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY } });
  const keys: string[] = [];
  for (let i = 0; i < 16; i++) keys.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
  const plaintext = btoa("x".repeat(32));
  const batchKeys = keys.slice(0, Number(process.env.BENCH_PROFILE_KEYS ?? keys.length));
  const batchOf = (i: number, entry: (key: string, j: number) => object) => ({ Entries: Array.from({ length: BATCH_ENTRIES }, (_, j) => entry(batchKeys[(i + j) % batchKeys.length], j)) });
  let blobs: string[] = [];
  if (BATCH === "BatchDecrypt") {
    const s = await signKms(url, "EdgeKMSBatch.BatchEncrypt", batchOf(0, (KeyId) => ({ KeyId, Plaintext: plaintext })));
    blobs = ((await (await fetch(`${url}/`, { method: "POST", headers: s.headers, body: s.body })).json()) as { Results: { CiphertextBlob: string }[] }).Results.map((r) => r.CiphertextBlob);
  }
  const requests = await Promise.all(keys.map((KeyId, i) =>
    BATCH === "BatchEncrypt" ? signKms(url, "EdgeKMSBatch.BatchEncrypt", batchOf(i, (k) => ({ KeyId: k, Plaintext: plaintext })))
      : BATCH === "BatchDecrypt" ? signKms(url, "EdgeKMSBatch.BatchDecrypt", batchOf(0, (_k, j) => ({ CiphertextBlob: blobs[(i + j) % blobs.length] })))
        : signKms(url, "Encrypt", { KeyId, Plaintext: plaintext })));
  const script = luaScript(requests);
  runWrk(wrk, `${url}/`, CONNS, "2", script); // warm-up

  // miniflare names the Worker's own isolate "core:user:<name>"; the others are its plumbing.
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { title: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.title.includes("core:user:"));
  if (!target) throw new Error(`no Worker isolate among the inspector's targets: ${targets.map((t) => t.title).join(", ")}`);
  const session = await inspect(target.webSocketDebuggerUrl);
  await session.call("Profiler.enable");
  await session.call("Profiler.setSamplingInterval", { interval: SAMPLING_US });
  await session.call("Profiler.start");
  const r = runWrk(wrk, `${url}/`, CONNS, SECONDS, script);
  const { profile } = (await session.call("Profiler.stop")) as { profile: Profile };
  session.close();
  writeFileSync(OUT, JSON.stringify(profile));

  const total = profile.samples.length;
  const usPerSample = (profile.endTime - profile.startTime) / total;
  console.log(`\n${BATCH ? `${BATCH} of ${BATCH_ENTRIES} entries of 32 B` : "Encrypt 32 B"} over ${BATCH ? batchKeys.length : 16} keys, ${CONNS} connections, ${SECONDS} s under the profiler: ${r.requests} requests (${r.rps.toFixed(0)} req/s, ${r.errors} errors)`);
  console.log(`${total} samples of the Worker's isolate, one per ${usPerSample.toFixed(0)} µs; whole profile: ${OUT}\n`);
  table(["function (bundle .wrangler/serve-build/index.js)", "self samples", "share", "µs per request"],
    selfTime(profile).slice(0, TOP).map(([label, n]) => [label, String(n), `${((100 * n) / total).toFixed(1)}%`, ((n * usPerSample) / r.requests).toFixed(1)]));
  console.log("\n(idle): the isolate waits (other isolates, I/O, commits); (program): native code of the runtime outside any function.");
} finally {
  await mf.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
