// Faults under load (docs/chaos.md): the scenarios of `npm run chaos` (bench/chaos.ts) and of
// test/e2e/chaos.test.ts, which runs them at a small scale. One workerd through miniflare (npm run
// serve's startServer, state persisted in a temp dir) runs EdgeKMS and the chaos driver Worker
// (bench/chaos-driver.js), which reaches the Durable Objects' `chaos` hooks; EdgeKMS runs with
// CHAOS = "on", which only this file sets. Load is signed KMS requests from several accounts on
// several keys; each scenario injects its faults during the load, then checks, after an
// AuditFlush, what the trail in R2 holds (read through miniflare's view of EdgeKMS's own bucket
// bindings) against what the clients were answered.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { Miniflare } from "miniflare";
// @ts-expect-error: plain ESM script without types
import { compatibilityDate, startServer } from "../scripts/serve.mjs";
import { signRequest } from "../dist/cli/sign.js";
import { MIN_PENDING_WINDOW_DAYS, MIN_ROTATION_PERIOD_DAYS } from "../src/kms/limits.ts";
import type { ChaosAnswer, ChaosCommand, ChaosStats } from "../src/vault/faults.ts";

/** Test-only identities and root secret of chaos servers (never used elsewhere), with the hooks on. */
export const CHAOS_VARS = {
  BOOTSTRAP_ACCOUNT_ID: "210987654321",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSCHAOS0001",
  BOOTSTRAP_SECRET_ACCESS_KEY: "chaos-secret-access-key-not-for-production",
  KMS_ROOT_SECRET: btoa("edgekms chaos root secret, not for production!!"),
  // The load drives one account past AWS's default request-rate quotas (CreateKey 5 a second).
  QUOTA_SCALE: "1000",
  CHAOS: "on",
};
const REGION = "us-east-1";
// Durable Object names as src/placement.ts makes them (vaultName, auditLogName). Not imported:
// placement.ts brings the Worker's types into this Node code. A drift would show at once: the
// hooks would reach empty objects, and the outage and stats checks fail.
const vaultName = (region: string, keyId: string) => `${region}/key/${keyId}`;
const auditLogName = (region: string, account: string) => `${region}/audit/${account}`;
const DAY_MS = 86_400_000;
/**
 * UNAUTHENTICATED_RECORDS_PER_SOURCE_MINUTE of src/audit/audit-log.ts, which Node cannot import
 * (it imports cloudflare:workers). The flood check reads the bound from here.
 */
export const UNAUTHENTICATED_PER_SOURCE_MINUTE = 10;
/** Every request's User-Agent, so the trail's records of this run's flood can be told apart. */
const LOAD_AGENT = "edgekms-chaos-load";
const FLOOD_AGENT = "edgekms-chaos-flood";

export interface ChaosOptions {
  /** Seconds of load per scenario phase. */
  seconds: number;
  /** Concurrent authenticated requests. */
  concurrency: number;
  /** Accounts besides the operator's, and keys per account. */
  accounts: number;
  keysPerAccount: number;
  /** R2 refuses writes for this long. */
  outageSeconds: number;
  /** Concurrent unauthenticated requests of the flood. */
  floodConcurrency: number;
  /** A Durable Object is aborted this often in the abort scenario. */
  abortEveryMs: number;
  /** The vault clocks move this many days per step, every clockStepMs, for clockTotalDays. */
  clockStepDays: number;
  clockStepMs: number;
  clockTotalDays: number;
  /**
   * The smallest share of its no-flood req/s authenticated load keeps under the flood. The flood
   * has twice the connections: served fairly by connection, and its requests no cheaper, the
   * authenticated ones would keep a third.
   */
  minAuthShareUnderFlood: number;
  /** At most this many acknowledged ciphertexts are decrypted again after a scenario. */
  decryptChecks: number;
}

export const DEFAULT_OPTIONS: ChaosOptions = {
  seconds: 20, concurrency: 8, accounts: 2, keysPerAccount: 4, outageSeconds: 15, floodConcurrency: 16, abortEveryMs: 600,
  clockStepDays: 5, clockStepMs: 250, clockTotalDays: 200, minAuthShareUnderFlood: 0.2, decryptChecks: 3000,
};

// ---- the server and the driver ------------------------------------------------------------

const DRIVER = {
  name: "chaos",
  modules: [{ type: "ESModule", path: "driver.js", contents: readFileSync(new URL("chaos-driver.js", import.meta.url), "utf8") }],
  compatibilityDate: compatibilityDate as string,
  durableObjects: { KEY_VAULT: { className: "KeyVault", scriptName: "edgekms" }, AUDIT_LOG: { className: "AuditLog", scriptName: "edgekms" } },
};

type Fetcher = Awaited<ReturnType<Miniflare["getWorker"]>>;

export class ChaosServer {
  url = "";
  private mf: Miniflare | undefined;
  private driver: Fetcher | undefined;
  private readonly stateDir: string;
  private readonly port: number;

  constructor(stateDir: string, port: number) {
    this.stateDir = stateDir;
    this.port = port;
  }

  async start(): Promise<void> {
    const { url, mf } = await startServer({ port: this.port, persist: this.stateDir, vars: CHAOS_VARS, workers: [DRIVER] });
    this.url = url as string;
    this.mf = mf as Miniflare;
    this.driver = await this.mf.getWorker("chaos");
  }

  /** Stops the workerd process and starts a new one on the same persisted state and port; returns the ms it was down. */
  async restart(): Promise<number> {
    const t = performance.now();
    const mf = this.mf!;
    this.mf = this.driver = undefined;
    await mf.dispose();
    await this.start();
    return performance.now() - t;
  }

  async dispose(): Promise<void> {
    await this.mf?.dispose();
    this.mf = this.driver = undefined;
  }

  private async ask(q: object): Promise<Response> {
    if (!this.driver) throw new Error("the server is restarting");
    return this.driver.fetch("http://chaos-driver/", { method: "POST", body: JSON.stringify(q) }) as unknown as Promise<Response>;
  }

  /** A command to a Durable Object's chaos hook; a refusal, or the error an abort answers with, is returned, not thrown. */
  async command(ns: "KEY_VAULT" | "AUDIT_LOG", name: string, cmd: ChaosCommand): Promise<{ stats?: ChaosStats; error?: string }> {
    const r = await this.ask({ ns, name, cmd });
    const { result, error } = (await r.json()) as { result?: ChaosAnswer; error?: string };
    return { ...(result?.stats ? { stats: result.stats } : {}), ...(error ?? result?.refused ? { error: error ?? result?.refused } : {}) };
  }

  vault(keyId: string, cmd: ChaosCommand) {
    return this.command("KEY_VAULT", vaultName(REGION, keyId), cmd);
  }

  auditLog(account: string, cmd: ChaosCommand, region = REGION) {
    return this.command("AUDIT_LOG", auditLogName(region, account), cmd);
  }

  /** `rows: false` for polling: without the row counts, which read every stored row. */
  async auditStats(account: string, region = REGION, rows = true): Promise<ChaosStats> {
    const r = await this.auditLog(account, { op: "stats", rows }, region);
    if (!r.stats) throw new Error(`AuditLog stats: ${r.error}`);
    return r.stats;
  }

  /** EdgeKMS's own bucket binding, read from Node through miniflare (whatever bucket it names). */
  private bucket(binding: string) {
    if (!this.mf) throw new Error("the server is restarting");
    return this.mf.getR2Bucket(binding, "edgekms");
  }

  async r2List(binding: string, prefix: string): Promise<{ key: string; size: number }[]> {
    const bucket = await this.bucket(binding);
    const out: { key: string; size: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) });
      out.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return out;
  }

  async r2Get(binding: string, key: string): Promise<Buffer> {
    const obj = await (await this.bucket(binding)).get(key);
    if (!obj) throw new Error(`R2 get ${key}: no such object`);
    return Buffer.from(await obj.arrayBuffer());
  }
}

// ---- requests -----------------------------------------------------------------------------

export interface Who { account: string; accessKeyId: string; secretAccessKey: string }

export interface Answer { status: number; body: Record<string, unknown>; requestId?: string; ms: number }

/** One signed request; status 0 when no answer came (connection refused or reset, timeout). */
export async function send(url: string, path: "/" | "/admin", target: string, input: object, who: Who, extra: Record<string, string> = {}, region = REGION): Promise<Answer> {
  const body = JSON.stringify(input);
  const t = performance.now();
  try {
    const headers = await signRequest(`${url}${path}`, target, body, { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey, region, contentSha256: true });
    const res = await fetch(`${url}${path}`, { method: "POST", headers: { ...headers, "user-agent": LOAD_AGENT, ...extra }, body, signal: AbortSignal.timeout(20_000) });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: res.status, body: json, requestId: res.headers.get("x-amzn-requestid") ?? undefined, ms: performance.now() - t };
  } catch {
    return { status: 0, body: {}, ms: performance.now() - t };
  }
}

/** A KMS call that must succeed (set-up and checks). */
async function kms(url: string, who: Who, target: string, input: object): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    const a = await send(url, "/", target, input, who);
    if (a.status === 200) return a.body;
    // Set-up and checks run after the faults; a 5xx then is retried a few times, never hidden.
    if (a.status >= 500 && attempt < 5) { await sleep(200); continue; }
    throw new Error(`${target}: ${a.status} ${JSON.stringify(a.body)}`);
  }
}

async function admin(url: string, operator: Who, op: string, input: object = {}): Promise<Record<string, unknown>> {
  const a = await send(url, "/admin", `EdgeKMSAdmin.${op}`, input, operator);
  if (a.status !== 200) throw new Error(`${op}: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : NaN);

// ---- the run's state ----------------------------------------------------------------------

/** A request of the load, as its client saw it. */
export interface Sent { scenario: string; phase: string; op: string; status: number; type?: string; requestId?: string; at: number; ms: number }

/** An acknowledged ciphertext and what it must decrypt to. */
interface Sealed { account: string; keyId: string; blob: string; plaintext: string; context: Record<string, string> }

interface Account extends Who { keys: string[] }

export interface Check { name: string; ok: boolean; detail: string }
export interface ScenarioResult { name: string; summary: Record<string, string>; figures: [string, string][]; checks: Check[] }

export class ChaosRun {
  readonly server: ChaosServer;
  readonly opts: ChaosOptions;
  readonly operator: Who = { account: CHAOS_VARS.BOOTSTRAP_ACCOUNT_ID, accessKeyId: CHAOS_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: CHAOS_VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
  accounts: Account[] = [];
  readonly sent: Sent[] = [];
  /** Acknowledged ciphertexts (a bounded uniform sample: reservoir of opts.decryptChecks). */
  private sealed: Sealed[] = [];
  private sealedSeen = 0;
  /** Plaintexts and data keys the run sent or received (base64), looked for in every record. */
  readonly secrets = new Set<string>();
  /** Keys the load leaves alone (a key being deleted). */
  readonly retired = new Set<string>();
  /** Keys whose acknowledged CreateKey the load saw, per account. */
  readonly created = new Map<string, Set<string>>();
  readonly trail: Trail;
  scenario = "setup";
  phase = "";
  /** Decrypts during the load that answered 200 with another plaintext. */
  wrongPlaintexts = 0;
  /** The first few of them, to tell a wrong plaintext from a 200 whose body did not arrive whole (no Plaintext string). */
  readonly wrongPlaintextSamples: string[] = [];

  constructor(server: ChaosServer, opts: ChaosOptions) {
    this.server = server;
    this.opts = opts;
    this.trail = new Trail(server, this.secrets);
  }

  get url(): string {
    return this.server.url;
  }

  /** Accounts, their keys (and a key of the operator's account). */
  async setup(): Promise<void> {
    const whos: Who[] = [this.operator];
    for (let i = 0; i < this.opts.accounts; i++) {
      const a = await admin(this.url, this.operator, "CreateAccount");
      whos.push({ account: String(a.AccountId), accessKeyId: String(a.AccessKeyId), secretAccessKey: String(a.SecretAccessKey) });
    }
    for (const who of whos) {
      const keys: string[] = [];
      for (let k = 0; k < this.opts.keysPerAccount; k++) keys.push(await this.createKey(who, `chaos load key ${k}`));
      this.accounts.push({ ...who, keys });
    }
  }

  async createKey(who: Who, description: string): Promise<string> {
    const keyId = String(((await kms(this.url, who, "CreateKey", { Description: description })).KeyMetadata as { KeyId: string }).KeyId);
    this.noteCreated(who.account, keyId);
    return keyId;
  }

  private noteCreated(account: string, keyId: string): void {
    let set = this.created.get(account);
    if (!set) this.created.set(account, (set = new Set()));
    set.add(keyId);
  }

  seal(s: Sealed): void {
    this.secrets.add(s.plaintext);
    this.sealedSeen++;
    if (this.sealed.length < this.opts.decryptChecks) this.sealed.push(s);
    else {
      const j = Math.floor(Math.random() * this.sealedSeen);
      if (j < this.sealed.length) this.sealed[j] = s;
    }
  }

  /** One request of the load mix, recorded in `sent`. */
  async loadRequest(account: Account, extraKeys: string[] = [], onKey?: string): Promise<void> {
    const keys = [...account.keys, ...extraKeys].filter((k) => !this.retired.has(k));
    const keyId = onKey ?? pick(keys);
    const r = Math.random();
    const context = { chaos: String(Math.floor(Math.random() * 1e9)) };
    let op: string;
    let input: object;
    let plaintext: string | undefined;
    const mine = this.sealed.filter((s) => s.account === account.account && !this.retired.has(s.keyId));
    if (r < 0.4 || (r < 0.65 && mine.length === 0)) {
      op = "Encrypt";
      plaintext = b64(randomBytes(32));
      input = { KeyId: keyId, Plaintext: plaintext, EncryptionContext: context };
    } else if (r < 0.65) {
      op = "Decrypt";
      const s = pick(mine);
      plaintext = s.plaintext;
      input = { CiphertextBlob: s.blob, EncryptionContext: s.context };
    } else if (r < 0.85) {
      op = "GenerateDataKey";
      input = { KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context };
    } else if (r < 0.91) {
      op = "DescribeKey";
      input = { KeyId: keyId };
    } else if (r < 0.96) {
      // A state change: its record goes through the vault's outbox.
      op = "TagResource";
      input = { KeyId: keyId, Tags: [{ TagKey: `chaos-${Math.floor(Math.random() * 8)}`, TagValue: String(Math.floor(Math.random() * 1e6)) }] };
    } else if (r < 0.99) {
      op = "ListKeys";
      input = { Limit: 10 };
    } else {
      op = "CreateKey";
      input = { Description: "chaos key made during the load" };
    }
    const a = await send(this.url, "/", op, input, account);
    this.sent.push({ scenario: this.scenario, phase: this.phase, op, status: a.status, type: a.body.__type as string | undefined, requestId: a.requestId, at: Date.now(), ms: a.ms });
    if (a.status !== 200) return;
    if (op === "Encrypt") this.seal({ account: account.account, keyId, blob: String(a.body.CiphertextBlob), plaintext: plaintext!, context });
    else if (op === "GenerateDataKey") this.seal({ account: account.account, keyId, blob: String(a.body.CiphertextBlob), plaintext: String(a.body.Plaintext), context });
    else if (op === "Decrypt" && a.body.Plaintext !== plaintext) {
      this.wrongPlaintexts++;
      if (this.wrongPlaintextSamples.length < 3) {
        const got = typeof a.body.Plaintext === "string" ? `another plaintext of ${a.body.Plaintext.length} base64 characters` : `no Plaintext string (members: ${Object.keys(a.body).join(",") || "none"})`;
        this.wrongPlaintextSamples.push(`phase ${this.phase}, request ${a.requestId ?? "without an id"}: ${got}`);
      }
    }
    else if (op === "CreateKey") this.noteCreated(account.account, String((a.body.KeyMetadata as { KeyId: string }).KeyId));
  }

  /** Runs the load (`concurrency` loops over the accounts) until stop() is called. */
  startLoad(concurrency = this.opts.concurrency, extraKeys: (a: Account) => string[] = () => []): { stop: () => Promise<void> } {
    let running = true;
    const loops = Array.from({ length: concurrency }, async (_, i) => {
      while (running) {
        const account = this.accounts[i % this.accounts.length]!;
        const before = this.sent.length;
        await this.loadRequest(account, extraKeys(account));
        // No answer (the server is down): do not spin.
        if (this.sent.length > before && this.sent[this.sent.length - 1]!.status === 0) await sleep(50);
      }
    });
    return { stop: async () => { running = false; await Promise.all(loops); } };
  }

  /** Delivers every account's records (AuditFlush as the operator) and reads the new objects. */
  async flushAndRead(regions: string[] = [REGION]): Promise<void> {
    for (const region of regions) {
      for (const a of this.accounts) {
        for (let attempt = 0; ; attempt++) {
          const r = await send(this.url, "/admin", "EdgeKMSAdmin.AuditFlush", { Account: a.account }, this.operator, {}, region);
          if (r.status === 200) break;
          if (attempt >= 10) throw new Error(`AuditFlush ${a.account} ${region}: ${r.status} ${JSON.stringify(r.body)}`);
          await sleep(500);
        }
      }
    }
    await this.trail.refresh();
  }

  /** Decrypts the sampled acknowledged ciphertexts again; returns how many were checked and how many failed. */
  async decryptAll(): Promise<{ checked: number; failed: number; firstFailure?: string }> {
    let failed = 0;
    let firstFailure: string | undefined;
    const todo = this.sealed.filter((s) => !this.retired.has(s.keyId));
    const byAccount = new Map(this.accounts.map((a) => [a.account, a]));
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < todo.length) {
        const s = todo[next++]!;
        const a = await send(this.url, "/", "Decrypt", { CiphertextBlob: s.blob, EncryptionContext: s.context }, byAccount.get(s.account)!);
        if (a.status !== 200 || a.body.Plaintext !== s.plaintext) {
          failed++;
          firstFailure ??= `${a.status} ${String(a.body.__type ?? "wrong plaintext")}`;
        }
      }
    }));
    return { checked: todo.length, failed, ...(firstFailure ? { firstFailure } : {}) };
  }

  /** Every account's ListKeys, paged. */
  async listKeys(who: Who): Promise<string[]> {
    const out: string[] = [];
    let marker: string | undefined;
    do {
      const page = await kms(this.url, who, "ListKeys", { Limit: 1000, ...(marker ? { Marker: marker } : {}) });
      out.push(...(page.Keys as { KeyId: string }[]).map((k) => k.KeyId));
      marker = page.Truncated ? String(page.NextMarker) : undefined;
    } while (marker);
    return out;
  }

  /** Keys ListKeys names that DescribeKey does not find (a listing without a key). */
  async phantomKeys(): Promise<number> {
    let n = 0;
    for (const a of this.accounts) {
      for (const keyId of await this.listKeys(a)) if ((await send(this.url, "/", "DescribeKey", { KeyId: keyId }, a)).status !== 200) n++;
    }
    return n;
  }

  /** What must not change across faults: each key's metadata that no load request changes, and its rotations (listed keys DescribeKey finds). */
  async keySnapshot(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const a of this.accounts) {
      for (const keyId of await this.listKeys(a)) {
        const d = await send(this.url, "/", "DescribeKey", { KeyId: keyId }, a);
        if (d.status !== 200) continue;
        const m = d.body.KeyMetadata as Record<string, unknown>;
        const rotations = (await kms(this.url, a, "ListKeyRotations", { KeyId: keyId })).Rotations as unknown[];
        const { Arn, KeyState, KeySpec, KeyUsage, CreationDate, Origin, Enabled, KeyManager } = m;
        out.set(`${a.account}/${keyId}`, JSON.stringify({ Arn, KeyState, KeySpec, KeyUsage, CreationDate, Origin, Enabled, KeyManager, rotations: rotations.length }));
      }
    }
    return out;
  }

  /**
   * The trail against the answers of a scenario's requests: an answered request (2xx, 4xx) has
   * exactly one record; a 5xx or unanswered one may have none, never two.
   */
  trailFigures(scenario: string): TrailFigures {
    const f: TrailFigures = { sent: 0, ok: 0, client: 0, server: 0, noAnswer: 0, expected: 0, delivered: 0, lost: 0, twice: 0, failedWithRecord: 0, lostExamples: [] };
    for (const s of this.sent) {
      if (s.scenario !== scenario) continue;
      f.sent++;
      if (s.status === 0) { f.noAnswer++; continue; }
      const n = s.requestId ? this.trail.byRequest.get(s.requestId) ?? 0 : 0;
      if (n > 1) f.twice++;
      if (s.status < 500) {
        if (s.status < 300) f.ok++;
        else f.client++;
        f.expected++;
        if (n >= 1) f.delivered++;
        else {
          f.lost++;
          if (f.lostExamples.length < 3) f.lostExamples.push(`${s.op} ${s.status} ${s.type ?? ""} ${s.requestId}`);
        }
      } else {
        f.server++;
        if (n >= 1) f.failedWithRecord++;
      }
    }
    return f;
  }

  /** The common checks and summary columns of a scenario. */
  trailResult(scenario: string): { summary: Record<string, string>; checks: Check[]; figures: TrailFigures } {
    const f = this.trailFigures(scenario);
    const dupEvents = this.trail.duplicateEvents();
    const summary = {
      sent: String(f.sent), "2xx": String(f.ok), "4xx": String(f.client), "5xx": String(f.server), "no answer": String(f.noAnswer),
      "records expected": String(f.expected), delivered: String(f.delivered), lost: String(f.lost), "requests with 2+ records": String(f.twice),
      "duplicate eventIDs (whole trail)": String(dupEvents), "5xx with a record": String(f.failedWithRecord),
    };
    const checks: Check[] = [
      { name: `${scenario}: every answered (2xx/4xx) request has its record`, ok: f.lost === 0, detail: `${f.delivered} of ${f.expected}${f.lostExamples.length ? `; lost e.g. ${f.lostExamples.join(", ")}` : ""}` },
      { name: `${scenario}: no request has two records`, ok: f.twice === 0, detail: `${f.twice}` },
      { name: `${scenario}: no eventID appears twice in the trail`, ok: dupEvents === 0, detail: `${dupEvents}${dupEvents ? `; e.g. ${this.trail.duplicates.join("; ")}` : ""}` },
      { name: `${scenario}: no record holds a plaintext or data key`, ok: this.trail.leaks === 0, detail: `${this.trail.leaks} of ${this.trail.records} records` },
      { name: `${scenario}: Decrypt during the load never returned another plaintext`, ok: this.wrongPlaintexts === 0, detail: `${this.wrongPlaintexts}${this.wrongPlaintextSamples.length ? `; ${this.wrongPlaintextSamples.join("; ")}` : ""}` },
    ];
    return { summary, checks, figures: f };
  }

  /** Throughput and latency of the scenario's requests answered in a phase. */
  phaseStats(scenario: string, phase: string, seconds: number): { rps: number; p50: number; p99: number; answered: number; s5xx: number } {
    const xs = this.sent.filter((s) => s.scenario === scenario && s.phase === phase && s.status !== 0);
    const ms = xs.map((s) => s.ms);
    return { rps: xs.length / seconds, p50: pct(ms, 0.5), p99: pct(ms, 0.99), answered: xs.length, s5xx: xs.filter((s) => s.status >= 500).length };
  }
}

export interface TrailFigures {
  sent: number; ok: number; client: number; server: number; noAnswer: number;
  expected: number; delivered: number; lost: number; twice: number; failedWithRecord: number; lostExamples: string[];
}

// ---- the trail in R2 ----------------------------------------------------------------------

interface TrailRecord {
  requestID?: string; eventID: string; eventName: string; eventTime: string; userAgent: string; sourceIPAddress: string; awsRegion: string;
  recipientAccountId: string; errorCode?: string; resources?: { ARN: string }[]; additionalEventData?: Record<string, unknown>; userIdentity: { type: string };
}

/** Every delivered record, read once per object (an object rewritten by a retry has the same name and rows). */
export class Trail {
  readonly byRequest = new Map<string, number>();
  readonly byEvent = new Map<string, number>();
  /** Where each record was first read (object key), and a description of each record read twice: for a failed check's detail. */
  private readonly firstSeen = new Map<string, string>();
  readonly duplicates: string[] = [];
  /** Records kept whole: service events and unauthenticated ones (the rest only counted). */
  readonly kept: TrailRecord[] = [];
  records = 0;
  objects = 0;
  bytes = 0;
  leaks = 0;
  private readonly read = new Set<string>();
  private readonly server: ChaosServer;
  private readonly secrets: Set<string>;

  constructor(server: ChaosServer, secrets: Set<string>) {
    this.server = server;
    this.secrets = secrets;
  }

  async refresh(): Promise<void> {
    for (const bucket of ["AUDIT_BUCKET", "AUDIT_BUCKET_EU"]) {
      for (const o of await this.server.r2List(bucket, "AWSLogs/")) {
        if (!o.key.includes("/CloudTrail/") || this.read.has(o.key)) continue;
        this.read.add(o.key);
        this.objects++;
        this.bytes += o.size;
        const { Records } = JSON.parse(gunzipSync(await this.server.r2Get(bucket, o.key)).toString("utf8")) as { Records: TrailRecord[] };
        for (const r of Records) this.add(r, o.key);
      }
    }
  }

  private add(r: TrailRecord, objectKey: string): void {
    this.records++;
    if (r.requestID) this.byRequest.set(r.requestID, (this.byRequest.get(r.requestID) ?? 0) + 1);
    this.byEvent.set(r.eventID, (this.byEvent.get(r.eventID) ?? 0) + 1);
    const first = this.firstSeen.get(r.eventID);
    if (first === undefined) this.firstSeen.set(r.eventID, objectKey);
    else if (this.duplicates.length < 5) this.duplicates.push(`${r.eventName} ${r.eventTime} ${r.eventID} request ${r.requestID ?? "-"} in ${first.split("/").pop()} and ${objectKey.split("/").pop()}`);
    if (r.userIdentity.type === "AWSService" || r.userIdentity.type === "Unknown") this.kept.push(r);
    if (this.holdsSecret(r)) this.leaks++;
  }

  /** Whether any string in the record is one of the run's plaintexts or data keys (base64, or hex). */
  private holdsSecret(value: unknown): boolean {
    if (typeof value === "string") return value.length >= 40 && (this.secrets.has(value) || (/^[0-9a-f]+$/.test(value) && this.secrets.has(Buffer.from(value, "hex").toString("base64"))));
    if (value && typeof value === "object") return Object.values(value).some((v) => this.holdsSecret(v));
    return false;
  }

  duplicateEvents(): number {
    let n = 0;
    for (const c of this.byEvent.values()) if (c > 1) n++;
    return n;
  }

  serviceEvents(eventName: string, arn: string): TrailRecord[] {
    return this.kept.filter((r) => r.eventName === eventName && (r.resources ?? []).some((x) => x.ARN === arn));
  }
}

// ---- scenarios ----------------------------------------------------------------------------

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * The most R2 writes an AuditLog attempts in `ms` of outage: its first pass, then retries after
 * 2, 4, 8 … s (at most 5 min, docs/audit.md "Retries"); plus one flush, and one pass already
 * under way when R2 went.
 */
function retryBound(ms: number): number {
  let attempts = 1;
  for (let n = 1, t = 0; (t += Math.min(1000 * 2 ** n, 300_000)) <= ms; n++) attempts++;
  return attempts + 2;
}

/** R2 refuses every write for outageSeconds while the load goes on; then delivery must resume, and no record be lost or doubled. */
export async function r2Outage(run: ChaosRun): Promise<ScenarioResult> {
  const o = run.opts;
  const name = (run.scenario = "r2-outage");
  const operator = run.operator.account;
  // Log objects of every account (digests aside).
  const listed = async () => (await run.server.r2List("AUDIT_BUCKET", "AWSLogs/")).filter((x) => x.key.includes("/CloudTrail/")).length;
  run.phase = "before";
  const load = run.startLoad();
  await sleep((o.seconds * 1000) / 2);
  const objectsBefore = await listed();
  const refusedNow = async () => new Map(await Promise.all(run.accounts.map(async (a) => [a.account, (await run.server.auditStats(a.account, REGION, false)).faultsFailed["r2-put"] ?? 0] as const)));
  const refusedBefore = await refusedNow();
  // Every account's AuditLog loses R2 at once (one outage of the bucket). Armed for longer than
  // needed, so that it ends by itself should the driver fail; disarmed when the outage is over.
  const cap = o.outageSeconds * 1000 + 60_000;
  for (const a of run.accounts) await run.server.auditLog(a.account, { op: "arm", point: "r2-put", forMs: cap });
  const outageStart = Date.now();
  run.phase = "outage";
  let peakPending = 0;
  let failedDuring = 0;
  let flushDuring: Answer | undefined;
  const timerBroughtForward = new Set<string>();
  // The outage lasts outageSeconds, and at least until each AuditLog's own delivery (a full
  // batch, or its timer) was refused once, so that recovery is theirs, not a flush's. A short
  // run may not fill a batch: then an AuditLog's delivery timer (60 s) is brought forward to now.
  for (;;) {
    await sleep(1000);
    // Pending records of one AuditLog only: counting them reads every stored row.
    peakPending = Math.max(peakPending, (await run.server.auditStats(operator)).records ?? 0);
    const refused = await refusedNow();
    const elapsed = Date.now() - outageStart;
    // Halfway, an operator's flush: it must fail (R2 refuses it) and lose nothing.
    if (!flushDuring && elapsed >= o.outageSeconds * 500) flushDuring = await send(run.url, "/admin", "EdgeKMSAdmin.AuditFlush", { Account: operator }, run.operator);
    const byAlarm = (account: string) => refused.get(account)! - refusedBefore.get(account)! - (account === operator && flushDuring && flushDuring.status >= 500 ? 1 : 0);
    failedDuring = refused.get(operator)! - refusedBefore.get(operator)!;
    const waiting = run.accounts.filter((a) => byAlarm(a.account) < 1);
    if ((flushDuring && elapsed >= o.outageSeconds * 1000 && waiting.length === 0) || elapsed >= cap - 5000) break;
    if (elapsed >= o.outageSeconds * 1000) {
      for (const a of waiting) {
        if (timerBroughtForward.has(a.account)) continue;
        await run.server.auditLog(a.account, { op: "deliver-now" });
        timerBroughtForward.add(a.account);
      }
    }
  }
  const objectsDuring = (await listed()) - objectsBefore;
  for (const a of run.accounts) await run.server.auditLog(a.account, { op: "disarm" });
  const outageEnd = Date.now();
  const outageSeconds = (outageEnd - outageStart) / 1000;
  run.phase = "after";
  // Recovery, with no flush: the first object delivered after the outage, and the records of
  // every request acknowledged during it in R2. Only those the handler appended: a state
  // change's record (TagResource, CreateKey) reaches the AuditLog from the vault's outbox a
  // second later, and then waits for the next delivery (at most a minute), outage or not.
  let resumedMs = NaN;
  let clearedMs = NaN;
  const objectsAtEnd = await listed();
  const acked = run.sent.filter((s) => s.scenario === name && s.phase === "outage" && s.status === 200 && s.requestId && s.op !== "TagResource" && s.op !== "CreateKey");
  const limit = outageEnd + Math.max(o.seconds, o.outageSeconds * 3) * 1000;
  while (Date.now() < limit && !(Number.isFinite(resumedMs) && Number.isFinite(clearedMs))) {
    await sleep(500);
    if (!Number.isFinite(resumedMs) && (await listed()) > objectsAtEnd) resumedMs = Date.now() - outageEnd;
    if (Number.isFinite(resumedMs) && !Number.isFinite(clearedMs)) {
      await run.trail.refresh();
      if (acked.every((s) => run.trail.byRequest.has(s.requestId!))) clearedMs = Date.now() - outageEnd;
    }
  }
  const afterSeconds = (Date.now() - outageEnd) / 1000;
  await load.stop();
  await run.flushAndRead();
  const t = run.trailResult(name);
  const before = run.phaseStats(name, "before", o.seconds / 2);
  const during = run.phaseStats(name, "outage", outageSeconds);
  const after = run.phaseStats(name, "after", afterSeconds);
  const dec = await run.decryptAll();
  return {
    name, summary: t.summary,
    figures: [
      ["R2 outage (r2-put armed in every account's AuditLog)", `${outageSeconds.toFixed(1)} s`],
      ["req/s before / during / after the outage", `${fmt(before.rps)} / ${fmt(during.rps)} / ${fmt(after.rps)}`],
      ["p99 ms before / during / after", `${fmt(before.p99)} / ${fmt(during.p99)} / ${fmt(after.p99)}`],
      ["log objects delivered during the outage (every account)", String(objectsDuring)],
      ["R2 writes refused during the outage (operator account's AuditLog; the backoff allows)", `${failedDuring} (≤ ${retryBound(outageEnd - outageStart)})`],
      ["records pending in the AuditLog at the peak (operator account)", String(peakPending)],
      ["delivery resumed after the outage (first object), s", fmt(resumedMs / 1000, 1)],
      ["records of every request acknowledged during the outage in R2 after, s (outbox-path state changes aside)", fmt(clearedMs / 1000, 1)],
      ["an operator's AuditFlush during the outage", `${flushDuring!.status} ${String(flushDuring!.body.__type ?? "")}`],
      ["AuditLogs whose own delivery was refused by their timer brought forward (no full batch in time)", `${timerBroughtForward.size} of ${run.accounts.length}`],
      ["acknowledged ciphertexts decrypted again / failed", `${dec.checked} / ${dec.failed}`],
    ],
    checks: [
      ...t.checks,
      { name: `${name}: no log object reached R2 during the outage`, ok: objectsDuring === 0, detail: String(objectsDuring) },
      { name: `${name}: requests went on during the outage (2xx answered)`, ok: during.answered > 0 && during.s5xx === 0, detail: `${during.answered} answered, ${during.s5xx} 5xx` },
      { name: `${name}: delivery resumed by itself after the outage (no flush)`, ok: Number.isFinite(resumedMs), detail: `${fmt(resumedMs / 1000, 1)} s` },
      { name: `${name}: the records of the requests acknowledged during the outage reached R2 by themselves`, ok: Number.isFinite(clearedMs), detail: `${acked.length} requests, ${fmt(clearedMs / 1000, 1)} s after` },
      { name: `${name}: a flush during the outage fails rather than claim delivery`, ok: flushDuring!.status >= 500, detail: `${flushDuring!.status}` },
      { name: `${name}: R2 retried on the backoff schedule, not once per request`, ok: failedDuring >= 1 && failedDuring <= retryBound(outageEnd - outageStart), detail: `${failedDuring} refused writes in ${outageSeconds.toFixed(1)} s` },
      { name: `${name}: acknowledged ciphertexts still decrypt`, ok: dec.failed === 0, detail: `${dec.checked} checked${dec.firstFailure ? `, e.g. ${dec.firstFailure}` : ""}` },
    ],
  };
}

/**
 * How long the abort scenario waits for listings without a key to be dropped: the catalog checks a
 * registration with its vault 30 s after it (VERIFY_REGISTRATION_MS, src/vault/catalog.ts, which
 * Node cannot import), then runs its alarm.
 */
const REPAIR_WAIT_MS = 60_000;

/**
 * Vaults and AuditLogs aborted (ctx.abort()) again and again during the load, with fault points
 * armed (a sender dying after its batch was taken, R2 written but the rows not deleted, the
 * AuditLog refusing appends), and the whole workerd stopped and started again on its state.
 */
export async function aborts(run: ChaosRun): Promise<ScenarioResult> {
  const o = run.opts;
  const name = (run.scenario = "do-aborts");
  const before = await run.keySnapshot();
  const keysBefore = new Map<string, number>();
  for (const a of run.accounts) keysBefore.set(a.account, (await run.listKeys(a)).length);
  run.phase = "faults";
  const load = run.startLoad();
  const counts = { vaultAborts: 0, logAborts: 0, armed: 0, restarts: 0 };
  let downMs = 0;
  let recoveryMs = NaN;
  let faulting = true;
  const injector = (async () => {
    let i = 0;
    while (faulting) {
      await sleep(o.abortEveryMs);
      if (!faulting) break;
      const a = pick(run.accounts);
      try {
        if (i % 4 === 3) {
          await run.server.auditLog(a.account, { op: "abort" });
          counts.logAborts++;
        } else {
          const keyId = pick(a.keys);
          // Before some aborts, a sender's next batch dies after it was taken (the resend must be dropped).
          if (i % 3 === 0) { await run.server.vault(keyId, { op: "arm", point: "after-batch-sent" }); counts.armed++; }
          // A burst on the key, so that the abort lands among calls in flight (state changes
          // committing, records being returned), not between them.
          const burst = Array.from({ length: 12 }, () => run.loadRequest(a, [], keyId));
          await sleep(Math.random() * 6);
          await run.server.vault(keyId, { op: "abort" });
          await Promise.all(burst);
          counts.vaultAborts++;
        }
        if (i % 5 === 1) { await run.server.auditLog(a.account, { op: "arm", point: "after-r2-put" }); counts.armed++; }
        if (i % 7 === 2) { await run.server.auditLog(a.account, { op: "arm", point: "append", times: 3 }); counts.armed++; }
      } catch {
        // the server is restarting
      }
      i++;
    }
  })();
  await sleep((o.seconds * 1000) / 2);
  // The whole process, mid-load: a new workerd on the persisted state, on the same port.
  const stoppedAt = Date.now();
  downMs = await run.server.restart();
  counts.restarts++;
  const firstOk = () => run.sent.find((s) => s.scenario === name && s.at > stoppedAt + downMs - 1 && s.status === 200);
  while (!firstOk() && Date.now() - stoppedAt < 60_000) await sleep(20);
  recoveryMs = (firstOk()?.at ?? NaN) - stoppedAt;
  await sleep((o.seconds * 1000) / 2);
  faulting = false;
  await injector;
  await load.stop();
  for (const a of run.accounts) await run.server.auditLog(a.account, { op: "disarm" });
  await run.flushAndRead();
  const t = run.trailResult(name);
  // A CreateKey cut by the restart between registering its key and making it leaves a listing
  // without a key until the catalog checks it with the vault (VERIFY_REGISTRATION_MS after).
  const phantomsAtFirst = await run.phantomKeys();
  let phantomsLeft = phantomsAtFirst;
  const repairStart = Date.now();
  while (phantomsLeft > 0 && Date.now() - repairStart < REPAIR_WAIT_MS) {
    await sleep(2000);
    phantomsLeft = await run.phantomKeys();
  }
  const repairSeconds = (Date.now() - repairStart) / 1000;
  const after = await run.keySnapshot();
  // Keys: each one before is there, unchanged; each listed now was created (acknowledged or not), once.
  let changed = 0, missing = 0, unknown = 0, listedTwice = 0, undescribable = 0;
  for (const [k, v] of before) {
    if (!after.has(k)) missing++;
    else if (after.get(k) !== v) changed++;
  }
  const ackedCreates = run.sent.filter((s) => s.scenario === name && s.op === "CreateKey" && s.status === 200).length;
  const unackedCreates = run.sent.filter((s) => s.scenario === name && s.op === "CreateKey" && s.status !== 200).length;
  let keysAfter = 0;
  for (const a of run.accounts) {
    const listed = await run.listKeys(a);
    keysAfter += listed.length;
    if (new Set(listed).size !== listed.length) listedTwice += listed.length - new Set(listed).size;
    for (const keyId of listed) {
      if (!run.created.get(a.account)?.has(keyId) && !before.has(`${a.account}/${keyId}`)) unknown++;
      const d = await send(run.url, "/", "DescribeKey", { KeyId: keyId }, a);
      if (d.status !== 200) undescribable++;
    }
    for (const keyId of run.created.get(a.account) ?? []) if (!listed.includes(keyId) && !run.retired.has(keyId)) missing++;
  }
  const extra = keysAfter - [...keysBefore.values()].reduce((x, y) => x + y, 0) - ackedCreates;
  const failures = new Map<string, number>();
  for (const s of run.sent) if (s.scenario === name && s.status >= 500) failures.set(`${s.status} ${s.type ?? "?"}`, (failures.get(`${s.status} ${s.type ?? "?"}`) ?? 0) + 1);
  const dec = await run.decryptAll();
  const f = run.phaseStats(name, "faults", o.seconds);
  return {
    name, summary: t.summary,
    figures: [
      ["vault aborts / AuditLog aborts / fault points armed", `${counts.vaultAborts} / ${counts.logAborts} / ${counts.armed}`],
      ["workerd restarts (mf.dispose() mid-load, new process on the state)", String(counts.restarts)],
      ["restart: process down (dispose → ready, incl. bundling), s", fmt(downMs / 1000, 1)],
      ["restart: first 2xx after the stop, s", fmt(recoveryMs / 1000, 1)],
      ["req/s, p50 / p99 ms during the faults", `${fmt(f.rps)}, ${fmt(f.p50)} / ${fmt(f.p99)}`],
      ["5xx answers by type", [...failures].map(([k, v]) => `${v} ${k}`).join(", ") || "none"],
      ["keys before → after (CreateKey acknowledged / not during the faults)", `${[...keysBefore.values()].reduce((x, y) => x + y, 0)} → ${keysAfter} (${ackedCreates} / ${unackedCreates})`],
      ["keys listed that no acknowledged CreateKey made / listed twice / listed but not describable", `${unknown} / ${listedTwice} / ${undescribable}`],
      ["keys lost / metadata or rotations changed", `${missing} / ${changed}`],
      ["unacknowledged CreateKeys that left a key", String(Math.max(0, extra))],
      ["listings without a key right after the faults / left after the catalog's check", `${phantomsAtFirst} / ${phantomsLeft}${phantomsAtFirst ? ` (${fmt(repairSeconds, 0)} s)` : ""}`],
      ["acknowledged ciphertexts decrypted again / failed", `${dec.checked} / ${dec.failed}`],
    ],
    checks: [
      ...t.checks,
      { name: `${name}: no key lost, none changed`, ok: missing === 0 && changed === 0, detail: `${missing} lost, ${changed} changed` },
      { name: `${name}: ListKeys lists each key once, every listed key exists`, ok: listedTwice === 0 && undescribable === 0, detail: `${listedTwice} twice, ${undescribable} not describable` },
      { name: `${name}: ListKeys counts the keys made (acknowledged ones, plus at most the unacknowledged)`, ok: extra >= 0 && extra <= unackedCreates, detail: `${extra} beyond the acknowledged, ${unackedCreates} unacknowledged` },
      { name: `${name}: acknowledged ciphertexts still decrypt`, ok: dec.failed === 0 && dec.checked > 0, detail: `${dec.checked} checked${dec.firstFailure ? `, e.g. ${dec.firstFailure}` : ""}` },
      { name: `${name}: service answered again after the restart`, ok: Number.isFinite(recoveryMs), detail: `${fmt(recoveryMs / 1000, 1)} s` },
    ],
  };
}

/**
 * The clocks of two vaults move forward during the load: one key's across its rotation dates
 * (EnableKeyRotation, the minimum period), another's across its deletion date
 * (ScheduleKeyDeletion, the minimum window). Each rotation and the deletion happen once.
 */
export async function clockForward(run: ChaosRun): Promise<ScenarioResult> {
  const o = run.opts;
  const name = (run.scenario = "clock-forward");
  const who = run.accounts[0]!;
  const rotating = await run.createKey(who, "chaos: rotates as its clock moves");
  const deleting = await run.createKey(who, "chaos: deleted as its clock moves");
  const arn = (keyId: string) => `arn:aws:kms:${REGION}:${who.account}:key/${keyId}`;
  await kms(run.url, who, "EnableKeyRotation", { KeyId: rotating, RotationPeriodInDays: MIN_ROTATION_PERIOD_DAYS });
  // Ciphertexts under the first material, to decrypt after the rotations.
  const old: Sealed[] = [];
  for (let i = 0; i < 5; i++) {
    const plaintext = b64(randomBytes(32));
    const r = await kms(run.url, who, "Encrypt", { KeyId: rotating, Plaintext: plaintext });
    old.push({ account: who.account, keyId: rotating, blob: String(r.CiphertextBlob), plaintext, context: {} });
    run.secrets.add(plaintext);
  }
  await kms(run.url, who, "ScheduleKeyDeletion", { KeyId: deleting, PendingWindowInDays: MIN_PENDING_WINDOW_DAYS });
  // Its destruction dies once after DeleteKey is recorded (a crash there); the runtime's retry of the alarm finishes it.
  const armed = await run.server.vault(deleting, { op: "arm", point: "after-delete-record" });
  if (armed.error) throw new Error(`arm: ${armed.error}`);
  run.phase = "clock";
  // The load also uses both keys (the one pending deletion answers KMSInvalidStateException, then NotFoundException).
  const load = run.startLoad(o.concurrency, (a) => (a === who ? [rotating, deleting] : []));
  const materialIds = new Set<string>();
  let moved = 0;
  let deletedMoved = 0;
  const deletionDays = MIN_PENDING_WINDOW_DAYS + 1;
  while (moved < o.clockTotalDays) {
    await sleep(o.clockStepMs);
    const step = Math.min(o.clockStepDays, o.clockTotalDays - moved);
    const r = await run.server.vault(rotating, { op: "clock", addMs: step * DAY_MS });
    if (r.error) throw new Error(`clock: ${r.error}`);
    moved += step;
    if (deletedMoved < deletionDays) {
      await run.server.vault(deleting, { op: "clock", addMs: DAY_MS });
      deletedMoved++;
    }
    // GenerateDataKey names the material it used: one id per material made current.
    const g = await send(run.url, "/", "GenerateDataKey", { KeyId: rotating, KeySpec: "AES_256" }, who);
    if (g.status === 200 && g.body.KeyMaterialId) materialIds.add(String(g.body.KeyMaterialId));
    if (g.status === 200) run.secrets.add(String(g.body.Plaintext));
  }
  run.retired.add(deleting);
  // The retried alarm (the runtime retries a failed one after a few seconds) destroys the key.
  const retryStart = Date.now();
  while (Date.now() - retryStart < 30_000 && (await send(run.url, "/", "DescribeKey", { KeyId: deleting }, who)).status === 200) await sleep(250);
  const destroyedAfter = (Date.now() - retryStart) / 1000;
  // The vault in memory still counts the crash it was given (its storage is gone with the key).
  const crashed = (await run.server.vault(deleting, { op: "stats" })).stats?.faultsFailed["after-delete-record"] ?? 0;
  await load.stop();
  await run.flushAndRead();
  const t = run.trailResult(name);
  const rotations = ((await kms(run.url, who, "ListKeyRotations", { KeyId: rotating })).Rotations as { RotationDate?: number; RotationType?: string }[])
    .filter((r) => r.RotationType === "AUTOMATIC");
  const dates = rotations.map((r) => Number(r.RotationDate)).sort((a, b) => a - b);
  const gaps = dates.slice(1).map((d, i) => (d - dates[i]!) / 86_400);
  const rotateEvents = run.trail.serviceEvents("RotateKey", arn(rotating));
  const deleteEvents = run.trail.serviceEvents("DeleteKey", arn(deleting));
  const described = await send(run.url, "/", "DescribeKey", { KeyId: deleting }, who);
  const listed = (await run.listKeys(who)).includes(deleting);
  // How many rotations the moves allow: the first after MIN_ROTATION_PERIOD_DAYS, each next a period after the one before, at a step's granularity.
  const most = Math.floor(o.clockTotalDays / MIN_ROTATION_PERIOD_DAYS);
  const least = Math.floor(o.clockTotalDays / (MIN_ROTATION_PERIOD_DAYS + o.clockStepDays));
  let oldFailed = 0;
  for (const s of old) {
    const d = await send(run.url, "/", "Decrypt", { CiphertextBlob: s.blob }, who);
    if (d.status !== 200 || d.body.Plaintext !== s.plaintext) oldFailed++;
  }
  const dec = await run.decryptAll();
  const f = run.phaseStats(name, "clock", o.clockTotalDays / o.clockStepDays * o.clockStepMs / 1000);
  return {
    name, summary: t.summary,
    figures: [
      ["clock moved (rotating key / deleted key)", `${o.clockTotalDays} days in steps of ${o.clockStepDays} / ${deletionDays} days in steps of 1`],
      ["rotation period / deletion window", `${MIN_ROTATION_PERIOD_DAYS} / ${MIN_PENDING_WINDOW_DAYS} days`],
      ["rotations allowed by the moves", least === most ? String(most) : `${least}–${most}`],
      ["rotations: ListKeyRotations / RotateKey records", `${rotations.length} / ${rotateEvents.length}`],
      ["days between rotations", gaps.map((g) => g.toFixed(1)).join(", ") || "–"],
      ["KeyMaterialIds GenerateDataKey used during the moves", String(materialIds.size)],
      ["deletions: DeleteKey records / DescribeKey after / listed after", `${deleteEvents.length} / ${described.status} ${String(described.body.__type ?? "")} / ${listed}`],
      ["destructions that crashed after recording DeleteKey (then retried by the runtime's alarm retry)", `${crashed} (key gone ${fmt(destroyedAfter, 1)} s after the last move)`],
      ["ciphertexts of the first material decrypted after the rotations / failed", `${old.length} / ${oldFailed}`],
      ["req/s during the moves", fmt(f.rps)],
    ],
    checks: [
      ...t.checks,
      { name: `${name}: rotations as the moves allow, at least one`, ok: rotations.length >= Math.max(1, least) && rotations.length <= most, detail: `${rotations.length}, allowed ${least}–${most}` },
      { name: `${name}: one RotateKey record per rotation`, ok: rotateEvents.length === rotations.length, detail: `${rotateEvents.length} records, ${rotations.length} rotations` },
      { name: `${name}: each rotation made one new current material`, ok: materialIds.size === rotations.length + 1, detail: `${materialIds.size} material ids for ${rotations.length} rotations` },
      { name: `${name}: rotations at least a period apart`, ok: gaps.every((g) => g >= MIN_ROTATION_PERIOD_DAYS - 1e-6), detail: gaps.map((g) => g.toFixed(1)).join(", ") || "one rotation" },
      { name: `${name}: the injected crash in the destruction happened`, ok: crashed === 1, detail: `${crashed}` },
      { name: `${name}: the deleted key was deleted once`, ok: deleteEvents.length === 1 && described.body.__type === "NotFoundException" && !listed, detail: `${deleteEvents.length} DeleteKey records, DescribeKey ${described.status}, listed ${listed}` },
      { name: `${name}: old ciphertexts decrypt after the rotations`, ok: oldFailed === 0, detail: `${oldFailed} of ${old.length} failed` },
      { name: `${name}: acknowledged ciphertexts still decrypt`, ok: dec.failed === 0, detail: `${dec.checked} checked${dec.firstFailure ? `, e.g. ${dec.firstFailure}` : ""}` },
    ],
  };
}

/**
 * Starvation, for the flood check: authenticated requests slower than this at the 99th percentile.
 * Without the flood p99 is 50–100 ms here (docs/benchmarks.md); a flood twice the authenticated
 * concurrency, served fairly, adds a few times that.
 */
const MAX_P99_UNDER_FLOOD_MS = 2000;

/** The unauthenticated request kinds of the flood: none is signed right. */
const FLOOD_KINDS = ["unsigned", "wrong secret", "unknown access key", "junk authorization"] as const;
/** Regions the flood names in its credential scope (its records go to each one's AuditLog). */
const FLOOD_REGIONS = [REGION, "eu-west-1"];

/**
 * Unsigned and badly signed requests, claiming many source addresses, beside the authenticated
 * load: the authenticated load keeps a share of its throughput, and the trail and the AuditLog's
 * storage grow by at most the per-source-minute bound while every flood request is counted.
 */
export async function flood(run: ChaosRun): Promise<ScenarioResult> {
  const o = run.opts;
  const name = (run.scenario = "flood");
  const operator = run.operator.account;
  // Delivered and emptied first, so the storage figures are the flood's.
  await run.flushAndRead(FLOOD_REGIONS);
  const storageBefore = await Promise.all(FLOOD_REGIONS.map((r) => run.server.auditStats(operator, r)));
  const trailBefore = { records: run.trail.records, bytes: run.trail.bytes, kept: run.trail.kept.length };
  run.phase = "no flood";
  let load = run.startLoad();
  await sleep(o.seconds * 1000);
  await load.stop();
  run.phase = "flood";
  const floodStart = Date.now();
  let flooding = true;
  const flooded = { sent: 0, answered: 0, s4xx: 0, s5xx: 0 };
  const floodLoops = Array.from({ length: o.floodConcurrency }, async (_, i) => {
    while (flooding) {
      const kind = FLOOD_KINDS[i % FLOOD_KINDS.length]!;
      const region = FLOOD_REGIONS[Math.floor(i / FLOOD_KINDS.length) % FLOOD_REGIONS.length]!;
      const forged = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
      const body = JSON.stringify({ KeyId: "alias/none", Plaintext: b64(randomBytes(8)) });
      // Forwarding headers naming many sources: none may be believed (docs/audit.md, sourceIPAddress).
      let headers: Record<string, string> = { "x-forwarded-for": forged, "x-real-ip": forged, "cf-connecting-ip": forged };
      if (kind === "unsigned") headers = { ...headers, "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.Encrypt" };
      else {
        const who = kind === "wrong secret" ? { ...run.operator, secretAccessKey: "not-the-secret" } : { ...run.operator, accessKeyId: "AKIAEDGEKMSNOSUCHKEY" };
        headers = { ...headers, ...(await signRequest(`${run.url}/`, "Encrypt", body, { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey, region, contentSha256: true })) };
        if (kind === "junk authorization") headers.authorization = `AWS4-HMAC-SHA256 Credential=${"x".repeat(64)}`;
      }
      flooded.sent++;
      try {
        const res = await fetch(`${run.url}/`, { method: "POST", headers: { ...headers, "user-agent": FLOOD_AGENT }, body, signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        flooded.answered++;
        if (res.status >= 500) flooded.s5xx++;
        else if (res.status >= 400) flooded.s4xx++;
      } catch {
        await sleep(50);
      }
    }
  });
  load = run.startLoad();
  await sleep(o.seconds * 1000);
  await load.stop();
  flooding = false;
  await Promise.all(floodLoops);
  const floodSeconds = (Date.now() - floodStart) / 1000;
  const storagePeak = await Promise.all(FLOOD_REGIONS.map((r) => run.server.auditStats(operator, r)));
  await run.flushAndRead(FLOOD_REGIONS);
  const storageAfter = await Promise.all(FLOOD_REGIONS.map((r) => run.server.auditStats(operator, r)));
  const t = run.trailResult(name);
  const floodRecords = run.trail.kept.slice(trailBefore.kept).filter((r) => r.userIdentity.type === "Unknown");
  const aggregates = floodRecords.filter((r) => r.additionalEventData?.aggregatedUnauthenticatedRequests !== undefined);
  const individual = floodRecords.filter((r) => r.additionalEventData?.aggregatedUnauthenticatedRequests === undefined && r.userAgent === FLOOD_AGENT);
  const counted = aggregates.reduce((n, r) => n + Number(r.additionalEventData!.aggregatedUnauthenticatedRequests), 0);
  const sources = new Set(floodRecords.map((r) => r.sourceIPAddress));
  // The bound: per source, region and minute of the AuditLog's clock, UNAUTHENTICATED_PER_SOURCE_MINUTE records and one aggregate, and one aggregate more per flush.
  const minutes = Math.floor(Date.now() / 60_000) - Math.floor(floodStart / 60_000) + 1;
  const flushes = 2;
  const boundIndividual = sources.size * FLOOD_REGIONS.length * minutes * UNAUTHENTICATED_PER_SOURCE_MINUTE;
  const boundAggregates = sources.size * FLOOD_REGIONS.length * (minutes + flushes);
  const floodBytes = floodRecords.reduce((n, r) => n + JSON.stringify(r).length, 0);
  const without = run.phaseStats(name, "no flood", o.seconds);
  const withFlood = run.phaseStats(name, "flood", o.seconds);
  const rows = (s: ChaosStats[]) => s.map((x) => `${x.rows?.["r:"]} r: / ${x.rows?.["u:"]} u:`).join(", ");
  const db = (s: ChaosStats[]) => s.map((x) => fmtBytes(x.dbBytes)).join(", ");
  return {
    name, summary: t.summary,
    figures: [
      ["authenticated req/s, p50 / p99 ms — without the flood", `${fmt(without.rps)}, ${fmt(without.p50)} / ${fmt(without.p99)}`],
      ["authenticated req/s, p50 / p99 ms — with the flood", `${fmt(withFlood.rps)}, ${fmt(withFlood.p50)} / ${fmt(withFlood.p99)}`],
      ["flood: concurrency, requests sent, req/s, 4xx / 5xx", `${o.floodConcurrency}, ${flooded.sent}, ${fmt(flooded.answered / floodSeconds)}, ${flooded.s4xx} / ${flooded.s5xx}`],
      ["flood: forged source addresses sent / sourceIPAddress values recorded", `~250 (X-Forwarded-For, X-Real-IP, CF-Connecting-IP) / ${[...sources].join(", ") || "–"}`],
      ["flood: individual records / aggregate records / requests counted in aggregates", `${individual.length} / ${aggregates.length} / ${counted}`],
      ["flood: the bound (sources × regions × minutes × per-minute; aggregates)", `${sources.size} × ${FLOOD_REGIONS.length} × ${minutes} × ${UNAUTHENTICATED_PER_SOURCE_MINUTE} = ${boundIndividual}; ${boundAggregates}`],
      ["flood: trail bytes of its records (JSON) / R2 bytes delivered during the scenario (gzip, all records)", `${fmtBytes(floodBytes)} / ${fmtBytes(run.trail.bytes - trailBefore.bytes)}`],
      [`operator AuditLog rows before / at the end of the flood / after flush (${FLOOD_REGIONS.join(", ")})`, `${rows(storageBefore)} → ${rows(storagePeak)} → ${rows(storageAfter)}`],
      ["operator AuditLog SQLite size before / end of flood / after flush", `${db(storageBefore)} → ${db(storagePeak)} → ${db(storageAfter)}`],
    ],
    checks: [
      ...t.checks,
      {
        name: `${name}: authenticated load keeps ≥ ${Math.round(o.minAuthShareUnderFlood * 100)}% of its req/s under the flood, p99 ≤ ${MAX_P99_UNDER_FLOOD_MS} ms, no 5xx`,
        ok: withFlood.rps >= o.minAuthShareUnderFlood * without.rps && withFlood.p99 <= MAX_P99_UNDER_FLOOD_MS && withFlood.s5xx === 0,
        detail: `${fmt(withFlood.rps)} of ${fmt(without.rps)} req/s (${fmt((100 * withFlood.rps) / without.rps)}%), p99 ${fmt(withFlood.p99)} ms, ${withFlood.s5xx} 5xx`,
      },
      { name: `${name}: every flood request answered 4xx`, ok: flooded.s5xx === 0 && flooded.s4xx === flooded.answered && flooded.answered > 0, detail: `${flooded.s4xx} of ${flooded.answered}` },
      { name: `${name}: no forged source address believed`, ok: sources.size === 1 && sources.has("127.0.0.1"), detail: [...sources].join(", ") },
      { name: `${name}: individual records within the bound`, ok: individual.length <= boundIndividual, detail: `${individual.length} ≤ ${boundIndividual}` },
      { name: `${name}: aggregate records within the bound`, ok: aggregates.length <= boundAggregates, detail: `${aggregates.length} ≤ ${boundAggregates}` },
      { name: `${name}: every answered flood request recorded or counted, none twice`, ok: individual.length + counted >= flooded.answered && individual.length + counted <= flooded.sent, detail: `${individual.length} + ${counted} for ${flooded.answered} answered of ${flooded.sent} sent` },
      { name: `${name}: the AuditLog's rows return to their level after delivery`, ok: storageAfter.every((s, i) => s.rows!["r:"]! <= storageBefore[i]!.rows!["r:"]! && s.rows!["u:"]! <= sources.size * minutes), detail: rows(storageAfter) },
    ],
  };
}

export const SCENARIOS: Record<string, (run: ChaosRun) => Promise<ScenarioResult>> = {
  "r2-outage": r2Outage,
  "clock-forward": clockForward,
  flood,
  "do-aborts": aborts,
};

/** Prints the summary table, each scenario's figures and the checks as Markdown; returns whether every check passed. */
export function report(results: ScenarioResult[], print: (line: string) => void): boolean {
  const cols = Object.keys(results[0]?.summary ?? {});
  print(`| scenario | ${cols.join(" | ")} |`);
  print(`|---|${cols.map(() => "---:").join("|")}|`);
  for (const r of results) print(`| ${r.name} | ${cols.map((c) => r.summary[c]).join(" | ")} |`);
  for (const r of results) {
    print(`\n${r.name}:\n`);
    print("| figure | value |");
    print("|---|---|");
    for (const [k, v] of r.figures) print(`| ${k} | ${v} |`);
  }
  const checks = results.flatMap((r) => r.checks);
  print("\nChecks:\n");
  for (const c of checks) print(`- ${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.detail}`);
  return checks.every((c) => c.ok);
}
