// Grants through the real AWS SDK: creation (idempotent by Name), constraints, listing,
// retiring, revoking, cross-account grantees, and the precedence of an explicit deny.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;
const enc = new TextEncoder();

function admin(...args: string[]): Record<string, string> {
  const r = spawnSync(process.execPath, [CLI, "admin", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: E2E.accessKeyId, AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey },
  });
  return JSON.parse(r.stdout);
}

function client(c: Record<string, string>): K.KMSClient {
  return kmsClient("us-east-1", { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey });
}

async function error(p: Promise<unknown>): Promise<string | undefined> {
  return (await p.then(() => undefined, (e: Error) => e))?.name;
}

describe("grants", () => {
  it("give a grantee the named operations within their constraints, until retired or revoked", async () => {
    const kms = kmsClient();
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const erin = `erin-${Date.now()}`, ret = `retirer-${Date.now()}`;
    admin("create-user", "--user-name", erin);
    admin("create-user", "--user-name", ret);
    const erinKms = client(admin("create-access-key", "--user-name", erin));
    const retKms = client(admin("create-access-key", "--user-name", ret));
    const erinArn = `arn:aws:iam::${E2E.account}:user/${erin}`, retArn = `arn:aws:iam::${E2E.account}:user/${ret}`;

    expect(await error(erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { app: "x" } })))).toBe("AccessDeniedException");
    const g = await kms.send(new K.CreateGrantCommand({
      KeyId: key.KeyId, GranteePrincipal: erinArn, RetiringPrincipal: retArn, Operations: ["Encrypt", "Decrypt"],
      Constraints: { EncryptionContextSubset: { app: "x" } }, Name: "erin-app",
    }));
    expect(g.GrantId).toMatch(/^[0-9a-f]{64}$/);
    const again = await kms.send(new K.CreateGrantCommand({
      KeyId: key.KeyId, GranteePrincipal: erinArn, RetiringPrincipal: retArn, Operations: ["Encrypt", "Decrypt"],
      Constraints: { EncryptionContextSubset: { app: "x" } }, Name: "erin-app",
    }));
    expect(again.GrantId).toBe(g.GrantId);

    const c = await erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("granted"), EncryptionContext: { app: "x", extra: "1" }, GrantTokens: [g.GrantToken!] }));
    expect(new TextDecoder().decode((await erinKms.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob, EncryptionContext: { app: "x", extra: "1" } }))).Plaintext)).toBe("granted");
    expect(await error(erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { app: "y" } })))).toBe("AccessDeniedException");
    expect(await error(erinKms.send(new K.GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256", EncryptionContext: { app: "x" } })))).toBe("AccessDeniedException");
    expect(await error(erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { app: "x" }, GrantTokens: ["not-a-token"] })))).toBe("InvalidGrantTokenException");

    const listed = await kms.send(new K.ListGrantsCommand({ KeyId: key.KeyId }));
    expect(listed.Grants).toEqual([expect.objectContaining({ GrantId: g.GrantId, GranteePrincipal: erinArn, RetiringPrincipal: retArn, Operations: ["Encrypt", "Decrypt"], Name: "erin-app", IssuingAccount: `arn:aws:iam::${E2E.account}:root`, KeyId: key.Arn })]);
    expect(await error(kms.send(new K.ListGrantsCommand({ KeyId: key.KeyId, GrantId: "0".repeat(64) })))).toBe("InvalidGrantIdException");
    const retirable = await kms.send(new K.ListRetirableGrantsCommand({ RetiringPrincipal: retArn }));
    expect(retirable.Grants!.map((x) => x.GrantId)).toEqual([g.GrantId]);

    expect(await error(erinKms.send(new K.RetireGrantCommand({ GrantToken: g.GrantToken })))).toBe("AccessDeniedException");
    await retKms.send(new K.RetireGrantCommand({ GrantToken: again.GrantToken }));
    expect(await error(erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { app: "x" } })))).toBe("AccessDeniedException");
    expect((await kms.send(new K.ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);

    const g2 = await kms.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: erinArn, Operations: ["Encrypt"] }));
    expect((await erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x") }))).KeyId).toBe(key.Arn);
    await kms.send(new K.RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g2.GrantId }));
    expect(await error(erinKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x") })))).toBe("AccessDeniedException");
    expect(await error(kms.send(new K.RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g2.GrantId })))).toBe("InvalidGrantIdException");
    expect(await error(kms.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: erinArn, Operations: ["Sign"] })))).toBe("ValidationException");
  });

  it("a grant admits another account's principal; an explicit deny in the key policy still wins", async () => {
    const kms = kmsClient();
    const b = admin("create-account");
    const bKms = client(b);
    const bRoot = `arn:aws:iam::${b.AccountId}:root`;
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    expect(await error(bKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x") })))).toBe("AccessDeniedException");
    await kms.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bRoot, Operations: ["Encrypt", "DescribeKey"] }));
    expect((await bKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x") }))).KeyId).toBe(key.Arn);

    const root = `arn:aws:iam::${E2E.account}:root`;
    await kms.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: { AWS: bRoot }, Action: "kms:Encrypt", Resource: "*" },
    ] }) }));
    expect(await error(bKms.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x") })))).toBe("AccessDeniedException");
    expect((await bKms.send(new K.DescribeKeyCommand({ KeyId: key.Arn }))).KeyMetadata!.KeyId).toBe(key.KeyId);
  });
});
