// Through the AWS SDK: the key-policy lockout check, and the service-managed audit key that
// customers cannot delete, disable or re-police; plus an encrypted audit trail exported and
// verified by the CLI.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

function edgekms(...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: E2E.accessKeyId, AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey },
  });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

async function errorName(p: Promise<unknown>): Promise<string | undefined> {
  return (await p.then(() => undefined, (e: Error) => e))?.name;
}

const ROOT = `arn:aws:iam::${E2E.account}:root`;

describe("key policies and managed keys through the SDK", () => {
  it("PutKeyPolicy refuses a policy that would lock the caller out, unless bypassed", async () => {
    const kms = kmsClient();
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const lockout = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*" }] });
    expect(await errorName(kms.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: lockout })))).toBe("MalformedPolicyDocumentException");
    await kms.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    expect(await errorName(kms.send(new K.GetKeyPolicyCommand({ KeyId: key.KeyId })))).toBe("AccessDeniedException");
    expect((await kms.send(new K.ListKeyPoliciesCommand({ KeyId: key.KeyId })).then(() => "ok", (e: Error) => e.name))).toBe("AccessDeniedException");
  });

  it("the service-managed audit key refuses deletion, disabling and policy changes; its trail exports decrypted and verifies", async () => {
    const on = edgekms("audit", "encrypt");
    expect(on.code, on.out).toBe(0);
    const kms = kmsClient();
    const md = (await kms.send(new K.DescribeKeyCommand({ KeyId: "alias/aws/cloudtrail" }))).KeyMetadata!;
    expect(md.KeyManager).toBe("AWS");
    expect(await errorName(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 })))).toBe("AccessDeniedException");
    expect(await errorName(kms.send(new K.DisableKeyCommand({ KeyId: md.KeyId })))).toBe("AccessDeniedException");
    expect(await errorName(kms.send(new K.PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }] }) })))).toBe("AccessDeniedException");
    expect(await errorName(kms.send(new K.CreateAliasCommand({ AliasName: "alias/aws/cloudtrail2", TargetKeyId: md.KeyId })))).toBe("InvalidAliasNameException");

    const probe = await kms.send(new K.GenerateRandomCommand({ NumberOfBytes: 8 }));
    expect(edgekms("audit", "flush").code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "edgekms-encrypted-export-"));
    const exp = edgekms("audit", "export", "--out", dir);
    expect(exp.code, exp.out).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, "edgekms-audit-export.json"), "utf8")) as { signatures: Record<string, string> };
    expect(Object.keys(manifest.signatures).length).toBeGreaterThan(0);
    const decrypted = spawnSync("bash", ["-c", `grep -rl ${probe.$metadata.requestId} ${dir} --include='*.decrypted.json'`], { encoding: "utf8" }).stdout.trim();
    expect(decrypted && existsSync(decrypted.split("\n")[0]), "a decrypted copy holds the probe's record").toBeTruthy();
    const verify = edgekms("audit", "verify", "--dir", dir);
    expect(verify.code, verify.out).toBe(0);
    expect(edgekms("audit", "encrypt", "--disable").code).toBe(0);
  });
});
