// npm run bench:api — throughput and latency of the KMS API in one workerd (npm run serve's
// server, state on disk), driven by wrk replaying pre-signed requests (SigV4 allows replay
// inside its 5-minute window). Prints a Markdown table.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../scripts/serve.mjs";
import { signRequest } from "../src/cli/sign.ts";
import { table } from "./harness.ts";
import { adminCall } from "../dist/cli/admin-client.js";

const DURATION = process.env.BENCH_SECONDS ?? "5";
/** The bare route measured before and after each row (see "of adjacent bare req/s"). */
const BARE_SECONDS = "2";
/** Optional narrowing for exploratory runs: a regex on the request name, a list of connection counts, in-memory state. */
const FILTER = new RegExp(process.env.BENCH_FILTER ?? ".");
const CONNS = (process.env.BENCH_CONNS ?? "1,16,64").split(",").map(Number);
const IN_MEMORY = process.env.BENCH_STATE === "memory";
const VARS = {
  BOOTSTRAP_ACCOUNT_ID: "123456789012",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSBENCH0001",
  BOOTSTRAP_SECRET_ACCESS_KEY: "bench-secret-access-key-not-for-production",
  KMS_ROOT_SECRET: btoa("edgekms bench root secret, not for production!!"),
};

function ensureWrk(): string {
  if (!existsSync("/usr/bin/wrk")) {
    console.log("installing wrk (Debian) …");
    execFileSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"], { stdio: "ignore" });
  }
  return "/usr/bin/wrk";
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface Signed { headers: Record<string, string>; body: string }

function luaScript(requests: Signed[]): string {
  const reqs = requests.map((r) => {
    const h = Object.entries(r.headers).filter(([k]) => k !== "host" && k !== "content-length")
      .map(([k, v]) => `[${JSON.stringify(k)}]=${JSON.stringify(v)}`).join(",");
    return `{headers={${h}}, body=${JSON.stringify(r.body)}}`;
  });
  return `local reqs = {${reqs.join(",\n")}}
local n = 0
request = function()
  n = n % #reqs + 1
  local r = reqs[n]
  return wrk.format("POST", "/", r.headers, r.body)
end
`;
}

interface Result { rps: number; p50: string; p99: string; errors: number; cpuUsPerReq: number }

/** The workerd process serving `port`; its CPU time per request is steadier than req/s on a shared VM. */
function workerdPid(port: number): number | undefined {
  try {
    const out = execFileSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
    return Number(/pid=(\d+)/.exec(out)?.[1]) || undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function runWrk(wrk: string, url: string, conns: number, script?: string, seconds = DURATION): Result {
  const dir = mkdtempSync(join(tmpdir(), "edgekms-wrk-"));
  const args = ["-t", "1", "-c", String(conns), "-d", `${seconds}s`, "--latency"];
  if (script) {
    writeFileSync(join(dir, "s.lua"), script);
    args.push("-s", join(dir, "s.lua"));
  }
  const pid = workerdPid(Number(new URL(url).port));
  const cpu0 = cpuSeconds(pid);
  const out = execFileSync(wrk, [...args, url], { encoding: "utf8" });
  const cpu = cpuSeconds(pid) - cpu0;
  rmSync(dir, { recursive: true });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = /\s50%\s+([\d.]+\w+)/.exec(out)?.[1] ?? "?";
  const p99 = /\s99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? "?";
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors:.*/.exec(out)?.[0];
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps, p50, p99, errors: non2xx + (sockErr ? 1 : 0), cpuUsPerReq: (cpu * 1e6) / total };
}

const wrk = ensureWrk();
const stateDir = mkdtempSync(join(tmpdir(), "edgekms-bench-state-"));
const { url, mf } = await startServer({ port: await freePort(), persist: IN_MEMORY ? false : stateDir, vars: VARS });
try {
  const kms = new KMSClient({ endpoint: url, region: "us-east-1", credentials: { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY } });
  const keys: string[] = [];
  for (let i = 0; i < 16; i++) keys.push((await kms.send(new CreateKeyCommand({ Description: `bench ${i}` }))).KeyMetadata!.KeyId!);
  const blobs = await Promise.all(keys.map(async (k) => btoa(String.fromCharCode(...(await kms.send(new EncryptCommand({ KeyId: k, Plaintext: new Uint8Array(32) }))).CiphertextBlob!))));
  const pt32 = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

  // A key whose policy has 20 statements with conditions, used by an IAM user whose identity
  // policy allows it (issue 5: policy evaluation must stay cheap).
  const root = `arn:aws:iam::${VARS.BOOTSTRAP_ACCOUNT_ID}:root`;
  const statements = [
    { Sid: "admin", Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" },
    ...Array.from({ length: 18 }, (_, i) => ({
      Sid: `deny${i}`, Effect: "Deny", Principal: "*", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*",
      Condition: { StringEquals: { [`kms:EncryptionContext:never${i}`]: "x" }, IpAddress: { "aws:SourceIp": "203.0.113.0/24" } },
    })),
    { Sid: "users", Effect: "Allow", Principal: { AWS: VARS.BOOTSTRAP_ACCOUNT_ID }, Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*", Condition: { StringEqualsIfExists: { "kms:CallerAccount": VARS.BOOTSTRAP_ACCOUNT_ID } } },
  ];
  const policyKey = (await kms.send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) }))).KeyMetadata!;
  const op = { endpoint: url, region: "us-east-1", accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
  await adminCall(op, "CreateUser", { UserName: "bench" });
  await adminCall(op, "PutUserPolicy", { UserName: "bench", PolicyName: "use", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [
    { Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: policyKey.Arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    { Effect: "Deny", Action: "kms:*", Resource: "*", Condition: { StringEquals: { "aws:PrincipalAccount": "000000000000" } } },
  ] }) });
  const benchUser = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(op, "CreateAccessKey", { UserName: "bench" });

  async function sign(target: string, body: object): Promise<Signed> {
    const b = JSON.stringify(body);
    return { headers: await signRequest(`${url}/`, target, b, { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY, region: "us-east-1", contentSha256: true }), body: b };
  }
  async function signAsUser(target: string, body: object): Promise<Signed> {
    const b = JSON.stringify(body);
    return { headers: await signRequest(`${url}/`, target, b, { accessKeyId: benchUser.AccessKeyId, secretAccessKey: benchUser.SecretAccessKey, region: "us-east-1", contentSha256: true }), body: b };
  }
  const scenarios: [string, (i: number) => Promise<Signed>][] = [
    ["Encrypt 32 B", (i) => sign("Encrypt", { KeyId: keys[i], Plaintext: pt32 })],
    ["Encrypt 32 B, 20-statement key policy + identity policy", () => signAsUser("Encrypt", { KeyId: policyKey.KeyId, Plaintext: pt32 })],
    ["Decrypt", (i) => sign("Decrypt", { CiphertextBlob: blobs[i] })],
    ["GenerateDataKey", (i) => sign("GenerateDataKey", { KeyId: keys[i], KeySpec: "AES_256" })],
  ];

  console.log(`\nKMS API in one workerd via miniflare's API (state ${IN_MEMORY ? "in memory" : "on disk"}); wrk ${DURATION}s per row, loopback, SigV4 verified on every request\n`);
  const rows: string[][] = [];
  // req/s on a shared VM drifts by tens of percent between minutes, so each row's share of
  // the bare route is taken against the bare route measured just before and just after it.
  const bareAround = (c: number) => runWrk(wrk, `${url}/health`, c, undefined, BARE_SECONDS).rps;
  for (const c of CONNS) {
    const bare = runWrk(wrk, `${url}/health`, c);
    rows.push(["bare GET /health", "–", String(c), bare.rps.toFixed(0), bare.p50, bare.p99, "100%", "–", bare.cpuUsPerReq.toFixed(0), String(bare.errors)]);
    for (const [name, make] of scenarios.filter(([n]) => FILTER.test(n))) {
      for (const nKeys of name.includes("policy") ? [1] : [1, 16]) {
        // signed just before each run, so every replay is well inside the 5-minute window
        const reqs = await Promise.all(Array.from({ length: nKeys }, (_, i) => make(i)));
        const before = bareAround(c);
        const r = runWrk(wrk, `${url}/`, c, luaScript(reqs));
        const adjacent = (before + bareAround(c)) / 2;
        rows.push([name, String(nKeys), String(c), r.rps.toFixed(0), r.p50, r.p99, `${((100 * r.rps) / bare.rps).toFixed(0)}%`, `${((100 * r.rps) / adjacent).toFixed(0)}% of ${adjacent.toFixed(0)}`, r.cpuUsPerReq.toFixed(0), String(r.errors)]);
      }
    }
  }
  table(["request", "keys", "connections", "req/s", "p50", "p99", "of bare req/s", "of adjacent bare req/s", "workerd CPU µs/req", "non-2xx"], rows);
} finally {
  await mf.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
