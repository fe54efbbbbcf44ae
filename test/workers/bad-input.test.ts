// Bad input of every kind gets the right AWS error type and a 4xx, never a 500.
import { describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { signRequest } from "../../src/cli/sign.js";
import { readBody } from "../../src/protocol/body.js";
import { KmsError } from "../../src/protocol/errors.js";
import { MAX_VALIDATION_ERRORS } from "../../src/protocol/validate.js";
import { ACCESS_KEY_ID, ACCOUNT, ENDPOINT, SECRET_ACCESS_KEY, b64, call, ok } from "./kms.js";

async function newKey(): Promise<string> {
  return (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
}

async function expectError(r: { status: number; body: { __type?: string }; headers: Headers }, type: string): Promise<void> {
  expect(r.body.__type, JSON.stringify(r.body)).toBe(type);
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  expect(r.headers.get("x-amzn-RequestId")).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.headers.get("Date")).toBeTruthy();
}

async function raw(headers: Record<string, string>, body: string) {
  const res = await SELF.fetch(ENDPOINT, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

describe("protocol errors", () => {
  it("malformed JSON and non-object bodies → SerializationException", async () => {
    await expectError(await call("ListKeys", null, { rawBody: "{not json" }), "SerializationException");
    await expectError(await call("ListKeys", null, { rawBody: "[1,2]" }), "SerializationException");
  });

  it("wrong member types → SerializationException; constraint violations → ValidationException naming the member", async () => {
    const keyId = await newKey();
    await expectError(await call("GenerateRandom", { NumberOfBytes: "12" }), "SerializationException");
    await expectError(await call("Encrypt", { KeyId: keyId, Plaintext: 42 }), "SerializationException");
    const big = await call("Encrypt", { KeyId: keyId, Plaintext: b64(new Uint8Array(4097)) });
    await expectError(big, "ValidationException");
    expect(big.body.message).toMatch(/^1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096 \(Encrypt takes at most 4096 bytes\. For more data, use envelope encryption: .*GenerateDataKey/);
    const missing = await call("Encrypt", { Plaintext: b64("x") });
    await expectError(missing, "ValidationException");
    expect(missing.body.message).toContain("Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    await expectError(await call("GenerateRandom", { NumberOfBytes: 2000 }), "ValidationException");
    await expectError(await call("CreateKey", { KeySpec: "NOT_A_SPEC" }), "ValidationException");
    await expectError(await call("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256", NumberOfBytes: 32 }), "ValidationException");
    await expectError(await call("ScheduleKeyDeletion", { KeyId: keyId, PendingWindowInDays: 31 }), "ValidationException");
    await expectError(await call("EnableKeyRotation", { KeyId: keyId, RotationPeriodInDays: 89 }), "ValidationException");
  });

  it("bad base64 → SerializationException", async () => {
    await expectError(await call("Encrypt", { KeyId: await newKey(), Plaintext: "not base64!" }), "SerializationException");
  });

  it("tampered, truncated and foreign ciphertext blobs → InvalidCiphertextException", async () => {
    const keyId = await newKey();
    const { CiphertextBlob } = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("payload") });
    const blob = Uint8Array.from(atob(CiphertextBlob), (c) => c.charCodeAt(0));
    for (const i of [0, 1, 20, 25, 40, blob.length - 1]) {
      const t = Uint8Array.from(blob);
      t[i] ^= 0x01;
      const r = await call("Decrypt", { CiphertextBlob: b64(t) });
      expect(["InvalidCiphertextException", "AccessDeniedException"], `byte ${i}`).toContain(r.body.__type);
      expect(r.status).toBe(400);
    }
    await expectError(await call("Decrypt", { CiphertextBlob: b64(blob.subarray(0, 49)) }), "InvalidCiphertextException");
    await expectError(await call("Decrypt", { CiphertextBlob: b64(blob.subarray(0, blob.length - 1)) }), "InvalidCiphertextException");
    await expectError(await call("Decrypt", { CiphertextBlob: b64(crypto.getRandomValues(new Uint8Array(100))) }), "InvalidCiphertextException");
    const wrong = await call("Decrypt", { CiphertextBlob, KeyId: await newKey() });
    await expectError(wrong, "IncorrectKeyException");
    // A key ARN names the key's account too: the ciphertext's key id under another account is not its key.
    const arnIn = (account: string) => `arn:aws:kms:us-east-1:${account}:key/${keyId}`;
    for (const account of ["000000000000", "999999999999"]) await expectError(await call("Decrypt", { CiphertextBlob, KeyId: arnIn(account) }), "AccessDeniedException");
    expect((await call("Decrypt", { CiphertextBlob, KeyId: arnIn(ACCOUNT) })).status).toBe(200);
  });

  it(`a ValidationException spells out at most ${MAX_VALIDATION_ERRORS} failures and counts the rest; a list over its length is not checked item by item`, async () => {
    const keyId = await newKey();
    const grant = await call("CreateGrant", { KeyId: keyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: Array(21_000).fill("") });
    await expectError(grant, "ValidationException");
    expect(grant.body.message).toMatch(/^21000 validation errors detected: .*; and 20990 more$/);
    expect(grant.body.message!.length).toBeLessThan(4096);
    const tokens = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), GrantTokens: Array(21_000).fill("") });
    expect(tokens.body.message).toBe("1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10");
  });

  it("unknown and missing targets; not-yet-implemented operations", async () => {
    await expectError(await call("FlyToTheMoon", {}), "UnknownOperationException");
    await expectError(await call("CreateCustomKeyStore", { CustomKeyStoreName: "store" }), "UnsupportedOperationException");
    const headers = await signRequest(ENDPOINT, "ListKeys", "{}", { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1" });
    const { ["x-amz-target"]: _t, ...noTarget } = headers;
    void _t;
    // Dropping a signed header breaks the signature, so the target check is tested unsigned-but-valid:
    const unsignedTarget = await signRequest(ENDPOINT, "ListKeys", "{}", { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1", unsignableHeaders: new Set(["x-amz-target"]) });
    const { ["x-amz-target"]: _u, ...stripped } = unsignedTarget;
    void _u;
    await expectError(await raw(stripped, "{}"), "UnknownOperationException");
    await expectError(await raw(noTarget, "{}"), "InvalidSignatureException");
  });

  it("bad markers → InvalidMarkerException; bad alias names → InvalidAliasNameException / ValidationException", async () => {
    await expectError(await call("ListKeys", { Marker: "not-a-marker" }), "InvalidMarkerException");
    await expectError(await call("ListAliases", { Marker: "bm90LWEtbWFya2Vy" }), "InvalidMarkerException");
    await expectError(await call("ListResourceTags", { KeyId: await newKey(), Marker: "garbage" }), "InvalidMarkerException");
    await expectError(await call("CreateAlias", { AliasName: "alias/aws/reserved", TargetKeyId: await newKey() }), "InvalidAliasNameException");
    await expectError(await call("CreateAlias", { AliasName: "noprefix", TargetKeyId: await newKey() }), "InvalidAliasNameException");
    await expectError(await call("CreateAlias", { AliasName: "alias/has space", TargetKeyId: await newKey() }), "ValidationException");
    await expectError(await call("DescribeKey", { KeyId: "not-a-key" }), "NotFoundException");
    await expectError(await call("EnableKey", { KeyId: "alias/whatever" }), "NotFoundException");
  });

  it("oversize bodies are refused before parsing", async () => {
    await expectError(await call("ListKeys", null, { rawBody: " ".repeat(70_000) }), "ValidationException");
  });
});

describe("authentication errors", () => {
  it("no Authorization → MissingAuthenticationTokenException", async () => {
    await expectError(await raw({ "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" }, "{}"), "MissingAuthenticationTokenException");
  });

  it("malformed Authorization → IncompleteSignatureException", async () => {
    await expectError(await raw({ authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/kms/aws4_request", "x-amz-date": "20260101T000000Z" }, "{}"), "IncompleteSignatureException");
    await expectError(await raw({ authorization: "AWS4-HMAC-SHA256 garbage", "x-amz-date": "20260101T000000Z" }, "{}"), "IncompleteSignatureException");
    const h = await signRequest(ENDPOINT, "ListKeys", "{}", { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1" });
    const { ["x-amz-date"]: _d, ...noDate } = h;
    void _d;
    await expectError(await raw(noDate, "{}"), "IncompleteSignatureException");
  });

  it("wrong secret, expired or future signature, wrong service, unserved region, unsigned host → InvalidSignatureException", async () => {
    await expectError(await call("ListKeys", {}, { secretAccessKey: "not-the-secret" }), "InvalidSignatureException");
    const expired = await call("ListKeys", {}, { date: new Date(Date.now() - 6 * 60_000) });
    await expectError(expired, "InvalidSignatureException");
    expect(expired.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    await expectError(await call("ListKeys", {}, { date: new Date(Date.now() + 6 * 60_000) }), "InvalidSignatureException");
    await expectError(await call("ListKeys", {}, { service: "s3" }), "InvalidSignatureException");
    await expectError(await call("ListKeys", {}, { region: "mars-north-1" }), "InvalidSignatureException");
    await expectError(await call("ListKeys", {}, { unsignableHeaders: new Set(["host"]) }), "InvalidSignatureException");
  });

  it("a body changed after signing → InvalidSignatureException; also with x-amz-content-sha256", async () => {
    for (const contentSha256 of [false, true]) {
      const h = await signRequest(ENDPOINT, "GenerateRandom", '{"NumberOfBytes":8}', { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1", contentSha256 });
      await expectError(await raw(h, '{"NumberOfBytes":9}'), "InvalidSignatureException");
    }
  });

  it("unknown access key → UnrecognizedClientException", async () => {
    await expectError(await call("ListKeys", {}, { accessKeyId: "AKIAUNKNOWNKEY000000" }), "UnrecognizedClientException");
  });

  it("requests signed JS-v3 style (x-amz-content-sha256) are accepted", async () => {
    expect((await call("ListKeys", {}, { contentSha256: true })).status).toBe(200);
  });
});

describe("a body whose stream fails before its end (the client hung up)", () => {
  /** A body that sends `{"Key` and then fails, as workerd's stream does when the connection is lost. */
  const failing = () => new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"Key'));
      c.error(new Error("Network connection lost."));
    },
  });

  it.each([["with a declared length", { "content-length": "1000" }], ["chunked", {}]])("%s → SerializationException, not an internal error", async (_, headers) => {
    const request = new Request(ENDPOINT, { method: "POST", headers, body: failing() });
    const e = await readBody(request).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(KmsError);
    expect([(e as KmsError).type, (e as KmsError).status]).toEqual(["SerializationException", 400]);
  });
});
