// The KMS keyring's guard rails, found by attacking it: a message names its keys, and a key
// ARN's region picks the endpoint a Decrypt request (with its credentials) goes to, so every
// part of the ARN is checked; and the CLI's encryption context has no prototype.
import { describe, expect, it } from "vitest";
import { KmsKeyring, parseKmsArn } from "../../src/envelope/kms-keyring.js";
import { kmsClientProvider } from "../../src/envelope/kms-client.js";
import { parseContext } from "../../src/cli/envelope.js";
import type { DecryptionMaterials } from "../../src/envelope/index.js";

const ACCOUNT = "111122223333";
const forged = [
  `arn:aws:kms:x@attacker.invalid#:${ACCOUNT}:key/forged`,
  `arn:aws:kms:us-east-1/../evil:${ACCOUNT}:key/k`,
  `arn:aws:kms:US-EAST-1:${ACCOUNT}:key/k`,
  `arn:aws evil:kms:us-east-1:${ACCOUNT}:key/k`,
  `arn:aws:kms:us-east-1:1111222233334:key/k`,
  `arn:aws:kms:us-east-1:${ACCOUNT}:key/k?x=1`,
];

describe("KMS key ARNs", () => {
  it("a real key ARN parses", () => {
    expect(parseKmsArn(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`)).toMatchObject({ region: "eu-west-1", accountId: ACCOUNT, resourceType: "key" });
  });
  it.each(forged)("refuses %s", (arn) => {
    expect(parseKmsArn(arn)).toBeUndefined();
  });

  it("a discovery keyring never sends a request for a forged ARN, even of the trusted account", async () => {
    const regions: string[] = [];
    const ring = new KmsKeyring({
      discovery: true,
      discoveryFilter: { partition: "aws", accountIds: [ACCOUNT] },
      client: (region) => {
        regions.push(region);
        return { decrypt: async () => ({ KeyId: forged[0], Plaintext: new Uint8Array(32) }) } as never;
      },
    });
    const m = { suite: 0x0478, encryptionContext: {} } as DecryptionMaterials;
    const edks = forged.map((providerInfo) => ({ providerId: "aws-kms", providerInfo, ciphertext: new Uint8Array(8) }));
    await expect(ring.onDecrypt(m, edks)).rejects.toThrow();
    expect(regions).toEqual([]);
  });

  it("the client provider and client refuse options without usable credentials, saying what to pass (not a TypeError at the first call)", () => {
    for (const o of [undefined, {}, { credentials: {} }, { credentials: { accessKeyId: "AKIA", secretAccessKey: "" } }, { credentials: "AKIA:secret" }]) {
      expect(() => kmsClientProvider(o as never), JSON.stringify(o)).toThrow(/ConfigurationError: a KMS client needs credentials: \{ endpoint, credentials: \{ accessKeyId, secretAccessKey/);
    }
    expect(() => kmsClientProvider({ credentials: async () => ({ accessKeyId: "a", secretAccessKey: "s" }) })).not.toThrow();
  });

  it("the client provider refuses a region that is not a region name (it goes into an endpoint template)", () => {
    const provider = kmsClientProvider({ endpoint: (r: string) => `https://kms.${r}.example.com`, credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "x" } } as never);
    expect(() => provider("x@attacker.invalid#")).toThrow(/not a region name/);
    expect(() => provider("us-east-1")).not.toThrow();
  });
});

describe("the CLI's encryption context", () => {
  it("keeps __proto__ and constructor as ordinary keys", () => {
    const c = parseContext("encrypt", [["__proto__=x", "constructor=y", "app=z"]]);
    expect(Object.keys(c.pairs).sort()).toEqual(["__proto__", "app", "constructor"]);
    expect(c.pairs["__proto__"]).toBe("x");
  });
});
