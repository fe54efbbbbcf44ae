// The handler's side of the audit trail: the draft record of a request, and appending the
// records that no vault wrote in a state change to the account's AuditLog.
import type { Env } from "../env.js";
import { auditShards, regionStub } from "../env.js";
import type { Observed } from "../auth/authenticate.js";
import type { AuditState } from "../operations/context.js";
import type { KmsError } from "../protocol/errors.js";
import { auditShardName } from "../vault/naming.js";
import { EVENT_VERSION, completeRecord, encodeRecord, isReadOnly, isoSeconds, requestParameters, type AuditDraft, type CloudTrailRecord, type UserIdentity } from "./record.js";

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
  const shards = auditShards(env);
  await Promise.all(records.map((r) => {
    const shard = shardOf(r, shards);
    return regionStub(env.AUDIT_LOG, env.REGIONS[r.awsRegion] ?? {}, auditShardName(r.awsRegion, r.recipientAccountId, shard))
      .append(r.awsRegion, r.recipientAccountId, [encodeRecord(r)], undefined, shard);
  }));
}

/** The ingest shard of a record: by its key, so one key's records share a shard (and its group commits); else by request. */
function shardOf(r: CloudTrailRecord, shards: number): number {
  if (shards === 1) return 0;
  const s = r.resources?.[0]?.ARN ?? r.requestID ?? r.eventID;
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}
