// The operator's side (docs/operations.md), each test with servers of its own over one persisted
// state (as `npm run serve` and `wrangler dev` keep it): changing the BOOTSTRAP_* secrets retires
// the old pair; state under another root secret answers a clear error; rotating the root secret
// keeps every ciphertext, identity and digest working.
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../../scripts/serve.mjs";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E_VARS, freePort } from "./setup.js";
import { remember, remembered, scanTrail } from "./secrets.js";

type Vars = typeof E2E_VARS & { KMS_ROOT_SECRET_PREVIOUS?: string };
/** Runs `body` against a server over `state` with `vars`, then stops it. */
async function withServer<T>(state: string, vars: Vars, body: (url: string) => Promise<T>): Promise<T> {
  const { url, mf } = await startServer({ port: await freePort(), persist: state, vars });
  try {
    return await body(url);
  } finally {
    await mf.dispose();
  }
}

const client = (url: string, accessKeyId: string, secretAccessKey: string) =>
  new K.KMSClient({ endpoint: url, region: "us-east-1", credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
const errorName = (p: Promise<unknown>) => p.then(() => "OK", (e: Error) => e.name);

describe("operator credentials", () => {
  it("after BOOTSTRAP_ACCESS_KEY_ID and its secret change, the old pair is refused and the new one is the operator", async () => {
    const state = mkdtempSync(join(tmpdir(), "edgekms-operator-"));
    try {
      const before: Vars = { ...E2E_VARS, BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSOPERATOR1", BOOTSTRAP_SECRET_ACCESS_KEY: "first-operator-secret-for-this-test-only" };
      const after: Vars = { ...E2E_VARS, BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSOPERATOR2", BOOTSTRAP_SECRET_ACCESS_KEY: "second-operator-secret-for-this-test-only" };
      const keyId = await withServer(state, before, async (url) =>
        (await client(url, before.BOOTSTRAP_ACCESS_KEY_ID, before.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      await withServer(state, after, async (url) => {
        expect(await errorName(client(url, before.BOOTSTRAP_ACCESS_KEY_ID, before.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({})))).toBe("UnrecognizedClientException");
        const keys = await client(url, after.BOOTSTRAP_ACCESS_KEY_ID, after.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({}));
        expect(keys.Keys!.map((k) => k.KeyId)).toContain(keyId);
      });
      // The same access key id with a new secret: the old secret is refused.
      const resecret: Vars = { ...after, BOOTSTRAP_SECRET_ACCESS_KEY: "third-operator-secret-for-this-test-only" };
      await withServer(state, resecret, async (url) => {
        expect(await errorName(client(url, after.BOOTSTRAP_ACCESS_KEY_ID, after.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({})))).toBe("InvalidSignatureException");
        expect(await errorName(client(url, resecret.BOOTSTRAP_ACCESS_KEY_ID, resecret.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({})))).toBe("OK");
      });
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe("the root secret", () => {
  const S1 = E2E_VARS.KMS_ROOT_SECRET;
  const S2 = Buffer.from("a-second-root-secret-for-this-test-only-0123456789").toString("base64");
  const S3 = Buffer.from("a-third-root-secret-nobody-sealed-anything-under!!").toString("base64");

  it("state sealed under another secret answers a clear error, never a bare internal one", async () => {
    const state = mkdtempSync(join(tmpdir(), "edgekms-root-"));
    try {
      await withServer(state, E2E_VARS, async (url) => {
        await client(url, E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.CreateKeyCommand({}));
      });
      await withServer(state, { ...E2E_VARS, KMS_ROOT_SECRET: S3 }, async (url) => {
        const e = await client(url, E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({})).then(() => undefined, (err: Error) => err);
        expect(e?.name).toBe("KMSInternalException");
        expect(e?.message).toContain("sealed under a different KMS_ROOT_SECRET");
        const health = await fetch(`${url}/health/state`);
        expect(health.status).toBe(503);
        expect(((await health.json()) as { status: string }).status).toBe("root-secret-mismatch");
        // A region with no signing key yet must not get one under the wrong secret: the flush is refused, clearly.
        const flush = await adminCall({ endpoint: url, region: "eu-central-1", accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY }, "AuditFlush").then(() => undefined, (err: Error) => err.message);
        expect(flush).toContain("sealed under a different KMS_ROOT_SECRET");
      });
      // A malformed secret is named, not an internal error.
      await withServer(state, { ...E2E_VARS, KMS_ROOT_SECRET_PREVIOUS: "not base64!" } as Vars, async (url) => {
        const e = await client(url, E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.ListKeysCommand({})).then(() => undefined, (err: Error) => err);
        expect(e?.message).toContain("KMS_ROOT_SECRET_PREVIOUS is not valid base64");
      });
      // The right secret opens everything again, and the region's trail is signed.
      await withServer(state, E2E_VARS, async (url) => {
        const cfg = { endpoint: url, region: "eu-central-1", accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
        expect((await adminCall<{ Digest: string | null }>(cfg, "AuditFlush")).Digest).toBeTruthy();
        expect((await fetch(`${url}/health/state`)).status).toBe(200);
      });
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it("rotation: with the old secret given alongside, everything opens; after rewrap-root-secret, the new secret alone opens it all", async () => {
    const state = mkdtempSync(join(tmpdir(), "edgekms-rotate-"));
    const operator = (url: string) => client(url, E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY);
    const adminCfg = (url: string) => ({ endpoint: url, region: "us-east-1", accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY });
    const FORMER: Vars = { ...E2E_VARS, BOOTSTRAP_ACCOUNT_ID: "111100001111", BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSFORMER001", BOOTSTRAP_SECRET_ACCESS_KEY: "the-former-operators-secret-for-this-test" };
    try {
      // An account that was the operator's before BOOTSTRAP_ACCOUNT_ID changed: its key and user must be rewrapped too.
      const former = await withServer(state, FORMER, async (url) => {
        const cfg = { endpoint: url, region: "us-east-1", accessKeyId: FORMER.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: FORMER.BOOTSTRAP_SECRET_ACCESS_KEY };
        const key = (await client(url, FORMER.BOOTSTRAP_ACCESS_KEY_ID, FORMER.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        remember("former operator's data");
        const blob = (await client(url, FORMER.BOOTSTRAP_ACCESS_KEY_ID, FORMER.BOOTSTRAP_SECRET_ACCESS_KEY).send(new K.EncryptCommand({ KeyId: key, Plaintext: Buffer.from("former operator's data") }))).CiphertextBlob!;
        await adminCall(cfg, "CreateUser", { UserName: "former" });
        await adminCall(cfg, "PutUserPolicy", { UserName: "former", PolicyName: "p", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] }) });
        const user = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(cfg, "CreateAccessKey", { UserName: "former" });
        remember(user.SecretAccessKey);
        return { blob, user };
      });
      for (const text of ["before rotation 1", "before rotation 2", "after"]) remember(text);
      // Under S1: keys (one rotated), ciphertexts, a user with an access key, a delivered and digested trail.
      const made = await withServer(state, E2E_VARS, async (url) => {
        const kms = operator(url);
        const k1 = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const k2 = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const c1 = (await kms.send(new K.EncryptCommand({ KeyId: k1, Plaintext: Buffer.from("before rotation 1"), EncryptionContext: { a: "1" } }))).CiphertextBlob!;
        await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k1 }));
        const c2 = (await kms.send(new K.EncryptCommand({ KeyId: k2, Plaintext: Buffer.from("before rotation 2") }))).CiphertextBlob!;
        await adminCall(adminCfg(url), "CreateUser", { UserName: "rotating" });
        await adminCall(adminCfg(url), "PutUserPolicy", { UserName: "rotating", PolicyName: "p", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:ListKeys", Resource: "*" }] }) });
        const user = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(adminCfg(url), "CreateAccessKey", { UserName: "rotating" });
        remember(user.SecretAccessKey);
        await adminCall(adminCfg(url), "AuditFlush");
        return { k1, k2, c1, c2, user };
      });
      const decryptsAll = async (url: string) => {
        const kms = operator(url);
        expect(Buffer.from((await kms.send(new K.DecryptCommand({ CiphertextBlob: made.c1, EncryptionContext: { a: "1" } }))).Plaintext!).toString()).toBe("before rotation 1");
        expect(Buffer.from((await kms.send(new K.DecryptCommand({ CiphertextBlob: made.c2 }))).Plaintext!).toString()).toBe("before rotation 2");
        expect((await client(url, made.user.AccessKeyId, made.user.SecretAccessKey).send(new K.ListKeysCommand({}))).Keys!.length).toBeGreaterThan(0);
        const formerUser = client(url, former.user.AccessKeyId, former.user.SecretAccessKey);
        expect(Buffer.from((await formerUser.send(new K.DecryptCommand({ CiphertextBlob: former.blob }))).Plaintext!).toString()).toBe("former operator's data");
      };
      // S2 with S1 as the previous secret: everything opens; the rewrap moves it all to S2.
      const rewrap = await withServer(state, { ...E2E_VARS, KMS_ROOT_SECRET: S2, KMS_ROOT_SECRET_PREVIOUS: S1 } as Vars, async (url) => {
        await decryptsAll(url);
        return adminCall<{ Keys: number; KeysRewrapped: number; Mismatched: string[] }>(adminCfg(url), "RewrapRootSecret");
      });
      expect(rewrap.Mismatched).toEqual([]);
      expect(rewrap.Keys).toBeGreaterThanOrEqual(3);
      // S2 alone: everything still opens, new ciphertexts too, and the trail still verifies with the same signing key.
      await withServer(state, { ...E2E_VARS, KMS_ROOT_SECRET: S2 }, async (url) => {
        await decryptsAll(url);
        const kms = operator(url);
        const c3 = (await kms.send(new K.EncryptCommand({ KeyId: made.k1, Plaintext: Buffer.from("after") }))).CiphertextBlob!;
        expect(Buffer.from((await kms.send(new K.DecryptCommand({ CiphertextBlob: c3 }))).Plaintext!).toString()).toBe("after");
        const flushed = await adminCall<{ Digest: string | null }>(adminCfg(url), "AuditFlush");
        expect(flushed.Digest).toBeTruthy();
        // No record of any of this holds a plaintext, a secret access key or a root secret.
        const accounts = (await adminCall<{ Accounts: string[] }>(adminCfg(url), "ListAccounts")).Accounts;
        expect(accounts).toContain(FORMER.BOOTSTRAP_ACCOUNT_ID);
        const scanned = await scanTrail(url, E2E_VARS, accounts, ["us-east-1"], [...remembered(), Buffer.from(S1), Buffer.from(S2)]);
        expect(scanned.records).toBeGreaterThan(5);
      });
      // And S1 alone no longer opens anything.
      await withServer(state, E2E_VARS, async (url) => {
        expect((await fetch(`${url}/health/state`)).status).toBe(503);
      });
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
