// Named fault points: a test arms one (through runInDurableObject) to make a Durable Object fail
// at exactly the step an outage or a crash would, so crash safety is tested through the real code
// paths rather than by writing storage in its internal format. Unarmed, a point does nothing.
export type FaultPoint =
  /** R2 refuses the write of a log object (an outage). */
  | "r2-put"
  /** The object is in R2 but the process dies before its rows are deleted. */
  | "after-r2-put"
  /** A forwarded batch (vault outbox, ingest shard) was received, but the sender dies before deleting it. */
  | "after-batch-sent"
  /** The AuditLog cannot store records (its storage refuses the write). */
  | "append"
  /** A multi-Region primary's push to a replica fails (the replica's Region cannot be reached). */
  | "replica-push"
  /** UpdatePrimaryRegion: the primary dies after storing its handover, before the replica is asked to take the role. */
  | "handover-before-promote"
  /** UpdatePrimaryRegion: the primary dies after the replica took the role, before it became a replica itself. */
  | "handover-after-promote"
  /** End of a deletion window: the DeleteKey record is stored, and the vault dies before the key is destroyed. */
  | "after-delete-record";

export const FAULT_POINTS: readonly FaultPoint[] = ["r2-put", "after-r2-put", "after-batch-sent", "append", "replica-push", "handover-before-promote", "handover-after-promote", "after-delete-record"];

export class Faults {
  private readonly armed = new Map<FaultPoint, number>();
  /** Points armed for a period (an outage): every pass fails until this real time. */
  private readonly until = new Map<FaultPoint, number>();
  /** How many passes each point failed (the chaos driver reports retries against an outage). */
  readonly failed = new Map<FaultPoint, number>();

  /** The next `times` passes through `point` fail. */
  arm(point: FaultPoint, times = 1): void {
    this.armed.set(point, (this.armed.get(point) ?? 0) + times);
  }

  /** Every pass through `point` fails for the next `ms` milliseconds of real time. */
  armFor(point: FaultPoint, ms: number): void {
    this.until.set(point, Date.now() + ms);
  }

  /** Disarms every point. */
  disarm(): void {
    this.armed.clear();
    this.until.clear();
  }

  /** Throws if `point` is armed. */
  hit(point: FaultPoint): void {
    const n = this.armed.get(point) ?? 0;
    const outage = (this.until.get(point) ?? 0) > Date.now();
    if (n <= 0 && !outage) return;
    if (!outage) this.armed.set(point, n - 1);
    this.failed.set(point, (this.failed.get(point) ?? 0) + 1);
    throw new Error(`injected fault: ${point}`);
  }
}

/**
 * The chaos driver's commands (bench/chaos.ts, test/e2e/chaos.test.ts; docs/chaos.md), taken by
 * the KeyVault's and the AuditLog's `chaos` method over Durable Object RPC, which no route of the
 * Worker calls. `abort` resets the object as a crash would (ctx.abort()); `clock` moves its clock.
 */
export type ChaosCommand =
  | { op: "arm"; point: FaultPoint; times?: number; forMs?: number }
  | { op: "disarm" }
  | { op: "abort" }
  | { op: "clock"; addMs: number }
  /** AuditLog: its delivery timer fires now (as when DELIVERY_INTERVAL_MS has passed), so that a short run sees a timed delivery. */
  | { op: "deliver-now" }
  /** `rows: false` leaves out the row counts (they read every stored row): for polling. */
  | { op: "stats"; rows?: boolean };

/** What `stats` answers: counts and sizes only, never a record's or a key's contents. */
export interface ChaosStats {
  /** SQLite database size of the object (ctx.storage.sql.databaseSize). */
  dbBytes: number;
  /** Stored rows by key prefix (AuditLog: r: records, u: counters, b: batch marks; KeyVault: audit: outbox); absent for `rows: false`. */
  rows?: Record<string, number>;
  /** Records held in those rows (an AuditLog row holds a commit's records). */
  records?: number;
  clockOffsetMs: number;
  /** Passes each fault point failed since the object started. */
  faultsFailed: Partial<Record<FaultPoint, number>>;
}

/**
 * The hooks answer only where CHAOS = "on": set by the chaos driver and its tests when they start
 * their own server, never in wrangler.toml. Elsewhere (a deployment) every command is refused.
 */
export function chaosAllowed(env: { CHAOS?: string }): boolean {
  return env.CHAOS === "on";
}

/** A hook's answer: the stats asked for, nothing, or why the command was refused (refusals are answers, not exceptions). */
export type ChaosAnswer = { stats?: ChaosStats; refused?: string };

/** Why a command is refused: the hooks are off, or the command is malformed (it crosses an RPC boundary). */
export function chaosRefusal(env: { CHAOS?: string }, cmd: ChaosCommand): string | undefined {
  if (!chaosAllowed(env)) return "chaos hooks are off (CHAOS is not \"on\")";
  if (typeof cmd !== "object" || cmd === null) return "bad chaos command";
  const ok =
    (cmd.op === "arm" && FAULT_POINTS.includes(cmd.point) && (cmd.times === undefined || (Number.isInteger(cmd.times) && cmd.times > 0)) && (cmd.forMs === undefined || (Number.isFinite(cmd.forMs) && cmd.forMs > 0))) ||
    (cmd.op === "clock" && Number.isFinite(cmd.addMs)) ||
    (cmd.op === "stats" && (cmd.rows === undefined || typeof cmd.rows === "boolean")) ||
    cmd.op === "disarm" || cmd.op === "abort" || cmd.op === "deliver-now";
  return ok ? undefined : `bad chaos command: ${JSON.stringify(cmd).slice(0, 200)}`;
}

/** Arms or disarms `faults` for an arm or disarm command. */
export function applyFaultCommand(faults: Faults, cmd: ChaosCommand): void {
  if (cmd.op === "disarm") faults.disarm();
  else if (cmd.op === "arm") {
    if (cmd.forMs !== undefined) faults.armFor(cmd.point, cmd.forMs);
    else faults.arm(cmd.point, cmd.times ?? 1);
  }
}

/** The object's state the chaos driver touches: its fault points and its clock (KeyVault and AuditLog have both). */
export interface ChaosState {
  faults: Faults;
  clockOffsetMs: number;
}

/** What differs per Durable Object (runChaos). */
export interface ChaosHooks {
  /** As a crash would: in-flight calls fail, memory (clock offset, armed faults) is lost, storage stays. */
  abort(): void;
  /** The clock moved forward (after clockOffsetMs changed): alarms set from it are set again. */
  clockMoved?(): Promise<void>;
  /** AuditLog only: its delivery timer fires now. */
  deliverNow?(): Promise<void>;
  /** The object's SQLite size, and with `rows` its stored rows and records by prefix. */
  stats(rows: boolean): Promise<Omit<ChaosStats, "clockOffsetMs" | "faultsFailed">>;
}

/**
 * A chaos command on `state` (the KeyVault's and the AuditLog's chaos() RPC, docs/chaos.md):
 * refused unless CHAOS = "on"; answers counts and sizes only, never a record or material.
 */
export async function runChaos(env: { CHAOS?: string }, state: ChaosState, hooks: ChaosHooks, cmd: ChaosCommand): Promise<ChaosAnswer> {
  const refused = chaosRefusal(env, cmd);
  if (refused) return { refused };
  switch (cmd.op) {
    case "abort":
      hooks.abort();
      return {};
    case "clock":
      state.clockOffsetMs += cmd.addMs;
      await hooks.clockMoved?.();
      return {};
    case "deliver-now":
      if (!hooks.deliverNow) return { refused: "deliver-now is the AuditLog's" };
      await hooks.deliverNow();
      return {};
    case "stats":
      return { stats: { ...(await hooks.stats(cmd.rows !== false)), clockOffsetMs: state.clockOffsetMs, faultsFailed: Object.fromEntries(state.faults.failed) } };
    default:
      applyFaultCommand(state.faults, cmd);
      return {};
  }
}
