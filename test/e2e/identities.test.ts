// Identities and the combination of key policies with identity policies, through the real
// AWS SDK and `npx edgekms admin`: accounts, users, access keys, user policies.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

function admin(creds: { accessKeyId: string; secretAccessKey: string }, ...args: string[]): { code: number; json?: Record<string, unknown>; out: string } {
  const r = spawnSync(process.execPath, [CLI, "admin", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey },
  });
  let json: Record<string, unknown> | undefined;
  try { json = JSON.parse(r.stdout); } catch { /* not JSON */ }
  return { code: r.status ?? -1, json, out: r.stdout + r.stderr };
}

function client(accessKeyId: string, secretAccessKey: string): K.KMSClient {
  return kmsClient("us-east-1", { accessKeyId, secretAccessKey });
}

async function denied(p: Promise<unknown>): Promise<string> {
  const e = (await p.then(() => undefined, (err: Error) => err)) as Error | undefined;
  expect(e?.name, "expected AccessDeniedException").toBe("AccessDeniedException");
  return e!.message;
}

const operator = { accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey };
const enc = new TextEncoder();

describe("identities and identity policies", () => {
  it("a user needs an identity policy when the key policy delegates to the account", async () => {
    const kms = kmsClient();
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const name = `alice-${Date.now()}`;
    expect(admin(operator, "create-user", "--user-name", name).code).toBe(0);
    const ak = admin(operator, "create-access-key", "--user-name", name).json as { AccessKeyId: string; SecretAccessKey: string };
    expect(ak.AccessKeyId).toMatch(/^AKIA/);
    const alice = client(ak.AccessKeyId, ak.SecretAccessKey);

    const msg = await denied(alice.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("x") })));
    expect(msg).toContain(`User: arn:aws:iam::${E2E.account}:user/${name} is not authorized to perform: kms:Encrypt`);
    expect(msg).toContain("because no identity-based policy allows the kms:Encrypt action");
    await denied(alice.send(new K.CreateKeyCommand({})));

    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: key.Arn },
      { Effect: "Deny", Action: "kms:Decrypt", Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:tier": "secret" } } },
    ] });
    expect(admin(operator, "put-user-policy", "--user-name", name, "--policy-name", "use-key", "--policy-document", policy).code).toBe(0);
    const c = await alice.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("hello") }));
    expect(new TextDecoder().decode((await alice.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob }))).Plaintext)).toBe("hello");
    const secretBlob = (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("s"), EncryptionContext: { tier: "secret" } }))).CiphertextBlob;
    expect(await denied(alice.send(new K.DecryptCommand({ CiphertextBlob: secretBlob, EncryptionContext: { tier: "secret" } })))).toContain("explicit deny in an identity-based policy");
    await denied(alice.send(new K.GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: "AES_256" })));

    const listed = admin(operator, "list-users").json as { Users: { UserName: string; PolicyNames: string[]; AccessKeyIds: string[] }[] };
    expect(listed.Users.find((u) => u.UserName === name)).toMatchObject({ PolicyNames: ["use-key"], AccessKeyIds: [ak.AccessKeyId] });

    expect(admin(operator, "delete-user-policy", "--user-name", name, "--policy-name", "use-key").code).toBe(0);
    await denied(alice.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("x") })));
    expect(admin(operator, "delete-access-key", "--access-key", ak.AccessKeyId).code).toBe(0);
    const gone = await alice.send(new K.ListKeysCommand({})).then(() => undefined, (e: Error) => e);
    expect(gone?.name).toBe("UnrecognizedClientException");
  });

  it("a key policy naming the user allows it without an identity policy", async () => {
    const name = `bob-${Date.now()}`;
    admin(operator, "create-user", "--user-name", name);
    const ak = admin(operator, "create-access-key", "--user-name", name).json as { AccessKeyId: string; SecretAccessKey: string };
    const bob = client(ak.AccessKeyId, ak.SecretAccessKey);
    const kms = kmsClient();
    const root = `arn:aws:iam::${E2E.account}:root`;
    const key = (await kms.send(new K.CreateKeyCommand({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Principal: { AWS: root }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${E2E.account}:user/${name}` }, Action: "kms:Encrypt", Resource: "*" },
    ] }) }))).KeyMetadata!;
    expect((await bob.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("x") }))).KeyId).toBe(key.Arn);
    await denied(bob.send(new K.DecryptCommand({ CiphertextBlob: (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("y") }))).CiphertextBlob })));
  });

  it("a new account is separate; its root manages its own users, not others'", async () => {
    const acct = admin(operator, "create-account").json as { AccountId: string; AccessKeyId: string; SecretAccessKey: string };
    expect(acct.AccountId).toMatch(/^\d{12}$/);
    const other = client(acct.AccessKeyId, acct.SecretAccessKey);
    const theirs = (await other.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    expect(theirs.AWSAccountId).toBe(acct.AccountId);
    const mine = (await kmsClient().send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const byId = await other.send(new K.DescribeKeyCommand({ KeyId: mine.KeyId })).then(() => undefined, (err: Error) => err);
    expect(byId?.name).toBe("NotFoundException");
    await denied(other.send(new K.DescribeKeyCommand({ KeyId: mine.Arn })));
    const rootCreds = { accessKeyId: acct.AccessKeyId, secretAccessKey: acct.SecretAccessKey };
    expect(admin(rootCreds, "create-user", "--user-name", "carol").code).toBe(0);
    const foreign = admin(rootCreds, "create-user", "--user-name", "mallory", "--account", E2E.account);
    expect(foreign.code).toBe(1);
    expect(foreign.out).toContain("AccessDeniedException");
    expect(admin(rootCreds, "create-account").out).toContain("AccessDeniedException");
  });
});

describe("cross-account use", () => {
  it("works only as the key policy and the caller's identity policies allow, and is recorded in both accounts", async () => {
    const acct = admin(operator, "create-account").json as { AccountId: string; AccessKeyId: string; SecretAccessKey: string };
    const bRoot = client(acct.AccessKeyId, acct.SecretAccessKey);
    const kms = kmsClient();
    const aRoot = `arn:aws:iam::${E2E.account}:root`;
    const key = (await kms.send(new K.CreateKeyCommand({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Principal: { AWS: aRoot }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: acct.AccountId }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], Resource: "*",
        Condition: { StringEquals: { "kms:EncryptionContext:tenant": "t1" } } },
      { Effect: "Allow", Principal: { AWS: acct.AccountId }, Action: ["kms:DescribeKey", "kms:CreateGrant"], Resource: "*" },
    ] }) }))).KeyMetadata!;

    // B's root uses A's key by ARN, within the encryption-context condition
    const c = await bRoot.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("shared"), EncryptionContext: { tenant: "t1" } }));
    expect(c.KeyId).toBe(key.Arn);
    const back = await bRoot.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob, EncryptionContext: { tenant: "t1" } }));
    expect(new TextDecoder().decode(back.Plaintext)).toBe("shared");
    expect((await bRoot.send(new K.DescribeKeyCommand({ KeyId: key.Arn }))).KeyMetadata!.AWSAccountId).toBe(E2E.account);
    await denied(bRoot.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { tenant: "t2" } })));
    await denied(bRoot.send(new K.GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256" })));
    const byId = await bRoot.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: enc.encode("x"), EncryptionContext: { tenant: "t1" } })).then(() => undefined, (e: Error) => e);
    expect(byId?.name).toBe("NotFoundException");
    const disable = await bRoot.send(new K.DisableKeyCommand({ KeyId: key.Arn })).then(() => undefined, (e: Error) => e);
    expect(disable?.name).toBe("NotFoundException");

    // a user of B needs its own identity policy as well
    const bRootCreds = { accessKeyId: acct.AccessKeyId, secretAccessKey: acct.SecretAccessKey };
    admin(bRootCreds, "create-user", "--user-name", "dave");
    const dk = admin(bRootCreds, "create-access-key", "--user-name", "dave").json as { AccessKeyId: string; SecretAccessKey: string };
    const dave = client(dk.AccessKeyId, dk.SecretAccessKey);
    await denied(dave.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { tenant: "t1" } })));
    admin(bRootCreds, "put-user-policy", "--user-name", "dave", "--policy-name", "use-a", "--policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: key.Arn }] }));
    expect((await dave.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: enc.encode("x"), EncryptionContext: { tenant: "t1" } }))).KeyId).toBe(key.Arn);

    // a state change across accounts (a grant on A's key, made by B)
    const grant = await bRoot.send(new K.CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: `arn:aws:iam::${acct.AccountId}:root`, Operations: ["Decrypt"] }));

    // the audit trails of both accounts hold the cross-account Encrypt and CreateGrant, each as one shared event
    const requestId = c.$metadata.requestId!;
    // Only this key's records: other e2e files make calls in the same accounts at the same time.
    const tailOf = (account: string) => {
      const r = spawnSync(process.execPath, [CLI, "audit", "tail", "--limit", "500", "--account", account, "--key", key.Arn!], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: operator.accessKeyId, AWS_SECRET_ACCESS_KEY: operator.secretAccessKey },
      });
      return r.stdout;
    };
    expect(tailOf(E2E.account)).toContain(requestId);
    expect(tailOf(acct.AccountId)).toContain(requestId);
    // The grant's records are stored with the change, in the outbox of A's vault: A's tail
    // shows A's copy at once; B's shows B's copy once it is forwarded (about a second).
    const grantRequest = grant.$metadata.requestId!;
    expect(tailOf(E2E.account)).toContain(grantRequest);
    let seen = tailOf(acct.AccountId);
    for (const deadline = Date.now() + 15_000; !seen.includes(grantRequest) && Date.now() < deadline; seen = tailOf(acct.AccountId)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen).toContain(grantRequest);
  });
});
