// Request bodies over real HTTP, on both routes (KMS `/` and `/admin`): with a declared length,
// and chunked without one (the two ways of reading a body, src/protocol/body.ts). A chunked
// body is refused once it passes MAX_BODY_BYTES, without waiting for the rest; a declared length
// over it is refused unread (test/workers/bad-input.test.ts). Also the source address a record
// shows, which no header a client sends can choose.
import { request } from "node:http";
import { describe, expect, inject, it } from "vitest";
import { adminCall } from "../../src/cli/admin-client.js";
import { signRequest } from "../../src/cli/sign.js";
import { MAX_BODY_BYTES } from "../../src/kms/limits.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { E2E } from "./client.js";
import { remember } from "./secrets.js";

interface Reply { status: number; body: { __type?: string; Plaintext?: string; message?: string }; headers: Record<string, string | string[] | undefined> }

/** How long a refused body may take to be answered: the server answers as soon as it passes the limit. */
const ANSWER_WITHIN_MS = 10_000;

/**
 * POSTs the chunks; without `declare`, Node sends them chunked, with no Content-Length. With
 * `end: false` the request is never finished, as a client streaming an endless body: only a
 * server that stops reading at the limit answers it.
 */
function post(path: string, headers: Record<string, string>, chunks: string[], declare: boolean, end = true): Promise<Reply> {
  const url = new URL(inject("kmsEndpoint"));
  const total = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: url.hostname, port: url.port, method: "POST", path, headers: { ...headers, ...(declare ? { "content-length": String(total) } : {}) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {}, headers: res.headers });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms: the server waited for the rest of the body`));
    }, end ? 5 * ANSWER_WITHIN_MS : ANSWER_WITHIN_MS);
    req.on("error", (e) => {
      // The server may close the connection once it has answered a refused body.
      if (!req.destroyed) reject(e);
    });
    for (const c of chunks) req.write(c);
    if (end) req.end();
  });
}

async function signed(path: string, target: string, body: string): Promise<Record<string, string>> {
  const h = await signRequest(`${inject("kmsEndpoint")}${path}`, target, body, { accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey, region: "us-east-1" });
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== "content-length"));
}

/** Just past the limit, in 8 KiB pieces. */
const overLimit = () => [...Array.from({ length: MAX_BODY_BYTES / 8192 }, () => " ".repeat(8192)), "  "];

const ROUTES = [
  { path: "/", target: "TrentService.ListKeys" },
  { path: "/admin", target: "EdgeKMSAdmin.AuditPublicKey" },
];

describe("request bodies over HTTP", () => {
  for (const declare of [true, false]) {
    const how = declare ? "with Content-Length" : "chunked";

    it(`${how}: a signed body in several pieces is read whole`, async () => {
      const body = '{"NumberOfBytes": 24,            "GrantTokens": []}';
      const r = await post("/", await signed("/", "GenerateRandom", body), [body.slice(0, 10), body.slice(10, 30), body.slice(30)], declare);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      remember(Buffer.from(r.body.Plaintext!, "base64"));
      expect(Buffer.from(r.body.Plaintext!, "base64")).toHaveLength(24);
    });

    it(`${how}: an /admin body in several pieces is read whole`, async () => {
      const body = '{                                         }';
      const r = await post("/admin", await signed("/admin", "EdgeKMSAdmin.AuditPublicKey", body), [body.slice(0, 7), body.slice(7)], declare);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    });
  }

  for (const { path, target } of ROUTES) {
    it(`${path}: a chunked body that passes ${MAX_BODY_BYTES} bytes → ValidationException`, async () => {
      const r = await post(path, { "x-amz-target": target, "content-type": "application/x-amz-json-1.1" }, overLimit(), false);
      expect(r.status).toBe(400);
      expect(r.body.__type).toBe("ValidationException");
    });

    it(`${path}: a chunked body that never ends is answered once it passes the limit, not read whole`, async () => {
      const r = await post(path, { "x-amz-target": target, "content-type": "application/x-amz-json-1.1" }, overLimit(), false, false);
      expect(r.status).toBe(400);
      expect(r.body.__type).toBe("ValidationException");
    });

    it(`${path}: a declared length over the limit is refused before the body arrives`, async () => {
      const url = new URL(inject("kmsEndpoint"));
      const r = await new Promise<Reply>((resolve, reject) => {
        const req = request({ agent: false, host: url.hostname, port: url.port, method: "POST", path, headers: { "x-amz-target": target, "content-length": String(MAX_BODY_BYTES + 1) } }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => { clearTimeout(timer); req.destroy(); resolve({ status: res.statusCode!, body: JSON.parse(text), headers: res.headers }); });
        });
        const timer = setTimeout(() => { req.destroy(); reject(new Error("no answer: the server waited for the declared body")); }, ANSWER_WITHIN_MS);
        req.on("error", (e) => { if (!req.destroyed) reject(e); });
        req.write("{"); // and nothing more
      });
      expect(r.status).toBe(400);
      expect(r.body.__type).toBe("ValidationException");
    });
  }
});

describe("the source address over HTTP", () => {
  it("a client's CF-Connecting-IP, X-Real-IP or X-Forwarded-For is not the recorded sourceIPAddress", async () => {
    const ids: string[] = [];
    for (const header of ["cf-connecting-ip", "x-real-ip", "x-forwarded-for"]) {
      const body = '{"NumberOfBytes": 8}';
      const r = await post("/", { ...(await signed("/", "GenerateRandom", body)), [header]: "10.1.2.3" }, [body], true);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      remember(Buffer.from(r.body.Plaintext!, "base64"));
      ids.push(String(r.headers["x-amzn-requestid"]));
    }
    const cfg = { endpoint: inject("kmsEndpoint"), region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey };
    const tail = await adminCall<{ Entries: { Record: CloudTrailRecord }[] }>(cfg, "AuditTail", { Limit: 10_000, EventName: "GenerateRandom" });
    for (const id of ids) expect(tail.Entries.find((e) => e.Record.requestID === id)?.Record.sourceIPAddress, id).toBe("127.0.0.1");
  });
});
