// A batch request's entries for one key, in one vault call (docs/batch.md). Each entry runs
// through the very method its single operation calls (encrypt, decrypt, generateDataKey,
// reEncrypt, dryRun), so it is checked as that operation is (the key's existence and state, the
// one authorizer with the entry's own condition keys and grants, usage and algorithm, seal and
// open) and completes its own audit records. The entries run one after another, in request order.
//
// What crosses the RPC is kept small (its serialization is most of a batch's cost otherwise): the
// entries' callers and audit drafts differ only in a few members, so the call carries the batch's
// caller, condition keys and draft once, and each entry only what differs from them; the records
// come back encoded (encodeRecord, once, as a single request's would be), with their AuditLog.
// The entries' byte arguments and results travel in one buffer each way (BytePacker), rather than
// as an ArrayBuffer each.
import { encodeRecord, type AuditDraft, type CloudTrailRecord, type EncodedRecord } from "../audit/record.js";
import type { KeyVault } from "./key-vault.js";
import type { VaultCaller } from "./types.js";

/** The vault methods a batch entry may call: those of Encrypt, Decrypt, GenerateDataKey and ReEncrypt. */
export const BATCH_METHODS = ["encrypt", "decrypt", "generateDataKey", "reEncrypt", "dryRun"] as const;
export type BatchMethod = (typeof BATCH_METHODS)[number];

/** Members that differ from a base object's: those to set, and those it lacks. */
export interface Delta { set?: Record<string, unknown>; unset?: string[] }

/** An entry on the wire: the method its single operation calls, and that call's arguments but the caller, which is a Delta of the batch's (and of its condition keys). */
export interface WireCall {
  method: BatchMethod;
  /** Its byte arguments are null here: `bytes` says where they are in the call's buffer. */
  args: unknown[];
  bytes?: Span[];
  caller: Delta;
  context: Delta;
  /** The members of the caller's audit draft that differ from the batch's. */
  audit?: Delta;
}

/** A batch call's entries: the caller, condition keys and audit draft they share, and each entry. */
export interface BatchCalls {
  caller: Omit<VaultCaller, "audit" | "context">;
  context: VaultCaller["context"];
  draft: AuditDraft;
  calls: WireCall[];
  /** The entries' byte arguments (their WireCall.bytes). */
  bytes: Uint8Array;
}

/** Where one byte member (an argument's index, or a result's member) is in a packed buffer: offset and length. */
export type Span = [member: string | number, offset: number, length: number];

/** Moves the Uint8Array members of objects into one buffer (take), which `unpack` gives back as views. */
export class BytePacker {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** Takes out `values`' own Uint8Array members (set to null), and says where they went. */
  take(of: object): Span[] | undefined {
    const values = of as Record<string | number, unknown>;
    let spans: Span[] | undefined;
    for (const k of Object.keys(values)) {
      const v = values[k];
      if (!(v instanceof Uint8Array)) continue;
      const member = Array.isArray(values) ? Number(k) : k;
      (spans ??= []).push([member, this.length, v.length]);
      this.parts.push(v);
      this.length += v.length;
      values[member] = null;
    }
    return spans;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** Puts the byte members `spans` names back into `values`, as views of `bytes`. */
export function unpack(of: object, spans: Span[] | undefined, bytes: Uint8Array): void {
  const values = of as Record<string | number, unknown>;
  for (const [member, offset, length] of spans ?? []) values[member] = bytes.subarray(offset, offset + length);
}

/** A record encoded once (encodeRecord), with the AuditLog (region and account) it goes to. */
export type RoutedRecord = EncodedRecord & { region: string; account: string };
export const routeRecord = (r: CloudTrailRecord): RoutedRecord => ({ ...encodeRecord(r), region: r.awsRegion, account: r.recipientAccountId });

/**
 * An entry's records as they come back: one line each, `<region>\t<account>\t<key>\t<JSON text>`
 * (JSON.stringify never writes a raw tab or newline), so the RPC carries one string per entry.
 */
export const packRecords = (records: CloudTrailRecord[]): string =>
  records.map((r) => {
    const { key, json } = encodeRecord(r);
    return `${r.awsRegion}\t${r.recipientAccountId}\t${key}\t${json}`;
  }).join("\n");

export function unpackRecords(packed: string): RoutedRecord[] {
  return packed.split("\n").map((line) => {
    const a = line.indexOf("\t"), b = line.indexOf("\t", a + 1), c = line.indexOf("\t", b + 1);
    return { region: line.slice(0, a), account: line.slice(a + 1, b), key: line.slice(b + 1, c), json: line.slice(c + 1) };
  });
}

/**
 * An entry's result (its value's byte members in the reply's buffer, at `bytes`) and its records
 * (packRecords); or the message of what it threw (the entry alone then fails, as an internal error).
 */
export type BatchOutcome = { result: BatchResult; bytes?: Span[]; records?: string } | { thrown: string };
export interface BatchReply { outcomes: BatchOutcome[]; bytes: Uint8Array }
/** What an entry's method returns (its records taken out, into the outcome's). */
type BatchResult = Awaited<ReturnType<KeyVault[BatchMethod]>>;

/** Test hook: how many batch calls a vault instance ran, and how many entries they held. */
export interface BatchStats { calls: number; entries: number }

const isBatchMethod = (m: unknown): m is BatchMethod => (BATCH_METHODS as readonly unknown[]).includes(m);

/** Whether two JSON-like values (strings, booleans, lists and maps of them, as callers hold) are equal. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

const NO_DELTA: Delta = {};

/** What makes `value` of `base` (own keys only, so "__proto__" is a key like any other): applyDelta(base, delta(value, base)) equals value. */
export function delta(value: object, base: object): Delta {
  const v = value as Record<string, unknown>, b = base as Record<string, unknown>;
  let set: Record<string, unknown> | undefined;
  let unset: string[] | undefined;
  for (const k of Object.keys(v)) {
    if (Object.hasOwn(b, k) && same(v[k], b[k])) continue;
    set ??= {};
    if (k === "__proto__") Object.defineProperty(set, k, { value: v[k], enumerable: true, writable: true, configurable: true });
    else set[k] = v[k];
  }
  for (const k of Object.keys(b)) if (!Object.hasOwn(v, k)) (unset ??= []).push(k);
  // Most entries differ in nothing: they share one empty delta (sent once).
  return set ? (unset ? { set, unset } : { set }) : unset ? { unset } : NO_DELTA;
}

/** `base` with `d` applied: a new object, or `base` itself when `d` changes nothing (callers never write to these objects). */
export function applyDelta<T extends object>(base: T, d: Delta | undefined): T {
  if (!d?.set && !d?.unset) return base;
  const out: Record<string, unknown> = { ...base, ...d.set };
  for (const k of d.unset ?? []) delete out[k];
  return out as T;
}

export async function runBatch(vault: Pick<KeyVault, BatchMethod>, batch: BatchCalls, stats: BatchStats): Promise<BatchReply> {
  stats.calls++;
  stats.entries += batch.calls.length;
  const outcomes: BatchOutcome[] = [];
  const packer = new BytePacker();
  for (const { method, args, bytes, caller, context, audit } of batch.calls) {
    try {
      if (!isBatchMethod(method)) throw new Error(`${String(method)} is not a batch method`);
      const full: VaultCaller = { ...applyDelta(batch.caller, caller), context: applyDelta(batch.context, context) };
      if (audit) full.audit = applyDelta(batch.draft, audit);
      unpack(args, bytes, batch.bytes);
      args.unshift(full);
      const run = vault[method] as (...a: unknown[]) => Promise<BatchResult>;
      const { records, ...result } = await run.apply(vault, args);
      const spans = result.ok && typeof result.value === "object" && result.value !== null ? packer.take(result.value) : undefined;
      outcomes.push({ result: result as BatchResult, ...(spans ? { bytes: spans } : {}), ...(records ? { records: packRecords(records) } : {}) });
    } catch (e) {
      console.error("batch entry failed", e instanceof Error ? e.stack : String(e));
      outcomes.push({ thrown: e instanceof Error ? e.message : String(e) });
    }
  }
  return { outcomes, bytes: packer.bytes() };
}
