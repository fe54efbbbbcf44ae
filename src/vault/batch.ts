// A batch request's entries for one key, in one vault call (docs/batch.md). Each entry runs
// through the very method its single operation calls (encrypt, decrypt, generateDataKey,
// reEncrypt, dryRun), so it is checked as that operation is (the key's existence and state, the
// one authorizer with the entry's own condition keys and grants, usage and algorithm, seal and
// open) and completes its own audit records. The entries run one after another, in request order.
//
// What crosses the RPC is kept cheap to serialize, since structured clone costs per object and
// per member (it was most of a batch's cost): a call's entries, and the reply's outcomes, travel
// as a Table, by column rather than by row. Entries of one key share most of what they send
// (the caller, its identity policies, most condition keys, most of the audit draft), and a
// column whose value is the same in every entry goes once. A column of objects of one shape is
// itself sent by column, so only what differs per entry (its event id and batch index, its
// plaintext) goes per entry; the byte members (plaintexts, ciphertexts) travel in one buffer.
// The records come back encoded (encodeRecord, once, as a single request's would be), joined
// into rows, one per AuditLog and per group (the entries of one request, when concurrent
// requests share the call: src/operations/batch-queue.ts), which the Worker appends as they are.
import { encodeRecord, joinRecords, recordKey, type CloudTrailRecord, type EncodedRecord } from "../audit/record.js";
import { MAX_ROW_CHARS } from "./group-commit.js";
import type { KeyVault } from "./key-vault.js";
import type { VaultCaller } from "./types.js";
import { batchGroupSteps, type MatchBudget } from "../policy/conditions.js";

/** The vault methods a batch entry may call: those of Encrypt, Decrypt, GenerateDataKey and ReEncrypt. */
export const BATCH_METHODS = ["encrypt", "decrypt", "generateDataKey", "reEncrypt", "dryRun"] as const;
export type BatchMethod = (typeof BATCH_METHODS)[number];

/**
 * Rows (objects of one shape, or arrays of one length) by member: each member's name, its kind
 * (one letter of `kinds` per member) and its column, which by kind is:
 * - `k`: the one value every row has (equal as JSON values are), sent once;
 * - `v`: a list of each row's value;
 * - `o`: a Table of the rows' values, plain objects with the same member names in the same order;
 * - `a`: a Table of the rows' values, arrays of one length (the members are the indexes);
 * - `b`: a list of the lengths of the rows' values, Uint8Arrays, whose bytes are in the message's
 *   buffer one after another: in the order the columns are read (depth first), and within a
 *   column in row order.
 * - `r`: runs of rows that share one object: `[lengths, kind, col]`, the length of each run and
 *   the column (of that kind) of the runs' objects, one per run.
 * A constant member costs its name and its value; only what differs between rows goes per row.
 */
export interface Table { keys: string[]; kinds: string; cols: unknown[] }

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Whether two JSON-like values (strings, numbers, booleans, null, lists and maps of them) are equal, maps with their members in the same order. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  // Only plain objects compare by members: bytes never count as equal (each row keeps its own).
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !same(a[ka[i]], b[ka[i]])) return false;
  return true;
}

/** Whether `v` is a plain object (or, `array` set, an array without holes) whose members are exactly `keys`, in that order. */
function sameShape(v: unknown, keys: string[], array: boolean): boolean {
  if (array) {
    if (!Array.isArray(v) || v.length !== keys.length) return false;
    for (let i = 0; i < v.length; i++) if (!(i in v)) return false;
    return true;
  }
  if (!isPlainObject(v)) return false;
  // for…in lists a plain object's own enumerable members in order (its prototype has none), without a list made.
  let i = 0;
  for (const k in v) if (k !== keys[i++]) return false;
  return i === keys.length;
}

/** Whether every value is the first (the same object, or an equal primitive). */
function allIdentical(values: readonly unknown[]): boolean {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return false;
  return true;
}

/** The lengths of the runs of one value (the same object) in `values`, when there are at most half as many runs as values. */
function runLengths(values: readonly unknown[]): number[] | undefined {
  const lengths: number[] = [];
  let length = 1;
  for (let i = 1; i < values.length; i++) {
    if (values[i] === values[i - 1]) {
      length++;
      continue;
    }
    lengths.push(length);
    if (lengths.length * 2 >= values.length) return undefined;
    length = 1;
  }
  lengths.push(length);
  return lengths.length * 2 <= values.length ? lengths : undefined;
}

/** Whether a Table's members are all constant (kind `k`). */
function allConstant(kinds: string): boolean {
  for (let i = 0; i < kinds.length; i++) if (kinds.charCodeAt(i) !== 107 /* k */) return false;
  return true;
}

/** Writes rows as a Table, their byte members into one buffer. */
export class TableWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** `rows`: objects of one shape, or arrays of one length (the caller makes them so). */
  table(rows: readonly unknown[]): Table {
    const first = rows[0] as object;
    const keys = Object.keys(first);
    const t: Table = { keys, kinds: "", cols: new Array(keys.length) };
    // Each row's values in member order: one Object.values per row rather than a load by name per
    // member (a load by a varying name, over rows of many shapes, is slow; rows are of one shape,
    // so the orders agree).
    const vals = Array.isArray(first) ? (rows as unknown[][]) : rows.map((r) => Object.values(r as object));
    for (let c = 0; c < keys.length; c++) {
      const values: unknown[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) values[i] = vals[i][c];
      this.column(t, c, values);
    }
    return t;
  }

  /** Member `c` of `t`: its kind and what goes of it. */
  private column(t: Table, c: number, values: unknown[]): void {
    const [kind, col] = this.encode(values);
    t.kinds += kind;
    t.cols[c] = col;
  }

  /** A column's values: their kind and what goes of them. Each value is looked at once, however deep it is. */
  private encode(values: unknown[]): [kind: string, col: unknown] {
    const first = values[0];
    if (first instanceof Uint8Array) {
      // Bytes always go in the buffer: only their own bytes are copied (a view's whole ArrayBuffer would be).
      return values.every((v) => v instanceof Uint8Array) ? ["b", this.take(values as Uint8Array[])] : ["v", values];
    }
    // The same value (or object) in every row: most members of a batch's entries.
    if (allIdentical(values)) return ["k", first];
    if (!Array.isArray(first) && !isPlainObject(first)) return ["v", values];
    // Runs of one object (the rows of one request share their condition keys): each run's object
    // goes once, and the rows of a run share it again.
    const lengths = runLengths(values);
    if (lengths) {
      const heads: unknown[] = new Array(lengths.length);
      for (let r = 0, i = 0; r < lengths.length; i += lengths[r++]) heads[r] = values[i];
      const [kind, col] = this.encode(heads);
      return kind === "k" ? [kind, col] : ["r", [lengths, kind, col]];
    }
    const array = Array.isArray(first);
    const keys = Object.keys(first);
    // Only rows of one shape go by member: a row's members are then rebuilt in their order.
    if (values.every((v) => sameShape(v, keys, array))) {
      const sub = this.table(values);
      // Equal in every row, member by member (so no bytes among them): the value goes once.
      return allConstant(sub.kinds) ? ["k", first] : [array ? "a" : "o", sub];
    }
    return values.every((v) => same(v, first)) ? ["k", first] : ["v", values];
  }

  private take(values: Uint8Array[]): number[] {
    const lengths: number[] = [];
    for (const v of values) {
      lengths.push(v.length);
      this.parts.push(v);
      this.length += v.length;
    }
    return lengths;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** Reads a Table's `n` rows back; byte members are views of `bytes`. */
export class TableReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  rows(t: Table, n: number, array = false): unknown[] {
    const { keys, kinds, cols } = t;
    if (!Array.isArray(keys) || typeof kinds !== "string" || !Array.isArray(cols) || kinds.length !== keys.length || cols.length !== keys.length) throw new Error("batch table: malformed");
    // A template of the rows: every member in its order (a record's JSON text depends on it),
    // the constant ones at their value. Each row is a copy with its own values set over it.
    // "__proto__" can be a member of a map a caller filled (an encryption context): it is made
    // an own member of the template, which the copies keep as their own (so that setting it
    // sets that member, never the prototype).
    // An array's members are set by index (its member names are the indexes, in order).
    const template: Record<string | number, unknown> = array ? (new Array(keys.length) as unknown as Record<number, unknown>) : {};
    const varyingKeys: (string | number)[] = [];
    const varyingValues: unknown[][] = [];
    for (let c = 0; c < keys.length; c++) {
      const key = array ? c : keys[c];
      const value = kinds[c] === "k" ? cols[c] : undefined;
      if (key === "__proto__") Object.defineProperty(template, key, { value, enumerable: true, writable: true, configurable: true });
      else template[key] = value;
      if (kinds[c] !== "k") {
        varyingKeys.push(key);
        varyingValues.push(this.values(kinds[c], cols[c], n));
      }
    }
    const rows: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const row = array ? (template as unknown as unknown[]).slice() as unknown as Record<string | number, unknown> : { ...template };
      for (let v = 0; v < varyingKeys.length; v++) row[varyingKeys[v]] = varyingValues[v][i];
      rows[i] = row;
    }
    return rows;
  }

  private values(kind: string, col: unknown, n: number): unknown[] {
    if (kind === "o" || kind === "a") return this.rows(col as Table, n, kind === "a");
    if (kind === "r") {
      if (!Array.isArray(col) || col.length !== 3 || !Array.isArray(col[0]) || typeof col[1] !== "string") throw new Error("batch table: malformed runs");
      const lengths = col[0] as unknown[];
      let total = 0;
      for (const l of lengths) total += Number.isInteger(l) && (l as number) > 0 ? (l as number) : NaN;
      if (total !== n) throw new Error("batch table: runs do not add up to the rows");
      const heads = this.values(col[1], col[2], lengths.length);
      const out: unknown[] = new Array(n);
      for (let r = 0, i = 0; r < lengths.length; r++) for (let end = i + (lengths[r] as number); i < end; i++) out[i] = heads[r];
      return out;
    }
    if (!Array.isArray(col) || col.length !== n) throw new Error("batch table: column length");
    if (kind === "v") return col;
    if (kind !== "b") throw new Error("batch table: unknown column kind");
    return col.map((length: number) => {
      if (this.offset + length > this.bytes.length) throw new Error("batch table: bytes out of range");
      const v = this.bytes.subarray(this.offset, this.offset + length);
      this.offset += length;
      return v;
    });
  }
}

/**
 * Records encoded once (encodeRecord), with the AuditLog (region and account) they go to: one
 * record, or a row of several (their JSON texts joined by newlines, joinRecords, under the first
 * one's key), as the AuditLog takes them.
 */
export type RoutedRecord = EncodedRecord & { region: string; account: string };
export const routeRecord = (r: CloudTrailRecord): RoutedRecord => ({ ...encodeRecord(r), region: r.awsRegion, account: r.recipientAccountId });

/**
 * The records of a batch call's entries as rows, per AuditLog, in entry order: each row at most
 * MAX_ROW_CHARS characters of JSON text. So a batch's records cross the RPC, and reach their
 * AuditLog, as a few long strings rather than one string or object per record.
 */
class RecordRows {
  private readonly open = new Map<string, { row: RoutedRecord; lines: string[]; chars: number }>();
  private readonly done: RoutedRecord[] = [];

  add(records: CloudTrailRecord[]): void {
    for (const r of records) {
      // A row's key is its first record's (recordKey), made only for that one.
      const json = JSON.stringify(r);
      const log = `${r.awsRegion}\t${r.recipientAccountId}`;
      let row = this.open.get(log);
      if (row && row.chars + json.length + 1 > MAX_ROW_CHARS) {
        this.close(row);
        row = undefined;
      }
      if (!row) this.open.set(log, (row = { row: { region: r.awsRegion, account: r.recipientAccountId, key: recordKey(r), json: "" }, lines: [], chars: 0 }));
      row.lines.push(json);
      row.chars += json.length + 1;
    }
  }

  private close(row: { row: RoutedRecord; lines: string[] }): void {
    row.row.json = joinRecords(row.lines);
    this.done.push(row.row);
  }

  rows(): RoutedRecord[] {
    for (const row of this.open.values()) this.close(row);
    this.open.clear();
    return this.done;
  }
}

/**
 * The version of a batch call and its reply (docs/batch.md, "How a batch runs"). A Worker and a
 * vault of different versions (during a deployment) refuse each other's messages, and the
 * entries fail as internal errors, rather than read them wrongly. Version 1 was the per-entry
 * deltas of the first batch design, which carried no version; version 2 had no groups (one
 * request's entries per call) and one list of record rows; version 3 had no runs (kind `r`).
 */
export const BATCH_WIRE_VERSION = 4;

/** An entry: the vault method its single operation calls, and that call's arguments (the caller, with its audit draft, first). */
export interface BatchEntry { method: BatchMethod; args: unknown[] }
/**
 * A batch call: its `count` entries (BatchEntry rows) as a Table, their byte members in `bytes`;
 * `groups` the number of entries of each request the call carries, in entry order (several
 * concurrent batch requests' entries for one key can share a call: src/operations/batch-queue.ts),
 * so that each request takes back only its own entries' records.
 */
export interface BatchCalls { version: typeof BATCH_WIRE_VERSION; count: number; groups: number[]; entries: Table; bytes: Uint8Array }

/** What an entry's method returns (its records taken out, into the reply's rows). */
type BatchResult = Awaited<ReturnType<KeyVault[BatchMethod]>>;
/**
 * An entry's outcome: its result and how many records the vault completed for it (in the reply's
 * `records`; none, and the Worker completes the entry's record); or, instead, the message of what
 * it threw (the entry alone then fails, as an internal error). Every member is always present,
 * so that outcomes are rows of one shape.
 */
export interface BatchOutcome { result: BatchResult | undefined; records: number; thrown: string | undefined }
/**
 * A batch call's reply: its outcomes (BatchOutcome rows, in entry order) as a Table, their byte
 * members in `bytes`, and the records the vault completed for its entries, as rows: one list of
 * rows per group of the call (a row never holds two groups' records).
 */
export interface BatchReply { version: typeof BATCH_WIRE_VERSION; outcomes: Table; bytes: Uint8Array; records: RoutedRecord[][] }

/** Test hook: how many batch calls a vault instance ran, and how many entries they held. */
export interface BatchStats { calls: number; entries: number }

const isBatchMethod = (m: unknown): m is BatchMethod => (BATCH_METHODS as readonly unknown[]).includes(m);

/** A batch call's entries as the Table they travel as; `groups` as in BatchCalls (one group by default). */
export function writeCalls(entries: readonly BatchEntry[], groups: number[] = [entries.length]): BatchCalls {
  const w = new TableWriter();
  const table = w.table(entries);
  return { version: BATCH_WIRE_VERSION, count: entries.length, groups, entries: table, bytes: w.bytes() };
}

/** A call's groups: positive whole numbers of entries that add up to its count. */
function checkGroups(batch: BatchCalls): number[] {
  const { groups, count } = batch;
  let sum = 0;
  if (Array.isArray(groups)) for (const n of groups) sum += Number.isInteger(n) && n > 0 ? n : NaN;
  if (!Array.isArray(groups) || sum !== count) throw new Error("batch call: its groups do not add up to its entries");
  return groups;
}

function checkVersion(message: { version?: unknown }, what: string): void {
  if (message.version !== BATCH_WIRE_VERSION) throw new Error(`batch ${what} of version ${String(message.version ?? 1)}, not ${BATCH_WIRE_VERSION}`);
}

/** The outcomes of a batch call's reply, in entry order. */
export function readReply(reply: BatchReply, count: number): BatchOutcome[] {
  checkVersion(reply, "reply");
  return new TableReader(reply.bytes).rows(reply.outcomes, count) as unknown as BatchOutcome[];
}

/**
 * Runs a batch call's entries. `budgets` (the vault's) gets each entry's caller object and its
 * group's MatchBudget: a group's authorizations share batchGroupSteps(its entries) steps.
 */
export async function runBatch(vault: Pick<KeyVault, BatchMethod>, batch: BatchCalls, stats: BatchStats, budgets?: WeakMap<object, MatchBudget>): Promise<BatchReply> {
  checkVersion(batch, "call");
  const groups = checkGroups(batch);
  stats.calls++;
  stats.entries += batch.count;
  const entries = new TableReader(batch.bytes).rows(batch.entries, batch.count) as unknown as BatchEntry[];
  const outcomes: BatchOutcome[] = [];
  const rows: RoutedRecord[][] = [];
  let records = new RecordRows();
  let group = 0, left = groups[0];
  let budget: MatchBudget = { left: batchGroupSteps(groups[0]!) };
  for (const { method, args } of entries) {
    if (left === 0) {
      rows.push(records.rows());
      records = new RecordRows();
      left = groups[++group];
      budget = { left: batchGroupSteps(left) };
    }
    left--;
    try {
      if (!isBatchMethod(method)) throw new Error(`${String(method)} is not a batch method`);
      if (!Array.isArray(args) || !isPlainObject(args[0])) throw new Error("a batch entry's first argument is its caller");
      // Each entry's own caller object: the vault notes what allowed a call by its caller object
      // (its record's authorization), and a column sent once is one object shared by the rows.
      args[0] = { ...(args[0] as unknown as VaultCaller) };
      budgets?.set(args[0] as object, budget);
      const run = vault[method] as (...a: unknown[]) => Promise<BatchResult>;
      const { records: completed, ...result } = await run.apply(vault, args);
      if (completed) records.add(completed);
      outcomes.push({ result: result as BatchResult, records: completed?.length ?? 0, thrown: undefined });
    } catch (e) {
      console.error("batch entry failed", e instanceof Error ? e.stack : String(e));
      outcomes.push({ result: undefined, records: 0, thrown: e instanceof Error ? e.message : String(e) });
    }
  }
  rows.push(records.rows());
  const w = new TableWriter();
  return { version: BATCH_WIRE_VERSION, outcomes: w.table(outcomes), bytes: w.bytes(), records: rows };
}
