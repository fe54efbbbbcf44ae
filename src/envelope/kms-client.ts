// A minimal AWS KMS client for the KMS keyring: GenerateDataKey, Encrypt and Decrypt over the KMS
// JSON 1.1 protocol, signed with SigV4 (src/cli/sign.ts, WebCrypto) and sent with fetch — so it runs
// in Node, browsers and Workers without the AWS SDK. Its method shapes are the AWS SDK v3's
// (`new KMS(...)` of @aws-sdk/client-kms satisfies KmsClientLike too), so either can back a keyring.
//
// With `batch`, calls made at about the same time (many messages encrypted or decrypted at once)
// travel together as EdgeKMS's batch operations (docs/batch.md): one EdgeKMSBatch.BatchGenerateDataKey,
// BatchEncrypt or BatchDecrypt request of up to 1,000 entries, each entry the single call's request
// and its result the single call's answer or error. AWS KMS has no such operations: the first batch
// an endpoint refuses as an unknown operation turns batching off for that endpoint, and its entries,
// like every later call, go as single calls. docs/envelope.md, "Many messages: batch calls".
import { signRequest } from "../cli/sign.js";
import { defaultFetch } from "./default-fetch.js";

export interface GenerateDataKeyInput { KeyId: string; NumberOfBytes: number; EncryptionContext?: Record<string, string>; GrantTokens?: string[] }
export interface GenerateDataKeyOutput { KeyId?: string; Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array }
export interface EncryptInput { KeyId: string; Plaintext: Uint8Array; EncryptionContext?: Record<string, string>; GrantTokens?: string[] }
export interface EncryptOutput { KeyId?: string; CiphertextBlob?: Uint8Array }
export interface DecryptInput { KeyId?: string; CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string>; GrantTokens?: string[] }
export interface DecryptOutput { KeyId?: string; Plaintext?: Uint8Array }

/** What the KMS keyring needs of a KMS client (the AWS SDK v3 `KMS` class has these methods too). */
export interface KmsClientLike {
  generateDataKey(input: GenerateDataKeyInput): Promise<GenerateDataKeyOutput>;
  encrypt(input: EncryptInput): Promise<EncryptOutput>;
  decrypt(input: DecryptInput): Promise<DecryptOutput>;
}

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface KmsHttpClientOptions {
  /** The service URL, e.g. http://localhost:8787; default https://kms.<region>.amazonaws.com (.com.cn in China). */
  endpoint?: string;
  region: string;
  /** Static credentials, or a function returning them (called per request, so it may refresh them). */
  credentials: Credentials | (() => Promise<Credentials>);
  /** Attempts for throttling, 5xx and network errors (default 3), with exponential back-off from 100 ms. */
  maxAttempts?: number;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** How requests are sent; default the entry's (node:http under the Node entry, fetch-node.ts; default-fetch.ts), else the global fetch. */
  fetch?: typeof fetch;
  /** Send concurrent calls as EdgeKMS batch requests (falls back to single calls where the endpoint lacks them); default off. */
  batch?: boolean | KmsBatchOptions;
  /** Whether the endpoint takes batch requests, shared by the clients of one endpoint (kmsClientProvider does); default the client's own. */
  batchSupport?: BatchSupport;
}

export interface KmsBatchOptions {
  /** Most entries per batch request, 2 to MAX_BATCH_ENTRIES (default MAX_BATCH_ENTRIES). */
  maxEntries?: number;
  /**
   * How long the first call waits for others to join its batch, in ms (default 0: the calls made in
   * the same turn of the event loop). While a batch is in flight, later calls wait for it and go in the next.
   */
  lingerMs?: number;
}

/** Whether an endpoint takes EdgeKMS's batch operations: unknown until its first batch request answers. */
export interface BatchSupport {
  supported?: boolean;
}

/** EdgeKMS's limits of a batch (docs/batch.md, src/kms/limits.ts): entries per request, and bytes of its body. */
export const MAX_BATCH_ENTRIES = 1000;
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;
/**
 * A single request's body limit (64 KiB, as AWS KMS's): an entry larger than this goes as a single
 * call, so that it is refused exactly as that call would be.
 */
const MAX_SINGLE_BODY_BYTES = 64 * 1024;
/** Room kept in a batch body for `{"Entries":[` … `]}`. */
const BATCH_ENVELOPE_BYTES = 64;
/**
 * The largest response body read (8 MiB). KMS answers are small (a batch of 1,000 entries within a
 * 1 MiB request answers ~2 MB at most); the endpoint decides the size, and an unbounded read let a
 * 1 GiB answer take gigabytes of memory and crash the process (attack review). Larger: a clean error.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Back-off before throttled batch entries are sent again: from this, doubling per attempt, jittered ±50%. */
const ENTRY_RETRY_BASE_MS = 100;
/** The longest back-off before a throttled entry's next attempt. */
const ENTRY_RETRY_MAX_MS = 2_000;

type BatchedOp = "GenerateDataKey" | "Encrypt" | "Decrypt";
const BATCH_TARGETS: Record<BatchedOp, string> = {
  GenerateDataKey: "EdgeKMSBatch.BatchGenerateDataKey",
  Encrypt: "EdgeKMSBatch.BatchEncrypt",
  Decrypt: "EdgeKMSBatch.BatchDecrypt",
};

/** One call waiting for its batch: its request (JSON) and the promise of its answer. */
interface Queued {
  op: BatchedOp;
  json: string;
  bytes: number;
  /** Times the entry was sent in a batch and answered with a retryable error (throttling, a KMS fault). */
  attempts: number;
  resolve(r: Record<string, unknown>): void;
  reject(e: unknown): void;
}

/**
 * Whether a whole batch request failed because the endpoint does not know the operation: AWS answers
 * an unknown X-Amz-Target with UnknownOperationException (`com.amazon.coral.service#…`, HTTP 400), as
 * EdgeKMS does for an unknown EdgeKMSBatch. operation; InvalidAction is the name AWS's common errors
 * give it (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html); and something that
 * is no KMS at all (a proxy, an old server) may answer 404, 405 or 501.
 */
function batchUnsupported(e: unknown): boolean {
  if (!(e instanceof KmsError)) return false;
  return e.name === "UnknownOperationException" || e.name === "InvalidAction" || e.status === 404 || e.status === 405 || e.status === 501;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** An error KMS answered (`name` is its type, e.g. AccessDeniedException), or a transport failure. */
export class KmsError extends Error {
  constructor(readonly name: string, message: string, readonly status?: number) {
    super(message ? `${name}: ${message}` : name);
  }
}

/** The public AWS endpoint of KMS in a region. */
export function defaultKmsEndpoint(region: string): string {
  if (!/^[a-z0-9-]+$/.test(region)) throw new KmsError("ConfigurationError", `not a region name: '${region}'`);
  return `https://kms.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function toBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + "=";
  }
  return out;
}

export function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, "");
  if (clean.length % 4 === 1) throw new KmsError("MalformedResponse", "invalid base64 in the KMS response");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, acc = 0, o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new KmsError("MalformedResponse", "invalid base64 in the KMS response");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const RETRYABLE = new Set(["ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "ServiceUnavailableException", "InternalFailure", "RequestTimeout"]);

/** KMS over HTTPS (or HTTP to a local endpoint) for one region. */
export class KmsHttpClient implements KmsClientLike {
  readonly endpoint: string;
  readonly region: string;
  private readonly credentials: () => Promise<Credentials>;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly batching?: { maxEntries: number; lingerMs: number };
  /** Whether this endpoint takes batch requests (shared with the provider's other clients of the endpoint). */
  readonly batchSupport: BatchSupport;
  private readonly queues: Record<BatchedOp, Queued[]> = { GenerateDataKey: [], Encrypt: [], Decrypt: [] };
  private readonly inflight: Record<BatchedOp, number> = { GenerateDataKey: 0, Encrypt: 0, Decrypt: 0 };
  private readonly timers: Partial<Record<BatchedOp, ReturnType<typeof setTimeout>>> = {};

  constructor(o: KmsHttpClientOptions) {
    checkCredentials(o);
    if (!o.region) throw new KmsError("ConfigurationError", "a KMS client needs a region");
    this.region = o.region;
    this.endpoint = (o.endpoint ?? defaultKmsEndpoint(o.region)).replace(/\/+$/, "");
    try {
      new URL(this.endpoint);
    } catch {
      throw new KmsError("ConfigurationError", `not an endpoint URL: '${this.endpoint}'`);
    }
    const creds = o.credentials;
    this.credentials = typeof creds === "function" ? creds : async () => creds;
    this.maxAttempts = Math.max(1, o.maxAttempts ?? 3);
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.fetchFn = o.fetch ?? defaultFetch;
    this.batchSupport = o.batchSupport ?? {};
    if (o.batch) {
      const b = o.batch === true ? {} : o.batch;
      const maxEntries = b.maxEntries ?? MAX_BATCH_ENTRIES;
      if (!Number.isInteger(maxEntries) || maxEntries < 2 || maxEntries > MAX_BATCH_ENTRIES) throw new KmsError("ConfigurationError", `batch.maxEntries must be an integer from 2 to ${MAX_BATCH_ENTRIES}`);
      const lingerMs = b.lingerMs ?? 0;
      if (typeof lingerMs !== "number" || !(lingerMs >= 0) || lingerMs > 10_000) throw new KmsError("ConfigurationError", "batch.lingerMs must be a number of milliseconds from 0 to 10000");
      this.batching = { maxEntries, lingerMs };
    }
  }

  async generateDataKey(input: GenerateDataKeyInput): Promise<GenerateDataKeyOutput> {
    const r = await this.request("GenerateDataKey", {
      KeyId: input.KeyId,
      NumberOfBytes: input.NumberOfBytes,
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), Plaintext: bytes(r.Plaintext), CiphertextBlob: bytes(r.CiphertextBlob) };
  }

  async encrypt(input: EncryptInput): Promise<EncryptOutput> {
    const r = await this.request("Encrypt", {
      KeyId: input.KeyId,
      Plaintext: toBase64(input.Plaintext),
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), CiphertextBlob: bytes(r.CiphertextBlob) };
  }

  async decrypt(input: DecryptInput): Promise<DecryptOutput> {
    const r = await this.request("Decrypt", {
      ...(input.KeyId ? { KeyId: input.KeyId } : {}),
      CiphertextBlob: toBase64(input.CiphertextBlob),
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), Plaintext: bytes(r.Plaintext) };
  }

  /** One call: alone, or queued for the next batch of its operation. */
  private request(op: BatchedOp, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const json = JSON.stringify(input);
    if (!this.batching || this.batchSupport.supported === false) return this.call(op, `TrentService.${op}`, json);
    const bytes = utf8Length(json);
    if (bytes > MAX_SINGLE_BODY_BYTES) return this.call(op, `TrentService.${op}`, json);
    return new Promise((resolve, reject) => {
      this.enqueue({ op, json, bytes, attempts: 0, resolve, reject });
    });
  }

  private enqueue(entry: Queued): void {
    const q = this.queues[entry.op];
    q.push(entry);
    if (q.length >= this.batching!.maxEntries) this.flush(entry.op);
    else this.schedule(entry.op);
  }

  /** Flushes the queue after the linger, unless a batch of the operation is in flight (its end flushes). */
  private schedule(op: BatchedOp): void {
    if (this.timers[op] !== undefined || this.inflight[op] > 0) return;
    this.timers[op] = setTimeout(() => {
      this.timers[op] = undefined;
      this.flush(op);
    }, this.batching!.lingerMs);
  }

  /** Sends what is queued: one call alone, or batches within the entry and body limits. */
  private flush(op: BatchedOp): void {
    const t = this.timers[op];
    if (t !== undefined) clearTimeout(t);
    this.timers[op] = undefined;
    const queued = this.queues[op];
    this.queues[op] = [];
    if (queued.length === 0) return;
    if (this.batchSupport.supported === false) {
      for (const q of queued) this.single(q);
      return;
    }
    if (queued.length === 1) {
      // Alone: the single call, counted in flight like a batch, so that the calls that come
      // meanwhile wait for it and go together.
      this.inflight[op]++;
      this.call(op, `TrentService.${op}`, queued[0]!.json).then(queued[0]!.resolve, queued[0]!.reject).finally(() => this.settled(op));
      return;
    }
    let chunk: Queued[] = [];
    let size = BATCH_ENVELOPE_BYTES;
    for (const q of queued) {
      if (chunk.length && (chunk.length >= this.batching!.maxEntries || size + q.bytes + 1 > MAX_BATCH_BODY_BYTES)) {
        this.sendBatch(op, chunk);
        chunk = [];
        size = BATCH_ENVELOPE_BYTES;
      }
      chunk.push(q);
      size += q.bytes + 1;
    }
    if (chunk.length === 1) this.single(chunk[0]!);
    else this.sendBatch(op, chunk);
  }

  /** A request of the operation's queue ended: the calls queued meanwhile go now. */
  private settled(op: BatchedOp): void {
    if (--this.inflight[op] === 0 && this.queues[op].length) this.flush(op);
  }

  /** A queued call sent as the single operation. */
  private single(q: Queued): void {
    this.call(q.op, `TrentService.${q.op}`, q.json).then(q.resolve, q.reject);
  }

  private sendBatch(op: BatchedOp, chunk: Queued[]): void {
    this.inflight[op]++;
    const body = `{"Entries":[${chunk.map((q) => q.json).join(",")}]}`;
    this.call(op, BATCH_TARGETS[op], body).then(
      (json) => {
        const byIndex = batchResults(json.Results, chunk.length);
        if (!byIndex) {
          // Not a well-formed batch answer (a server that answers anything with 200, or results that
          // do not map one to one onto the entries: a duplicate, missing, out-of-range or non-integer
          // Index): none of it is trusted, and each entry asks alone.
          for (const q of chunk) this.single(q);
          return;
        }
        this.batchSupport.supported = true;
        const throttled: Queued[] = [];
        chunk.forEach((q, i) => {
          const r = byIndex[i]!;
          if (typeof r.ErrorCode === "string") {
            const message = typeof r.ErrorMessage === "string" ? r.ErrorMessage : "";
            const err = new KmsError(r.ErrorCode, `${message}${message ? " " : ""}(${op}, ${this.region}, ${this.endpoint})`, 400);
            // An error the single call would retry (throttling, a KMS fault) is retried, after a
            // back-off, in the next batch: not at once, and not as one single call per entry.
            if (RETRYABLE.has(r.ErrorCode) && q.attempts + 1 < this.maxAttempts) {
              q.attempts++;
              throttled.push(q);
              return;
            }
            return q.reject(err);
          }
          q.resolve(r);
        });
        if (throttled.length) {
          const attempt = Math.max(...throttled.map((q) => q.attempts));
          const delay = Math.min(ENTRY_RETRY_MAX_MS, ENTRY_RETRY_BASE_MS * 2 ** (attempt - 1)) * (0.5 + Math.random());
          setTimeout(() => {
            for (const q of throttled) this.enqueue(q);
          }, delay);
        }
      },
      (e) => {
        // The endpoint does not know the batch operations (AWS KMS): single calls from now on.
        if (batchUnsupported(e)) {
          this.batchSupport.supported = false;
          for (const q of chunk) this.single(q);
          return;
        }
        // Any other failure of the whole request (a 5xx after call()'s retries with back-off,
        // AccessDenied of the request's credentials, the network): the entries fail with it. Each
        // entry is authorized as its single call (docs/batch.md), so the single calls would fail the
        // same way — sending them would only multiply one failure into one request per entry.
        for (const q of chunk) q.reject(e);
      },
    ).finally(() => this.settled(op));
  }

  private async call(operation: string, target: string, body: string): Promise<Record<string, unknown>> {
    const url = `${this.endpoint}/`;
    let last: KmsError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 2) * (0.5 + Math.random())));
      const c = await this.credentials();
      const headers = await signRequest(url, target, body, {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        region: this.region,
        contentSha256: true,
        ...(c.sessionToken ? { extraHeaders: { "x-amz-security-token": c.sessionToken } } : {}),
      });
      let res: Response;
      let text: string;
      try {
        res = await this.fetchFn(url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
        text = await readBody(res, `${operation} (${this.endpoint})`);
      } catch (e) {
        if (e instanceof KmsError) throw e; // an answer too large: not retried
        const cause = (e as Error & { cause?: Error }).cause;
        last = new KmsError("NetworkError", `${operation} to ${this.endpoint} failed: ${cause?.message ?? (e as Error).message}`);
        continue;
      }
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        json = {};
      }
      if (res.ok) return json;
      const type = String(json.__type ?? json.code ?? `HTTP ${res.status}`).replace(/^.*#/, "");
      const message = String(json.message ?? json.Message ?? (text && !text.startsWith("{") ? text.slice(0, 200) : ""));
      last = new KmsError(type, `${message}${message ? " " : ""}(${operation}, ${this.region}, ${this.endpoint})`, res.status);
      if (!(res.status >= 500 || RETRYABLE.has(type))) break;
    }
    throw last!;
  }
}

/** The response body as text, refused past MAX_RESPONSE_BYTES (by its Content-Length, else as it streams). */
async function readBody(res: Response, what: string): Promise<string> {
  const tooLarge = () => new KmsError("ResponseTooLarge", `the answer to ${what} is larger than ${MAX_RESPONSE_BYTES} bytes`, res.status);
  const declared = Number(res.headers?.get?.("content-length") ?? NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const stream = res.body;
  if (!stream || typeof stream.getReader !== "function") {
    // A fetch without streams (fetch-node.ts caps the body itself): checked after the read.
    const text = await res.text();
    if (text.length > MAX_RESPONSE_BYTES) throw tooLarge();
    return text;
  }
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    parts.push(value);
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * A batch answer's results by entry, or undefined unless they map one to one onto the entries:
 * exactly `n` results, each an object whose Index is an integer in [0, n), no Index twice.
 */
function batchResults(results: unknown, n: number): Array<Record<string, unknown>> | undefined {
  if (!Array.isArray(results) || results.length !== n) return undefined;
  const byIndex: Array<Record<string, unknown> | undefined> = new Array(n);
  for (const r of results) {
    if (r === null || typeof r !== "object" || Array.isArray(r)) return undefined;
    const i = (r as Record<string, unknown>).Index;
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= n || byIndex[i]) return undefined;
    byIndex[i] = r as Record<string, unknown>;
  }
  return byIndex as Array<Record<string, unknown>>;
}

function context(ec?: Record<string, string>): Record<string, unknown> {
  return ec && Object.keys(ec).length ? { EncryptionContext: ec } : {};
}

function grants(g?: string[]): Record<string, unknown> {
  return g && g.length ? { GrantTokens: g } : {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function bytes(v: unknown): Uint8Array | undefined {
  return typeof v === "string" ? fromBase64(v) : undefined;
}

export interface KmsClientProviderOptions extends Omit<KmsHttpClientOptions, "region" | "endpoint" | "batchSupport"> {
  /**
   * One endpoint for every region (as AWS_ENDPOINT_URL_KMS: a local or private KMS signing with the
   * key's region), or a function of the region; default: each region's public endpoint.
   */
  endpoint?: string | ((region: string) => string);
  /** The region for key identifiers that carry none (key ids and alias names rather than ARNs). */
  defaultRegion?: string;
}

/**
 * Options without credentials fail here, with what to pass, rather than as a TypeError at the first
 * call (a newcomer's trial: `kmsClientProvider({})`). The library reads no AWS variables itself.
 */
function checkCredentials(o: { credentials?: unknown } | undefined): void {
  const c = o?.credentials;
  const usable = typeof c === "function" || (typeof c === "object" && c !== null
    && typeof (c as Credentials).accessKeyId === "string" && (c as Credentials).accessKeyId !== ""
    && typeof (c as Credentials).secretAccessKey === "string" && (c as Credentials).secretAccessKey !== "");
  if (!usable) {
    throw new KmsError("ConfigurationError", "a KMS client needs credentials: { endpoint, credentials: { accessKeyId, secretAccessKey, sessionToken? } } (or a function returning them); the library reads no AWS variables or profiles itself");
  }
}

/** A client per region (and endpoint), made on first use: the `client` option of KmsKeyring. */
export function kmsClientProvider(o: KmsClientProviderOptions): (region: string) => KmsClientLike {
  checkCredentials(o);
  const clients = new Map<string, KmsHttpClient>();
  /** Per endpoint: the first batch refused there turns batching off for every region it serves. */
  const support = new Map<string, BatchSupport>();
  return (region: string) => {
    const r = region || o.defaultRegion;
    if (!r) throw new KmsError("ConfigurationError", "the key identifier names no region and no default region is configured");
    // The region picks the endpoint (and is part of an endpoint template): never anything but a region name.
    if (!/^([a-z]+-){2,3}\d+$/.test(r)) throw new KmsError("ConfigurationError", `not a region name: '${r}'`);
    const endpoint = typeof o.endpoint === "function" ? o.endpoint(r) : o.endpoint ?? defaultKmsEndpoint(r);
    const id = `${endpoint}\n${r}`;
    let c = clients.get(id);
    if (!c) {
      let shared = support.get(endpoint);
      if (!shared) support.set(endpoint, (shared = {}));
      c = new KmsHttpClient({ ...o, endpoint, region: r, batchSupport: shared });
      clients.set(id, c);
    }
    return c;
  };
}
