// The real AWS CLI v2 (Debian's awscli, /usr/bin/aws, installed by scripts/test-setup.sh).
import { describe, expect, inject, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2E, awsCliEnv } from "./client.js";
import { remember } from "./secrets.js";

const AWS = "/usr/bin/aws";

function aws(...args: string[]): string {
  return execFileSync(AWS, ["--endpoint-url", inject("kmsEndpoint"), "--output", "json", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: awsCliEnv(),
  });
}

describe("AWS CLI v2 against EdgeKMS", () => {
  it("create-key → encrypt → decrypt → generate-data-key → schedule-key-deletion", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-cli-"));
    const md = JSON.parse(aws("kms", "create-key", "--description", "from the cli")).KeyMetadata;
    expect(md).toMatchObject({ KeyState: "Enabled", Description: "from the cli", AWSAccountId: E2E.account });

    remember("attack at dawn");
    writeFileSync(join(dir, "plain.txt"), "attack at dawn");
    const encrypted = JSON.parse(aws("kms", "encrypt", "--key-id", md.KeyId, "--plaintext", `fileb://${join(dir, "plain.txt")}`, "--encryption-context", "app=cli"));
    expect(encrypted.KeyId).toBe(md.Arn);
    writeFileSync(join(dir, "blob.bin"), Buffer.from(encrypted.CiphertextBlob, "base64"));

    const decrypted = JSON.parse(aws("kms", "decrypt", "--ciphertext-blob", `fileb://${join(dir, "blob.bin")}`, "--encryption-context", "app=cli"));
    expect(Buffer.from(decrypted.Plaintext, "base64").toString()).toBe("attack at dawn");
    expect(decrypted.KeyId).toBe(md.Arn);

    const dk = JSON.parse(aws("kms", "generate-data-key", "--key-id", md.Arn, "--key-spec", "AES_256"));
    expect(Buffer.from(dk.Plaintext, "base64").length).toBe(32);
    remember(Buffer.from(dk.Plaintext, "base64"));
    writeFileSync(join(dir, "dk.bin"), Buffer.from(dk.CiphertextBlob, "base64"));
    const dkBack = JSON.parse(aws("kms", "decrypt", "--ciphertext-blob", `fileb://${join(dir, "dk.bin")}`));
    expect(dkBack.Plaintext).toBe(dk.Plaintext);

    const sched = JSON.parse(aws("kms", "schedule-key-deletion", "--key-id", md.KeyId, "--pending-window-in-days", "7"));
    expect(sched.KeyState).toBe("PendingDeletion");
    expect(sched.KeyId).toBe(md.Arn);
    expect(readFileSync(join(dir, "plain.txt"), "utf8")).toBe("attack at dawn");
  });

  it("reports AWS errors by type", () => {
    let stderr = "";
    try {
      aws("kms", "describe-key", "--key-id", "alias/does-not-exist");
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toContain("NotFoundException");
  });
});
