// `npm run smoke -- URL` (scripts/smoke.mjs) against the e2e server: it passes with the
// operator's credentials from the environment, and fails (exit 1, naming the failed checks)
// against an endpoint where nothing listens and with a wrong secret access key.
import { describe, expect, inject, it } from "vitest";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { E2E } from "./client.js";
import { freePort } from "./setup.js";

const SCRIPT = new URL("../../scripts/smoke.mjs", import.meta.url).pathname;

/** Runs the script as `npm run smoke` does, with credentials from the environment only (no ~/.aws). */
function smoke(args: string[], credentials = E2E): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: {
        PATH: process.env.PATH, HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: "us-east-1",
      },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

describe("npm run smoke", () => {
  it("passes against a working EdgeKMS: every check, its own key scheduled for deletion", async () => {
    const r = await smoke([inject("kmsEndpoint")]);
    expect(r.code, r.out).toBe(0);
    for (const check of ["ListKeys", "CreateKey", "DescribeKey", "Encrypt with an encryption context", "Decrypt with the same context", "Decrypt with another context is refused", "GenerateDataKey", "A wrong secret access key is refused", "ScheduleKeyDeletion"]) {
      expect(r.out).toMatch(new RegExp(`^PASS  ${check}`, "m"));
    }
    expect(r.out).not.toMatch(/^FAIL/m);
    expect(r.out).toMatch(/^all 9 checks passed$/m);
    expect(r.out).toMatch(/ScheduleKeyDeletion of the test's key \(7 days\)\s+deletion scheduled for \d{4}-/);
    expect(r.out).toMatch(/ListKeys \(credentials accepted\)\s+credentials accepted \(ListKeys\)/);
  });

  it("uses a given key without creating or deleting one", async () => {
    const { kmsClient } = await import("./client.js");
    const K = await import("@aws-sdk/client-kms");
    const keyId = (await kmsClient().send(new K.CreateKeyCommand({ Description: "smoke --key-id" }))).KeyMetadata!.KeyId!;
    const r = await smoke([inject("kmsEndpoint"), "--key-id", keyId]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/CreateKey|ScheduleKeyDeletion/);
    expect((await kmsClient().send(new K.DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe("Enabled");
  });

  it("fails against an endpoint where nothing listens", async () => {
    const r = await smoke([`http://127.0.0.1:${await freePort()}`]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/^FAIL  ListKeys \(credentials accepted\)/m);
    expect(r.out).toMatch(/check\(s\) FAILED$/m);
  });

  it("fails with a wrong secret access key, and says so", async () => {
    const r = await smoke([inject("kmsEndpoint")], { ...E2E, secretAccessKey: "not-the-operators-secret-access-key" });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/^FAIL  ListKeys \(credentials accepted\)\s+InvalidSignatureException/m);
    expect(r.out).toMatch(/^FAIL  CreateKey\s+skipped/m);
  });

  it("refuses to run without a URL", async () => {
    const r = await smoke([]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("usage: npm run smoke -- URL");
  });
});
