// `npm run chaos` at a small scale (docs/chaos.md): its four scenarios, a few seconds each, on a
// server of their own (one workerd through miniflare, state persisted in a temp dir, the chaos
// hooks on), asserting the same checks the script prints. Each scenario's figures are printed too.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaosRun, ChaosServer, DEFAULT_OPTIONS, report, type ScenarioResult, aborts, clockForward, flood, r2Outage } from "../../bench/chaos-lib.ts";
import { freePort } from "./setup.js";

const SMALL = {
  ...DEFAULT_OPTIONS,
  seconds: 3, concurrency: 4, accounts: 1, keysPerAccount: 2, outageSeconds: 3, floodConcurrency: 8, abortEveryMs: 200,
  clockStepDays: 10, clockStepMs: 100, clockTotalDays: 200, decryptChecks: 300,
  // Other e2e files load the same two cores at the same time: the flood's share is checked loosely here.
  minAuthShareUnderFlood: 0.1,
};

let stateDir: string;
let server: ChaosServer;
let run: ChaosRun;

/** Runs a scenario, prints its figures, and expects every check to pass (a failure names the check). */
async function scenario(f: (r: ChaosRun) => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const result = await f(run);
  const lines: string[] = [];
  report([result], (l) => lines.push(l));
  console.log(lines.join("\n"));
  expect(result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
  return result;
}

describe("faults under load (npm run chaos, small)", () => {
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "edgekms-chaos-test-"));
    server = new ChaosServer(stateDir, await freePort());
    await server.start();
    run = new ChaosRun(server, SMALL);
    await run.setup();
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("R2 refusing writes: requests go on, delivery resumes by itself, every record once", async () => {
    const r = await scenario(r2Outage);
    expect(Number(r.summary["records expected"])).toBeGreaterThan(0);
  }, 120_000);

  it("clocks moved across rotation and deletion dates: each rotation and the deletion once", async () => {
    await scenario(clockForward);
  }, 60_000);

  it("a flood of unauthenticated requests: authenticated load goes on, the trail grows by the per-source bound", async () => {
    await scenario(flood);
  }, 60_000);

  it("Durable Objects aborted and workerd restarted mid-load: no record lost or doubled, keys and ciphertexts intact", async () => {
    const r = await scenario(aborts);
    expect(Number(r.summary.sent)).toBeGreaterThan(0);
  }, 120_000);
});
