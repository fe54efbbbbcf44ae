// EdgeKMS's batch operations (docs/batch.md): which single operation each batch runs for its
// entries, and the stubs through which a batch's entries reach the vaults and the catalog
// together: one vault call per key per batch, one lookup per alias.
import type { Env } from "../env.js";
import { catalogStub, vaultStub } from "../placement.js";
import { BATCH_METHODS, BytePacker, delta, unpack, unpackRecords, type BatchCalls, type BatchMethod, type BatchReply, type RoutedRecord, type WireCall } from "../vault/batch.js";
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
  call: WireCall;
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
  /** The first entry's caller (and condition keys): what the others' are sent as deltas of. */
  private shared: Pick<BatchCalls, "caller" | "context"> | undefined;

  /**
   * `draft` is the batch's audit draft, which each entry's is made from; `records` takes the
   * records a vault completed for an entry (by the entry's draft).
   */
  constructor(
    private readonly env: Env,
    private readonly region: string,
    private readonly account: string,
    entries: number,
    private readonly draft: AuditDraft,
    private readonly records: (draft: AuditDraft, records: RoutedRecord[]) => void,
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

  /** The account's catalog, each alias resolved once per batch. */
  catalog(): CatalogStub {
    const resolveAlias = (name: string): Promise<string | undefined> => {
      let r = this.aliases.get(name);
      if (!r) this.aliases.set(name, (r = Promise.resolve(catalogStub(this.env, this.region, this.account).resolveAlias(name))));
      return r;
    };
    return { resolveAlias } as unknown as CatalogStub;
  }

  private park(keyId: string, method: BatchMethod, args: unknown[]): Promise<unknown> {
    // The caller, its condition keys and its draft travel as what differs from the batch's.
    const { audit: draft, context, ...caller } = args[0] as VaultCaller;
    const shared = (this.shared ??= { caller, context });
    const call: WireCall = {
      method, args: args.slice(1), caller: delta(caller, shared.caller), context: delta(context, shared.context),
      ...(draft ? { audit: delta(draft, this.draft) } : {}),
    };
    return new Promise((resolve, reject) => {
      const parked: Parked = { call, draft, resolve, reject };
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
    for (const [keyId, list] of groups) {
      // Each entry runs again once its vault answers: counted as running before it resumes.
      const failAll = (e: unknown) => list.forEach((p) => { this.running++; p.reject(e); });
      try {
        const packer = new BytePacker();
        const calls = list.map((p) => {
          const bytes = packer.take(p.call.args);
          return bytes ? { ...p.call, bytes } : p.call;
        });
        vaultStub(this.env, this.region, keyId).cryptoBatch({ ...this.shared!, draft: this.draft, calls, bytes: packer.bytes() }).then((answer) => {
          const reply = answer as unknown as BatchReply;
          list.forEach((p, i) => {
            const o = reply.outcomes[i];
            this.running++;
            if (!o || "thrown" in o) return p.reject(new Error(`batch entry failed in the vault: ${o ? o.thrown : "no result"}`));
            if (o.records && p.draft) this.records(p.draft, unpackRecords(o.records));
            if (o.result.ok && o.result.value) unpack(o.result.value, o.bytes, reply.bytes);
            p.resolve(o.result);
          });
        }, failAll);
      } catch (e) {
        failAll(e);
      }
    }
  }
}
