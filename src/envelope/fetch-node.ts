// fetch on node:http / node:https for the KMS client (kms-client.ts) in Node: installed as the
// default by the Node entry (node.ts) and used by the CLI. Never imported by the neutral modules.
import { Buffer } from "node:buffer";
import { KmsError, MAX_RESPONSE_BYTES } from "./kms-client.js";

/**
 * The subset of fetch the KMS client uses (POST a string body, read status and text), on node:http /
 * node:https: the Node entry's default for KMS clients, and the CLI's. The global fetch (undici)
 * alone adds ~13 MB to the resident set of a short-lived process, and its first call ~30 ms (loading
 * undici: 34 against 8 ms for node:http's first request, Node 22.23), which a process's first KMS call
 * waited for.
 * The modules come from process.getBuiltinModule, not import(): an ESM import of node:http builds
 * its namespace from every export, and one of them (WebSocket) is a getter that loads undici all the
 * same (~10 MB, measured with Node 22.23).
 */
export const nodeFetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const { request } = url.protocol === "https:" ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
  const body = typeof init?.body === "string" ? init.body : "";
  return new Promise<Response>((resolveResponse, reject) => {
    const req = request(url, { method: init?.method ?? "GET", headers: { ...(init?.headers as Record<string, string>), "content-length": String(Buffer.byteLength(body)) }, signal: init?.signal ?? undefined }, (res) => {
      const parts: Buffer[] = [];
      let total = 0;
      res.on("data", (b: Buffer) => {
        total += b.length;
        if (total > MAX_RESPONSE_BYTES) {
          // The endpoint chooses the size: past the cap the answer is dropped, not buffered (kms-client.ts).
          req.destroy();
          parts.length = 0;
          reject(new KmsError("ResponseTooLarge", `the answer of ${url.host} is larger than ${MAX_RESPONSE_BYTES} bytes`, res.statusCode));
          return;
        }
        parts.push(b);
      });
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        const status = res.statusCode ?? 0;
        resolveResponse({ ok: status >= 200 && status < 300, status, text: async () => text } as Response);
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}) as typeof fetch;
