// Error hints for the mistakes a new user makes first (issue 18): each within the error type AWS
// would answer, saying what to do, and saying nothing the caller could not already know.
import { describe, expect, it } from "vitest";
import { env as testEnv } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { AWS_REGIONS } from "../../src/kms/aws-regions.js";
import { MAX_SHOWN_REGION } from "../../src/protocol/sigv4.js";
import { MAX_PLAINTEXT } from "../../src/kms/limits.js";
import { ACCOUNT, b64, call, newAccount, ok } from "./kms.js";

const env = testEnv as unknown as Env;
const SERVED = Object.keys(env.REGIONS);
const OTHER_SERVED = SERVED.find((r) => r !== "us-east-1")!;
const NOT_SERVED_AWS = [...AWS_REGIONS].find((r) => !SERVED.includes(r))!;
const newKey = async (region = "us-east-1") => (await ok<{ KeyMetadata: { KeyId: string; Arn: string } }>("CreateKey", {}, { region })).KeyMetadata;

describe("a credential scoped to a region that is not served", () => {
  it("an AWS Region: InvalidSignatureException listing every served region and where to set one", async () => {
    expect(SERVED.length).toBeGreaterThan(1);
    const r = await call("ListKeys", {}, { region: NOT_SERVED_AWS });
    expect([r.status, r.body.__type]).toEqual([400, "InvalidSignatureException"]);
    expect(r.body.message).toContain(`not '${NOT_SERVED_AWS}'. ${NOT_SERVED_AWS} is an AWS Region this EdgeKMS does not serve; it serves ${SERVED.join(", ")}.`);
    expect(r.body.message).toMatch(/AWS_REGION and AWS_DEFAULT_REGION/);
  });

  it("anything else is not called an AWS Region, and is repeated at most MAX_SHOWN_REGION characters", async () => {
    const junk = "z".repeat(5000);
    const r = await call("ListKeys", {}, { region: junk });
    expect(r.body.__type).toBe("InvalidSignatureException");
    expect(r.body.message).toBe(`Credential should be scoped to a valid region, not '${"z".repeat(MAX_SHOWN_REGION)}…'. This EdgeKMS serves ${SERVED.join(", ")}.`);
    const made = await call("ListKeys", {}, { region: "mars-north-1" });
    expect(made.body.message).not.toContain("is an AWS Region");
  });
});

describe("a key ARN of another served region", () => {
  it("NotFoundException naming both regions and where to send the request", async () => {
    const key = await newKey("us-east-1");
    for (const op of ["DescribeKey", "Encrypt"] as const) {
      const input = op === "Encrypt" ? { KeyId: key.Arn, Plaintext: b64("x") } : { KeyId: key.Arn };
      const r = await call(op, input, { region: OTHER_SERVED });
      expect([r.status, r.body.__type], op).toEqual([400, "NotFoundException"]);
      expect(r.body.message, op).toBe(`Key '${key.Arn}' does not exist in ${OTHER_SERVED}: its ARN names us-east-1, and a request is answered in the region of its credential scope. Send it to us-east-1 (set the client's region to us-east-1)`);
    }
  });

  it("tells nothing the ARN does not: a missing key, another account's key and an existing one read alike", async () => {
    const mine = await newKey("us-east-1");
    const other = await newAccount();
    const theirs = (await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", {}, { region: "us-east-1", accessKeyId: other.accessKeyId, secretAccessKey: other.secretAccessKey })).KeyMetadata;
    const missing = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;
    const shape = (arn: string, message: string | undefined) => message?.replace(arn, "ARN");
    const messages = [];
    for (const arn of [mine.Arn, theirs.Arn, missing]) {
      const r = await call("DescribeKey", { KeyId: arn }, { region: OTHER_SERVED });
      expect(r.body.__type).toBe("NotFoundException");
      messages.push(shape(arn, r.body.message));
    }
    expect(new Set(messages).size).toBe(1);
  });

  it("an alias ARN says the same; an ARN of a region that is not served gets AWS's words only", async () => {
    const key = await newKey("us-east-1");
    const alias = `alias/hint-${Date.now()}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: key.KeyId });
    const aliasArn = `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`;
    const r = await call("Encrypt", { KeyId: aliasArn, Plaintext: b64("x") }, { region: OTHER_SERVED });
    expect(r.body.__type).toBe("NotFoundException");
    expect(r.body.message).toBe(`Alias ${aliasArn} is not found in ${OTHER_SERVED}: its ARN names us-east-1, and a request is answered in the region of its credential scope. Send it to us-east-1 (set the client's region to us-east-1).`);
    const unserved = key.Arn.replace(":us-east-1:", `:${NOT_SERVED_AWS}:`);
    const u = await call("DescribeKey", { KeyId: unserved });
    expect([u.body.__type, u.body.message]).toEqual(["NotFoundException", `Key '${unserved}' does not exist`]);
    // In its own region the key is found.
    expect((await call("DescribeKey", { KeyId: key.Arn })).status).toBe(200);
  });

  it("an ARN of another partition names no key here: NotFoundException, as for an invalid key id", async () => {
    const key = await newKey("us-east-1");
    const alias = `alias/partition-${Date.now()}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: key.KeyId });
    for (const partition of ["aws-cn", "aws-us-gov", "awsx"]) {
      for (const arn of [key.Arn, `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`].map((a) => a.replace(/^arn:aws:/, `arn:${partition}:`))) {
        for (const [op, input] of [["DescribeKey", { KeyId: arn }], ["Encrypt", { KeyId: arn, Plaintext: b64("x") }]] as const) {
          const r = await call(op, input);
          expect([r.status, r.body.__type, r.body.message], `${op} ${arn}`).toEqual([400, "NotFoundException", `Invalid keyId '${arn}'`]);
        }
      }
    }
  });
});

describe("temporary credentials", () => {
  it("a session token: UnrecognizedClientException saying they are not supported and what to use, never the token", async () => {
    const token = "IQoJb3JpZ2luX2VjEFAKESESSIONTOKEN";
    const r = await call("ListKeys", {}, { extraHeaders: { "x-amz-security-token": token } });
    expect([r.status, r.body.__type]).toEqual([400, "UnrecognizedClientException"]);
    expect(r.body.message).toMatch(/^The security token included in the request is invalid: EdgeKMS does not support temporary credentials/);
    expect(r.body.message).toContain("AWS_SESSION_TOKEN unset");
    expect(r.body.message).not.toContain(token);
  });
});

describe("a plaintext over Encrypt's limit", () => {
  it(`${MAX_PLAINTEXT + 1} bytes: ValidationException pointing to GenerateDataKey and envelope encryption; ${MAX_PLAINTEXT} bytes encrypt`, async () => {
    const key = await newKey();
    const r = await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64(new Uint8Array(MAX_PLAINTEXT + 1)) });
    expect([r.status, r.body.__type]).toEqual([400, "ValidationException"]);
    expect(r.body.message).toContain(`Member must have length less than or equal to ${MAX_PLAINTEXT} (Encrypt takes at most ${MAX_PLAINTEXT} bytes`);
    expect(r.body.message).toMatch(/envelope encryption: encrypt the data locally under a data key from GenerateDataKey/);
    expect(r.body.message).toContain("https://docs.aws.amazon.com/kms/latest/developerguide/");
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64(new Uint8Array(MAX_PLAINTEXT)) })).status).toBe(200);
    // Other operations' limits keep AWS's words alone.
    const mac = await call("GenerateRandom", { NumberOfBytes: 1025 });
    expect(mac.body.message).not.toContain("envelope");
  });
});
