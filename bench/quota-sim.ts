// The request-rate limiter across many isolates, simulated in Node (bench:quotas, docs/quotas.md):
// N isolates each run the Worker's own AccountLimiter (src/quota/limiter.ts), and report to one
// UsageBoard (the QuotaCounter's) over a simulated network of `latencyMs` each way, on virtual time.
// Requests arrive at random times and go to a random isolate (or as the scenario says). It
// measures how far the isolates together go over the quota, and how much they throttle below it.
import { AccountLimiter, SYNC_MS, UsageBoard, type QuotaReply } from "../src/quota/limiter.ts";

export interface Arrival { at: number; isolate: number }

/** A seeded PRNG (mulberry32), so each run of the table is the same. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rate` requests a second from `from` to `to` (ms), at uniform random times, each to a random isolate of `isolates` (or to `only`). */
export function arrivals(random: () => number, rate: number, from: number, to: number, isolates: number, only?: number): Arrival[] {
  const n = Math.round((rate * (to - from)) / 1000);
  return Array.from({ length: n }, () => ({ at: from + random() * (to - from), isolate: only ?? Math.floor(random() * isolates) }));
}

type Event = { at: number; seq: number; run: () => void };

/** A binary min-heap of events by time (ties in order of scheduling). */
class Queue {
  private readonly h: Event[] = [];
  get size(): number { return this.h.length; }
  private less(i: number, j: number): boolean { return this.h[i].at < this.h[j].at || (this.h[i].at === this.h[j].at && this.h[i].seq < this.h[j].seq); }
  private swap(i: number, j: number): void { [this.h[i], this.h[j]] = [this.h[j], this.h[i]]; }
  push(e: Event): void {
    this.h.push(e);
    for (let i = this.h.length - 1; i > 0 && this.less(i, (i - 1) >> 1); i = (i - 1) >> 1) this.swap(i, (i - 1) >> 1);
  }
  peek(): Event { return this.h[0]; }
  pop(): Event {
    const top = this.h[0];
    const last = this.h.pop()!;
    if (this.h.length) {
      this.h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.h.length && this.less(l, m)) m = l;
        if (r < this.h.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Runs the arrivals through `isolates` limiters of one quota `quota`; returns the admission times. */
export async function simulate(opts: { isolates: number; quota: number; latencyMs: number; syncMs?: number; arrivals: Arrival[] }): Promise<number[]> {
  const syncMs = opts.syncMs ?? SYNC_MS;
  const board = new UsageBoard(2 * syncMs + 500);
  const queue = new Queue();
  let seq = 0;
  let now = 0;
  const at = (t: number, run: () => void) => queue.push({ at: t, seq: seq++, run });
  const limiters = Array.from({ length: opts.isolates }, (_, i) => new AccountLimiter({
    // The report reaches the counter after latencyMs, and its answer the isolate after as long again.
    report: (counts, interval) => new Promise<QuotaReply>((resolve) => {
      at(now + opts.latencyMs, () => {
        const usage = board.report(`isolate-${i}`, counts, interval, now);
        at(now + opts.latencyMs, () => resolve({ quotas: {}, ...usage }));
      });
    }),
    limitOf: () => opts.quota,
    syncMs,
  }));
  const admitted: number[] = [];
  for (const a of opts.arrivals) {
    at(a.at, () => {
      const r = limiters[a.isolate].charge("Q", 1, now, () => {});
      if (typeof r === "number") {
        if (r) admitted.push(now);
      } else {
        void r.then((n) => {
          if (n) admitted.push(now);
        });
      }
    });
  }
  while (queue.size) {
    now = queue.peek().at;
    while (queue.size && queue.peek().at === now) queue.pop().run();
    // Let the continuations of what just happened (a report's answer) run at this virtual time before it moves on.
    await new Promise((r) => setImmediate(r));
  }
  return admitted.sort((x, y) => x - y);
}

/** Admissions within [from, from + 1 s). */
export const inSecond = (times: number[], from: number): number => times.filter((t) => t >= from && t < from + 1000).length;

/** The most admissions in any one-second window (sliding). */
export function maxPerSecond(times: number[]): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export interface AccuracyRow { isolates: number; coldBurst: number; warmBurst: number; overloadMax: number; overloadMean: number; underQuota: number; shift: number }

/**
 * The scenarios of docs/quotas.md for N isolates and a quota of `quota`, as multiples of the
 * quota (how far over it the isolates together go) or of the demand (how much they throttle
 * below it). Requests go to a random isolate each:
 * - coldBurst: 10× the quota within 100 ms, to isolates that have never seen the account:
 *   admitted in that second;
 * - warmBurst: the same burst after 10 s at 10% of the quota;
 * - overloadMax / overloadMean: after 10 s at 50%, 3× the quota for 10 s: the busiest one-second
 *   window, and the mean admitted per second from its second second on;
 * - underQuota: after 10 s at 50%, 80% of the quota for 10 s: admitted ÷ demand (1: none throttled);
 * - shift: 80% of the quota spread over all isolates for 10 s, then all of it on one isolate:
 *   admitted ÷ demand in the second after the move.
 * A single bucket, for comparison, admits a burst of 1 s of the quota plus what it refills
 * meanwhile (1.1× for a 100 ms burst), and in its busiest second up to 2× (a full bucket, then a
 * second of refill): the token bucket's own allowance, not an error of the sharing.
 */
export async function accuracy(isolates: number, quota: number, latencyMs: number, syncMs = SYNC_MS, seed = 1): Promise<AccuracyRow> {
  const r = rng(seed);
  const run = (a: Arrival[]) => simulate({ isolates, quota, latencyMs, syncMs, arrivals: a });
  const spread = (rate: number, from: number, to: number) => arrivals(r, quota * rate, from, to, isolates);
  const WARM = 10_000;
  const cold = await run(spread(100, 0, 100));
  const warm = await run([...spread(0.1, 0, WARM), ...spread(100, WARM, WARM + 100)]);
  const over = (await run([...spread(0.5, 0, WARM), ...spread(3, WARM, 2 * WARM)])).filter((t) => t >= WARM);
  const under = spread(0.8, WARM, 2 * WARM);
  const underAdmitted = (await run([...spread(0.5, 0, WARM), ...under])).filter((t) => t >= WARM);
  const shifted = await run([...spread(0.8, 0, WARM), ...arrivals(r, quota * 0.8, WARM, WARM + 1000, isolates, 0)]);
  const perSecond = Array.from({ length: 9 }, (_, s) => inSecond(over, WARM + 1000 * (s + 1)));
  return {
    isolates,
    coldBurst: inSecond(cold, 0) / quota,
    warmBurst: inSecond(warm, WARM) / quota,
    overloadMax: maxPerSecond(over) / quota,
    overloadMean: perSecond.reduce((a, b) => a + b, 0) / perSecond.length / quota,
    underQuota: underAdmitted.length / under.length,
    shift: inSecond(shifted, WARM) / (quota * 0.8),
  };
}

export { SYNC_MS };
