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
  | "handover-after-promote";

export class Faults {
  private readonly armed = new Map<FaultPoint, number>();

  /** The next `times` passes through `point` fail. */
  arm(point: FaultPoint, times = 1): void {
    this.armed.set(point, (this.armed.get(point) ?? 0) + times);
  }

  /** Disarms every point. */
  disarm(): void {
    this.armed.clear();
  }

  /** Throws if `point` is armed. */
  hit(point: FaultPoint): void {
    const n = this.armed.get(point) ?? 0;
    if (n <= 0) return;
    this.armed.set(point, n - 1);
    throw new Error(`injected fault: ${point}`);
  }
}
