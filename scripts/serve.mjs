// npm run serve: the Worker in one workerd process through miniflare's API (no dev proxy),
// state persisted in the store `npm start` uses (.wrangler/state: wrangler dev's layout, see
// DEFAULT_PERSIST). PORT env (default 8787); `npm run serve -- --state DIR` serves another store.
// The bundle is wrangler's own (`wrangler deploy --dry-run`), so it is what would deploy.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { claimState, detectClients, ensureDevVars, LEGACY_SERVE_STATE, STATE_DIR, STATE_DIRS, startupText } from "./dev-vars.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

export function bundle(outdir = `${root}.wrangler/serve-build`) {
  mkdirSync(outdir, { recursive: true });
  execFileSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, "deploy", "--dry-run", "--env", "", "--outdir", outdir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const modules = [];
  for (const f of readdirSync(outdir)) {
    if (f.endsWith(".js")) modules.push({ type: "ESModule", path: f, contents: readFileSync(`${outdir}/${f}`, "utf8") });
    else if (f.endsWith(".wasm")) modules.push({ type: "CompiledWasm", path: f, contents: readFileSync(`${outdir}/${f}`) });
  }
  // the entry module first
  modules.sort((a, b) => (a.path === "index.js" ? -1 : b.path === "index.js" ? 1 : 0));
  return modules;
}

/** A plain string var of wrangler.toml [vars]. */
function tomlVar(name) {
  return new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(readFileSync(`${root}wrangler.toml`, "utf8"))?.[1];
}

/** The Worker's compatibility date, as wrangler.toml sets it. */
export const compatibilityDate = tomlVar("compatibility_date");

function tomlRegions() {
  const toml = readFileSync(`${root}wrangler.toml`, "utf8");
  const regions = {};
  const section = toml.split("[vars.REGIONS]")[1]?.split(/\n\[/)[0] ?? "";
  for (const m of section.matchAll(/^"([a-z0-9-]+)"\s*=\s*\{\s*(\w+)\s*=\s*"([^"]+)"\s*\}/gm)) regions[m[1]] = { [m[2]]: m[3] };
  return regions;
}

/** Each R2 binding's bucket name ([[r2_buckets]]): wrangler dev names its local buckets so. */
function tomlR2Buckets() {
  const buckets = {};
  for (const m of readFileSync(`${root}wrangler.toml`, "utf8").matchAll(/\[\[r2_buckets\]\]\s*binding\s*=\s*"(\w+)"\s*bucket_name\s*=\s*"([^"]+)"/g)) buckets[m[1]] = m[2];
  return buckets;
}

/**
 * The state store `npm start` keeps: `wrangler dev --persist-to .wrangler/state` puts Durable
 * Objects in v3/do and R2 in v3/r2, each Durable Object class under "<worker name>-<class>" (the
 * worker is "edgekms", wrangler.toml's name) and each bucket under its bucket_name. Served with
 * those names, this is one store for both (test/e2e/state-store.test.ts).
 */
export const DEFAULT_PERSIST = `${STATE_DIR}/v3`;

/**
 * A store written before serve.mjs shared wrangler dev's names: its worker had no name (Durable
 * Object directories "-KeyVault"…) and its buckets the binding names. Still served as written.
 */
const legacyLayout = (persist) => persist !== false && existsSync(`${persist}/do`) && readdirSync(`${persist}/do`).some((d) => d.startsWith("-"));

/**
 * Starts the server; returns { url, mf }. `inspectorPort` opens the V8 inspector (bench/profile.ts).
 * `workers` are further Workers in the same workerd, after EdgeKMS (named "edgekms"), and given no
 * route: only `mf.getWorker(name)` reaches them (the chaos driver, bench/chaos-lib.ts).
 */
export async function startServer({ port = Number(process.env.PORT ?? 8787), persist = DEFAULT_PERSIST, vars, inspectorPort, workers = [] } = {}) {
  const bindings = {
    ...(vars ?? ensureDevVars(undefined, persist === false ? [] : [persist, ...STATE_DIRS])),
    REGIONS: tomlRegions(),
    AUDIT_BUCKET_NAME: tomlVar("AUDIT_BUCKET_NAME"),
    AUDIT_BUCKET_EU_NAME: tomlVar("AUDIT_BUCKET_EU_NAME"),
    AUDIT_SHARDS: tomlVar("AUDIT_SHARDS") ?? "1",
  };
  const legacy = legacyLayout(persist);
  const edgekms = {
    ...(legacy ? {} : { name: "edgekms" }),
    modules: bundle(),
    compatibilityDate,
    compatibilityFlags: ["nodejs_compat"],
    bindings,
    durableObjects: {
      KEY_VAULT: { className: "KeyVault", useSQLite: true },
      CATALOG: { className: "Catalog", useSQLite: true },
      IDENTITY_STORE: { className: "IdentityStore", useSQLite: true },
      AUDIT_LOG: { className: "AuditLog", useSQLite: true },
      AUDIT_SIGNER: { className: "AuditSigner", useSQLite: true },
      QUOTA_COUNTER: { className: "QuotaCounter", useSQLite: true },
    },
    r2Buckets: legacy ? ["AUDIT_BUCKET", "AUDIT_BUCKET_EU"] : tomlR2Buckets(),
  };
  const mf = new Miniflare({
    ...(workers.length ? { workers: [{ name: "edgekms", ...edgekms }, ...workers] } : edgekms),
    ...(inspectorPort ? { inspectorPort } : {}),
    host: "127.0.0.1",
    port,
    durableObjectsPersist: persist === false ? false : `${persist}/do`,
    r2Persist: persist === false ? false : `${persist}/r2`,
  });
  const url = await mf.ready;
  return { url: url.toString().replace(/\/$/, ""), mf };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { state: { type: "string" } } });
  const persist = values.state ? resolve(values.state) : DEFAULT_PERSIST;
  const port = Number(process.env.PORT ?? 8787);
  let started;
  try {
    // The shared store is held by one server at a time (npm start's wrangler dev, or this).
    if (persist === DEFAULT_PERSIST) claimState({ pid: process.pid, command: "npm run serve", port });
    started = await startServer({ port, persist });
  } catch (e) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
  const { url, mf } = started;
  // The state must open under the root secret in force: say so now, not at the first request.
  const state = await (await fetch(`${url}/health/state`)).json();
  if (state.status !== "ok") {
    console.error(`\n${state.message}\n`);
    await mf.dispose();
    process.exit(1);
  }
  const shown = (dir) => relative(process.cwd(), dir) || ".";
  const legacyUnused = persist !== LEGACY_SERVE_STATE && existsSync(LEGACY_SERVE_STATE) && readdirSync(LEGACY_SERVE_STATE).length > 0;
  console.log(startupText({
    vars: ensureDevVars(undefined, [persist, ...STATE_DIRS]),
    endpoint: `http://localhost:${new URL(url).port}`,
    command: "npm run serve",
    statePath: persist === DEFAULT_PERSIST ? `${shown(STATE_DIR)} (npm start and npm run serve share it, one at a time)` : shown(persist),
    clients: detectClients(),
    legacyState: legacyUnused ? shown(LEGACY_SERVE_STATE) : undefined,
  }));
  console.log(`Serving on ${url} (one workerd through miniflare's API). Ctrl-C to stop.`);
}
