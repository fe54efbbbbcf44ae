// SigV4 verification against the reference's test vector (§1.7), computed independently and
// matched byte for byte by @smithy/signature-v4.
import { describe, expect, it } from "vitest";
import { canonicalRequest, parseAuthorization, checkScope, sha256Hex, verifySignature } from "../../src/protocol/sigv4.js";
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

describe("SigV4 reference vector", () => {
  it("hashes the body and the canonical request as the reference says", async () => {
    expect(await sha256Hex(body)).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    const h = headers("content-type;host;x-amz-date;x-amz-target", "0".repeat(64));
    const canonical = canonicalRequest("POST", url, h, ["content-type", "host", "x-amz-date", "x-amz-target"], await sha256Hex(body));
    expect(await sha256Hex(canonical)).toBe("fac0768db6416b2c921a90d480fc05bc039b5cf91c330ea10e7eb7f1f242910b");
  });

  it("accepts the vector's signature, with and without x-amz-content-sha256", async () => {
    await verify(headers("content-type;host;x-amz-date;x-amz-target", "07499af8ab2ef3d35030bf049520b6c0de4a040bfc6c24cd89fc4dab8a531f56"));
    await verify(headers("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target", "8bceec4e6ca463c201715359e4e6ad17ca5d65394e614a706174a96900df7a97", true));
  });

  it("rejects a signature differing in one digit, and a mismatched content hash", async () => {
    const bad = headers("content-type;host;x-amz-date;x-amz-target", "07499af8ab2ef3d35030bf049520b6c0de4a040bfc6c24cd89fc4dab8a531f57");
    await expect(verify(bad)).rejects.toMatchObject({ type: "InvalidSignatureException" });
    const h = headers("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target", "8bceec4e6ca463c201715359e4e6ad17ca5d65394e614a706174a96900df7a97", true);
    h.set("x-amz-content-sha256", "0".repeat(64));
    await expect(verify(h)).rejects.toBeInstanceOf(KmsError);
  });
});
