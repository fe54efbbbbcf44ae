// `npx edgekms admin init-secrets` (src/cli/init-secrets.ts; needs `npm run build`): the secrets
// it prints have the formats the Worker and scripts/dev-vars.mjs use, differ on every run, come
// as `wrangler secret put` lines fed through stdin (with --env for staging), are written to no
// file, and a Worker started with them (npm run serve's startServer) accepts the operator's
// credentials and seals keys under the root secret.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../../scripts/serve.mjs";
import { adminCall } from "../../src/cli/admin-client.js";
import { freePort } from "../e2e/setup.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;
const NAMES = ["KMS_ROOT_SECRET", "BOOTSTRAP_ACCOUNT_ID", "BOOTSTRAP_ACCESS_KEY_ID", "BOOTSTRAP_SECRET_ACCESS_KEY"] as const;
type Secrets = Record<(typeof NAMES)[number], string>;

function initSecrets(...args: string[]) {
  const cwd = mkdtempSync(join(tmpdir(), "edgekms-init-secrets-"));
  try {
    // No credentials and no server: it needs neither.
    const r = spawnSync(process.execPath, [CLI, "admin", "init-secrets", ...args], { encoding: "utf8", cwd, env: { PATH: process.env.PATH } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, files: readdirSync(cwd) };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The values, read back from the printed lines as sh would read them. */
function parseLines(stdout: string, envFlag: string): Secrets {
  const out: Partial<Secrets> = {};
  for (const name of NAMES) {
    const m = new RegExp(`^printf %s '([^']*)' \\| npx wrangler secret put ${name}${envFlag}$`, "m").exec(stdout);
    expect(m, `${name} in\n${stdout}`).not.toBeNull();
    out[name] = m![1];
  }
  return out as Secrets;
}

describe("edgekms admin init-secrets", () => {
  it("prints wrangler secret put lines with values in the Worker's formats, fresh each time", () => {
    const a = initSecrets();
    expect(a.code, a.stderr).toBe(0);
    expect(a.files).toEqual([]);
    const s = parseLines(a.stdout, "");
    expect(Buffer.from(s.KMS_ROOT_SECRET, "base64")).toHaveLength(32);
    expect(Buffer.from(s.KMS_ROOT_SECRET, "base64").toString("base64")).toBe(s.KMS_ROOT_SECRET);
    expect(s.BOOTSTRAP_ACCOUNT_ID).toMatch(/^[1-9]\d{11}$/);
    expect(s.BOOTSTRAP_ACCESS_KEY_ID).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(Buffer.from(s.BOOTSTRAP_SECRET_ACCESS_KEY, "base64")).toHaveLength(30);
    expect(s.BOOTSTRAP_SECRET_ACCESS_KEY).toMatch(/^[A-Za-z0-9+/]{40}$/);
    // The warning to back up the root secret: in the output, and on stderr when stdout is piped away.
    expect(a.stdout).toContain("# BACK UP KMS_ROOT_SECRET NOW");
    expect(a.stderr).toContain("BACK UP KMS_ROOT_SECRET NOW");
    expect(a.stdout).toContain(`# export AWS_ACCESS_KEY_ID='${s.BOOTSTRAP_ACCESS_KEY_ID}' AWS_SECRET_ACCESS_KEY='${s.BOOTSTRAP_SECRET_ACCESS_KEY}'`);
    const b = parseLines(initSecrets().stdout, "");
    for (const name of NAMES) expect(b[name], name).not.toBe(s[name]);
  });

  it("--env staging names the environment; --account-id and --json; bad input is refused", () => {
    const staging = initSecrets("--env", "staging", "--account-id", "123456789012");
    expect(staging.code, staging.stderr).toBe(0);
    expect(parseLines(staging.stdout, " --env staging").BOOTSTRAP_ACCOUNT_ID).toBe("123456789012");
    expect(staging.stdout).toContain("[env.staging] in wrangler.toml");
    const json = JSON.parse(initSecrets("--json").stdout) as Secrets;
    expect(Object.keys(json).sort()).toEqual([...NAMES].sort());
    const badEnv = initSecrets("--env", "prod");
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("--env must be one of production, staging");
    expect(initSecrets("--account-id", "12345").code).toBe(2);
  });

  it("a Worker started with them accepts the operator's credentials", async () => {
    const s = parseLines(initSecrets().stdout, "");
    const { url, mf } = await startServer({ port: await freePort(), persist: false, vars: { ...s } });
    try {
      const credentials = { accessKeyId: s.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: s.BOOTSTRAP_SECRET_ACCESS_KEY };
      const who = await adminCall<{ Arn: string }>({ endpoint: url, region: "us-east-1", ...credentials }, "GetCallerIdentity");
      expect(who.Arn).toBe(`arn:aws:iam::${s.BOOTSTRAP_ACCOUNT_ID}:root`);
      const kms = new K.KMSClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });
      const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
      expect(key.Arn).toContain(`:${s.BOOTSTRAP_ACCOUNT_ID}:key/`);
      const { CiphertextBlob } = await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("init-secrets") }));
      expect(Buffer.from((await kms.send(new K.DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe("init-secrets");
      expect((await (await fetch(`${url}/health/state`)).json()) as { status: string }).toMatchObject({ status: "ok" });
    } finally {
      await mf.dispose();
    }
  });
});
