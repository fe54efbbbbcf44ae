// Group commit: writes from concurrent requests that arrive before the next flush share one
// storage transaction. Each caller awaits its batch; the DO's output gate then holds every
// response of the batch until that one commit is durable.
export class GroupCommit {
  private pending: Record<string, unknown> = {};
  private batch: Promise<void> | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  write(key: string, value: unknown): Promise<void> {
    this.pending[key] = value;
    this.batch ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.flush());
    return this.batch;
  }

  private async flush(): Promise<void> {
    const entries = this.pending;
    this.pending = {};
    this.batch = undefined;
    // storage.put takes at most 128 keys per call; larger batches go in chunks, in one turn.
    const keys = Object.keys(entries);
    const writes: Promise<void>[] = [];
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
