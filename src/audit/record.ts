// CloudTrail-format records (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html, https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html). requestParameters and responseElements are
// built from an allow-list per operation, so plaintext, ciphertext blobs, key material,
// data keys and secrets can never reach a record.

export const EVENT_VERSION = "1.08";

export interface UserIdentity {
  type: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  invokedBy?: string;
}

// JSON values, to a fixed depth (a recursive type is too deep for the RPC type mapping):
// what a record's free-form members hold.
type JsonLeaf = string | number | boolean | null;
type Json1 = JsonLeaf | JsonLeaf[] | { [key: string]: JsonLeaf | JsonLeaf[] };
type Json2 = Json1 | Json1[] | { [key: string]: Json1 };
type Json3 = Json2 | Json2[] | { [key: string]: Json2 };
// Four levels: a multi-Region key's metadata in CreateKey's and ReplicateKey's responseElements
// (keyMetadata → MultiRegionConfiguration → ReplicaKeys → { Arn, Region }).
type Json4 = Json3 | Json3[] | { [key: string]: Json3 };
export type JsonObject = { [key: string]: Json4 };

export interface CloudTrailRecord {
  eventVersion: string;
  userIdentity: UserIdentity;
  eventTime: string;
  /** kms.amazonaws.com; the admin API records as iam, organizations or cloudtrail.amazonaws.com. */
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: JsonObject | null;
  responseElements: JsonObject | null;
  additionalEventData?: JsonObject;
  serviceEventDetails?: JsonObject;
  requestID?: string;
  eventID: string;
  /** The same for the copies of one cross-account event in both accounts. */
  sharedEventID?: string;
  readOnly: boolean;
  resources?: { accountId: string; type: "AWS::KMS::Key"; ARN: string }[];
  eventType: "AwsApiCall" | "AwsServiceEvent";
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: "Management";
}

let lastIdMs = -1;
let idSequence = 0;
/** The id's first 15 characters for lastIdMs ("tttttttt-tttt-7"): made once per millisecond. */
let idPrefix = "";

/**
 * A record's eventID: a UUID of version 7 (RFC 9562, section 5.7), whose first 48 bits are the
 * Unix time in milliseconds and next 12 a counter within the millisecond in this isolate, then
 * 62 random bits. CloudTrail's eventID is a GUID of no stated version; version 7 makes records
 * of the same second (eventTime has whole seconds) sort in the order they were made, wherever
 * they wait: stored rows `r:<eventTime>:<eventID>`, log objects and `audit tail` keep it.
 */
export function newEventId(now = Date.now()): string {
  if (now === lastIdMs) {
    idSequence = (idSequence + 1) & 0xfff;
  } else {
    // A Worker's clock stands still while it computes: a batch's records share one millisecond.
    lastIdMs = now;
    idSequence = 0;
    const t = now.toString(16).padStart(12, "0");
    idPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
  }
  // The counter as three hex digits; randomUUID's variant and random bits from its 19th character on ("-" then the variant digit).
  return idPrefix + (0x1000 | idSequence).toString(16).slice(1) + crypto.randomUUID().slice(18);
}

/** Records in the order they were made: by eventTime, then eventID (version 7, newEventId). */
export const byEventOrder = (a: Pick<CloudTrailRecord, "eventTime" | "eventID">, b: Pick<CloudTrailRecord, "eventTime" | "eventID">): number =>
  a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : a.eventID < b.eventID ? -1 : a.eventID > b.eventID ? 1 : 0;

/**
 * A record as the AuditLog receives it: its key `r:<eventTime>:<eventID>` (ordered by event
 * time) and its JSON text, encoded once where the record is completed (docs/formats.md,
 * "Audit storage"). A row holds several (rowRecords); a shard forwards a row as one
 * EncodedRecord whose `json` holds its records' texts joined by newlines.
 */
export interface EncodedRecord { key: string; json: string }

export const encodeRecord = (r: CloudTrailRecord): EncodedRecord => ({ key: recordKey(r), json: JSON.stringify(r) });

/** A record's storage key, `r:<eventTime>:<eventID>` (encodeRecord's). */
export const recordKey = (r: Pick<CloudTrailRecord, "eventTime" | "eventID">): string => `r:${r.eventTime}:${r.eventID}`;


/**
 * The JSON texts of the records in a stored row (docs/formats.md, "Audit storage"): v3 rows
 * join one commit's records with newlines, which JSON.stringify never emits (it escapes them
 * inside strings); a v2 row is one text; a v1 row is the record object itself.
 */
export const rowRecords = (row: unknown): string[] => (typeof row === "string" ? row.split("\n") : [JSON.stringify(row)]);

/** A row's value from its records' JSON texts. */
export const joinRecords = (jsons: string[]): string => jsons.join("\n");

const EVENT_TIME_MEMBER = '"eventTime":"';
const REQUEST_PARAMETERS_MEMBER = '"requestParameters":';
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/;

/**
 * A record's eventTime from its JSON text without parsing the whole text (delivery reads every
 * record's). The first `"eventTime":"` is the record's own member: every record is made with
 * eventTime right after userIdentity (whose member names are fixed), before any map a caller
 * fills, and JSON escapes every quote inside strings. Anything else is parsed.
 */
export function eventTimeOf(json: string): string {
  const at = json.indexOf(EVENT_TIME_MEMBER);
  // No requestParameters member before it (searched back from it: the text after it is long).
  if (at > 0 && json.lastIndexOf(REQUEST_PARAMETERS_MEMBER, at) < 0) {
    const value = json.slice(at + EVENT_TIME_MEMBER.length, at + EVENT_TIME_MEMBER.length + 21);
    if (ISO_SECONDS.test(value)) return value.slice(0, 20);
  }
  return (JSON.parse(json) as CloudTrailRecord).eventTime;
}

/** A log object made from stored rows: its body, how many records it holds, and their oldest and newest event times. */
export interface LogObject { body: Uint8Array; count: number; oldestEventTime: string; newestEventTime: string }

const BODY_START = '{"Records":[';
const BODY_END = "]}";

/**
 * The log object of stored rows (docs/formats.md, "Audit storage"), in their order. Its body is
 * `{"Records":[…]}` of the rows' records (rowRecords), the bytes JSON.stringify({ Records })
 * gives, encoded row by row into one buffer (each row's newlines made commas) rather than as one
 * string joined from a string per record:
 * encoding that string cost as much as the rest of a delivery's JavaScript. Event times are ISO
 * texts of one length, which order as their times do.
 */
export function logObject(rows: Iterable<unknown>): LogObject {
  const texts: string[] = [];
  let count = 0, chars = BODY_START.length + BODY_END.length;
  let oldestEventTime = "", newestEventTime = "";
  for (const row of rows) {
    const jsons = rowRecords(row);
    for (const json of jsons) {
      const time = eventTimeOf(json);
      if (count === 0 || time < oldestEventTime) oldestEventTime = time;
      if (count === 0 || time > newestEventTime) newestEventTime = time;
      count++;
    }
    // JSON text never holds a newline (JSON.stringify escapes it in strings): only a row's separators do.
    const text = typeof row === "string" ? row.replaceAll("\n", ",") : jsons[0];
    texts.push(text);
    chars += text.length + 1;
  }
  return { body: encodeParts(texts, chars), count, oldestEventTime, newestEventTime };
}

/** `{"Records":[` + texts joined by commas + `]}` as UTF-8, `chars` being about its length in UTF-16 code units. */
function encodeParts(texts: string[], chars: number): Uint8Array {
  // As many bytes as code units, as most audit text is ASCII; else three per code unit, UTF-8's most.
  for (const size of [chars, chars * 3]) {
    const out = new Uint8Array(size);
    const encoder = new TextEncoder();
    let at = 0;
    const put = (text: string): boolean => {
      const { read, written } = encoder.encodeInto(text, at === 0 ? out : out.subarray(at));
      at += written;
      return read === text.length;
    };
    let fits = put(BODY_START);
    for (let i = 0; fits && i < texts.length; i++) {
      if (i > 0) fits = put(",");
      if (fits) fits = put(texts[i]);
    }
    // A copy of a buffer three times the size, so as not to hold it for the delivery.
    if (fits && put(BODY_END)) return size === chars ? out.subarray(0, at) : out.slice(0, at);
  }
  throw new Error("log body: more UTF-8 than three bytes per code unit"); // never: UTF-8's most
}

/** A record before the outcome is known; the vault or the handler completes it. */
export type AuditDraft = Omit<CloudTrailRecord, "errorCode" | "errorMessage" | "responseElements" | "resources">;

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * What a record needs to know of its operation, declared once in the operation's definition
 * (src/operations/*.ts): whether it only reads, and which request members its requestParameters
 * may carry. Anything not listed (Plaintext, CiphertextBlob, grant tokens…) is left out.
 */
export interface AuditFacts {
  readOnly: boolean;
  auditMembers: readonly string[];
  /**
   * Members' values when the request leaves them out (Decrypt's EncryptionAlgorithm, Sign's
   * MessageType): the record carries them, as AWS records them, and so do the condition keys.
   */
  defaults?: Readonly<Record<string, string>>;
  /** The record's eventSource (kms.amazonaws.com when absent). */
  eventSource?: string;
}

/** Whether plain() keeps `v` (at its top level). */
const jsonValue = (v: unknown): boolean =>
  v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" || Array.isArray(v) || (typeof v === "object" && !ArrayBuffer.isView(v));

/** Only strings, numbers, booleans and lists/maps of them: a blob never passes (it would be a Uint8Array). */
function plain(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && !(v instanceof Uint8Array) && !ArrayBuffer.isView(v)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [camel(k), plain(x)]));
  }
  return undefined;
}

/** An operation's audit members and defaults with their record names, made once per operation (a batch makes a record per entry). */
const recordNames = new WeakMap<AuditFacts, { members: [member: string, name: string, context: boolean][]; defaults: [name: string, value: string][] }>();
function namesOf(facts: AuditFacts) {
  let n = recordNames.get(facts);
  if (!n) {
    n = {
      members: facts.auditMembers.map((m) => [m, camel(m), m.endsWith("EncryptionContext")]),
      defaults: Object.entries(facts.defaults ?? {}).map(([m, v]) => [camel(m), v]),
    };
    recordNames.set(facts, n);
  }
  return n;
}

export function requestParameters(facts: AuditFacts | undefined, input: Record<string, unknown> | undefined): JsonObject | null {
  if (!facts || !input) return null;
  const { members, defaults } = namesOf(facts);
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [m, name, context] of members) {
    const given = input[m];
    if (given === undefined) continue;
    // An encryption context is recorded as given (its keys are the caller's, not member names),
    // if it is a JSON value at all (as plain() would find).
    const v = context ? (jsonValue(given) ? given : undefined) : plain(given);
    if (v !== undefined) {
      out[name] = v;
      any = true;
    }
  }
  for (const [name, v] of defaults) {
    if (out[name] === undefined || out[name] === null) {
      out[name] = v;
      any = true;
    }
  }
  // plain() keeps only JSON values, as deep as the validated request members go (at most three levels).
  return any ? (out as JsonObject) : null;
}

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function completeRecord(
  draft: AuditDraft,
  outcome: { errorCode?: string; errorMessage?: string; responseElements?: JsonObject | null; keyArn?: string; authorization?: string },
): CloudTrailRecord {
  const rec: CloudTrailRecord = { ...draft, responseElements: outcome.errorCode ? null : (outcome.responseElements ?? null) };
  if (outcome.errorCode) {
    rec.errorCode = outcome.errorCode;
    rec.errorMessage = outcome.errorMessage ?? "";
  }
  if (outcome.keyArn) rec.resources = keyResources(outcome.keyArn);
  // What allowed the call (the vault's authorizer), in additionalEventData: after the draft's own members.
  if (outcome.authorization !== undefined) rec.additionalEventData = { ...(rec.additionalEventData ?? {}), authorization: outcome.authorization };
  return rec;
}

/**
 * A key's `resources` member. The last one made is given again for the same key (a batch
 * completes hundreds of records of one key in a row): nothing changes a record's resources once
 * made, and JSON text does not show that records share them.
 */
let lastResources: { keyArn: string; resources: NonNullable<CloudTrailRecord["resources"]> } | undefined;
function keyResources(keyArn: string): NonNullable<CloudTrailRecord["resources"]> {
  if (lastResources?.keyArn !== keyArn) lastResources = { keyArn, resources: [{ accountId: keyArn.split(":")[4], type: "AWS::KMS::Key", ARN: keyArn }] };
  return lastResources.resources;
}

/** Requests that failed authentication from one source in one minute, counted rather than recorded one by one (AuditLog). */
export interface UnauthenticatedCount {
  /** The address, or an IPv6 /64 (trail.ts aggregationSource). */
  source: string;
  /** How many, and the event times of the first and the last of them. */
  count: number;
  firstEventTime: string;
  lastEventTime: string;
  /** How many of them had each error code, and each event name (both from fixed sets: error types, operations, "Unknown"). */
  errorCodes: Record<string, number>;
  eventNames: Record<string, number>;
}

/** The most frequent name of a count (the first in name order among equals). */
const mostFrequent = (counts: Record<string, number>): string | undefined =>
  Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))[0]?.[0];

/**
 * The one record standing for aggregated unauthenticated requests: their count, first and last
 * event time in additionalEventData, and, as errorCode and eventName, the most frequent ones.
 */
export function unauthenticatedAggregate(region: string, account: string, c: UnauthenticatedCount, recordedOneByOne: number): CloudTrailRecord {
  const eventName = mostFrequent(c.eventNames) ?? "Unknown";
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: "Unknown" },
    eventTime: c.lastEventTime,
    eventSource: "kms.amazonaws.com",
    eventName,
    awsRegion: region,
    sourceIPAddress: c.source,
    userAgent: "",
    errorCode: mostFrequent(c.errorCodes) ?? "",
    errorMessage: `${c.count} more requests from ${c.source} failed authentication in this minute; the first ${recordedOneByOne} of the minute are recorded one by one.`,
    requestParameters: null,
    responseElements: null,
    additionalEventData: {
      aggregatedUnauthenticatedRequests: c.count, firstEventTime: c.firstEventTime, lastEventTime: c.lastEventTime,
      errorCodes: { ...c.errorCodes }, eventNames: { ...c.eventNames },
    },
    eventID: newEventId(),
    // None of the requests it stands for was carried out.
    readOnly: true,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
}

/** Internal events (RotateKey, DeleteKey) carry no caller. */
export function serviceEvent(eventName: "RotateKey" | "DeleteKey" | "DeleteExpiredKeyMaterial" | "SynchronizeMultiRegionKey", region: string, account: string, keyArn: string, now: number): CloudTrailRecord {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: "AWSService", accountId: account, invokedBy: "AWS Internal" },
    eventTime: isoSeconds(now),
    eventSource: "kms.amazonaws.com",
    eventName,
    awsRegion: region,
    sourceIPAddress: "AWS Internal",
    userAgent: "AWS Internal",
    requestParameters: null,
    responseElements: null,
    serviceEventDetails: { keyId: keyArn.split("/").pop() ?? "" },
    eventID: newEventId(now),
    readOnly: false,
    resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: keyArn }],
    eventType: "AwsServiceEvent",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
}

/**
 * The most characters of records' JSON that an AuditTail returns, and that each place it reads
 * returns to it. A Durable Object's answer over RPC is at most 32 MiB
 * (https://developers.cloudflare.com/durable-objects/platform/limits/), and a record may hold up to
 * a request body's worth of what its caller sent (an encryption context): Limit records of that
 * size failed the tail as a 500, which any principal of the account could bring about.
 */
export const MAX_TAIL_CHARS = 8 * 1024 * 1024;

/** The newest of `sorted` (oldest first): at most `limit` of them, and at most MAX_TAIL_CHARS of their records' JSON; `truncated` if any were left out. */
export function newestWithin<T>(sorted: T[], limit: number, recordOf: (t: T) => CloudTrailRecord): { kept: T[]; truncated: boolean } {
  let chars = 0;
  let i = sorted.length;
  while (i > 0 && sorted.length - i < limit) {
    chars += JSON.stringify(recordOf(sorted[i - 1]!)).length;
    if (chars > MAX_TAIL_CHARS) break;
    i--;
  }
  return { kept: sorted.slice(i), truncated: i > 0 };
}

/**
 * newestWithin over items gathered a few at a time (a tail's places: every key's vault, the
 * shards, the AuditLog), each record once (by event id), without holding them all: whenever what
 * is held passes twice MAX_TAIL_CHARS of records' JSON, it keeps only newestWithin's answer so
 * far. What that leaves out is older than all it keeps, so no later item brings it back.
 */
export class NewestRecords<T> {
  private items: T[] = [];
  private chars = 0;
  private truncated = false;
  /** The most characters held at once, for tests. */
  peakChars = 0;

  constructor(private readonly limit: number, private readonly recordOf: (t: T) => CloudTrailRecord) {}

  add(items: readonly T[]): void {
    for (const item of items) {
      this.items.push(item);
      this.chars += JSON.stringify(this.recordOf(item)).length;
    }
    this.peakChars = Math.max(this.peakChars, this.chars);
    if (this.chars <= 2 * MAX_TAIL_CHARS) return;
    this.items = this.newest();
    this.chars = this.items.reduce((n, item) => n + JSON.stringify(this.recordOf(item)).length, 0);
  }

  /** The newest `limit` items, oldest first, within MAX_TAIL_CHARS; `truncated` if any item was left out, now or before. */
  result(): { kept: T[]; truncated: boolean } {
    return { kept: this.newest(), truncated: this.truncated };
  }

  private newest(): T[] {
    const unique = [...new Map(this.items.map((item) => [this.recordOf(item).eventID, item])).values()];
    unique.sort((a, b) => byEventOrder(this.recordOf(a), this.recordOf(b)));
    const { kept, truncated } = newestWithin(unique, this.limit, this.recordOf);
    this.truncated ||= truncated;
    return kept;
  }
}
