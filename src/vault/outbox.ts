// The vault's audit outbox: records of state changes are stored here in the same write as the
// change, then forwarded to the account's AuditLog in crash-safe batches (docs/audit.md).
import { newestWithin, type CloudTrailRecord } from "../audit/record.js";
import { OneAtATime, forwardInBatches } from "./group-commit.js";
import type { Faults } from "./faults.js";

const OUTBOX = "audit:";
const OUTBOX_BATCH = "audit-batch";
/** How soon outbox records are forwarded to the account's AuditLog. */
export const FORWARD_DELAY_MS = 1000;
const FORWARD_BATCH = 500;

/** Sends one batch of records of one account and region; `batchId` lets the receiver drop a resend. */
export type SendBatch = (region: string, account: string, records: CloudTrailRecord[], batchId: string) => Promise<void>;

export class AuditOutbox {
  /** Real time at which the outbox is to be forwarded, when it holds records. */
  due: number | undefined;
  /** Forwarding runs one pass at a time: alarm and flush queue behind each other. */
  private readonly forwarding = new OneAtATime();

  constructor(private readonly storage: DurableObjectStorage, private readonly send: SendBatch, private readonly faults?: Faults) {}

  async load(): Promise<void> {
    if ((await this.storage.list({ prefix: OUTBOX, limit: 1 })).size) this.due = Date.now();
  }

  /** The writes that store records (joined to the caller's commit). */
  put(records: CloudTrailRecord[]): Promise<void>[] {
    if (records.length) this.due ??= Date.now() + FORWARD_DELAY_MS;
    return records.map((r) => this.storage.put(OUTBOX + `${r.eventTime}:${r.eventID}`, r));
  }

  /**
   * The newest records waiting, oldest first, as the tail chooses them (newestWithin: at most
   * `limit`, at most MAX_TAIL_CHARS of JSON); `truncated` if any were left out. A state change's
   * record can hold tens of kilobytes (a key policy, tags), and records pile up while the AuditLog
   * cannot take them: unbounded, the answer passed the 32 MiB of a Durable Object's RPC answer.
   */
  async pending(limit: number): Promise<{ records: CloudTrailRecord[]; truncated: boolean }> {
    const newest = [...(await this.storage.list<CloudTrailRecord>({ prefix: OUTBOX, limit: limit + 1, reverse: true })).values()];
    const { kept, truncated } = newestWithin(newest.reverse(), limit, (r) => r);
    return { records: kept, truncated };
  }

  /**
   * Hands the outbox to the AuditLogs, in batches. A batch's id and members are stored before it
   * is sent, so a retry after a crash resends exactly that batch, which the AuditLog recognises.
   * On failure, `due` is moved on and the error is rethrown (the caller re-arms its alarm).
   */
  forward(): Promise<number> {
    return this.forwarding.run(async () => {
      // Cleared first: a record written while this runs sets `due` again, so it is not left behind.
      this.due = undefined;
      try {
        return await forwardInBatches<CloudTrailRecord>(this.storage, { prefix: OUTBOX, batchKey: OUTBOX_BATCH, limit: FORWARD_BATCH }, async (batchId, rows) => {
          // One AuditLog per account and region: cross-account use adds records for the caller's account.
          const byAccount = new Map<string, CloudTrailRecord[]>();
          for (const r of rows.values()) byAccount.set(r.recipientAccountId, [...(byAccount.get(r.recipientAccountId) ?? []), r]);
          for (const [account, group] of byAccount) await this.send(group[0].awsRegion, account, group, `${batchId}:${account}`);
        }, this.faults);
      } catch (e) {
        this.due = Date.now() + 10 * FORWARD_DELAY_MS;
        throw e;
      }
    });
  }

  clear(): void {
    this.due = undefined;
  }
}
