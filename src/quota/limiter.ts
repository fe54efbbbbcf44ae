// The request-rate limiter's logic, with no I/O (docs/quotas.md):
// - each isolate keeps one token bucket per account, region and quota (AccountLimiter), and
//   decides every request from it alone;
// - in the background, at most every SYNC_MS, it reports its recent demand per quota to the
//   account-region's counter (a Durable Object around a UsageBoard) and learns the account's
//   configured quotas, the total demand of every isolate and how many isolates share it; from
//   these it sets its own bucket's rate (its allotment), so that the isolates' allotments add up
//   to the quota.
// src/quota/enforce.ts wires it to the Worker (the counter's stub, waitUntil); bench/quotas.ts
// runs the same code for many simulated isolates to measure its accuracy. It imports nothing, so
// Node runs it as it is.

/** An isolate reports its demand to the counter at most this often (and only while it has requests). */
export const SYNC_MS = 1000;
/** A report older than this no longer counts towards the demand of its isolate (it has gone quiet). */
export const ACTIVE_MS = 2 * SYNC_MS + 500;
/**
 * The counter forgets an isolate that has not reported for this long; until then it keeps a share
 * of the headroom. An isolate that has not heard from the counter for this long does not decide
 * alone: its next request waits for a report (as its first one does).
 */
export const FORGET_MS = 60_000;
/** A bucket holds this many seconds of its rate (and at least one request): AWS's quotas are per second. */
export const BURST_SECONDS = 1;

// ---- token buckets

export interface Bucket {
  /** Requests it can admit now (fractional while refilling). */
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  /** Its refill rate (requests per second): this isolate's allotment of the quota. */
  rate: number;
}

/** How many requests a bucket of `rate` holds: BURST_SECONDS of its rate, at least one (a quota of 0 admits nothing). */
export const capacityOf = (rate: number): number => (rate > 0 ? Math.max(1, rate * BURST_SECONDS) : 0);

/** A full bucket. */
export const newBucket = (rate: number, now: number): Bucket => ({ tokens: capacityOf(rate), at: now, rate });

function refill(b: Bucket, now: number): void {
  if (now > b.at) {
    b.tokens = Math.min(capacityOf(b.rate), b.tokens + ((now - b.at) * b.rate) / 1000);
    b.at = now;
  }
}

/** Takes up to `count` requests' tokens; returns how many it took (whole requests). */
export function take(b: Bucket, count: number, now: number): number {
  refill(b, now);
  const n = Math.max(0, Math.min(count, Math.floor(b.tokens + 1e-9)));
  b.tokens -= n;
  return n;
}

/** A new rate for a bucket; what it holds is capped at the new capacity. */
export function setRate(b: Bucket, rate: number, now: number): void {
  refill(b, now);
  b.rate = rate;
  b.tokens = Math.min(b.tokens, capacityOf(rate));
}

/**
 * One isolate's allotment of a quota (requests per second), from what the counter last told it:
 * under the quota, its own demand plus an equal share of the headroom; over it, its share of the
 * quota in proportion to its demand. Either way the isolates' allotments add up to the quota.
 * Alone, the whole quota.
 */
export function allotment(quota: number, own: number, total: number, isolates: number): number {
  if (isolates <= 1) return quota;
  const all = Math.max(total, own);
  if (all <= quota) return own + (quota - all) / isolates;
  return (quota * own) / all;
}

// ---- the counter's side

/** What the counter answers a report with. */
export interface QuotaReply {
  /** The account-region's configured quotas (those not named have their default). */
  quotas: Record<string, number>;
  /** Per quota, the demand of the isolates that reported within ACTIVE_MS (requests per second). */
  usage: Record<string, number>;
  /** How many isolates the counter knows of (reported within FORGET_MS), this one included. */
  isolates: number;
}

/** The isolates' reports, as the counter keeps them (in memory: a lost board is rebuilt by the next round of reports). */
export class UsageBoard {
  private readonly reports = new Map<string, { at: number; rates: Record<string, number> }>();
  private readonly activeMs: number;

  /** `activeMs`: how long a report counts towards its isolate's demand (ACTIVE_MS; bench:quotas tries others). */
  constructor(activeMs = ACTIVE_MS) {
    this.activeMs = activeMs;
  }

  /** Records isolate `id`'s demand (`counts` requests per quota over `intervalMs`); returns the account-region's. */
  report(id: string, counts: Readonly<Record<string, number>>, intervalMs: number, now: number): Omit<QuotaReply, "quotas"> {
    const rates: Record<string, number> = {};
    for (const [name, n] of Object.entries(counts)) rates[name] = (n * 1000) / Math.max(intervalMs, 1);
    this.reports.set(id, { at: now, rates });
    const usage: Record<string, number> = {};
    let isolates = 0;
    for (const [other, r] of this.reports) {
      if (now - r.at > FORGET_MS) {
        this.reports.delete(other);
        continue;
      }
      isolates++;
      if (now - r.at > this.activeMs) continue;
      for (const [name, rate] of Object.entries(r.rates)) usage[name] = (usage[name] ?? 0) + rate;
    }
    return { usage, isolates };
  }
}

// ---- the isolate's side

interface Category {
  bucket: Bucket;
  /** The quota in force, which the bucket's rate was computed for (undefined: unlimited, nothing counted). */
  quota: number | undefined;
  /** Requests asked for since the last report (admitted or not). */
  demand: number;
  /** This isolate's demand in the last reported interval (requests per second). */
  own: number;
}

export interface LimiterOptions {
  /** Sends a report to the account-region's counter. */
  report(counts: Record<string, number>, intervalMs: number): Promise<QuotaReply>;
  /** The quota in force for `name` given the configured ones; undefined: unlimited. */
  limitOf(name: string, configured: Readonly<Record<string, number>>): number | undefined;
  /** Told when a report fails (the limiter then goes on with what it knew; defaults if nothing). */
  onError?(err: unknown): void;
  /** The report interval (SYNC_MS; bench:quotas tries others). */
  syncMs?: number;
}

/** One account-region's buckets in one isolate. */
export class AccountLimiter {
  private readonly options: LimiterOptions;
  private readonly categories = new Map<string, Category>();
  /** The configured quotas, once the counter has answered. */
  private configured: Record<string, number> | undefined;
  private usage: Record<string, number> = {};
  private isolates = 1;
  /** When the last answered report was sent (ms), and when the current interval began. */
  private syncedAt = -Infinity;
  private reportedAt = -Infinity;
  private inFlight: Promise<void> | undefined;

  private readonly syncMs: number;

  constructor(options: LimiterOptions) {
    this.options = options;
    this.syncMs = options.syncMs ?? SYNC_MS;
  }

  /**
   * Asks for `count` requests of quota `name` at `now`; returns how many are admitted (the first
   * ones). A number when the buckets decide at once. A promise only when this isolate has not
   * heard from the counter (its first request for the account-region, or none for FORGET_MS):
   * then the request waits for one report. Otherwise a report due is handed to `background`:
   * every syncMs, and after a quarter of it when this isolate is throttling (its share of the
   * quota is then what matters, and the counter may give it more of it).
   */
  charge(name: string, count: number, now: number, background: (p: Promise<void>) => void): number | Promise<number> {
    if (this.configured === undefined || now - this.syncedAt > FORGET_MS) return this.sync(now).then(() => this.take(name, count, now));
    const since = now - this.reportedAt;
    if (since >= this.syncMs && !this.inFlight) background(this.sync(now));
    const admitted = this.take(name, count, now);
    if (admitted < count && since >= this.syncMs / 4 && !this.inFlight) background(this.sync(now));
    return admitted;
  }

  /** The configured quotas were changed here (the admin API): used at once, before the next report. */
  setConfigured(configured: Record<string, number>, now: number): void {
    this.configured = configured;
    for (const [name, c] of this.categories) this.retune(name, c, now);
  }

  /** The quota in force for `name` (undefined: unlimited). */
  limit(name: string): number | undefined {
    return this.options.limitOf(name, this.configured ?? {});
  }

  private take(name: string, count: number, now: number): number {
    let c = this.categories.get(name);
    if (!c) {
      const quota = this.limit(name);
      c = { bucket: newBucket(quota === undefined ? 0 : this.allot(name, quota, 0), now), quota, demand: 0, own: 0 };
      this.categories.set(name, c);
    }
    if (c.quota === undefined) return count;
    c.demand += count;
    return take(c.bucket, count, now);
  }

  private allot(name: string, quota: number, own: number): number {
    return allotment(quota, own, this.usage[name] ?? own, this.isolates);
  }

  /** Sets a bucket's rate from the quota in force and what the counter last said. */
  private retune(name: string, c: Category, now: number): void {
    const before = c.quota;
    c.quota = this.limit(name);
    if (c.quota === undefined) return;
    const rate = this.allot(name, c.quota, c.own);
    // A quota where there was none starts full, as a new one does.
    if (before === undefined) c.bucket = newBucket(rate, now);
    else setRate(c.bucket, rate, now);
  }

  /** Reports the demand since the last report; the reply sets every bucket's rate. Never rejects. */
  private sync(now: number): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const interval = Number.isFinite(this.reportedAt) ? Math.max(1, now - this.reportedAt) : this.syncMs;
    const counts: Record<string, number> = {};
    for (const [name, c] of this.categories) {
      if (c.quota === undefined) continue;
      counts[name] = c.demand;
      c.own = (c.demand * 1000) / interval;
      c.demand = 0;
    }
    this.reportedAt = now;
    const done = this.options.report(counts, interval).then(
      (reply) => {
        this.configured = reply.quotas;
        this.usage = reply.usage;
        this.isolates = Math.max(1, reply.isolates);
        for (const [name, c] of this.categories) this.retune(name, c, now);
      },
      (err) => {
        // Fail open on what was known (defaults if nothing): a counter that cannot be reached never stops requests.
        this.configured ??= {};
        this.options.onError?.(err);
      },
    ).finally(() => {
      this.syncedAt = now;
      this.inFlight = undefined;
    });
    this.inFlight = done;
    return done;
  }
}
