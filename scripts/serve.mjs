// npm run serve: the Worker in one workerd process through miniflare's API (no dev proxy),
// state persisted under .wrangler/serve-state. PORT env (default 8787).
// The bundle is wrangler's own (`wrangler deploy --dry-run`), so it is what would deploy.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { ensureDevVars, STATE_DIRS } from "./dev-vars.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

export function bundle(outdir = `${root}.wrangler/serve-build`) {
  mkdirSync(outdir, { recursive: true });
  execFileSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, "deploy", "--dry-run", "--outdir", outdir], {
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

/** Starts the server; returns { url, mf }. `inspectorPort` opens the V8 inspector (bench/profile.ts). */
export async function startServer({ port = Number(process.env.PORT ?? 8787), persist = `${root}.wrangler/serve-state`, vars, inspectorPort } = {}) {
  const bindings = {
    ...(vars ?? ensureDevVars(undefined, persist === false ? [] : [persist, ...STATE_DIRS])),
    REGIONS: tomlRegions(),
    AUDIT_BUCKET_NAME: tomlVar("AUDIT_BUCKET_NAME"),
    AUDIT_BUCKET_EU_NAME: tomlVar("AUDIT_BUCKET_EU_NAME"),
    AUDIT_SHARDS: tomlVar("AUDIT_SHARDS") ?? "1",
  };
  const mf = new Miniflare({
    modules: bundle(),
    compatibilityDate,
    ...(inspectorPort ? { inspectorPort } : {}),
    compatibilityFlags: ["nodejs_compat"],
    host: "127.0.0.1",
    port,
    bindings,
    durableObjects: {
      KEY_VAULT: { className: "KeyVault", useSQLite: true },
      CATALOG: { className: "Catalog", useSQLite: true },
      IDENTITY_STORE: { className: "IdentityStore", useSQLite: true },
      AUDIT_LOG: { className: "AuditLog", useSQLite: true },
      AUDIT_SIGNER: { className: "AuditSigner", useSQLite: true },
      QUOTA_COUNTER: { className: "QuotaCounter", useSQLite: true },
    },
    r2Buckets: ["AUDIT_BUCKET", "AUDIT_BUCKET_EU"],
    durableObjectsPersist: persist === false ? false : `${persist}/do`,
    r2Persist: persist === false ? false : `${persist}/r2`,
  });
  const url = await mf.ready;
  return { url: url.toString().replace(/\/$/, ""), mf };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let started;
  try {
    started = await startServer();
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
  execFileSync(process.execPath, [`${root}scripts/dev-vars.mjs`], { stdio: "inherit", env: { ...process.env, PORT: new URL(url).port } });
  console.log(`Serving on ${url} (one workerd through miniflare's API). Ctrl-C to stop.`);
}
