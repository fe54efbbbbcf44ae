// Request-rate quotas through the real JS SDK (docs/quotas.md): ThrottlingException is in the
// SDK's list of throttling errors, so a throttled call is retried with back-off and, once the
// account's bucket has refilled, succeeds.
import { describe, expect, inject, it } from "vitest";
import { CreateKeyCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E, kmsClient, rememberSecrets } from "./client.js";
import { remember } from "./secrets.js";

describe("a throttled call through the JS SDK", () => {
  it("is retried with back-off (its standard retry strategy) and succeeds once the quota allows", async () => {
    const endpoint = inject("kmsEndpoint");
    const operator = { endpoint, region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey };
    const account = await adminCall<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>(operator, "CreateAccount");
    remember(account.SecretAccessKey);
    // Two Encrypts a second for this account: a burst of six is throttled beyond the first two.
    await adminCall(operator, "PutAccountQuotas", { Account: account.AccountId, Quotas: [{ QuotaName: "CryptographicOperationsSymmetric", Value: 2 }] });
    const credentials = { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey };
    const keyId = (await kmsClient("us-east-1", credentials).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // The SDK as applications use it: its default retry strategy (3 attempts, back-off with jitter).
    const sdk = rememberSecrets(new KMSClient({ endpoint, region: "us-east-1", credentials }));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => sdk.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode("quota") }))));
    const ok = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ $metadata: { attempts?: number } }>).value);
    const failed = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as Error & { $metadata: { attempts?: number; httpStatusCode?: number } });
    // Some succeeded only on a retry...
    expect(ok.some((r) => (r.$metadata.attempts ?? 1) > 1)).toBe(true);
    // ...and any that failed were throttled on every one of the SDK's attempts.
    for (const e of failed) {
      // Not a modeled error of KMS: the SDK names it from the response (x-amzn-ErrorType and __type).
      expect(e.name).toBe("ThrottlingException");
      expect(e.$metadata.attempts).toBe(3);
      expect(e.$metadata.httpStatusCode).toBe(400);
    }
    // A client that does not retry sees the error at once.
    const once = kmsClient("us-east-1", credentials);
    const burst = await Promise.allSettled(Array.from({ length: 4 }, () => once.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode("quota") }))));
    expect(burst.some((r) => r.status === "rejected" && (r.reason as Error).name === "ThrottlingException")).toBe(true);
  });
});
