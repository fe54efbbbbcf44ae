// Request-rate quotas in the Worker (docs/quotas.md): every KMS request is charged to its
// caller's account in its region, against the quota its operation counts against
// (src/quota/table.ts), by this isolate's token buckets (src/quota/limiter.ts). Over quota:
// ThrottlingException (HTTP 400), which the AWS SDKs retry with back-off. The account-region's
// QuotaCounter hears from each isolate in the background (waitUntil), never on the request path,
// except for an isolate's first request of an account-region, which waits for its quotas once.
import { waitUntil } from "cloudflare:workers";
import type { Env } from "../env.js";
import type { Operation } from "../operations/operation.js";
import { KmsError } from "../protocol/errors.js";
import { quotaCounterStub } from "../placement.js";
import { AccountLimiter } from "./limiter.js";
import { defaultQuota, describeQuota, quotaOf, quotaScale, type QuotaElsewhere } from "./table.js";

/** AWS's message (https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html). */
export const THROTTLED_MESSAGE = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

/** Account-regions with buckets in this isolate; the oldest is dropped past this many. */
const MAX_LIMITERS = 10_000;
const limiters = new Map<string, AccountLimiter>();
/** The last account-region charged, and its limiter: one caller's requests in a row skip the map and its key string. */
let lastAccount = "", lastRegion = "", lastLimiter: AccountLimiter | undefined;
/** This isolate, to the counters (made on first use: a Worker may not make random values at start-up). */
let isolateId: string | undefined;
let lastError = 0;

/** QUOTAS = "off" turns enforcement off (only bench:quotas sets it, to measure what enforcement costs). */
export const quotasOn = (env: Env): boolean => env.QUOTAS !== "off";

/** The quota in force for `name`: the account-region's configured value, else AWS's default (× QUOTA_SCALE). */
export function quotaIn(env: Env, region: string, name: string, configured: Readonly<Record<string, number>>): number | undefined {
  if (Object.hasOwn(configured, name)) return configured[name];
  const d = defaultQuota(name, region);
  return d === undefined ? undefined : d * quotaScale(env.QUOTA_SCALE);
}

function limiterOf(env: Env, account: string, region: string): AccountLimiter {
  if (lastLimiter && account === lastAccount && region === lastRegion) return lastLimiter;
  const key = `${region}|${account}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    if (limiters.size >= MAX_LIMITERS) limiters.delete(limiters.keys().next().value!);
    limiter = new AccountLimiter({
      report: (counts, intervalMs) => quotaCounterStub(env, region, account).report((isolateId ??= crypto.randomUUID()), counts, intervalMs),
      limitOf: (name, configured) => quotaIn(env, region, name, configured),
      onError: (err) => {
        // At most one line a minute: a counter that cannot be reached is an operator's problem, not each request's.
        if (Date.now() - lastError < 60_000) return;
        lastError = Date.now();
        console.error(`quota counter ${region}/${account}: report failed; enforcing with the last known quotas`, err instanceof Error ? err.message : String(err));
      },
    });
    limiters.set(key, limiter);
  }
  lastAccount = account;
  lastRegion = region;
  return (lastLimiter = limiter);
}

/** Reports under way (at most one per account-region and SYNC_MS): for backgroundSettled. */
const inFlight = new Set<Promise<void>>();

/** Work after the response: the request's waitUntil (outside a request, as in some tests, the promise simply runs on). */
function background(p: Promise<void>): void {
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p)).catch(() => undefined);
  try {
    waitUntil(p);
  } catch {
    // no request context
  }
}

/**
 * Test hook: resolves once the reports under way have ended. Tests that call the handler outside
 * a request (no waitUntil) await it at their end, so that no report is still running, and loading
 * code, when the test runner tears their Worker down (it failed one such run: "Closing rpc while
 * resolve was pending").
 */
export async function backgroundSettled(): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

/**
 * Charges `count` requests to quota `name` of `account` in `region` at `now`; returns how many
 * are admitted (the first ones; all when quotas are off or the quota is unlimited). For batches
 * (an entry counts as one request of its kind): charge the entries of one quota together and
 * throttle those past the admitted count. Awaiting is needed only for an isolate's first request
 * of an account-region.
 */
export function chargeQuota(env: Env, account: string, region: string, name: string, count: number, now = Date.now()): number | Promise<number> {
  if (!quotasOn(env) || count <= 0) return count;
  return limiterOf(env, account, region).charge(name, count, now, background);
}

/** The error of a throttled request: AWS's message to the caller; its record names the quota. */
export function throttled(env: Env, account: string, region: string, name: string): KmsError {
  const quota = limiterOf(env, account, region).limit(name);
  return new KmsError("ThrottlingException", THROTTLED_MESSAGE, `${THROTTLED_MESSAGE} (${describeQuota(name)}: ${quota} per second for account ${account} in ${region})`);
}

/**
 * Charges one request of `op` (its quota from its `quota` fact and, for the cryptographic
 * operations, the algorithm the request names) to the caller's account, and what it also counts
 * as in other served Regions (its `quotaElsewhere` fact); ThrottlingException when any is over
 * quota. Returns a promise only when it must wait (see chargeQuota).
 */
export function chargeOperation(env: Env, account: string, region: string, op: Pick<Operation<never>, "name" | "quota" | "quotaElsewhere">, input: Readonly<Record<string, unknown>>, now = Date.now()): void | Promise<void> {
  if (!quotasOn(env)) return;
  const name = quotaOf(op, input);
  const admitted = chargeQuota(env, account, region, name, 1, now);
  if (typeof admitted === "number" && admitted < 1) throw throttled(env, account, region, name);
  if (op.quotaElsewhere) return chargeAll(env, account, [{ region, quota: name, count: 1, admitted }, ...elsewhere(env, account, op.quotaElsewhere(input), now)]);
  if (typeof admitted === "number") return;
  return admitted.then((n) => {
    if (n < 1) throw throttled(env, account, region, name);
  });
}

type Charged = QuotaElsewhere & { admitted: number | Promise<number> };

function elsewhere(env: Env, account: string, charges: readonly QuotaElsewhere[], now: number): Charged[] {
  // A Region not served has no counter (its name is the caller's): the operation refuses it in `run`.
  return charges.filter((c) => Object.hasOwn(env.REGIONS, c.region)).map((c) => ({ ...c, admitted: chargeQuota(env, account, c.region, c.quota, c.count, now) }));
}

async function chargeAll(env: Env, account: string, charged: Charged[]): Promise<void> {
  for (const c of charged) if ((await c.admitted) < c.count) throw throttled(env, account, c.region, c.quota);
}

/** The admin API changed an account-region's quotas: this isolate uses them at once (others within a report). */
export function quotasChanged(account: string, region: string, configured: Record<string, number>, now = Date.now()): void {
  limiters.get(`${region}|${account}`)?.setConfigured(configured, now);
}
