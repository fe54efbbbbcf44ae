// Data key caching, as the AWS Encryption SDK's caching CMM: encryption materials are reused for at
// most maxAgeMs, maxMessages messages and maxBytes plaintext bytes; decryption materials for at most
// maxAgeMs. Only suites with a key derivation are cached (each message still gets its own frame key
// from its own message id); an encryption whose plaintext length is unknown bypasses the cache, as
// does one larger than maxBytes. An LRU of `capacity` entries; evicted data keys are zeroed.
// Concurrent requests for one entry (many messages begun at once: the CLI's look-ahead over a
// directory, batch calls) wait for the one that fills it, and then use it as if they had come one
// after the other: one data key for the lot, within the same limits.
import { toBase64 } from "./bytes.js";
import { fail } from "./errors.js";
import { providerInfoBytes, serializeEncryptionContext, utf8 } from "./format.js";
import { DefaultMaterialsManager } from "./materials.js";
import { suiteInfo } from "./suites.js";
import type {
  DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest, Keyring, MaterialsManager,
} from "./types.js";

interface Entry<M> {
  materials: M;
  created: number;
  messages: number;
  bytes: number;
}

const MESSAGES_LIMIT = 2 ** 32;
const BYTES_LIMIT = Number.MAX_SAFE_INTEGER;

function limit(v: unknown, name: string, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) fail("INVALID_ARGUMENT", `${name} must be an integer from 1 to ${max}, got ${String(v)}`);
  return v;
}

function cloneEnc(m: EncryptionMaterials): EncryptionMaterials {
  return { ...m, encryptionContext: { ...m.encryptionContext }, dataKey: m.dataKey?.slice(), encryptedDataKeys: m.encryptedDataKeys.map((e) => ({ ...e })) };
}
function cloneDec(m: DecryptionMaterials): DecryptionMaterials {
  return { ...m, encryptionContext: { ...m.encryptionContext }, dataKey: m.dataKey?.slice() };
}

export class CachingMaterialsManager implements MaterialsManager {
  private readonly backing: MaterialsManager;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly capacity: number;
  private readonly partition: string;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry<EncryptionMaterials | DecryptionMaterials>>();
  /** Entries being filled: later requests for one wait for it (and share its failure) rather than fill it again. */
  private readonly filling = new Map<string, Promise<unknown>>();

  constructor(o: {
    keyring: Keyring | MaterialsManager;
    maxAgeMs: number;
    maxMessages?: number;
    maxBytes?: number;
    /** Entries kept (least recently used evicted first); default 1000. */
    capacity?: number;
    /** Separates the entries of managers that share nothing else; default a random id. */
    partition?: string;
    /** The clock (ms); default Date.now. For tests. */
    now?: () => number;
  }) {
    const k = o?.keyring as Partial<MaterialsManager & Keyring> | undefined;
    if (typeof k?.getEncryptionMaterials === "function" && typeof k.decryptMaterials === "function") this.backing = k as MaterialsManager;
    else this.backing = new DefaultMaterialsManager(k as Keyring);
    if (typeof o.maxAgeMs !== "number" || !(o.maxAgeMs > 0) || !Number.isFinite(o.maxAgeMs)) fail("INVALID_ARGUMENT", `maxAgeMs must be a positive number, got ${String(o.maxAgeMs)}`);
    this.maxAgeMs = o.maxAgeMs;
    this.maxMessages = limit(o.maxMessages, "maxMessages", MESSAGES_LIMIT, MESSAGES_LIMIT);
    this.maxBytes = limit(o.maxBytes, "maxBytes", BYTES_LIMIT, BYTES_LIMIT);
    this.capacity = limit(o.capacity, "capacity", 1_000_000, 1000);
    this.partition = o.partition ?? toBase64(crypto.getRandomValues(new Uint8Array(16)));
    this.now = o.now ?? Date.now;
  }

  /** Number of cached entries (for tests and diagnostics). */
  get size(): number {
    return this.cache.size;
  }

  private exceeded(e: Entry<unknown>): boolean {
    return this.now() - e.created > this.maxAgeMs || e.messages > this.maxMessages || e.bytes > this.maxBytes;
  }

  private evict(key: string): void {
    const e = this.cache.get(key);
    if (!e) return;
    e.materials.dataKey?.fill(0);
    this.cache.delete(key);
  }

  private put(key: string, e: Entry<EncryptionMaterials | DecryptionMaterials>): void {
    this.evict(key);
    this.cache.set(key, e);
    while (this.cache.size > this.capacity) this.evict(this.cache.keys().next().value!);
  }

  async getEncryptionMaterials(request: EncryptionRequest): Promise<EncryptionMaterials> {
    const suite = suiteInfo(request.suite);
    const len = request.plaintextLength;
    if (!suite.kdfHash || typeof len !== "number" || len < 0 || len > this.maxBytes) return this.backing.getEncryptionMaterials(request);
    const key = `E\n${this.partition}\n${suite.id}\n${toBase64(serializeEncryptionContext(request.encryptionContext))}`;
    for (;;) {
      const hit = this.cache.get(key) as Entry<EncryptionMaterials> | undefined;
      if (hit) {
        hit.messages += 1;
        hit.bytes += len;
        if (!this.exceeded(hit)) {
          this.cache.delete(key); // most recently used last
          this.cache.set(key, hit);
          return cloneEnc(hit.materials);
        }
        this.evict(key);
      }
      const pending = this.filling.get(key);
      if (!pending) break;
      await pending; // its failure is this request's too: the same request would fail the same way
    }
    return this.fill(key, async () => {
      const m = await this.backing.getEncryptionMaterials(request);
      if (!suiteInfo(m.suite).kdfHash) return m;
      const entry: Entry<EncryptionMaterials> = { materials: cloneEnc(m), created: this.now(), messages: 1, bytes: len };
      if (this.exceeded(entry)) return m;
      this.put(key, entry);
      return cloneEnc(m);
    });
  }

  /** Runs f as the filler of key: requests for key that come meanwhile wait for it. */
  private async fill<T>(key: string, f: () => Promise<T>): Promise<T> {
    const p = f();
    this.filling.set(key, p);
    try {
      return await p;
    } finally {
      if (this.filling.get(key) === p) this.filling.delete(key);
    }
  }

  async decryptMaterials(request: DecryptionRequest): Promise<DecryptionMaterials> {
    const suite = suiteInfo(request.suite);
    if (!suite.kdfHash) return this.backing.decryptMaterials(request);
    const edks = request.encryptedDataKeys
      .map((e) => [utf8(e.providerId), providerInfoBytes(e), e.ciphertext].map(toBase64).join("."))
      .sort()
      .join(",");
    const key = `D\n${this.partition}\n${suite.id}\n${edks}\n${toBase64(serializeEncryptionContext(request.encryptionContext))}`;
    for (;;) {
      const hit = this.cache.get(key) as Entry<DecryptionMaterials> | undefined;
      if (hit) {
        if (this.now() - hit.created <= this.maxAgeMs) {
          this.cache.delete(key);
          this.cache.set(key, hit);
          return cloneDec(hit.materials);
        }
        this.evict(key);
      }
      const pending = this.filling.get(key);
      if (!pending) break;
      await pending;
    }
    return this.fill(key, async () => {
      const m = await this.backing.decryptMaterials(request);
      this.put(key, { materials: cloneDec(m), created: this.now(), messages: 0, bytes: 0 });
      return cloneDec(m);
    });
  }
}
