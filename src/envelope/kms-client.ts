// A minimal AWS KMS client for the KMS keyring: GenerateDataKey, Encrypt and Decrypt over the KMS
// JSON 1.1 protocol, signed with SigV4 (src/cli/sign.ts, WebCrypto) and sent with fetch — so it runs
// in Node, browsers and Workers without the AWS SDK. Its method shapes are the AWS SDK v3's
// (`new KMS(...)` of @aws-sdk/client-kms satisfies KmsClientLike too), so either can back a keyring.
import { signRequest } from "../cli/sign.js";

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
  fetch?: typeof fetch;
}

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

  constructor(o: KmsHttpClientOptions) {
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
    this.fetchFn = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  }

  async generateDataKey(input: GenerateDataKeyInput): Promise<GenerateDataKeyOutput> {
    const r = await this.call("GenerateDataKey", {
      KeyId: input.KeyId,
      NumberOfBytes: input.NumberOfBytes,
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), Plaintext: bytes(r.Plaintext), CiphertextBlob: bytes(r.CiphertextBlob) };
  }

  async encrypt(input: EncryptInput): Promise<EncryptOutput> {
    const r = await this.call("Encrypt", {
      KeyId: input.KeyId,
      Plaintext: toBase64(input.Plaintext),
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), CiphertextBlob: bytes(r.CiphertextBlob) };
  }

  async decrypt(input: DecryptInput): Promise<DecryptOutput> {
    const r = await this.call("Decrypt", {
      ...(input.KeyId ? { KeyId: input.KeyId } : {}),
      CiphertextBlob: toBase64(input.CiphertextBlob),
      ...context(input.EncryptionContext),
      ...grants(input.GrantTokens),
    });
    return { KeyId: str(r.KeyId), Plaintext: bytes(r.Plaintext) };
  }

  private async call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const url = `${this.endpoint}/`;
    const body = JSON.stringify(input);
    let last: KmsError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 2) * (0.5 + Math.random())));
      const c = await this.credentials();
      const headers = await signRequest(url, `TrentService.${operation}`, body, {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        region: this.region,
        contentSha256: true,
        ...(c.sessionToken ? { extraHeaders: { "x-amz-security-token": c.sessionToken } } : {}),
      });
      let res: Response;
      try {
        res = await this.fetchFn(url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        const cause = (e as Error & { cause?: Error }).cause;
        last = new KmsError("NetworkError", `${operation} to ${this.endpoint} failed: ${cause?.message ?? (e as Error).message}`);
        continue;
      }
      const text = await res.text();
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

export interface KmsClientProviderOptions extends Omit<KmsHttpClientOptions, "region" | "endpoint"> {
  /**
   * One endpoint for every region (as AWS_ENDPOINT_URL_KMS: a local or private KMS signing with the
   * key's region), or a function of the region; default: each region's public endpoint.
   */
  endpoint?: string | ((region: string) => string);
  /** The region for key identifiers that carry none (key ids and alias names rather than ARNs). */
  defaultRegion?: string;
}

/** A client per region (and endpoint), made on first use: the `client` option of KmsKeyring. */
export function kmsClientProvider(o: KmsClientProviderOptions): (region: string) => KmsClientLike {
  const clients = new Map<string, KmsHttpClient>();
  return (region: string) => {
    const r = region || o.defaultRegion;
    if (!r) throw new KmsError("ConfigurationError", "the key identifier names no region and no default region is configured");
    // The region picks the endpoint (and is part of an endpoint template): never anything but a region name.
    if (!/^([a-z]+-){2,3}\d+$/.test(r)) throw new KmsError("ConfigurationError", `not a region name: '${r}'`);
    const endpoint = typeof o.endpoint === "function" ? o.endpoint(r) : o.endpoint ?? defaultKmsEndpoint(r);
    const id = `${endpoint}\n${r}`;
    let c = clients.get(id);
    if (!c) {
      c = new KmsHttpClient({ ...o, endpoint, region: r });
      clients.set(id, c);
    }
    return c;
  };
}
