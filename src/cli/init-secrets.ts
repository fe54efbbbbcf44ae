// `edgekms admin init-secrets [--env production|staging] [--account-id ID] [--json]`: fresh secrets
// for a deployed EdgeKMS (docs/deploy.md), printed as `wrangler secret put` lines (the value on
// stdin, so it is never an argument another process could read). Nothing is written to a file:
// where the output goes, and its backup, is the operator's choice. The formats are the ones the
// Worker takes (src/env.ts) and scripts/dev-vars.mjs makes for .dev.vars:
// - KMS_ROOT_SECRET: 32 random bytes, base64 (src/vault/root-key.ts takes 32 or more);
// - BOOTSTRAP_ACCOUNT_ID: 12 digits, an AWS account id's form;
// - BOOTSTRAP_ACCESS_KEY_ID: "AKIA" and 16 characters of A-Z2-7, an AWS access key id's form
//   (as the IdentityStore makes them);
// - BOOTSTRAP_SECRET_ACCESS_KEY: 30 random bytes, base64 (40 characters, as AWS's).
import { randomBytes, randomInt } from "node:crypto";
import { parseArgs } from "node:util";

/** The wrangler environments wrangler.toml defines: production is its top level, staging [env.staging]. */
export const ENVIRONMENTS = ["production", "staging"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ROOT_SECRET_BYTES = 32;
const SECRET_ACCESS_KEY_BYTES = 30;
const ACCESS_KEY_ID_CHARS = 16;
/** The formats, for a given --account-id and for the tests. */
export const FORMATS = {
  KMS_ROOT_SECRET: /^[A-Za-z0-9+/]{43}=$/,
  BOOTSTRAP_ACCOUNT_ID: /^[1-9]\d{11}$/,
  BOOTSTRAP_ACCESS_KEY_ID: /^AKIA[A-Z2-7]{16}$/,
  BOOTSTRAP_SECRET_ACCESS_KEY: /^[A-Za-z0-9+/]{40}$/,
} as const;

export interface Secrets {
  KMS_ROOT_SECRET: string;
  BOOTSTRAP_ACCOUNT_ID: string;
  BOOTSTRAP_ACCESS_KEY_ID: string;
  BOOTSTRAP_SECRET_ACCESS_KEY: string;
}

export function generateSecrets(accountId?: string): Secrets {
  const akid = Array.from({ length: ACCESS_KEY_ID_CHARS }, () => ACCESS_KEY_ALPHABET[randomInt(ACCESS_KEY_ALPHABET.length)]).join("");
  return {
    KMS_ROOT_SECRET: randomBytes(ROOT_SECRET_BYTES).toString("base64"),
    // No leading zero: some tools read an account id as a number.
    BOOTSTRAP_ACCOUNT_ID: accountId ?? String(randomInt(1, 10)) + String(randomInt(0, 1e11)).padStart(11, "0"),
    BOOTSTRAP_ACCESS_KEY_ID: `AKIA${akid}`,
    BOOTSTRAP_SECRET_ACCESS_KEY: randomBytes(SECRET_ACCESS_KEY_BYTES).toString("base64"),
  };
}

/** One sh word: single-quoted (base64 has no quote, but the quoting must not depend on it). */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const BACKUP_WARNING = `BACK UP KMS_ROOT_SECRET NOW, somewhere other than this machine and Cloudflare (a password manager, a sealed copy
offline). It seals every key, identity and audit-signing key EdgeKMS stores: Cloudflare never shows a secret again,
and without this value nothing encrypted under EdgeKMS can be decrypted again. There is no recovery (docs/deploy.md, Backups).`;

/** The shell lines: a comment with the warning, one `wrangler secret put` per secret, and the operator's credentials. */
export function secretPutLines(s: Secrets, env: Environment): string {
  const envFlag = env === "production" ? "" : ` --env ${env}`;
  return [
    `# EdgeKMS secrets for ${env === "production" ? "production (wrangler.toml's top level)" : `the ${env} environment ([env.${env}] in wrangler.toml)`}, made ${new Date().toISOString()}.`,
    ...BACKUP_WARNING.split("\n").map((l) => `# ${l}`),
    "# Run these lines in the clone, logged in to Cloudflare (npx wrangler login):",
    ...(Object.keys(FORMATS) as (keyof Secrets)[]).map((name) => `printf %s ${q(s[name])} | npx wrangler secret put ${name}${envFlag}`),
    "# The operator (the bootstrap principal) signs with these; give them to `edgekms admin …` and the smoke test:",
    `# export AWS_ACCESS_KEY_ID=${q(s.BOOTSTRAP_ACCESS_KEY_ID)} AWS_SECRET_ACCESS_KEY=${q(s.BOOTSTRAP_SECRET_ACCESS_KEY)}`,
    `# The operator's account id: ${s.BOOTSTRAP_ACCOUNT_ID}`,
  ].join("\n");
}

const USAGE = `usage: edgekms admin init-secrets [--env production|staging] [--account-id ID] [--json]
  prints fresh secrets for a deployed EdgeKMS as \`wrangler secret put\` lines (--json: as one JSON object)`;

export async function initSecretsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { env: { type: "string" }, "account-id": { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const env = (values.env ?? "production") as Environment;
  if (!ENVIRONMENTS.includes(env)) {
    console.error(`edgekms: --env must be one of ${ENVIRONMENTS.join(", ")} (wrangler.toml's environments)\n${USAGE}`);
    return 2;
  }
  const accountId = values["account-id"];
  if (accountId !== undefined && !FORMATS.BOOTSTRAP_ACCOUNT_ID.test(accountId)) {
    console.error("edgekms: --account-id must be 12 digits, not starting with 0");
    return 2;
  }
  const secrets = generateSecrets(accountId);
  console.log(values.json ? JSON.stringify(secrets) : secretPutLines(secrets, env));
  // Also on stderr: stdout may go straight to a file or a pipe.
  console.error(`\n${BACKUP_WARNING}\n`);
  return 0;
}
