// One batch request (docs/batch.md): POST / with X-Amz-Target EdgeKMSBatch.<Operation>, SigV4
// like any request, its body `{"Entries": [...]}` within MAX_BATCH_BODY_BYTES. Each entry is its
// single operation (Encrypt, Decrypt, GenerateDataKey, ReEncrypt): validated by its schema,
// authorized by the one authorizer on its own condition keys and grant tokens, run by its own
// code, and recorded in its own CloudTrail record (the batch's request id, its index in
// additionalEventData). Entries reach the vaults together (one call per key, BatchStubs), and
// their records the AuditLog together (one append per account). One entry failing never fails
// the others; what fails the whole batch (authentication, the body, Entries) leaves one record,
// as a single request does.
import type { Env } from "../env.js";
import { authenticate, type Observed } from "../auth/authenticate.js";
import { recordBatch, recordRequest, requestDraft, requestRecords } from "../audit/trail.js";
import { newEventId, requestParameters, type AuditDraft, type AuditFacts } from "../audit/record.js";
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_ENTRIES } from "../kms/limits.js";
import { BATCH_OPERATIONS, BATCH_TARGET_PREFIX, BatchStubs } from "../operations/batch.js";
import type { AuditState } from "../operations/context.js";
import type { Operation } from "../operations/operation.js";
import { requireIdentityAllow } from "../operations/shared.js";
import { routeRecord, type RoutedRecord } from "../vault/batch.js";
import { readBody } from "./body.js";
import { parseBodyBytes } from "./codec.js";
import { chargeOperation } from "../quota/enforce.js";
import { KmsError } from "./errors.js";
import { headers, renderError, shown } from "./handler.js";
import { checkGrantToken, operationContext, type RequestFacts } from "./op-context.js";
import { validate } from "./validate.js";

/** What the record of a batch that failed as a whole knows of it: nothing of its entries. */
const BATCH_FACTS: AuditFacts = { readOnly: true, auditMembers: [] };

export const isBatchRequest = (request: Request): boolean => (request.headers.get("x-amz-target") ?? "").startsWith(BATCH_TARGET_PREFIX);

/** An entry's answer: its single operation's response, or its error as the single operation's `__type` and message. */
type EntryResult = { Index: number } & ({ [member: string]: unknown } | { ErrorCode: string; ErrorMessage: string });

/** The Entries member: a list of 1 to MAX_BATCH_ENTRIES items (each item is checked as its entry). */
function entriesOf(body: Record<string, unknown>): unknown[] {
  const entries = Object.hasOwn(body, "Entries") ? body.Entries : undefined;
  if (entries === undefined || entries === null) throw new KmsError("ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  if (!Array.isArray(entries)) throw new KmsError("SerializationException", "Value at 'entries' must be a list");
  if (entries.length < 1 || entries.length > MAX_BATCH_ENTRIES) {
    throw new KmsError("ValidationException", `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_BATCH_ENTRIES} (it has ${entries.length})`);
  }
  return entries;
}

export async function handleBatchRequest(request: Request, env: Env, requestId: string, now = Date.now()): Promise<Response> {
  const target = request.headers.get("x-amz-target") ?? "";
  const name = target.slice(BATCH_TARGET_PREFIX.length);
  const op = BATCH_OPERATIONS.get(name);
  const observed: Observed = {};
  let records: RoutedRecord[] | undefined;
  let response: Response;
  let failure: KmsError | undefined;
  try {
    const url = new URL(request.url);
    const body = await readBody(request, MAX_BATCH_BODY_BYTES);
    const { principal, region } = await authenticate(env, request, url, body, now, observed);
    if (!op) throw new KmsError("UnknownOperationException", `Unknown operation ${shown(target)}`);
    const entries = entriesOf(parseBodyBytes(body));
    const base = requestDraft(env, request, requestId, now, op.name, op, observed, undefined);
    const facts: RequestFacts = { env, region, principal, requestId, now, sourceIp: base.sourceIPAddress, secure: url.protocol === "https:" };
    const batch = new BatchRun(facts, op, name, base, entries.length);
    const answered = await Promise.all(entries.map((entry, i) => batch.entry(i, entry)));
    records = [...batch.vaultRecords, ...answered.flatMap((a) => a.records)];
    response = new Response(JSON.stringify({ Results: answered.map((a) => a.result) }), { status: 200, headers: headers(requestId) });
  } catch (err) {
    failure = err instanceof KmsError ? err : new KmsError("KMSInternalException", "An internal error occurred.");
    response = renderError(err, requestId);
  }
  // As for every request, durable before the response leaves (docs/audit.md): the entries'
  // records in one append per account, or the one record of a batch that failed as a whole.
  try {
    if (records) await recordBatch(env, requestId, records);
    else await recordRequest(env, { draft: requestDraft(env, request, requestId, now, op ? name : "Unknown", BATCH_FACTS, observed, undefined) }, failure);
  } catch (err) {
    console.error(`request ${requestId}: audit records could not be stored`, err instanceof Error ? err.message : String(err));
    return renderError(new KmsError("DependencyTimeoutException", "The request could not be recorded; it was not completed. Retry."), requestId);
  }
  return response;
}

/** One batch's entries in flight. */
class BatchRun {
  private readonly stubs: BatchStubs;
  /** Grant tokens checked once per batch. */
  private readonly tokens = new Map<string, Promise<void>>();
  /** The entries whose records a vault completed (by entry draft), and those records (rows of several entries'). */
  private readonly completed = new Set<AuditDraft>();
  readonly vaultRecords: RoutedRecord[] = [];

  constructor(private readonly facts: RequestFacts, private readonly op: Operation<any>, private readonly batchName: string, private readonly base: AuditDraft, entries: number) {
    this.stubs = new BatchStubs(facts.env, facts.region, facts.principal.accountId, entries, (draft) => this.completed.add(draft), (rows) => this.vaultRecords.push(...rows));
  }

  /** The draft of entry `index`'s record: its single operation's, with the batch's request id and its index. */
  private draft(index: number, input: Record<string, unknown> | undefined): AuditDraft {
    return {
      ...this.base,
      eventID: newEventId(),
      requestParameters: requestParameters(this.op, input),
      additionalEventData: { batchOperation: this.batchName, batchIndex: index },
    };
  }

  private checkToken(token: string): Promise<void> {
    let checked = this.tokens.get(token);
    if (!checked) this.tokens.set(token, (checked = checkGrantToken(this.facts.env, this.facts.region, this.facts.principal, token)));
    return checked;
  }

  /** Runs entry `index` as its single operation; never throws. */
  async entry(index: number, raw: unknown): Promise<{ result: EntryResult; records: RoutedRecord[] }> {
    let audit: AuditState | undefined;
    let result: EntryResult;
    let failure: KmsError | undefined;
    try {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new KmsError("SerializationException", `Value at 'entries.${index + 1}.member' must be a structure`);
      const input = validate<Record<string, unknown>>(this.op.schema, raw as Record<string, unknown>);
      audit = { draft: this.draft(index, input) };
      // Each entry counts as one request of its kind against the account's quota (docs/quotas.md).
      const charged = chargeOperation(this.facts.env, this.facts.principal.accountId, this.facts.region, this.op, input, this.facts.now);
      if (charged) await charged;
      const tokens = input.GrantTokens as string[] | undefined;
      if (tokens) for (const token of tokens) await this.checkToken(token);
      const ctx = operationContext(this.facts, this.op, input, audit);
      ctx.stubs = this.stubs;
      if (this.op.iamOnly) requireIdentityAllow(ctx, "*");
      result = { Index: index, ...(await this.op.run(ctx, input)) };
    } catch (err) {
      if (!(err instanceof KmsError)) console.error(`request ${this.facts.requestId} entry ${index}: internal error`, err instanceof Error ? err.stack : String(err));
      failure = err instanceof KmsError ? err : new KmsError("KMSInternalException", "An internal error occurred.");
      result = { Index: index, ErrorCode: failure.type, ErrorMessage: failure.message };
    } finally {
      this.stubs.finished();
    }
    // A malformed entry's record has no requestParameters (as a single request's has none).
    audit ??= { draft: this.draft(index, undefined) };
    // A vault completed the entry's records (they are among vaultRecords, as fromVault keeps a
    // single request's), else the one completed here.
    if (audit.recorded || this.completed.has(audit.draft)) return { result, records: [] };
    return { result, records: requestRecords(audit, failure).map(routeRecord) };
  }
}
