// Creates .dev.vars with fresh random secrets when it is missing (an existing file is used
// as it is), then prints the endpoint and the credentials to export. Never committed. It never
// makes a new root secret over existing state: keys sealed under the old one would be lost.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { randomBytes, randomInt } from "node:crypto";

const FILE = new URL("../.dev.vars", import.meta.url);
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

/** Where `npm start` (wrangler dev) and `npm run serve` keep their state: one .dev.vars seals both. */
export const STATE_DIRS = ["../.wrangler/state", "../.wrangler/serve-state"].map((p) => fileURLToPath(new URL(p, import.meta.url)));

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

if (import.meta.url === `file://${process.argv[1]}`) {
  let v;
  try {
    v = ensureDevVars();
  } catch (e) {
    console.error(`\n${e.message}\n`);
    process.exit(1);
  }
  const port = process.env.PORT ?? "8787";
  console.log(`
EdgeKMS endpoint: http://localhost:${port}
  export AWS_ACCESS_KEY_ID=${v.BOOTSTRAP_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${v.BOOTSTRAP_SECRET_ACCESS_KEY}
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1     # the JS SDK reads the first; the AWS CLI and boto3 the second
  export AWS_ENDPOINT_URL_KMS=http://localhost:${port}           # the JS SDK, boto3 1.28+, AWS CLI v1 and v2.13+ (older boto3: boto3.client("kms", endpoint_url=…))
  aws --endpoint-url http://localhost:${port} kms create-key   # AWS CLI v2 before 2.13 ignores AWS_ENDPOINT_URL_KMS; account ${v.BOOTSTRAP_ACCOUNT_ID}
Web console: http://localhost:${port}/console (sign in with the access key above: the account root, and the operator)
`);
}
