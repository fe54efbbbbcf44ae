// Group commit: writes from concurrent requests that arrive before the next flush share one
// storage transaction. Each caller awaits its batch; the DO's output gate then holds every
// response of the batch until that one commit is durable.
// Also here: the storage helpers that forward rows in crash-safe batches (outboxes, shards).
import type { Faults } from "./faults.js";

/**
 * The most characters of lines in one row (addToRow). Storage takes values up to 2 MB; a
 * character is at most 3 bytes of UTF-8.
 */
export const MAX_ROW_CHARS = 256 * 1024;

interface Row { key: string; lines: string[]; chars: number }

export class GroupCommit {
  private pending: Record<string, unknown> = {};
  /** Keys deleted in the next commit, before its writes (so a key both deleted and written is written). */
  private removed: string[] = [];
  private rows: Row[] = [];
  private batch: Promise<void> | undefined;

  /** `joinRow` makes one row's value of its lines (addToRow). */
  constructor(private readonly storage: DurableObjectStorage, private readonly joinRow: (lines: string[]) => string) {}

  write(key: string, value: unknown): Promise<void> {
    this.pending[key] = value;
    return this.schedule();
  }

  /**
   * Adds lines to the batch's row, stored under the key of its first line: a commit then
   * inserts one row however many requests it carries (a new row starts past MAX_ROW_CHARS).
   */
  addToRow(lines: { key: string; line: string }[]): Promise<void> {
    for (const { key, line } of lines) {
      const row = this.rows.at(-1);
      if (row && row.chars + line.length <= MAX_ROW_CHARS) {
        row.lines.push(line);
        row.chars += line.length;
      } else {
        this.rows.push({ key, lines: [line], chars: line.length });
      }
    }
    return this.schedule();
  }

  /** Deletes `key` in the next commit, atomically with its writes. */
  remove(key: string): Promise<void> {
    this.removed.push(key);
    return this.schedule();
  }

  /** Resolves once what was written so far is stored (at once if nothing waits). */
  settled(): Promise<void> {
    return this.batch ?? Promise.resolve();
  }

  private schedule(): Promise<void> {
    this.batch ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.flush());
    return this.batch;
  }

  private async flush(): Promise<void> {
    const entries = this.pending;
    for (const row of this.rows) entries[row.key] = this.joinRow(row.lines);
    const removed = this.removed;
    this.pending = {};
    this.removed = [];
    this.rows = [];
    this.batch = undefined;
    // storage.put takes at most 128 keys per call; larger batches go in chunks, in one turn (with
    // no await between them, the Durable Object commits them, and the deletes, as one).
    const keys = Object.keys(entries);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < removed.length; i += 128) writes.push(this.storage.delete(removed.slice(i, i + 128)));
    for (let i = 0; i < keys.length; i += 128) {
      writes.push(this.storage.put(Object.fromEntries(keys.slice(i, i + 128).map((k) => [k, entries[k]]))));
    }
    await Promise.all(writes);
  }
}

/** storage.get of any number of keys (the API takes 128 per call). */
export async function getMany<T>(storage: DurableObjectStorage, keys: string[]): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (let i = 0; i < keys.length; i += 128) {
    for (const [k, v] of await storage.get<T>(keys.slice(i, i + 128))) out.set(k, v);
  }
  return out;
}

/** storage.delete of any number of keys. */
export async function deleteMany(storage: DurableObjectStorage, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 128) await storage.delete(keys.slice(i, i + 128));
}

/** Runs tasks one at a time, in call order; a failed task does not stop the next. */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * Hands the rows under `prefix` on through `send`, in batches of at most `limit`. A batch's id
 * and keys are stored under `batchKey` before it is sent, so a retry after a crash resends
 * exactly that batch (the receiver recognises its id). Rows are deleted once `send` resolves.
 * Returns how many rows were handed on.
 */
export async function forwardInBatches<T>(
  storage: DurableObjectStorage,
  where: { prefix: string; batchKey: string; limit: number },
  send: (batchId: string, rows: Map<string, T>) => Promise<void>,
  faults?: Faults,
): Promise<number> {
  let forwarded = 0;
  for (;;) {
    let batch = await storage.get<{ id: string; keys: string[] }>(where.batchKey);
    if (!batch) {
      const rows = await storage.list({ prefix: where.prefix, limit: where.limit });
      if (rows.size === 0) return forwarded;
      batch = { id: crypto.randomUUID(), keys: [...rows.keys()] };
      await storage.put(where.batchKey, batch);
    }
    const rows = await getMany<T>(storage, batch.keys);
    await send(batch.id, rows);
    faults?.hit("after-batch-sent");
    await deleteMany(storage, [...batch.keys, where.batchKey]);
    forwarded += rows.size;
  }
}
