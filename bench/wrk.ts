// wrk against one workerd: the load generator the benchmark scripts share (npm run bench:api,
// npm run bench:profile).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The built signer: src/cli/sign.ts imports the server's SigV4 steps (src/protocol/sigv4.js), which
// Node's type stripping cannot resolve from source; every bench script builds first.
import { signRequest } from "../dist/cli/sign.js";

/** Test-only identities and root secret of the benchmark servers (never used elsewhere). */
export const BENCH_VARS = {
  BOOTSTRAP_ACCOUNT_ID: "123456789012",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSBENCH0001",
  BOOTSTRAP_SECRET_ACCESS_KEY: "bench-secret-access-key-not-for-production",
  KMS_ROOT_SECRET: btoa("edgekms bench root secret, not for production!!"),
  // Benchmarks drive one account far past AWS's default request-rate quotas (1,000 RSA or ECC
  // signatures a second, CreateKey 5): raised, so they measure the service, not its quotas.
  // bench:quotas runs at AWS's defaults (docs/quotas.md).
  QUOTA_SCALE: "1000",
};

/** wrk, from Debian if it is not installed yet. */
export function ensureWrk(): string {
  if (!existsSync("/usr/bin/wrk")) {
    console.log("installing wrk (Debian) …");
    execFileSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"], { stdio: "ignore" });
  }
  return "/usr/bin/wrk";
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A pre-signed request (SigV4 allows replay inside its 5-minute window). */
export interface Signed { headers: Record<string, string>; body: string }

/** A request to `url`'s KMS endpoint, signed JS-SDK style (with x-amz-content-sha256) as `who`: the bench's bootstrap identity unless given. */
export async function signKms(url: string, target: string, body: object, who = { accessKeyId: BENCH_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: BENCH_VARS.BOOTSTRAP_SECRET_ACCESS_KEY }): Promise<Signed> {
  const text = JSON.stringify(body);
  return { body: text, headers: await signRequest(`${url}/`, target, text, { ...who, region: "us-east-1", contentSha256: true }) };
}

/** A wrk script that sends the requests in turn, to `path`. */
export function luaScript(requests: Signed[], path = "/"): string {
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
  return wrk.format("POST", ${JSON.stringify(path)}, r.headers, r.body)
end
`;
}

export interface Result { rps: number; p50: string; p99: string; errors: number; cpuUsPerReq: number; requests: number }

/** The workerd process serving `port`; its CPU time per request is steadier than req/s on a shared VM. */
export function workerdPid(port: number): number | undefined {
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

/** One wrk run (one thread, `conns` connections, `seconds` long) against `url`. */
export function runWrk(wrk: string, url: string, conns: number, seconds: string, script?: string): Result {
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
  return { rps, p50, p99, errors: non2xx + (sockErr ? 1 : 0), cpuUsPerReq: (cpu * 1e6) / total, requests: total };
}
