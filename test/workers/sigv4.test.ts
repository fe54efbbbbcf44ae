// SigV4 verification against a fixed test vector (AWS's example credentials and a KMS request), computed independently and
// matched byte for byte by @smithy/signature-v4; and the parts of a request a signature must
// bind (the body's hash, the operation), over the Worker's route.
import { describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { signRequest, type SignOptions } from "../../src/cli/sign.js";
import { ACCESS_KEY_ID, ENDPOINT, SECRET_ACCESS_KEY, ok } from "./kms.js";
import { canonicalRequest, parseAuthorization, checkScope, verifySignature } from "../../src/protocol/sigv4.js";
import { sha256Hex } from "../../src/crypto/hex.js";
import { KmsError } from "../../src/protocol/errors.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE = "20150830T123600Z";
const NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const url = new URL("https://kms.us-east-1.amazonaws.com/");
const body = new TextEncoder().encode("{}");

function headers(signed: string, signature: string, withContentSha = false): Headers {
  const h = new Headers({
    "content-type": "application/x-amz-json-1.1",
    host: "kms.us-east-1.amazonaws.com",
    "x-amz-date": DATE,
    "x-amz-target": "TrentService.ListKeys",
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, SignedHeaders=${signed}, Signature=${signature}`,
  });
  if (withContentSha) h.set("x-amz-content-sha256", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  return h;
}

async function verify(h: Headers): Promise<void> {
  const auth = parseAuthorization(h.get("authorization"));
  const date = checkScope(auth, h, new Set(["us-east-1"]), NOW);
  await verifySignature("POST", url, h, body, auth, date, { secretAccessKey: SECRET });
}

describe("SigV4 test vector", () => {
  it("hashes the body and the canonical request as the vector says", async () => {
    expect(await sha256Hex(body)).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    const h = headers("content-type;host;x-amz-date;x-amz-target", "0".repeat(64));
    const canonical = canonicalRequest("POST", url, h, ["content-type", "host", "x-amz-date", "x-amz-target"], await sha256Hex(body));
    expect(await sha256Hex(canonical)).toBe("fac0768db6416b2c921a90d480fc05bc039b5cf91c330ea10e7eb7f1f242910b");
  });

  it("accepts the vector's signature, with and without x-amz-content-sha256", async () => {
    await verify(headers("content-type;host;x-amz-date;x-amz-target", "07499af8ab2ef3d35030bf049520b6c0de4a040bfc6c24cd89fc4dab8a531f56"));
    await verify(headers("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target", "8bceec4e6ca463c201715359e4e6ad17ca5d65394e614a706174a96900df7a97", true));
  });

  it("an X-Amz-Date out of range (hour 32, minute 80) is not a date, so a day-scoped key cannot outlive its day", () => {
    for (const bad of ["20150830T323600Z", "20150830T128000Z", "20150830T123660Z", "20150231T123600Z"]) {
      const h = headers("content-type;host;x-amz-date;x-amz-target", "0".repeat(64));
      h.set("x-amz-date", bad);
      h.set("authorization", h.get("authorization")!.replace("20150830/", `${bad.slice(0, 8)}/`));
      expect(() => checkScope(parseAuthorization(h.get("authorization")), h, new Set(["us-east-1"]), NOW), bad).toThrow(/ISO-8601/);
    }
  });

  it("rejects a signature differing in one digit, and a mismatched content hash", async () => {
    const bad = headers("content-type;host;x-amz-date;x-amz-target", "07499af8ab2ef3d35030bf049520b6c0de4a040bfc6c24cd89fc4dab8a531f57");
    await expect(verify(bad)).rejects.toMatchObject({ type: "InvalidSignatureException" });
    const h = headers("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target", "8bceec4e6ca463c201715359e4e6ad17ca5d65394e614a706174a96900df7a97", true);
    h.set("x-amz-content-sha256", "0".repeat(64));
    await expect(verify(h)).rejects.toBeInstanceOf(KmsError);
  });
});

describe("SigV4 binds the whole request (no malleable parts)", () => {
  /** Headers signed by the SDK's own signer, optionally leaving headers out of SignedHeaders. */
  const sign = (target: string, body: string, extra: Partial<SignOptions> = {}) =>
    signRequest(ENDPOINT, target, body, { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1", ...extra });
  const send = async (headers: Record<string, string>, body: string) => {
    const res = await SELF.fetch(ENDPOINT, { method: "POST", headers, body });
    return { status: res.status, body: (await res.json()) as { __type?: string; message?: string; Plaintext?: string } };
  };

  it("UNSIGNED-PAYLOAD is refused, so a body swapped under a valid signature is not run", async () => {
    const h = await sign("GenerateRandom", '{"NumberOfBytes":8}', { extraHeaders: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    expect(h["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    for (const body of ['{"NumberOfBytes":8}', '{"NumberOfBytes":1024}']) {
      const r = await send(h, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.__type).toBe("InvalidSignatureException");
      expect(r.body.message).toMatch(/x-amz-content-sha256/i);
    }
  });

  it("an x-amz-content-sha256 that is not the body's hash is refused, even when the signature covers it", async () => {
    const body = '{"NumberOfBytes":8}';
    const other = await sha256Hex('{"NumberOfBytes":9}');
    const r = await send(await sign("GenerateRandom", body, { extraHeaders: { "x-amz-content-sha256": other } }), body);
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("InvalidSignatureException");
  });

  it("a signature that leaves x-amz-target out of SignedHeaders cannot be replayed as another operation", async () => {
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const body = JSON.stringify({ KeyId: keyId });
    const h = await sign("DescribeKey", body, { unsignableHeaders: new Set(["x-amz-target"]) });
    expect(h.authorization).not.toMatch(/x-amz-target/);
    const replayed = await send({ ...h, "x-amz-target": "TrentService.DisableKey" }, body);
    expect(replayed.status, JSON.stringify(replayed.body)).toBe(400);
    expect(replayed.body.__type).toBe("InvalidSignatureException");
    expect(replayed.body.message).toMatch(/X-Amz-Target/);
    const described = await ok<{ KeyMetadata: { KeyState: string } }>("DescribeKey", { KeyId: keyId });
    expect(described.KeyMetadata.KeyState).toBe("Enabled");
  });

  it("host and x-amz-date must be signed as well", async () => {
    for (const left of ["host", "x-amz-date"]) {
      const r = await send(await sign("ListKeys", "{}", { unsignableHeaders: new Set([left]) }), "{}");
      expect(r.status, left).toBe(400);
      expect(r.body.__type, left).toBe("InvalidSignatureException");
    }
  });

  it("Authorization parameters are plain data: an inherited property never stands in for a missing one", () => {
    const header = "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0".repeat(64) + ", __proto__=x, constructor=y, hasOwnProperty=z";
    const proto = Object.prototype as Record<string, unknown>;
    proto.Credential = "AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request";
    try {
      expect(() => parseAuthorization(header)).toThrow(/requires 'Credential' parameter/);
    } finally {
      delete proto.Credential;
    }
    const full = parseAuthorization(header.replace("SignedHeaders", "Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, SignedHeaders"));
    expect(full).toMatchObject({ accessKeyId: "AKIDEXAMPLE", signedHeaders: ["host", "x-amz-date", "x-amz-target"] });
  });
});
