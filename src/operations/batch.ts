// EdgeKMS's batch operations (docs/batch.md): which single operation each batch runs for its
// entries, and the stubs through which a batch's entries reach the vaults and the catalog
// together: one vault call per key per batch, one lookup per alias.
import type { Env } from "../env.js";
import { catalogStub, vaultStub } from "../placement.js";
import { BATCH_METHODS, type BatchEntry, type BatchMethod, type RoutedRecord } from "../vault/batch.js";
import { keyCalls, submitAll, type GroupOutcome } from "./batch-queue.js";
import type { VaultCaller } from "../vault/types.js";
import type { AuditDraft } from "../audit/record.js";
import type { Stubs } from "./context.js";
import type { Operation } from "./operation.js";
import { decrypt } from "./decrypt.js";
import { encrypt } from "./encrypt.js";
import { generateDataKey } from "./generate-data-key.js";
import { reEncrypt } from "./re-encrypt.js";

/** Not TrentService.: no AWS SDK can take a batch operation for an AWS one. */
export const BATCH_TARGET_PREFIX = "EdgeKMSBatch.";

/** Batch operation → the operation each of its entries is (its schema, limits, authorization and record). */
export const BATCH_OPERATIONS: ReadonlyMap<string, Operation<any>> = new Map<string, Operation<any>>([
  ["BatchEncrypt", encrypt],
  ["BatchDecrypt", decrypt],
  ["BatchGenerateDataKey", generateDataKey],
  ["BatchReEncrypt", reEncrypt],
]);

type VaultStub = ReturnType<typeof vaultStub>;
type CatalogStub = ReturnType<typeof catalogStub>;

interface Parked {
  entry: BatchEntry;
  /** The entry's audit draft (what its records are found by). */
  draft: AuditDraft | undefined;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/**
 * The stubs a batch's entries share. Entries run concurrently, each through its single
 * operation's code; a vault call an entry makes is parked here, and once every entry still
 * running has parked (or finished), the parked calls go out as one `cryptoBatch` per key. So a
 * batch makes one vault call per key, whatever the order in which entries reach their vault
 * (an alias lookup or a grant-token check first, or none).
 */
export class BatchStubs implements Stubs {
  /** Entries running: neither parked at a vault call nor finished. */
  private running: number;
  private parked = new Map<string, Parked[]>();
  private readonly stubs = new Map<string, VaultStub>();
  private readonly aliases = new Map<string, Promise<string | undefined>>();
  private readonly catalogStubs = new Map<string, CatalogStub>();

  /**
   * `recorded` is told of each entry whose records a vault completed (by the entry's draft), and
   * `records` takes those records (rows of several entries' records).
   */
  constructor(
    private readonly env: Env,
    private readonly region: string,
    private readonly account: string,
    entries: number,
    private readonly recorded: (draft: AuditDraft) => void,
    private readonly records: (rows: RoutedRecord[]) => void,
  ) {
    this.running = entries;
  }

  /** An entry is done (answered or failed): it will park no more calls. */
  finished(): void {
    this.running--;
    this.flushIfIdle();
  }

  vault(keyId: string): VaultStub {
    let stub = this.stubs.get(keyId);
    if (!stub) {
      const methods: Partial<Record<BatchMethod, (...args: unknown[]) => Promise<unknown>>> = {};
      for (const method of BATCH_METHODS) methods[method] = (...args) => this.park(keyId, method, args);
      // Only the methods of the batch operations: anything else is not a function (the entry fails).
      this.stubs.set(keyId, (stub = methods as unknown as VaultStub));
    }
    return stub;
  }

  /**
   * An account's catalog (the caller's, or another's whose alias ARN an entry names), each alias
   * resolved once per batch. Only alias resolution: anything else is not a function.
   */
  catalog(account: string = this.account): CatalogStub {
    let stub = this.catalogStubs.get(account);
    if (!stub) this.catalogStubs.set(account, (stub = { resolveAlias: (name: string) => this.resolveAlias(account, name) } as unknown as CatalogStub));
    return stub;
  }

  private resolveAlias(account: string, name: string): Promise<string | undefined> {
    // Account ids are 12 digits: the tab cannot be part of one.
    const key = `${account}\t${name}`;
    let r = this.aliases.get(key);
    if (!r) this.aliases.set(key, (r = Promise.resolve(catalogStub(this.env, this.region, account).resolveAlias(name))));
    return r;
  }

  private park(keyId: string, method: BatchMethod, args: unknown[]): Promise<unknown> {
    const draft = (args[0] as VaultCaller).audit;
    return new Promise((resolve, reject) => {
      const parked: Parked = { entry: { method, args }, draft, resolve, reject };
      const list = this.parked.get(keyId);
      if (list) list.push(parked);
      else this.parked.set(keyId, [parked]);
      this.running--;
      this.flushIfIdle();
    });
  }

  private flushIfIdle(): void {
    if (this.running > 0 || this.parked.size === 0) return;
    const groups = this.parked;
    this.parked = new Map();
    // One vault call per key, which concurrent batch requests' entries for that key may share (batch-queue.ts).
    submitAll([...groups].map(([keyId, list]) => ({ calls: keyCalls(this.env, this.region, keyId), entries: list.map((p) => p.entry), settle: (o: GroupOutcome) => this.settle(list, o) })))
      .catch((e) => console.error("batch: waiting for vault calls failed", e instanceof Error ? e.stack : String(e)));
  }

  /** One key's parked entries, answered. */
  private settle(list: Parked[], outcome: GroupOutcome): void {
    // Each entry runs again once its vault answers: counted as running before it resumes.
    if ("error" in outcome) {
      for (const p of list) { this.running++; p.reject(outcome.error); }
      return;
    }
    const { outcomes, records } = outcome.answer;
    // Stored whatever becomes of the entries: the vault completed these records.
    this.records(records);
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const o = outcomes[i];
      this.running++;
      if (o.result === undefined) {
        p.reject(new Error(`batch entry failed in the vault: ${o.thrown ?? "no result"}`));
        continue;
      }
      if (o.records > 0 && p.draft) this.recorded(p.draft);
      p.resolve(o.result);
    }
  }
}
