// A client of the EdgeKMS admin API (POST /admin) and of the KMS API (POST /), SigV4-signed with
// the credentials src/cli/config.ts resolved, the same for every subcommand.
import { signRequest } from "./sign.js";

export interface ClientConfig {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * Sent as X-Amz-Security-Token, as the AWS SDKs send one, never dropped: EdgeKMS refuses it
   * (it takes long-term access keys only), and so does `edgekms encrypt` with the same variables.
   */
  sessionToken?: string;
  /** The User-Agent header (src/cli/config.ts userAgent): the audit record's userAgent. */
  userAgent?: string;
}

export class AdminError extends Error {
  constructor(readonly type: string, message: string) {
    super(`${type}: ${message}`);
  }
}

/**
 * The headers of a signed POST of `body` to `url`. User-Agent is added after signing: SigV4 leaves
 * it unsigned (src/cli/sign.ts), as the AWS SDKs do.
 */
export async function signedHeaders(cfg: ClientConfig, url: string, target: string, body: string): Promise<Record<string, string>> {
  const headers = await signRequest(url, target, body, {
    accessKeyId: cfg.accessKeyId,
    secretAccessKey: cfg.secretAccessKey,
    region: cfg.region,
    contentSha256: true,
    ...(cfg.sessionToken ? { extraHeaders: { "x-amz-security-token": cfg.sessionToken } } : {}),
  });
  return cfg.userAgent ? { ...headers, "user-agent": cfg.userAgent } : headers;
}

async function call<T>(cfg: ClientConfig, path: string, target: string, input: Record<string, unknown>): Promise<T> {
  const url = `${cfg.endpoint.replace(/\/$/, "")}${path}`;
  const body = JSON.stringify(input);
  const headers = await signedHeaders(cfg, url, target, body);
  const res = await fetch(url, { method: "POST", headers, body });
  const json = (await res.json()) as T & { __type?: string; message?: string };
  if (!res.ok) throw new AdminError(json.__type ?? `HTTP ${res.status}`, json.message ?? "");
  return json;
}

export async function adminCall<T>(cfg: ClientConfig, operation: string, input: Record<string, unknown> = {}): Promise<T> {
  return call<T>(cfg, "/admin", `EdgeKMSAdmin.${operation}`, input);
}

/** One KMS API call (POST /, X-Amz-Target TrentService.<Operation>), signed as adminCall signs. */
export async function kmsCall<T>(cfg: ClientConfig, operation: string, input: Record<string, unknown> = {}): Promise<T> {
  return call<T>(cfg, "/", `TrentService.${operation}`, input);
}
