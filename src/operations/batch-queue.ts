// Batch vault calls shared across concurrent batch requests (docs/batch.md, "Calls shared between
// requests"). A vault call costs the runtime about as much again as a batch's entries for that key
// (its RPC: serialization, the event loop, GC; docs/benchmarks.md), so per isolate and per key at
// most one batch call is in flight: the groups of entries that batch requests send for that key
// meanwhile wait, and go together in the next call. Each group is one request's entries for the
// key, whole; the call says where each group ends, the vault completes each group's records in
// rows of their own, and each request takes back only its own outcomes and records (and stores
// them itself before it answers, as without sharing).
//
// Which request makes a call, and how a waiting request learns of its answer, matter in the
// Workers runtime, where I/O belongs to the request that started it:
// - the request that makes a call awaits it itself, and holds it with waitUntil, so that its
//   client hanging up does not cancel the other groups' entries (on Cloudflare's network for up to
//   30 s after the response: https://developers.cloudflare.com/workers/runtime-apis/context/);
// - a request whose group another request's call carries, or that waits for the next call, never
//   awaits a promise that the other request settles. It sleeps on timers of its own and looks at
//   its group again; when no call is in flight it makes the next call itself. Resuming a request
//   from another request's promise (cross-request promise resolution) was measured to strand it
//   here: in workerd 1.20260730.1 (this project's test runtime) such a request's later I/O, its audit
//   append, never completed, nor did its own timers.
// So no request makes calls for others after it has answered, and every wait is its own.
import { waitUntil } from "cloudflare:workers";
import type { Env } from "../env.js";
import { vaultStub } from "../placement.js";
import { readReply, writeCalls, type BatchCalls, type BatchEntry, type BatchOutcome, type BatchReply, type RoutedRecord } from "../vault/batch.js";

/**
 * Entries a shared call takes from the waiting groups (a group is never split; the first always
 * goes, and one request's entries for a key are at most MAX_BATCH_ENTRIES). Bounds a call's
 * message and the time a vault spends on one call.
 */
export const MAX_SHARED_CALL_ENTRIES = 1000;

/** How long a request waits before its first calls, so that groups added meanwhile go with its own: one turn of the event loop. */
export const LINGER_MS = 0;
/** How long a waiting request sleeps at most between looks at its groups (it starts at 0 ms and doubles). */
export const MAX_POLL_MS = 4;
/**
 * A call with no answer after this long is taken for dead (the request that made it is gone), and
 * so is a group whose request has not looked at it for this long: it leaves the queue. A group
 * sent this long ago without an answer fails.
 */
export const MAX_WAIT_MS = 60_000;
/**
 * A call takes only groups whose request looked at them this recently: a request whose client
 * went away stops looking, and its entries are not run for nobody. (A live request whose group
 * was passed over sends it itself, having just looked.)
 */
export const STALE_GROUP_MS = 1_000;

/** One request's entries for a key: its outcomes, in entry order, and its records, as rows. */
export interface GroupAnswer { outcomes: BatchOutcome[]; records: RoutedRecord[] }
export type GroupOutcome = { answer: GroupAnswer } | { error: unknown };

interface Group {
  readonly entries: BatchEntry[];
  /** When its request last looked at it (Date.now()). */
  seen: number;
  /** When a call (made by this group's request or another's) took it. */
  sentAt?: number;
  /** Set by whichever request made the call; read by the group's own request. */
  outcome?: GroupOutcome;
}

type Send = (calls: BatchCalls) => Promise<BatchReply>;

/** One key's batch calls in this isolate: at most one in flight, and the groups waiting for the next. */
export class KeyCalls {
  /** The call in flight: when it started (each call its own object, so a late end never clears a newer one). */
  private current: { startedAt: number } | undefined;
  private waiting: Group[] = [];

  /** `send` makes the vault call, in the request that makes the call; `idle` is told when nothing is in flight or waiting. */
  constructor(private readonly send: Send, private readonly idle: () => void = () => undefined) {}

  /** Test hook: groups waiting for the next call. */
  get waitingGroups(): number {
    return this.waiting.length;
  }

  /** A request's entries for the key, waiting for a call (submitAll). */
  add(entries: BatchEntry[], now = Date.now()): Group {
    const group: Group = { entries, seen: now };
    this.waiting.push(group);
    return group;
  }

  /**
   * When no call is in flight (or the one in flight is taken for dead) and live groups wait: the
   * next call, made in this request, which awaits it.
   */
  startIfIdle(now = Date.now()): Promise<void> | undefined {
    if (this.current && now - this.current.startedAt <= MAX_WAIT_MS) return undefined;
    // Groups whose request stopped looking long ago are gone with it.
    if (this.waiting.some((g) => now - g.seen > MAX_WAIT_MS)) this.waiting = this.waiting.filter((g) => now - g.seen <= MAX_WAIT_MS);
    const groups: Group[] = [];
    let entries = 0;
    for (let i = 0; i < this.waiting.length;) {
      const g = this.waiting[i];
      if (now - g.seen > STALE_GROUP_MS) { i++; continue; }
      if (groups.length > 0 && entries + g.entries.length > MAX_SHARED_CALL_ENTRIES) break;
      this.waiting.splice(i, 1);
      groups.push(g);
      entries += g.entries.length;
    }
    if (groups.length === 0) {
      if (!this.current && this.waiting.length === 0) this.idle();
      return undefined;
    }
    for (const g of groups) g.sentAt = now;
    const mine = { startedAt: now };
    this.current = mine;
    const call = (async () => {
      try {
        const all = groups.length === 1 ? groups[0].entries : groups.flatMap((g) => g.entries);
        answer(groups, await this.send(writeCalls(all, groups.map((g) => g.entries.length))), all.length);
      } catch (e) {
        fail(groups, e);
      } finally {
        if (this.current === mine) this.current = undefined;
        if (!this.current && this.waiting.length === 0) this.idle();
      }
    })();
    hold(call);
    return call;
  }
}

/** A request's entries for one key, and what to do with their outcome (called in that request). */
export interface Submission { calls: KeyCalls; entries: BatchEntry[]; settle(outcome: GroupOutcome): void }

/**
 * One request's groups (at most one per key), each carried by a call this request makes or by
 * another request's; settles each as its answer comes (or fails it: MAX_WAIT_MS after it was sent).
 * Every wait here is this request's own: its calls, or a timer.
 */
export async function submitAll(submissions: readonly Submission[]): Promise<void> {
  const open = submissions.map((s) => ({ s, g: s.calls.add(s.entries) }));
  // A turn of the event loop goes by before the first calls: groups that requests arriving
  // meanwhile add go in the same calls (docs/benchmarks.md: fewer, larger calls).
  await new Promise((woken) => setTimeout(woken, LINGER_MS));
  const mine = new Set<Promise<void>>();
  for (let sleep = 0; ;) {
    const now = Date.now();
    for (const { s, g } of open) {
      g.seen = now;
      if (g.sentAt !== undefined) continue;
      const call = s.calls.startIfIdle(now);
      if (call) {
        mine.add(call);
        void call.then(() => mine.delete(call));
      }
    }
    for (let i = 0; i < open.length;) {
      const { s, g } = open[i];
      let outcome = g.outcome;
      if (outcome === undefined && g.sentAt !== undefined && now - g.sentAt > MAX_WAIT_MS) outcome = { error: new Error("batch call: no answer from the request that made it") };
      if (outcome === undefined) { i++; continue; }
      open.splice(i, 1);
      try {
        s.settle(outcome);
      } catch (e) {
        console.error("batch group: settling failed", e instanceof Error ? e.stack : String(e));
      }
    }
    if (open.length === 0) return;
    // Our own calls end this wait when they end; otherwise a timer of ours, growing.
    if (mine.size > 0) await Promise.race([...mine, new Promise((woken) => setTimeout(woken, MAX_POLL_MS))]);
    else {
      await new Promise((woken) => setTimeout(woken, sleep));
      sleep = Math.min(Math.max(1, sleep * 2), MAX_POLL_MS);
    }
  }
}

function answer(groups: Group[], reply: BatchReply, count: number): void {
  let outcomes: BatchOutcome[];
  try {
    outcomes = readReply(reply, count);
    if (!Array.isArray(reply.records) || reply.records.length !== groups.length) throw new Error("batch reply: one list of records per group expected");
  } catch (e) {
    return fail(groups, e);
  }
  let at = 0;
  for (const [i, g] of groups.entries()) {
    const n = g.entries.length;
    g.outcome = { answer: { outcomes: groups.length === 1 ? outcomes : outcomes.slice(at, at + n), records: reply.records[i] } };
    at += n;
  }
}

function fail(groups: Group[], e: unknown): void {
  for (const g of groups) g.outcome = { error: e };
}

/** The call outlives a client that hangs up (waitUntil); outside a request (some tests) it simply runs on. */
function hold(p: Promise<void>): void {
  try {
    waitUntil(p);
  } catch {
    // no request context
  }
}

/** Per isolate: each Env's keys with batch calls in flight or waiting, by region and key id (an idle key's entry goes). */
const queues = new WeakMap<Env, Map<string, KeyCalls>>();

/** The batch calls of key `keyId` in `region` of this isolate. */
export function keyCalls(env: Env, region: string, keyId: string): KeyCalls {
  let keys = queues.get(env);
  if (!keys) queues.set(env, (keys = new Map()));
  const name = `${region}\n${keyId}`;
  let calls = keys.get(name);
  if (!calls) {
    const send: Send = (c) => (vaultStub(env, region, keyId) as unknown as { cryptoBatch(calls: BatchCalls): Promise<BatchReply> }).cryptoBatch(c);
    const mine = keys;
    const made: KeyCalls = new KeyCalls(send, () => { if (mine.get(name) === made) mine.delete(name); });
    keys.set(name, (calls = made));
  }
  return calls;
}
