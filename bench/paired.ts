// Servers side by side, one per configuration of a switch, and wrk against each: the structure of
// bench:last-usage (KEY_LAST_USAGE) and bench:quotas (QUOTAS), shared. Each server is npm run
// serve's startServer with its state on disk. Either in turn, the order alternating every round,
// or all at the same moment; either way the drift of a shared VM hits every configuration alike.
// Gives each round's req/s and workerd CPU µs per request.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../scripts/serve.mjs";
import { freePort, luaScript, runWrk, type Result, type Signed } from "./wrk.ts";

export interface Server { name: string; url: string; mf: { dispose(): Promise<void> } }

/** One server per named configuration (its bindings); `dispose` stops them and removes their state. */
export async function serversSideBySide(configs: Record<string, Record<string, string>>): Promise<{ servers: Server[]; dispose(): Promise<void> }> {
  const dirs: string[] = [];
  const servers: Server[] = [];
  for (const [name, vars] of Object.entries(configs)) {
    const dir = mkdtempSync(join(tmpdir(), `edgekms-bench-${name}-`));
    dirs.push(dir);
    const s = await startServer({ port: await freePort(), persist: dir, vars });
    servers.push({ name, url: s.url, mf: s.mf });
  }
  return {
    servers,
    async dispose() {
      for (const s of servers) await s.mf.dispose();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

export interface Rounds { rps: number[]; cpuUsPerReq: number[] }

/**
 * `rounds` rounds of one wrk run (`conns` connections, `seconds` long) against each server, the
 * order alternating each round; `requests(server)` gives the pre-signed requests to replay.
 * Throws on any non-2xx response.
 */
export async function alternatingRounds(wrk: string, servers: Server[], requests: (s: Server) => Promise<Signed[]>, conns: number, seconds: string, rounds: number): Promise<Record<string, Rounds>> {
  const out: Record<string, Rounds> = Object.fromEntries(servers.map((s) => [s.name, { rps: [], cpuUsPerReq: [] }]));
  const scripts = new Map<string, string>();
  for (const s of servers) scripts.set(s.name, luaScript(await requests(s)));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      const r = runWrk(wrk, `${s.url}/`, conns, seconds, scripts.get(s.name));
      if (r.errors) throw new Error(`${r.errors} non-2xx responses (${s.name})`);
      out[s.name].rps.push(r.rps);
      out[s.name].cpuUsPerReq.push(r.cpuUsPerReq);
    }
  }
  return out;
}

/**
 * `rounds` rounds in which every server gets its own wrk run (`conns` connections, `seconds`
 * long) at the same moment, in worker threads: whatever else loads the machine during a round
 * loads every configuration alike, so the per-round ratio between them holds where sequential
 * runs on a busy VM vary by ±50%. Throws on any non-2xx response.
 */
export async function simultaneousRounds(wrk: string, servers: Server[], requests: (s: Server) => Promise<Signed[]>, conns: number, seconds: string, rounds: number): Promise<Record<string, Rounds>> {
  const out: Record<string, Rounds> = Object.fromEntries(servers.map((s) => [s.name, { rps: [], cpuUsPerReq: [] }]));
  const scripts = new Map<string, string>();
  for (const s of servers) scripts.set(s.name, luaScript(await requests(s)));
  for (let round = 0; round < rounds; round++) {
    const results = await Promise.all(servers.map((s) => new Promise<Result>((resolve, reject) => {
      const w = new Worker(new URL("./wrk-thread.ts", import.meta.url), { workerData: { wrk, url: `${s.url}/`, conns, seconds, script: scripts.get(s.name) } });
      w.once("message", resolve);
      w.once("error", reject);
    })));
    servers.forEach((s, i) => {
      if (results[i].errors) throw new Error(`${results[i].errors} non-2xx responses (${s.name})`);
      out[s.name].rps.push(results[i].rps);
      out[s.name].cpuUsPerReq.push(results[i].cpuUsPerReq);
    });
  }
  return out;
}

