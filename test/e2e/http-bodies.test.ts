// Request bodies over real HTTP: with a declared length, and chunked without one (the
// handler's two ways of reading a body). A chunked body is refused once it passes
// MAX_BODY_BYTES; a declared length over it is refused unread (test/workers/bad-input.test.ts).
import { request } from "node:http";
import { describe, expect, inject, it } from "vitest";
import { signRequest } from "../../src/cli/sign.js";
import { MAX_BODY_BYTES } from "../../src/kms/limits.js";
import { E2E } from "./client.js";
import { remember } from "./secrets.js";

interface Reply { status: number; body: { __type?: string; Plaintext?: string } }

/** POSTs the chunks; without `declare`, Node sends them chunked, with no Content-Length. */
function post(headers: Record<string, string>, chunks: string[], declare: boolean): Promise<Reply> {
  const url = new URL(inject("kmsEndpoint"));
  const total = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: url.hostname, port: url.port, method: "POST", path: "/", headers: { ...headers, ...(declare ? { "content-length": String(total) } : {}) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

async function signed(body: string): Promise<Record<string, string>> {
  const h = await signRequest(`${inject("kmsEndpoint")}/`, "GenerateRandom", body, { accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey, region: "us-east-1" });
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== "content-length"));
}

describe("request bodies over HTTP", () => {
  for (const declare of [true, false]) {
    const how = declare ? "with Content-Length" : "chunked";

    it(`${how}: a signed body in several pieces is read whole`, async () => {
      const body = '{"NumberOfBytes": 24,            "GrantTokens": []}';
      const r = await post(await signed(body), [body.slice(0, 10), body.slice(10, 30), body.slice(30)], declare);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      remember(Buffer.from(r.body.Plaintext!, "base64"));
      expect(Buffer.from(r.body.Plaintext!, "base64")).toHaveLength(24);
    });

  }

  it(`chunked: a body that passes ${MAX_BODY_BYTES} bytes → ValidationException`, async () => {
    // Just past the limit, so that the server has read nearly all of it when it answers.
    const pieces = [...Array.from({ length: MAX_BODY_BYTES / 8192 }, () => " ".repeat(8192)), "  "];
    const r = await post({ "x-amz-target": "TrentService.ListKeys", "content-type": "application/x-amz-json-1.1" }, pieces, false);
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("ValidationException");
  });
});
