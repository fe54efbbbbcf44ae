// `npm start` (wrangler dev --persist-to DIR) and `npm run serve` (scripts/serve.mjs) keep one
// state store: keys, aliases, material and audit objects made by either are found by the other,
// on a state directory of this test's own (never the user's .wrangler/state).
import { describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as K from "@aws-sdk/client-kms";
import { Miniflare } from "miniflare";
import { freePort } from "./setup.js";
// @ts-expect-error: plain ESM script without types
import { bundle, compatibilityDate, startServer } from "../../scripts/serve.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CLI = `${root}dist/cli/edgekms.js`;
const VARS = {
  BOOTSTRAP_ACCOUNT_ID: "777788889999",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSSTATE0001",
  BOOTSTRAP_SECRET_ACCESS_KEY: "state-store-test-secret-not-for-production",
  KMS_ROOT_SECRET: "c3RhdGUtc3RvcmUtdGVzdC1yb290LXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=",
  QUOTA_SCALE: "1000",
};
const credentials = { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
const kms = (endpoint: string) => new K.KMSClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });

/** wrangler dev as `npm start` runs it, on this test's state directory, port and variables. */
async function wranglerDev(stateDir: string, envFile: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const [port, inspector] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, "dev", "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(inspector), "--persist-to", stateDir, "--env-file", envFile, "--show-interactive-dev-session=false"], {
    cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" }, stdio: ["ignore", "pipe", "pipe"], detached: true,
  });
  let log = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid!, "SIGINT"); // wrangler and the workerd it started: their own group
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wrangler dev did not start:\n${log}`)), 90_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes(`Ready on http://127.0.0.1:${port}`)) { clearTimeout(timer); resolve(); }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`wrangler dev exited (${code}):\n${log}`)); });
  }).catch(async (e) => { await stop(); throw e; });
  return { url: `http://127.0.0.1:${port}`, stop };
}

describe("one state store for npm start and npm run serve", () => {
  it("a key made under either is found, and decrypts, under the other; R2 audit objects too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-state-"));
    const stateDir = join(dir, "state"); // as `--persist-to .wrangler/state`
    const persist = join(stateDir, "v3"); // as serve.mjs's DEFAULT_PERSIST under it
    const envFile = join(dir, ".env");
    writeFileSync(envFile, Object.entries(VARS).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
    const enc = new TextEncoder();
    try {
      // 1. npm run serve: a key, an alias, a ciphertext.
      let served = await startServer({ port: await freePort(), persist, vars: VARS });
      let c = kms(served.url);
      const first = (await c.send(new K.CreateKeyCommand({ Description: "made by serve" }))).KeyMetadata!;
      await c.send(new K.CreateAliasCommand({ AliasName: "alias/shared-store", TargetKeyId: first.KeyId }));
      const blob = (await c.send(new K.EncryptCommand({ KeyId: "alias/shared-store", Plaintext: enc.encode("kept across servers") }))).CiphertextBlob!;
      await served.mf.dispose();

      // 2. npm start's wrangler dev on the same directory: the same key, alias and material; a key of its own; an audit flush to R2.
      const dev = await wranglerDev(stateDir, envFile);
      let second: K.KeyMetadata;
      try {
        c = kms(dev.url);
        expect((await c.send(new K.DescribeKeyCommand({ KeyId: "alias/shared-store" }))).KeyMetadata).toMatchObject({ KeyId: first.KeyId, Description: "made by serve", AWSAccountId: VARS.BOOTSTRAP_ACCOUNT_ID });
        expect(new TextDecoder().decode((await c.send(new K.DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("kept across servers");
        second = (await c.send(new K.CreateKeyCommand({ Description: "made by npm start" }))).KeyMetadata!;
        const flush = spawnSync(process.execPath, [CLI, "audit", "flush"], {
          encoding: "utf8",
          env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: dev.url, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
        });
        expect(flush.status, flush.stderr).toBe(0);
      } finally {
        await dev.stop();
      }

      // 3. npm run serve again: the key wrangler dev made, and the audit objects it delivered.
      served = await startServer({ port: await freePort(), persist, vars: VARS });
      try {
        c = kms(served.url);
        expect((await c.send(new K.DescribeKeyCommand({ KeyId: second.KeyId }))).KeyMetadata!.Description).toBe("made by npm start");
        const listed = (await c.send(new K.ListKeysCommand({}))).Keys!.map((k) => k.KeyId).sort();
        expect(listed).toEqual([first.KeyId, second.KeyId].sort());
        const bucket = await served.mf.getR2Bucket("AUDIT_BUCKET");
        const objects = (await bucket.list({ prefix: `AWSLogs/${VARS.BOOTSTRAP_ACCOUNT_ID}/CloudTrail/us-east-1/` })).objects;
        expect(objects.length).toBeGreaterThan(0);
      } finally {
        await served.mf.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it("a store of an earlier `npm run serve` (its own names: no worker name, buckets by binding) is still served as written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-legacy-state-"));
    try {
      // The configuration serve.mjs had before it shared wrangler dev's store.
      const legacy = new Miniflare({
        modules: bundle(), compatibilityDate, compatibilityFlags: ["nodejs_compat"], host: "127.0.0.1", port: await freePort(),
        bindings: { ...VARS, REGIONS: { "us-east-1": { locationHint: "enam" } }, AUDIT_BUCKET_NAME: "edgekms-audit", AUDIT_BUCKET_EU_NAME: "edgekms-audit-eu", AUDIT_SHARDS: "1" },
        durableObjects: Object.fromEntries(["KeyVault", "Catalog", "IdentityStore", "AuditLog", "AuditSigner", "QuotaCounter"].map((c) => [
          c.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), { className: c, useSQLite: true }])),
        r2Buckets: ["AUDIT_BUCKET", "AUDIT_BUCKET_EU"],
        durableObjectsPersist: join(dir, "do"), r2Persist: join(dir, "r2"),
      });
      const url = (await legacy.ready).toString().replace(/\/$/, "");
      const made = (await kms(url).send(new K.CreateKeyCommand({ Description: "made by an earlier serve" }))).KeyMetadata!;
      await legacy.dispose();
      expect(existsSync(join(dir, "do", "-KeyVault"))).toBe(true);

      const served = await startServer({ port: await freePort(), persist: dir, vars: VARS });
      try {
        expect((await kms(served.url).send(new K.DescribeKeyCommand({ KeyId: made.KeyId }))).KeyMetadata!.Description).toBe("made by an earlier serve");
        expect(existsSync(join(dir, "do", "edgekms-KeyVault"))).toBe(false);
      } finally {
        await served.mf.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
