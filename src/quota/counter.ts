// QuotaCounter: one Durable Object per account and region (`<region>/quota/<account>`), off the
// request path. It keeps the account-region's configured request-rate quotas (the admin API's
// PutAccountQuotas) and, in memory, the isolates' recent demand; each isolate reports to it in the
// background and sets its own buckets from the answer (src/quota/limiter.ts, docs/quotas.md).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import { UsageBoard, type QuotaReply } from "./limiter.js";

const QUOTAS = "quotas";

export class QuotaCounter extends DurableObject<Env> {
  private quotas: Record<string, number> | undefined;
  private readonly board = new UsageBoard();

  private async configured(): Promise<Record<string, number>> {
    this.quotas ??= (await this.ctx.storage.get<Record<string, number>>(QUOTAS)) ?? {};
    return this.quotas;
  }

  /** An isolate's demand per quota over its last `intervalMs`; answers with the account-region's. */
  async report(isolate: string, counts: Record<string, number>, intervalMs: number): Promise<QuotaReply> {
    const quotas = await this.configured();
    return { quotas, ...this.board.report(isolate, counts, intervalMs, Date.now()) };
  }

  /** The configured quotas (those not named have their default). */
  async getQuotas(): Promise<Record<string, number>> {
    return this.configured();
  }

  /** Sets quotas (a value) or returns them to their default (null); answers with all configured quotas. */
  async setQuotas(changes: Record<string, number | null>): Promise<Record<string, number>> {
    const next = { ...(await this.configured()) };
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) delete next[name];
      else next[name] = value;
    }
    await this.ctx.storage.put(QUOTAS, next);
    this.quotas = next;
    return next;
  }
}
