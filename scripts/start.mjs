// npm start: wrangler dev on the shared state store (.wrangler/state), then, once it answers,
// what each client needs (scripts/dev-vars.mjs startupText). Printed after wrangler's own start-up
// output rather than before it, where its bindings table would push the endpoint out of sight.
// PORT env (default 8787); further arguments go to wrangler dev (npm start -- --ip 0.0.0.0).
// wrangler keeps the terminal (its stdio is this process's), and a signal sent to this process
// (npm passes its own on) reaches wrangler too; this process ends with wrangler's status.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { constants } from "node:os";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { claimState, detectClients, ensureDevVars, LEGACY_SERVE_STATE, STATE_DIR, startupText } from "./dev-vars.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = process.env.PORT ?? "8787";
/** How often, and how long, to ask wrangler's server whether it is up. */
const READY_POLL_MS = 500;
const READY_TIMEOUT_MS = 180_000;

let vars;
try {
  vars = ensureDevVars();
  claimState({ pid: process.pid, command: "npm start", port });
} catch (e) {
  console.error(`\n${e.message}\n`);
  process.exit(1);
}

const wrangler = spawn(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, "dev", "--port", port, "--persist-to", ".wrangler/state", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
let exited = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code, signal) => {
  exited = true;
  process.exit(code ?? 128 + (constants.signals[signal] ?? 1));
});

// Found while wrangler starts (each client answers its --version within seconds).
const clients = detectClients();
const endpoint = `http://localhost:${port}`;
const shown = (dir) => relative(process.cwd(), dir) || ".";
for (const started = Date.now(); !exited && Date.now() - started < READY_TIMEOUT_MS; ) {
  const up = await fetch(`${endpoint}/health`).then((r) => r.ok, () => false);
  if (up) {
    console.log(`\n${startupText({
      vars,
      endpoint,
      command: "npm start",
      statePath: `${shown(STATE_DIR)} (npm start and npm run serve share it, one at a time)`,
      clients,
      legacyState: existsSync(LEGACY_SERVE_STATE) && readdirSync(LEGACY_SERVE_STATE).length > 0 ? shown(LEGACY_SERVE_STATE) : undefined,
    })}`);
    break;
  }
  await new Promise((r) => setTimeout(r, READY_POLL_MS));
}
