// One KMS request: route → auth → operation (→ vault DO → crypto core) → response.
// Every failure is a KmsError, rendered in one place (renderError).
import type { Env } from "../env.js";
import { authenticate, type Observed } from "../auth/authenticate.js";
import { recordRequest, requestDraft } from "../audit/trail.js";
import { requestContext } from "../policy/request-context.js";
import { identityDecision } from "../auth/identity-policy.js";
import { parseGrantToken } from "../vault/grant-token.js";
import { MAX_BODY_BYTES } from "../kms/limits.js";
import { NOT_YET_IMPLEMENTED, OPERATIONS } from "../operations/index.js";
import type { AuditState, OpContext } from "../operations/context.js";
import { JSON_CONTENT_TYPE, parseBody } from "./codec.js";
import { KmsError } from "./errors.js";
import { validate } from "./validate.js";

const TARGET_PREFIX = "TrentService.";
const DECODER = new TextDecoder();

/** Permissions granted only by identity policies (reference §2): no key is involved. */
const IAM_ONLY = new Set(["CreateKey", "ListKeys", "ListAliases", "GenerateRandom"]);

function requireIdentityAllow(ctx: OpContext, action: string): void {
  const d = identityDecision(ctx.caller, action, "*", ctx.policyContext);
  if (d === "Root" || d === "Allow") return;
  const why = d === "Deny" ? "with an explicit deny in an identity-based policy" : `because no identity-based policy allows the kms:${action} action`;
  throw new KmsError("AccessDeniedException", `User: ${ctx.caller.arn} is not authorized to perform: kms:${action} on resource: * ${why}`);
}

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
  const length = request.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > MAX_BODY_BYTES) {
    await request.body?.cancel(); // refused unread: the runtime may drop it rather than buffer it
    throw new KmsError("ValidationException", `Request body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  if (!request.body) return new Uint8Array(0);
  // A declared length (without chunked framing) bounds the body, so it is read in one call.
  if (length !== null && !request.headers.has("transfer-encoding")) {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) throw new KmsError("ValidationException", `Request body must be at most ${MAX_BODY_BYTES} bytes.`);
    return body;
  }
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
  const target = request.headers.get("x-amz-target") ?? "";
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  const observed: Observed = {};
  let input: Record<string, unknown> | undefined;
  let audit: AuditState | undefined;
  let response: Response;
  let failure: KmsError | undefined;
  try {
    const url = new URL(request.url);
    const body = await readBody(request);
    const { principal, region } = await authenticate(env, request, url, body, now, observed);
    const op = OPERATIONS.get(name);
    if (!op) {
      if (NOT_YET_IMPLEMENTED.has(name)) throw new KmsError("UnsupportedOperationException", `${name} is not supported by EdgeKMS yet.`);
      throw new KmsError("UnknownOperationException", target ? `Unknown operation ${target}` : "Missing X-Amz-Target header");
    }
    const validated = validate<never>(op.schema, parseBody(DECODER.decode(body)));
    input = validated;
    audit = { draft: requestDraft(env, request, requestId, now, name, observed, input) };
    const policyContext = requestContext(principal, audit.draft.sourceIPAddress, url.protocol === "https:", now, validated as Record<string, unknown>);
    const fields = validated as Record<string, unknown>;
    for (const token of (fields.GrantTokens as string[] | undefined) ?? []) {
      if (!parseGrantToken(token)) throw new KmsError("InvalidGrantTokenException", "The grant token is not valid.");
    }
    const encryptionContext = (fields.EncryptionContext ?? fields.SourceEncryptionContext) as Record<string, string> | undefined;
    const ctx: OpContext = { env, region, placement: env.REGIONS[region], caller: principal, requestId, now, audit, policyContext, ...(encryptionContext ? { encryptionContext } : {}) };
    if (IAM_ONLY.has(name)) requireIdentityAllow(ctx, name);
    const output = await op.run(ctx, validated);
    response = new Response(JSON.stringify(output), { status: 200, headers: headers(requestId) });
  } catch (err) {
    failure = err instanceof KmsError ? err : new KmsError("KMSInternalException", "An internal error occurred.");
    response = renderError(err, requestId);
  }
  // Every request leaves exactly one record (one per account for cross-account use), durable
  // before the response leaves: the vault stored it with a state change (audit.recorded), or
  // it is appended to the account's AuditLog here.
  if (!audit?.recorded) {
    try {
      await recordRequest(env, audit ?? { draft: requestDraft(env, request, requestId, now, name, observed, input) }, failure);
    } catch (err) {
      console.error(`request ${requestId}: audit record could not be stored`, err instanceof Error ? err.message : String(err));
      return renderError(new KmsError("DependencyTimeoutException", "The request could not be recorded; it was not completed. Retry."), requestId);
    }
  }
  return response;
}
