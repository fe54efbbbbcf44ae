// Creates .dev.vars with fresh random secrets when it is missing (an existing file is used
// as it is), and says what each client needs to reach this EdgeKMS. Never committed. It never
// makes a new root secret over existing state: keys sealed under the old one would be lost.
//
//   node scripts/dev-vars.mjs          the start-up lines (`npm start`, scripts/start.mjs, and
//                                      `npm run serve` print them once their server answers)
//   node scripts/dev-vars.mjs --env    only the shell lines, for eval "$(…)" in another terminal:
//                                      the running server's port (from STATE_LOCK), or PORT=N to
//                                      name one; with neither, 8787 and a warning on stderr
//
// `npm start` (wrangler dev) and `npm run serve` keep their state in one store, .wrangler/state
// (docs/quickstart.md); one server at a time may hold it (STATE_LOCK).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { randomBytes, randomInt } from "node:crypto";
import { spawnSync } from "node:child_process";
import { dirname, relative } from "node:path";

const FILE = new URL("../.dev.vars", import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** The region the printed lines set: the first of wrangler.toml's [vars.REGIONS]. */
export const DEFAULT_REGION = "us-east-1";
/** The AWS CLI function the lines define: `aws` with --endpoint-url, which every CLI version honours. */
export const CLI_FUNCTION = "edgeaws";
/**
 * The `edgekms` function the lines define: this clone's bin, by absolute path. Not `npx edgekms`:
 * outside the clone npx looks `edgekms` up in the public npm registry, and whoever publishes a
 * package of that name would run with the caller's credentials (without a prompt when stdin is
 * not a terminal). The bin runs the CLI under the clone's Node 22 when `node` is older.
 */
export const EDGEKMS_FUNCTION = "edgekms";
export const EDGEKMS_BIN = fileURLToPath(new URL("../bin/edgekms.js", import.meta.url));
/** The port the lines name when no server holds the state lock and PORT is unset (npm start's default). */
export const DEFAULT_PORT = "8787";

function randomString(alphabet, n) {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** The variables of .dev.vars, in the dotenv forms wrangler reads too (quotes, a leading export). */
export function readDevVars(file = FILE) {
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)\s*=\s*(["']?)(.*?)\2\s*$/.exec(line);
    if (m) vars[m[1]] = m[3];
  }
  return vars;
}

/**
 * The one state store of `npm start` and `npm run serve`: wrangler dev's `--persist-to .wrangler/state`
 * keeps Durable Objects and R2 under its `v3/`, and serve.mjs opens that same directory with
 * the same names (docs/quickstart.md, "Where your keys are").
 */
export const STATE_DIR = fileURLToPath(new URL("../.wrangler/state", import.meta.url));
/** Where `npm run serve` kept its state before it shared STATE_DIR (a layout of its own). */
export const LEGACY_SERVE_STATE = fileURLToPath(new URL("../.wrangler/serve-state", import.meta.url));
/** Every directory that may hold state sealed under .dev.vars: one .dev.vars seals them all. */
export const STATE_DIRS = [STATE_DIR, LEGACY_SERVE_STATE];
/** Which server holds STATE_DIR: { pid, command, port }. Outside STATE_DIR, which must hold state only. */
export const STATE_LOCK = fileURLToPath(new URL("../.wrangler/edgekms-state-lock.json", import.meta.url));

const holdsState = (dir) => existsSync(dir) && readdirSync(dir).length > 0;

/**
 * The variables of .dev.vars; when the file is missing, a new one with fresh random secrets,
 * unless `stateDir` holds state: that state was sealed under the root secret of the missing file.
 */
export function ensureDevVars(file = FILE, stateDirs = STATE_DIRS) {
  const stateDir = [stateDirs].flat().find(holdsState);
  if (!existsSync(file) && stateDir) {
    throw new Error(`${fileURLToPath(file)} is missing, but ${stateDir} holds EdgeKMS state sealed under the KMS_ROOT_SECRET it had.
A new root secret would make every key and identity in it unreadable. Either restore that .dev.vars (from your backup),
or, to start afresh and lose every key in it, delete ${stateDir} and run this again.`);
  }
  if (!existsSync(file)) {
    const vars = {
      BOOTSTRAP_ACCOUNT_ID: String(randomInt(100000, 999999)) + String(randomInt(100000, 999999)),
      BOOTSTRAP_ACCESS_KEY_ID: "AKIA" + randomString(ALNUM, 16),
      BOOTSTRAP_SECRET_ACCESS_KEY: randomBytes(30).toString("base64"),
      KMS_ROOT_SECRET: randomBytes(32).toString("base64"),
    };
    writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}="${v}"`).join("\n") + "\n", { mode: 0o600 });
    console.log("Created .dev.vars with fresh random credentials and root secret.");
  }
  return readDevVars(file);
}

/**
 * Whether `pid` is a live process running `marker` (wrangler, serve.mjs). Where /proc exists, its
 * command line is checked too, so that a pid reused since (after a reboot) does not count.
 */
export function isRunning(pid, marker) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
  } catch {
    return true;
  }
}

const MARKERS = { "npm start": "start.mjs", "npm run serve": "serve.mjs" };

/** The holder of the state lock, if it is still running. */
export function stateHolder(lock = STATE_LOCK) {
  let held;
  try {
    held = JSON.parse(readFileSync(lock, "utf8"));
  } catch {
    return undefined;
  }
  return Number.isInteger(held?.pid) && isRunning(held.pid, MARKERS[held.command] ?? "node") ? held : undefined;
}

/**
 * Takes the state store for `command` (whose process is `pid`), or throws naming the server that
 * holds it: two workerd processes on one store would each cache objects the other overwrites.
 */
export function claimState({ pid, command, port }, lock = STATE_LOCK) {
  const held = stateHolder(lock);
  if (held && held.pid !== pid) {
    throw new Error(`${relative(ROOT, STATE_DIR) || STATE_DIR} is in use by \`${held.command}\` (pid ${held.pid}, http://localhost:${held.port}).
npm start and npm run serve share it, one at a time: stop that one first (Ctrl-C in its terminal, or kill ${held.pid}).`);
  }
  mkdirSync(dirname(lock), { recursive: true });
  writeFileSync(lock, JSON.stringify({ pid, command, port: Number(port) }) + "\n");
}

/** One sh word: as it is when it is plain, else single-quoted (any value of a user-edited .dev.vars). */
const q = (s) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(String(s)) ? String(s) : `'${String(s).replace(/'/g, `'\\''`)}'`);

/** The shell lines of `--env`: credentials, region and endpoint, the AWS CLI function and the edgekms one. */
export function envLines(vars, endpoint, bin = EDGEKMS_BIN) {
  return [
    `export AWS_ACCESS_KEY_ID=${q(vars.BOOTSTRAP_ACCESS_KEY_ID)} AWS_SECRET_ACCESS_KEY=${q(vars.BOOTSTRAP_SECRET_ACCESS_KEY)}`,
    `export AWS_REGION=${DEFAULT_REGION} AWS_DEFAULT_REGION=${DEFAULT_REGION}`,
    `export AWS_ENDPOINT_URL_KMS=${q(endpoint)}`,
    "unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN",
    `${CLI_FUNCTION}() { aws --endpoint-url ${q(endpoint)} "$@"; }`,
    `${EDGEKMS_FUNCTION}() { node ${q(bin)} "$@"; }`,
  ].join("\n");
}

/** Version triples, compared. */
const atLeast = (v, min) => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i];
  return true;
};
const version = (text, re) => {
  const m = re.exec(text ?? "");
  return m ? m.slice(1, 4).map(Number) : undefined;
};

/**
 * The AWS CLI and boto3 this shell would run, by version, or undefined where absent. Each answers
 * within a few seconds or is taken as absent: the start-up must not wait on them.
 */
export function detectClients(run = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "pipe"] });
  return r.status === 0 ? `${r.stdout}${r.stderr}` : undefined;
}) {
  return {
    awsCli: version(run("aws", ["--version"]), /aws-cli\/(\d+)\.(\d+)\.(\d+)/),
    boto3: version(run("python3", ["-c", "import boto3; print(boto3.__version__)"]), /^(\d+)\.(\d+)\.(\d+)/),
  };
}

/**
 * Clients that read AWS_ENDPOINT_URL_KMS first in these versions (AWS: "Service-specific
 * endpoints", https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html; the AWS
 * CLI from 1.29.0 and 2.13.0, boto3 from 1.28.0). Older ones ignore it and call AWS itself.
 */
export const ENDPOINT_ENV_SINCE = { awsCliV1: [1, 29, 0], awsCliV2: [2, 13, 0], boto3: [1, 28, 0] };

/** What this machine's clients need, said plainly: the old ones ignore AWS_ENDPOINT_URL_KMS. */
export function clientNotes(clients) {
  const notes = [];
  const cli = clients.awsCli;
  if (cli) {
    const since = cli[0] === 1 ? ENDPOINT_ENV_SINCE.awsCliV1 : ENDPOINT_ENV_SINCE.awsCliV2;
    notes.push(atLeast(cli, since)
      ? `aws-cli/${cli.join(".")} reads AWS_ENDPOINT_URL_KMS: plain \`aws kms …\` works once the exports are set (${CLI_FUNCTION} too).`
      : `aws-cli/${cli.join(".")} IGNORES AWS_ENDPOINT_URL_KMS: use ${CLI_FUNCTION} (or aws --endpoint-url …); plain \`aws kms …\` calls real AWS.`);
  }
  const b = clients.boto3;
  if (b) {
    notes.push(atLeast(b, ENDPOINT_ENV_SINCE.boto3)
      ? `boto3 ${b.join(".")} reads AWS_ENDPOINT_URL_KMS.`
      : `boto3 ${b.join(".")} IGNORES AWS_ENDPOINT_URL_KMS: pass endpoint_url= to boto3.client, or it calls real AWS.`);
  }
  return notes;
}

/** The start-up lines of `npm start` and `npm run serve`: where it is, and what each client needs. */
export function startupText({ vars, endpoint, command, statePath, clients = {}, legacyState }) {
  const rule = "─".repeat(100);
  const notes = clientNotes(clients);
  return [
    rule,
    ` EdgeKMS (${command}) at ${endpoint}, account ${vars.BOOTSTRAP_ACCOUNT_ID}`,
    ` State: ${statePath}`,
    ...(legacyState ? [` Note: ${legacyState} holds state of an earlier \`npm run serve\`, which is not served now (npm start and`,
      `       npm run serve share ${statePath}). To serve it as before: npm run serve -- --state ${legacyState}`] : []),
    ` Console: ${endpoint}/console (sign in with the access key below: the account root, and the operator)`,
    "",
    " Tell every client this endpoint. A client that is not told calls real AWS (https://kms.<region>.amazonaws.com).",
    " Shell: the JS SDK v3, boto3 1.28+, AWS CLI 2.13+ and 1.29+, and edgekms read these:",
    ...envLines(vars, endpoint).split("\n").slice(0, 4).map((l) => `   ${l}`),
    " AWS CLI, every version (2.9 to 2.12, and 1.x before 1.29, ignore AWS_ENDPOINT_URL_KMS):",
    `   ${envLines(vars, endpoint).split("\n")[4]}`,
    `   ${CLI_FUNCTION} kms list-keys`,
    " The edgekms CLI, this clone's (not `npx edgekms`: outside the clone npx would fetch a package of that name from npm):",
    `   ${envLines(vars, endpoint).split("\n")[5]}`,
    " boto3, every version (before 1.28 it ignores AWS_ENDPOINT_URL_KMS):",
    `   kms = boto3.client("kms", endpoint_url="${endpoint}", region_name="${DEFAULT_REGION}")`,
    ` JS SDK v3: new KMSClient({}) with the exports, or new KMSClient({ endpoint: "${endpoint}", region: "${DEFAULT_REGION}" })`,
    "",
    ` All the shell lines at once, in another terminal in this directory:  eval "$(node scripts/dev-vars.mjs --env)"`,
    ...notes.map((n) => ` This machine: ${n}`),
    " Walk-through of every task, with each client: docs/quickstart.md",
    rule,
  ].join("\n");
}

/**
 * The port of `--env`'s endpoint: PORT when set, else the running server's (from the state lock),
 * else DEFAULT_PORT with a warning: no server is running (npm start may still be building), and
 * a server started later with another PORT would not be the one these lines name.
 */
export function envPort(envPort, holder) {
  if (envPort) return { port: String(envPort) };
  if (holder?.port) return { port: String(holder.port) };
  return {
    port: DEFAULT_PORT,
    warning: `dev-vars: no EdgeKMS server is running; assuming port ${DEFAULT_PORT} — set PORT=… (PORT=8790 node scripts/dev-vars.mjs --env) if it will listen elsewhere.`,
  };
}

const relativeState = (dir) => relative(process.cwd(), dir) || ".";

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === "--env") {
    // Never creates .dev.vars: without it there is no server these lines could reach.
    if (!existsSync(FILE)) {
      console.error(`${fileURLToPath(FILE)} is missing: start EdgeKMS first (npm start or npm run serve), which creates it.`);
      process.exit(1);
    }
    const { port, warning } = envPort(process.env.PORT, stateHolder());
    if (warning) console.error(warning);
    console.log(envLines(readDevVars(), `http://localhost:${port}`));
    process.exit(0);
  }
  let v;
  const port = process.env.PORT ?? stateHolder()?.port ?? "8787";
  try {
    v = ensureDevVars();
  } catch (e) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
  console.log(startupText({
    vars: v,
    endpoint: `http://localhost:${port}`,
    command: stateHolder()?.command ?? "npm start",
    statePath: `${relativeState(STATE_DIR)} (npm start and npm run serve share it, one at a time)`,
    clients: detectClients(),
    legacyState: holdsState(LEGACY_SERVE_STATE) ? relativeState(LEGACY_SERVE_STATE) : undefined,
  }));
}
