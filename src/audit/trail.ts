// The handler's side of the audit trail: the draft record of a request, and appending the
// records that no vault wrote in a state change to the account's AuditLog.
import type { Env } from "../env.js";
import { auditShards, auditLogStub } from "../placement.js";
import type { Observed } from "../auth/authenticate.js";
import type { AuditState } from "../operations/context.js";
import type { KmsError } from "../protocol/errors.js";
import type { RoutedRecord } from "../vault/batch.js";
import { MAX_ROW_CHARS } from "../vault/group-commit.js";
import { newEventId, EVENT_VERSION, completeRecord, encodeRecord, isoSeconds, joinRecords, requestParameters, type AuditDraft, type AuditFacts, type CloudTrailRecord, type EncodedRecord, type UserIdentity } from "./record.js";

/** The most characters of a User-Agent a record keeps: the client chooses it, and records are stored and delivered whole. */
export const MAX_USER_AGENT_CHARS = 1024;
/**
 * The longest access key id a record names. IAM's AccessKeyId is 16 to 128 characters (IAM API
 * Reference, AccessKeyMetadata); a claimed id of any other shape is not recorded at all.
 */
export const MAX_ACCESS_KEY_ID_CHARS = 128;
const RECORDABLE_ACCESS_KEY_ID = new RegExp(`^[A-Z0-9]{1,${MAX_ACCESS_KEY_ID_CHARS}}$`);
/** The most characters of the error message in the record of an unauthenticated request: signature errors quote the request's own headers. */
export const MAX_RECORDED_ERROR_MESSAGE_CHARS = 512;
/** The identity type of a request that failed authentication: it names no principal. */
const UNAUTHENTICATED = "Unknown";

/**
 * Only a verified principal is named. A request that failed authentication (or never reached it)
 * carries at most the access key id it claimed, as the caller wrote it, so nobody can write a
 * record in another principal's name by knowing its access key id.
 */
function userIdentity(observed: Observed): UserIdentity {
  const p = observed.principal;
  if (!p) {
    const claimed = observed.accessKeyId;
    return { type: UNAUTHENTICATED, ...(claimed && RECORDABLE_ACCESS_KEY_ID.test(claimed) ? { accessKeyId: claimed } : {}) };
  }
  return {
    type: p.type,
    principalId: p.type === "Root" ? p.accountId : (p.userId ?? p.accessKeyId),
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
  };
}

// Whether this isolate runs on Cloudflare's network, found once. Local workerd (wrangler dev,
// npm run serve, the tests) has no Durable Object jurisdictions and says so; Cloudflare has them.
let onCloudflareNetwork: boolean | undefined;
function onCloudflare(env: Env): boolean {
  if (onCloudflareNetwork === undefined) {
    try {
      env.AUDIT_LOG.jurisdiction("eu");
      onCloudflareNetwork = true;
    } catch (e) {
      onCloudflareNetwork = !(e instanceof Error && /not implemented in workerd/.test(e.message));
    }
  }
  return onCloudflareNetwork;
}

/** Where local servers (wrangler dev, npm run serve) listen, and so where their callers are. */
const LOCAL_ADDRESS = "127.0.0.1";

/**
 * The caller's address: the record's sourceIPAddress and the policies' aws:SourceIp.
 * - On Cloudflare's network it is CF-Connecting-IP, which Cloudflare sets on every request it
 *   passes to the Worker ("the client IP address connecting to Cloudflare",
 *   https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip);
 *   a client cannot choose it there.
 * - Locally, miniflare's entry worker keeps a CF-Connecting-IP the client sent (it fills the
 *   header in only when absent), and the Worker cannot see the socket; there it is 127.0.0.1.
 * - X-Real-IP and X-Forwarded-For are never read: any client writes them.
 */
export function sourceAddress(env: Env, request: Request): string {
  return (onCloudflare(env) ? request.headers.get("cf-connecting-ip") : null) ?? LOCAL_ADDRESS;
}

/**
 * The source by which unauthenticated records are counted and aggregated (AuditLog): the IPv4
 * address, or the /64 of an IPv6 address, since one holder of a /64 (the usual end-site
 * assignment) can send from any address in it.
 */
export function aggregationSource(address: string): string {
  if (!address.includes(":") || address.includes(".")) return address;
  const [head, tail] = address.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(":")}::/64`;
}

/**
 * The record of a request before its outcome. A request that could not be attributed (no or
 * unknown credentials, an unserved region) is recorded for the operator's account in the first
 * served region. `eventName` is the operation, or "Unknown" (the handler decides, as it knows
 * the operations): a record never repeats an X-Amz-Target that names none. `facts` are the
 * operation's (none for an unknown one).
 */
export function requestDraft(env: Env, request: Request, requestId: string, now: number, eventName: string, facts: AuditFacts | undefined, observed: Observed, input: Record<string, unknown> | undefined): AuditDraft {
  const account = observed.principal?.accountId ?? env.BOOTSTRAP_ACCOUNT_ID;
  const region = observed.region ?? Object.keys(env.REGIONS)[0];
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(observed),
    eventTime: isoSeconds(now),
    eventSource: facts?.eventSource ?? "kms.amazonaws.com",
    eventName: eventName || "Unknown",
    awsRegion: region,
    sourceIPAddress: sourceAddress(env, request),
    userAgent: (request.headers.get("user-agent") ?? "").slice(0, MAX_USER_AGENT_CHARS),
    // Members of a request whose caller is unknown are not recorded: nobody answers for them.
    requestParameters: observed.principal ? requestParameters(facts, input) : null,
    requestID: requestId,
    eventID: newEventId(now),
    readOnly: facts?.readOnly ?? false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
}

/**
 * Stores the request's records: those the vault completed (two for a cross-account call), or
 * the one completed here, each in its account's AuditLog. Resolves once all are durable.
 * `thrown`: the request failed on an exception rather than an answer (a vault reset mid-call,
 * say), so a vault may have stored its own record of it: the one completed here is then a
 * stand-in, which that record replaces (AuditLog.appendStandIn).
 */
export async function recordRequest(env: Env, audit: AuditState, failure: KmsError | undefined, thrown = false): Promise<void> {
  if (!audit.records && audit.draft.userIdentity.type === UNAUTHENTICATED) return recordUnauthenticated(env, audit.draft, failure);
  const records = requestRecords(audit, failure);
  if (thrown && !audit.records) {
    const [r] = records;
    return auditLogStub(env, r.awsRegion, r.recipientAccountId, 0).appendStandIn(r.awsRegion, r.recipientAccountId, encodeRecord(r), r.eventID);
  }
  const shards = auditShards(env);
  await Promise.all(records.map((r) => {
    const shard = shardOf(r, shards);
    return auditLogStub(env, r.awsRegion, r.recipientAccountId, shard)
      .append(r.awsRegion, r.recipientAccountId, [encodeRecord(r)], undefined, shard);
  }));
}

/** The records of an authenticated request (or batch entry): those the vault completed (two for a cross-account call), or the one completed here. */
export function requestRecords(audit: AuditState, failure: KmsError | undefined): CloudTrailRecord[] {
  return audit.records ?? [
    completeRecord(audit.draft, {
      errorCode: failure?.type,
      errorMessage: failure ? (failure.auditDetail ?? failure.message) : undefined,
      responseElements: audit.responseElements ?? null,
      keyArn: audit.keyArn,
    }),
  ];
}

/**
 * Stores the records of a batch's entries (docs/batch.md) with one append per account and region
 * they belong to, all to the ingest shard of the batch's request id: each AuditLog takes a whole
 * batch in one group commit. The records go as rows already (their JSON texts joined by
 * newlines, at most MAX_ROW_CHARS each, the storage format of docs/formats.md), not one by one:
 * the vaults' records come as rows (one or a few per vault call), which go on as they are; the
 * records completed here (entries that failed before reaching a vault) are joined into rows.
 * Resolves once all are durable.
 */
export async function recordBatch(env: Env, requestId: string, records: RoutedRecord[]): Promise<void> {
  const shard = shardOfName(requestId, auditShards(env));
  const byLog = new Map<string, RoutedRecord[]>();
  for (const r of records) {
    const log = `${r.region}\t${r.account}`;
    const list = byLog.get(log);
    if (list) list.push(r);
    else byLog.set(log, [r]);
  }
  await Promise.all([...byLog.values()].map((rs) => {
    const { region, account } = rs[0];
    return auditLogStub(env, region, account, shard).append(region, account, asRows(rs), undefined, shard);
  }));
}

/** A row at least this long (a vault call's records, most often) goes on as it is rather than be copied into a longer one. */
const ROW_AS_IS_CHARS = MAX_ROW_CHARS / 4;

/**
 * Records as rows: records and rows of records (RoutedRecord), each row under its first
 * record's key, within MAX_ROW_CHARS. Short ones are joined (joinRecords); a long row goes on as it is.
 */
function asRows(records: RoutedRecord[]): EncodedRecord[] {
  const rows: EncodedRecord[] = [];
  let lines: string[] = [];
  let chars = 0;
  let key = "";
  for (const r of records) {
    if (r.json.length >= ROW_AS_IS_CHARS) {
      rows.push({ key: r.key, json: r.json });
      continue;
    }
    if (lines.length && chars + r.json.length + 1 > MAX_ROW_CHARS) {
      rows.push({ key, json: joinRecords(lines) });
      lines = [];
      chars = 0;
    }
    if (!lines.length) key = r.key;
    lines.push(r.json);
    chars += r.json.length + 1;
  }
  if (lines.length) rows.push({ key, json: joinRecords(lines) });
  return rows;
}

/**
 * A request that failed authentication (or before it): its message capped, and stored by the
 * AuditLog itself (shard 0), which counts such records per source and minute and aggregates
 * those past its threshold (docs/audit.md), so that nobody can flood the trail without a key.
 */
async function recordUnauthenticated(env: Env, draft: AuditDraft, failure: KmsError | undefined): Promise<void> {
  const r = completeRecord(draft, {
    errorCode: failure?.type,
    errorMessage: failure ? (failure.auditDetail ?? failure.message).slice(0, MAX_RECORDED_ERROR_MESSAGE_CHARS) : undefined,
    responseElements: null,
  });
  await auditLogStub(env, r.awsRegion, r.recipientAccountId)
    .appendUnauthenticated(r.awsRegion, r.recipientAccountId, encodeRecord(r), aggregationSource(r.sourceIPAddress), { eventTime: r.eventTime, eventName: r.eventName, errorCode: r.errorCode ?? "" });
}

/** The ingest shard of a record: by its key, so one key's records share a shard (and its group commits); else by request. */
function shardOf(r: CloudTrailRecord, shards: number): number {
  return shardOfName(r.resources?.[0]?.ARN ?? r.requestID ?? r.eventID, shards);
}

function shardOfName(s: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}
