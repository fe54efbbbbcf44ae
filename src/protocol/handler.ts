// One KMS request: route → auth → operation (→ vault DO → crypto core) → response.
// Every failure is a KmsError, rendered in one place (renderError).
import type { Env } from "../env.js";
import { authenticate, type Observed } from "../auth/authenticate.js";
import { recordRequest, requestDraft } from "../audit/trail.js";
import { ROOT_SECRET_MISMATCH } from "../vault/root-key.js";
import { NOT_YET_IMPLEMENTED, OPERATIONS } from "../operations/index.js";
import type { AuditState } from "../operations/context.js";
import { requireIdentityAllow } from "../operations/shared.js";
import { readBody } from "./body.js";
import { checkGrantToken, operationContext } from "./op-context.js";
import { JSON_CONTENT_TYPE, parseBodyBytes } from "./codec.js";
import { clip, KmsError } from "./errors.js";
import { validate } from "./validate.js";
import { chargeOperation } from "../quota/enforce.js";

const TARGET_PREFIX = "TrentService.";

export function headers(requestId: string): Headers {
  return new Headers({ "Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": requestId, Date: new Date().toUTCString() });
}

/** The most characters of a caller's X-Amz-Target an error message (and so its record) repeats. */
export const MAX_SHOWN_TARGET = 128;
export const shown = (target: string): string => clip(target, MAX_SHOWN_TARGET);

/** Errors that are the operator's configuration, said as they are rather than as an internal error. */
function configurationError(err: unknown): KmsError | undefined {
  const message = err instanceof Error ? err.message : "";
  if (message === ROOT_SECRET_MISMATCH || /^KMS_ROOT_SECRET(_PREVIOUS)? /.test(message)) return new KmsError("KMSInternalException", message);
  return undefined;
}

export function renderError(err: unknown, requestId: string): Response {
  const e = err instanceof KmsError ? err : configurationError(err) ?? new KmsError("KMSInternalException", "An internal error occurred.");
  if (!(err instanceof KmsError)) console.error(`request ${requestId}: internal error`, err instanceof Error ? err.stack : String(err));
  const h = headers(requestId);
  h.set("x-amzn-ErrorType", e.type);
  return new Response(JSON.stringify(e.body()), { status: e.status, headers: h });
}

export async function handleKmsRequest(request: Request, env: Env, requestId: string, now = Date.now()): Promise<Response> {
  const target = request.headers.get("x-amz-target") ?? "";
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  const observed: Observed = {};
  let input: Record<string, unknown> | undefined;
  let audit: AuditState | undefined;
  let response: Response;
  let failure: KmsError | undefined;
  /** The request failed on an exception, not an answer: a vault may have recorded it before it failed (recordRequest). */
  let thrown = false;
  try {
    const url = new URL(request.url);
    const body = await readBody(request);
    const { principal, region } = await authenticate(env, request, url, body, now, observed);
    const op = OPERATIONS.get(name);
    if (!op) {
      if (NOT_YET_IMPLEMENTED.has(name)) throw new KmsError("UnsupportedOperationException", `${name} is not supported by EdgeKMS yet.`);
      throw new KmsError("UnknownOperationException", target ? `Unknown operation ${shown(target)}` : "Missing X-Amz-Target header");
    }
    const validated = validate<never>(op.schema, parseBodyBytes(body));
    input = validated;
    audit = { draft: requestDraft(env, request, requestId, now, name, op, observed, input) };
    const fields = validated as Record<string, unknown>;
    // The caller's account's request-rate quota (docs/quotas.md): over it, ThrottlingException, recorded like any failure.
    // A promise only for an isolate's first request of an account-region: awaiting nothing would still cost a microtask turn.
    const charged = chargeOperation(env, principal.accountId, region, op, fields, now);
    if (charged) await charged;
    for (const token of (fields.GrantTokens as string[] | undefined) ?? []) await checkGrantToken(env, region, principal, token);
    const ctx = operationContext({ env, region, principal, requestId, now, sourceIp: audit.draft.sourceIPAddress, secure: url.protocol === "https:" }, op, fields, audit);
    // IAM-only permissions involve no key: the authorizer decides them here, before the operation runs.
    if (op.iamOnly) requireIdentityAllow(ctx, "*");
    const output = await op.run(ctx, validated);
    response = new Response(JSON.stringify(output), { status: 200, headers: headers(requestId) });
  } catch (err) {
    thrown = !(err instanceof KmsError);
    failure = thrown ? new KmsError("KMSInternalException", "An internal error occurred.") : (err as KmsError);
    response = renderError(err, requestId);
  }
  // Every request leaves exactly one record (one per account for cross-account use; past a
  // threshold, requests that failed authentication are counted into one per source and minute,
  // docs/audit.md), durable before the response leaves: the vault stored it with a state change
  // (audit.recorded), or it is appended to the account's AuditLog here.
  if (!audit?.recorded) {
    try {
      // The record names an operation only if X-Amz-Target names a real one: the rest is the caller's text.
      const eventName = OPERATIONS.has(name) || NOT_YET_IMPLEMENTED.has(name) ? name : "Unknown";
      await recordRequest(env, audit ?? { draft: requestDraft(env, request, requestId, now, eventName, OPERATIONS.get(name), observed, input) }, failure, thrown);
    } catch (err) {
      console.error(`request ${requestId}: audit record could not be stored`, err instanceof Error ? err.message : String(err));
      return renderError(new KmsError("DependencyTimeoutException", "The request could not be recorded; it was not completed. Retry."), requestId);
    }
  }
  return response;
}
