// One KMS request: route → auth → operation (→ vault DO → crypto core) → response.
// Every failure is a KmsError, rendered in one place (renderError).
import type { Env } from "../env.js";
import { authenticate } from "../auth/authenticate.js";
import { MAX_BODY_BYTES } from "../kms/limits.js";
import { NOT_YET_IMPLEMENTED, OPERATIONS } from "../operations/index.js";
import type { OpContext } from "../operations/context.js";
import { JSON_CONTENT_TYPE, parseBody } from "./codec.js";
import { KmsError } from "./errors.js";
import { validate } from "./validate.js";

const TARGET_PREFIX = "TrentService.";

function headers(requestId: string): Headers {
  return new Headers({ "Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": requestId, Date: new Date().toUTCString() });
}

export function renderError(err: unknown, requestId: string): Response {
  const e = err instanceof KmsError ? err : new KmsError("KMSInternalException", "An internal error occurred.");
  if (!(err instanceof KmsError)) console.error(`request ${requestId}: internal error`, err instanceof Error ? err.stack : String(err));
  const h = headers(requestId);
  h.set("x-amzn-ErrorType", e.type);
  return new Response(JSON.stringify(e.body()), { status: e.status, headers: h });
}

/** Reads at most MAX_BODY_BYTES; a longer body is refused before it is parsed. */
async function readBody(request: Request): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new KmsError("ValidationException", `Request body must be at most ${MAX_BODY_BYTES} bytes.`);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new KmsError("ValidationException", `Request body must be at most ${MAX_BODY_BYTES} bytes.`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { body.set(c, o); o += c.length; }
  return body;
}

export async function handleKmsRequest(request: Request, env: Env, requestId: string, now = Date.now()): Promise<Response> {
  try {
    const url = new URL(request.url);
    const body = await readBody(request);
    const { principal, region } = await authenticate(env, request, url, body, now);
    const target = request.headers.get("x-amz-target") ?? "";
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    const op = OPERATIONS.get(name);
    if (!op) {
      if (NOT_YET_IMPLEMENTED.has(name)) throw new KmsError("UnsupportedOperationException", `${name} is not supported by EdgeKMS yet.`);
      throw new KmsError("UnknownOperationException", target ? `Unknown operation ${target}` : "Missing X-Amz-Target header");
    }
    const input = validate<never>(op.schema, parseBody(new TextDecoder().decode(body)));
    const ctx: OpContext = { env, region, placement: env.REGIONS[region], caller: principal, requestId, now };
    const output = await op.run(ctx, input);
    return new Response(JSON.stringify(output), { status: 200, headers: headers(requestId) });
  } catch (err) {
    return renderError(err, requestId);
  }
}
