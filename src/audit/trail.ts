// The handler's side of the audit trail: the draft record of a request, and appending the
// records that no vault wrote in a state change to the account's AuditLog.
import type { Env } from "../env.js";
import { regionStub } from "../env.js";
import type { Observed } from "../auth/authenticate.js";
import type { AuditState } from "../operations/context.js";
import type { KmsError } from "../protocol/errors.js";
import { auditLogName } from "../vault/naming.js";
import { EVENT_VERSION, completeRecord, encodeRecord, isReadOnly, isoSeconds, requestParameters, type AuditDraft, type UserIdentity } from "./record.js";

function userIdentity(observed: Observed): UserIdentity {
  const p = observed.principal;
  if (!p) return { type: "Unknown", ...(observed.accessKeyId ? { accessKeyId: observed.accessKeyId } : {}) };
  return {
    type: p.type,
    principalId: p.type === "Root" ? p.accountId : p.accessKeyId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
  };
}

/**
 * The record of a request before its outcome. A request that could not be attributed (no or
 * unknown credentials, an unserved region) is recorded for the operator's account in the first
 * served region.
 */
export function requestDraft(env: Env, request: Request, requestId: string, now: number, eventName: string, observed: Observed, input: Record<string, unknown> | undefined): AuditDraft {
  const account = observed.principal?.accountId ?? env.BOOTSTRAP_ACCOUNT_ID;
  const region = observed.region ?? Object.keys(env.REGIONS)[0];
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(observed),
    eventTime: isoSeconds(now),
    eventSource: "kms.amazonaws.com",
    eventName: eventName || "UnknownOperation",
    awsRegion: region,
    sourceIPAddress: request.headers.get("cf-connecting-ip") ?? request.headers.get("x-real-ip") ?? "127.0.0.1",
    userAgent: request.headers.get("user-agent") ?? "",
    requestParameters: requestParameters(eventName, input),
    requestID: requestId,
    eventID: crypto.randomUUID(),
    readOnly: isReadOnly(eventName),
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
}

/**
 * Stores the request's records: those the vault completed (two for a cross-account call), or
 * the one completed here, each in its account's AuditLog. Resolves once all are durable.
 */
export async function recordRequest(env: Env, audit: AuditState, failure: KmsError | undefined): Promise<void> {
  const records = audit.records ?? [
    completeRecord(audit.draft, {
      errorCode: failure?.type,
      errorMessage: failure ? (failure.auditDetail ?? failure.message) : undefined,
      responseElements: audit.responseElements ?? null,
      keyArn: audit.keyArn,
    }),
  ];
  await Promise.all(records.map((r) =>
    regionStub(env.AUDIT_LOG, env.REGIONS[r.awsRegion] ?? {}, auditLogName(r.awsRegion, r.recipientAccountId)).append(r.awsRegion, r.recipientAccountId, [encodeRecord(r)])));
}
