// npm run bench:key-types — the vault's CPU per Sign, Verify and GenerateMac against the same
// primitive called directly, in one workerd started through miniflare's API (issue 11: the
// vault may add at most 20% over the bare primitive for RSA and ECDSA).
//
// A bench Worker is bundled here with esbuild around the real KeyVault class
// (src/vault/key-vault.ts): a subclass adds a loop method, so N calls of the vault's own sign /
// verify / generateMac run inside the Durable Object, without an RPC per call, beside N calls of
// the primitive the key type uses (same runtime, same isolate, a key of the same spec). The
// key is made through the vault's `create`; every call is authorized as a request's would be
// ({ check: permission } under the default key policy), with or without the request's audit
// draft (caller.audit: the vault then completes the record it returns). Separately, the same
// vault call made once per RPC from the Worker (as src/operations does), and an empty RPC,
// give the fixed cost of crossing to the Durable Object.
//
// Timers inside a Worker only advance on I/O, so each request runs N operations and is timed
// from outside: workerd's CPU time (the sum of its threads' schedstat, in ns) and wall time,
// minus the same request with N = 0. Median of REPS repetitions; the modes of one case run
// interleaved in each repetition, so their ratio is taken from adjacent measurements.
//
// BENCH_PROFILE=<kind>:<op>:<mode> (e.g. ecdsa-p256:sign:vault+audit) instead profiles that one
// loop with V8's sampling profiler through workerd's inspector, and prints the functions with
// the most time (inclusive and self), in µs per operation.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { Miniflare } from "miniflare";
import { cpuNs, median, table } from "./harness.ts";
import { BENCH_VARS, freePort, workerdPid } from "./wrk.ts";

const REPS = Number(process.env.BENCH_REPS ?? "11");
/** Wall milliseconds one timed request aims at (BENCH_SECONDS=1 for a quick run shortens it). */
const TARGET_MS = process.env.BENCH_SECONDS === "1" ? 40 : 120;
const FILTER = new RegExp(process.env.BENCH_FILTER ?? ".");
const PROFILE = process.env.BENCH_PROFILE?.split(":");
const INSPECTOR_PORT = PROFILE ? await freePort() : undefined;

const root = fileURLToPath(new URL("..", import.meta.url));

// The bench Worker. One KeyVault per case (named by the case), each holding one key.
const WORKER = `
import { KeyVault as Vault } from "../src/vault/key-vault.ts";
import { SKIP } from "../src/vault/types.ts";
import { keyArn } from "../src/kms/ids.ts";
import { keyTypeOf } from "../src/vault/key-types/index.ts";
import { permissionOf } from "../src/operations/operation.ts";
import { sign as SIGN } from "../src/operations/sign.ts";
import { verify as VERIFY } from "../src/operations/verify.ts";
import { generateMac as GENERATE_MAC } from "../src/operations/generate-mac.ts";
import { getPublicKey as GET_PUBLIC_KEY } from "../src/operations/get-public-key.ts";
import { describeKey as DESCRIBE_KEY } from "../src/operations/describe-key.ts";
import { requestContext } from "../src/policy/request-context.ts";
import { requestDraft } from "../src/audit/trail.ts";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";

const ACCOUNT = ${JSON.stringify(BENCH_VARS.BOOTSTRAP_ACCOUNT_ID)};
const REGION = "us-east-1";
const principal = { type: "Root", accountId: ACCOUNT, arn: "arn:aws:iam::" + ACCOUNT + ":root", accessKeyId: ${JSON.stringify(BENCH_VARS.BOOTSTRAP_ACCESS_KEY_ID)} };
// requestDraft asks AUDIT_LOG whether it runs on Cloudflare; locally it does not.
const draftEnv = { BOOTSTRAP_ACCOUNT_ID: ACCOUNT, REGIONS: { [REGION]: {} }, AUDIT_LOG: { jurisdiction() { throw new Error("not implemented in workerd"); } } };
const MESSAGE = new Uint8Array(32).map((_, i) => i * 7 + 3);

const CASES = {
  "ecdsa-p256": { spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", algorithm: "ECDSA_SHA_256" },
  "ed25519": { spec: "ECC_NIST_EDWARDS25519", usage: "SIGN_VERIFY", algorithm: "ED25519_SHA_512" },
  "rsa-2048-pss": { spec: "RSA_2048", usage: "SIGN_VERIFY", algorithm: "RSASSA_PSS_SHA_256" },
  "secp256k1": { spec: "ECC_SECG_P256K1", usage: "SIGN_VERIFY", algorithm: "ECDSA_SHA_256" },
  "hmac-256": { spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC", algorithm: "HMAC_SHA_256" },
};
const OPS = { sign: SIGN, verify: VERIFY, mac: GENERATE_MAC, publicKey: GET_PUBLIC_KEY, describe: DESCRIBE_KEY };

/** The request input an operation's audit record and condition keys see. */
function inputOf(kind, op, keyId) {
  const a = CASES[kind].algorithm;
  if (op === "sign" || op === "verify") return { KeyId: keyId, MessageType: "RAW", SigningAlgorithm: a };
  if (op === "mac") return { KeyId: keyId, MacAlgorithm: a };
  return { KeyId: keyId };
}

/** The caller a request's handler passes (src/operations/shared.ts audited / checkedFor), with or without its audit draft. */
function callerFor(kind, op, keyId, audit) {
  const now = Date.now();
  const input = inputOf(kind, op, keyId);
  const caller = {
    account: ACCOUNT, keyAccount: ACCOUNT, principalArn: principal.arn, principalType: "Root", policies: [],
    context: requestContext(principal, "127.0.0.1", false, now, input),
    authz: { check: permissionOf(OPS[op]) },
  };
  if (audit) caller.audit = requestDraft(draftEnv, new Request("http://bench/", { method: "POST", headers: { "user-agent": "bench" } }), crypto.randomUUID(), now, OPS[op].name, OPS[op], { principal, region: REGION }, input);
  return caller;
}

const must = (r) => { if (!r.ok) throw new Error(r.code + ": " + r.message + " " + (r.detail ?? "")); return r.value; };

export class KeyVault extends Vault {
  async setup(kind) {
    if (this.bench) return this.bench.keyId;
    const c = CASES[kind];
    // workerd evicts an idle Durable Object (while other cases run): the key it made is kept in storage.
    let keyId = await this.ctx.storage.get("bench:keyId");
    if (!keyId) {
      keyId = crypto.randomUUID();
      const creator = { account: ACCOUNT, principalArn: principal.arn, principalType: "Root", policies: [], context: {}, authz: { skip: SKIP.noKeyYet } };
      must(await this.create(creator, { keyId, account: ACCOUNT, region: REGION, description: "", tags: [], keySpec: c.spec, keyUsage: c.usage }, keyArn(REGION, ACCOUNT, keyId)));
      await this.ctx.storage.put("bench:keyId", keyId);
    }
    const b = { keyId };
    // A valid signature of the vault's key, for Verify.
    if (c.usage === "SIGN_VERIFY") b.signature = must(await this.sign(callerFor(kind, "sign", keyId, false), c.algorithm, "RAW", MESSAGE)).signature;
    // The key type alone (src/vault/key-types): fresh material of the spec, loaded as the vault loads its own.
    const type = keyTypeOf(c.spec);
    const fresh = await type.generate(c.usage);
    b.typed = await type.load(fresh.material, c.usage, fresh.publicKey);
    if (c.usage === "SIGN_VERIFY") b.typedSig = await b.typed.sign(c.algorithm, "RAW", MESSAGE);
    // The bare primitive's key: a key of the same spec, imported once, as the key type does.
    if (kind === "ecdsa-p256") {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      b.sk = pair.privateKey; b.pk = pair.publicKey;
      b.bareSig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, b.sk, MESSAGE));
      b.bareDer = p256.Signature.fromBytes(b.bareSig, "compact").toBytes("der");
    } else if (kind === "ed25519") {
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
      b.sk = pair.privateKey; b.pk = pair.publicKey;
      b.bareSig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, b.sk, MESSAGE));
    } else if (kind === "rsa-2048-pss") {
      const pair = await crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
      b.sk = pair.privateKey; b.pk = pair.publicKey;
      b.bareSig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, b.sk, MESSAGE));
    } else if (kind === "secp256k1") {
      b.sk = secp256k1.utils.randomSecretKey();
      b.pk = secp256k1.getPublicKey(b.sk, false);
      b.bareSig = secp256k1.sign(MESSAGE, b.sk, { prehash: true, lowS: false, format: "der" });
    } else if (kind === "hmac-256") {
      b.sk = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    }
    this.bench = b;
    return keyId;
  }

  /** One call of the primitive the key type uses, on the bench's own key ("der": with ecc.ts's DER conversion of the signature). */
  async bare(kind, op, der) {
    const b = this.bench;
    switch (kind + " " + op) {
      case "ecdsa-p256 sign": {
        const rs = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, b.sk, MESSAGE));
        return der ? p256.Signature.fromBytes(rs, "compact").toBytes("der") : rs;
      }
      case "ecdsa-p256 verify": {
        const rs = der ? p256.Signature.fromBytes(b.bareDer, "der").toBytes("compact") : b.bareSig;
        if (!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, b.pk, rs, MESSAGE))) throw new Error("bare verify failed");
        return;
      }
      case "ed25519 sign": return crypto.subtle.sign({ name: "Ed25519" }, b.sk, MESSAGE);
      case "ed25519 verify":
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, b.pk, b.bareSig, MESSAGE))) throw new Error("bare verify failed");
        return;
      case "rsa-2048-pss sign": return crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, b.sk, MESSAGE);
      case "rsa-2048-pss verify":
        if (!(await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, b.pk, b.bareSig, MESSAGE))) throw new Error("bare verify failed");
        return;
      case "secp256k1 sign": return secp256k1.sign(MESSAGE, b.sk, { prehash: true, lowS: false, format: "der" });
      case "secp256k1 verify":
        if (!secp256k1.verify(b.bareSig, MESSAGE, b.pk, { prehash: true, lowS: false, format: "der" })) throw new Error("bare verify failed");
        return;
      case "hmac-256 mac": return crypto.subtle.sign("HMAC", b.sk, MESSAGE);
    }
    throw new Error("no bare primitive for " + kind + " " + op);
  }

  /** One call of the vault's method for op, as the RPC from the Worker would make it (dryRun: DryRun, no crypto). */
  vaultCall(kind, op, caller, dryRun) {
    const a = CASES[kind].algorithm;
    if (op === "sign") return this.sign(caller, a, "RAW", MESSAGE, dryRun);
    if (op === "verify") return this.verify(caller, a, "RAW", MESSAGE, this.bench.signature, dryRun);
    if (op === "mac") return this.generateMac(caller, a, MESSAGE, dryRun);
    if (op === "publicKey") return this.getPublicKey(caller);
    if (op === "describe") return this.describe(caller);
    throw new Error("no vault call for " + op);
  }

  /** n calls in a row inside this Durable Object. */
  async loop(kind, op, mode, n) {
    const keyId = await this.setup(kind);
    if (mode === "bare" || mode === "bare+der") {
      for (let i = 0; i < n; i++) await this.bare(kind, op, mode === "bare+der");
      return n;
    }
    if (mode === "keytype") {
      const k = this.bench.typed, a = CASES[kind].algorithm;
      for (let i = 0; i < n; i++) {
        if (op === "sign") await k.sign(a, "RAW", MESSAGE);
        else if (op === "verify") { if (!(await k.verify(a, "RAW", MESSAGE, this.bench.typedSig))) throw new Error("key type verify failed"); }
        else await k.generateMac(a, MESSAGE);
      }
      return n;
    }
    const audit = mode.endsWith("+audit");
    const dryRun = mode.startsWith("dry");
    // The caller is built once per request (the Worker's work); each call gets its own copy, as each RPC does.
    const template = callerFor(kind, op, keyId, audit);
    for (let i = 0; i < n; i++) {
      const r = await this.vaultCall(kind, op, { ...template }, dryRun);
      if (!r.ok) throw new Error(r.code + ": " + r.message + " " + (r.detail ?? ""));
      if (audit && !(r.records?.length || r.audited)) throw new Error("no audit record");
    }
    return n;
  }

  /** An empty RPC (the fixed cost of a call from the Worker). */
  ping() { return 0; }
  /** What the Worker needs to call the vault by RPC itself. */
  async benchInfo(kind) { const keyId = await this.setup(kind); return { keyId, signature: this.bench.signature }; }
}

export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const kind = u.searchParams.get("kind"), op = u.searchParams.get("op"), mode = u.searchParams.get("mode");
    const n = Number(u.searchParams.get("n"));
    const stub = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(kind));
    if (!mode.startsWith("rpc")) return new Response(String(await stub.loop(kind, op, mode, n)));
    // RPC modes: one call per operation from the Worker, as src/operations makes it.
    if (mode === "rpc-ping") {
      for (let i = 0; i < n; i++) await stub.ping();
      return new Response(String(n));
    }
    const { keyId, signature } = await stub.benchInfo(kind);
    const a = CASES[kind].algorithm;
    const template = callerFor(kind, op, keyId, mode.endsWith("+audit"));
    for (let i = 0; i < n; i++) {
      const r = op === "sign" ? await stub.sign(template, a, "RAW", MESSAGE)
        : op === "verify" ? await stub.verify(template, a, "RAW", MESSAGE, signature)
        : op === "mac" ? await stub.generateMac(template, a, MESSAGE)
        : op === "publicKey" ? await stub.getPublicKey(template)
        : await stub.describe(template);
      if (!r.ok) throw new Error(r.code + ": " + r.message);
    }
    return new Response(String(n));
  },
};
`;

/** The core's .wasm import stays a module of its own (workerd compiles it ahead of time). */
const wasmExternal: Plugin = {
  name: "wasm-external",
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./edgekms-core.wasm", external: true }));
  },
};

async function bundleWorker(): Promise<string> {
  const out = await build({
    stdin: { contents: WORKER, resolveDir: `${root}bench`, sourcefile: "key-types-bench-worker.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "import"],
    external: ["cloudflare:*", "node:*"],
    plugins: [wasmExternal],
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}

const mf = new Miniflare({
  modules: [
    { type: "ESModule", path: "worker.js", contents: await bundleWorker() },
    { type: "CompiledWasm", path: "edgekms-core.wasm", contents: readFileSync(`${root}build/edgekms-core.wasm`) },
  ],
  compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(`${root}wrangler.toml`, "utf8"))![1],
  compatibilityFlags: ["nodejs_compat"],
  bindings: { ...BENCH_VARS },
  durableObjects: { KEY_VAULT: { className: "KeyVault", useSQLite: true } },
  durableObjectsPersist: false,
  ...(INSPECTOR_PORT ? { inspectorPort: INSPECTOR_PORT } : {}),
});

interface Timing { cpuUs: number; wallMs: number }
let pid = 0;

async function timeRequest(kind: string, op: string, mode: string, n: number): Promise<Timing> {
  const c0 = cpuNs(pid), t0 = performance.now();
  const res = await mf.dispatchFetch(`http://bench/?kind=${kind}&op=${op}&mode=${encodeURIComponent(mode)}&n=${n}`);
  const body = await res.text();
  const wallMs = performance.now() - t0, cpuUs = (cpuNs(pid) - c0) / 1000;
  if (res.status !== 200 || body !== String(n)) throw new Error(`${kind} ${op} ${mode}: ${res.status} ${body.slice(0, 500)}`);
  return { cpuUs, wallMs };
}

/**
 * N for about TARGET_MS of wall time per request. Each step takes the faster of two requests:
 * one stalled request (a collection, a peer process on this shared VM) must not leave N so
 * small that the N = 0 request's jitter swamps it.
 */
async function calibrate(kind: string, op: string, mode: string): Promise<number> {
  for (let i = 0; i < 3; i++) await timeRequest(kind, op, mode, 16);
  let n = 16;
  for (;;) {
    const wallMs = Math.min((await timeRequest(kind, op, mode, n)).wallMs, (await timeRequest(kind, op, mode, n)).wallMs);
    if (wallMs > TARGET_MS / 4) return Math.max(1, Math.round((n * TARGET_MS) / wallMs));
    n *= 2;
  }
}


/** Per mode: the median CPU and wall µs per operation; and per mode, its per-repetition ratio to `ref`. */
async function measure(kind: string, op: string, modes: string[], ref: string): Promise<Map<string, { cpu: number; wall: number; ratio: number }>> {
  const ns = new Map<string, number>();
  for (const m of modes) ns.set(m, await calibrate(kind, op, m));
  const cpu = new Map<string, number[]>(modes.map((m) => [m, []]));
  const wall = new Map<string, number[]>(modes.map((m) => [m, []]));
  for (let r = 0; r < REPS; r++) {
    for (const m of modes) {
      const n = ns.get(m)!;
      const base = await timeRequest(kind, op, m, 0);
      const t = await timeRequest(kind, op, m, n);
      cpu.get(m)!.push((t.cpuUs - base.cpuUs) / n);
      wall.get(m)!.push(((t.wallMs - base.wallMs) * 1000) / n);
    }
  }
  const out = new Map<string, { cpu: number; wall: number; ratio: number }>();
  for (const m of modes) {
    const ratios = cpu.get(m)!.map((v, i) => v / cpu.get(ref)![i]!);
    out.set(m, { cpu: median(cpu.get(m)!), wall: median(wall.get(m)!), ratio: median(ratios) });
  }
  return out;
}

const us = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const pct = (ratio: number): string => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(0)}%`;

/** [kind, op, label, whether the ≤ 20% target applies]. */
const CASES: [string, string, string, boolean][] = [
  ["ecdsa-p256", "sign", "Sign ECDSA P-256 (ECDSA_SHA_256)", true],
  ["ecdsa-p256", "verify", "Verify ECDSA P-256", true],
  ["rsa-2048-pss", "sign", "Sign RSA-2048 (RSASSA_PSS_SHA_256)", true],
  ["rsa-2048-pss", "verify", "Verify RSA-2048 PSS", true],
  ["ed25519", "sign", "Sign Ed25519 (ED25519_SHA_512)", false],
  ["ed25519", "verify", "Verify Ed25519", false],
  ["secp256k1", "sign", "Sign secp256k1 (ECDSA_SHA_256, @noble/curves)", false],
  ["secp256k1", "verify", "Verify secp256k1", false],
  ["hmac-256", "mac", "GenerateMac HMAC_256 (HMAC_SHA_256)", false],
];

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number }

/** Profiles `n` operations of one mode, in requests of `perRequest`; prints the heaviest functions. */
async function profile(kind: string, op: string, mode: string, inspectorPort: number): Promise<void> {
  const perRequest = 2000, requests = 10;
  await timeRequest(kind, op, mode, perRequest); // warm-up
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { title: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.title.includes("core:user:"));
  if (!target) throw new Error(`no Worker isolate among the inspector's targets: ${targets.map((t) => t.title).join(", ")}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let next = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const call = (method: string, params = {}) => new Promise<unknown>((resolve) => {
    waiting.set(++next, resolve);
    ws.send(JSON.stringify({ id: next, method, params }));
  });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 50 });
  await call("Profiler.start");
  for (let i = 0; i < requests; i++) await timeRequest(kind, op, mode, perRequest);
  const { profile: p } = (await call("Profiler.stop")) as { profile: Profile };
  ws.close();
  const ops = perRequest * requests;
  const usPerSample = (p.endTime - p.startTime) / p.samples.length;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const label = (f: CallFrame) => (f.url ? `${f.functionName || "(anonymous)"} :${f.lineNumber + 1}` : f.functionName || "(native)");
  const self = new Map<string, number>(), incl = new Map<string, number>();
  for (const id of p.samples) {
    const own = label(byId.get(id)!.callFrame);
    self.set(own, (self.get(own) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at)!.callFrame);
      if (!seen.has(l)) { seen.add(l); incl.set(l, (incl.get(l) ?? 0) + 1); }
    }
  }
  const perOp = (samples: number) => ((samples * usPerSample) / ops).toFixed(2);
  console.log(`\n${kind} ${op} ${mode}: ${ops} operations, ${p.samples.length} samples (one per ${usPerSample.toFixed(0)} µs), lines of the bench bundle\n`);
  const top = [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40);
  table(["function", "inclusive µs/op", "self µs/op"], top.map(([l, n]) => [l, perOp(n), perOp(self.get(l) ?? 0)]));
}

try {
  const url = await mf.ready;
  pid = workerdPid(Number(url.port)) ?? 0;
  if (!pid) throw new Error(`no workerd process found listening on ${url.port}`);
  if (PROFILE) await profile(PROFILE[0]!, PROFILE[1]!, PROFILE[2]!, INSPECTOR_PORT!);
  else await tables();
} finally {
  await mf.dispose();
}

async function tables(): Promise<void> {
  console.log(`\nKey types in one workerd (miniflare API), the vault's own method called inside its Durable Object vs the bare primitive; ${REPS} repetitions, median; workerd CPU µs per operation (schedstat), wall µs in the second table\n`);
  const rows: string[][] = [];
  const wallRows: string[][] = [];
  const rpcRows: string[][] = [];
  for (const [kind, op, label, target] of CASES) {
    if (!FILTER.test(label)) continue;
    const modes = ["bare", ...(kind === "ecdsa-p256" ? ["bare+der"] : []), "keytype", "vault", "vault+audit", "dry+audit", "rpc", "rpc+audit"];
    const m = await measure(kind, op, modes, "bare");
    const g = (k: string) => m.get(k)!;
    const der = m.get("bare+der");
    const verdict = (r: number) => (target ? (r <= 1.2 ? "yes" : "no") : "–");
    const withPct = (k: string) => `${us(g(k).cpu)} (${pct(g(k).ratio)})`;
    rows.push([label, us(g("bare").cpu), der ? withPct("bare+der") : "–", withPct("keytype"), withPct("vault"), withPct("vault+audit"), us(g("dry+audit").cpu), verdict(g("vault+audit").ratio)]);
    wallRows.push([label, us(g("bare").wall), der ? us(der.wall) : "–", us(g("keytype").wall), us(g("vault").wall), us(g("vault+audit").wall), us(g("dry+audit").wall)]);
    rpcRows.push([label, us(g("vault").cpu), us(g("rpc").cpu), us(g("rpc").cpu - g("vault").cpu), us(g("vault+audit").cpu), us(g("rpc+audit").cpu), us(g("rpc+audit").cpu - g("vault+audit").cpu)]);
  }
  if (FILTER.test("GetPublicKey DescribeKey ping")) {
    for (const [kind, op, label] of [["ecdsa-p256", "publicKey", "GetPublicKey P-256"], ["ecdsa-p256", "describe", "DescribeKey P-256"]] as const) {
      const m = await measure(kind, op, ["vault", "rpc", "vault+audit", "rpc+audit"], "vault");
      const g = (k: string) => m.get(k)!.cpu;
      rpcRows.push([label, us(g("vault")), us(g("rpc")), us(g("rpc") - g("vault")), us(g("vault+audit")), us(g("rpc+audit")), us(g("rpc+audit") - g("vault+audit"))]);
    }
    const ping = await measure("ecdsa-p256", "none", ["rpc-ping"], "rpc-ping");
    const p = us(ping.get("rpc-ping")!.cpu);
    rpcRows.push(["empty RPC (ping), Worker → Durable Object", "–", p, p, "–", p, p]);
  }
  table(["operation", "bare primitive", "bare + DER conversion as ecc.ts does it", "key type's LoadedKey (key-types/*.ts)", "vault, no audit draft", "vault, audit draft", "vault DryRun (no crypto), audit draft", "vault ≤ bare + 20% (RSA, ECDSA; audit draft)"], rows);
  console.log(`\nThe same, wall µs per operation\n`);
  table(["operation", "bare primitive", "bare + DER conversion", "key type's LoadedKey", "vault, no audit draft", "vault, audit draft", "vault DryRun, audit draft"], wallRows);
  console.log(`\nOne RPC per operation from the Worker (as src/operations calls the vault), workerd CPU µs per operation\n`);
  table(["operation", "vault inside its Durable Object, no audit draft", "Worker → vault RPC, no audit draft", "RPC's share", "vault inside, audit draft", "Worker → vault RPC, audit draft", "RPC's share"], rpcRows);
}
