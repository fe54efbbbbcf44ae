// A client of the EdgeKMS admin API (POST /admin, SigV4 as the operator principal).
import { signRequest } from "./sign.js";

export interface ClientConfig {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export class AdminError extends Error {
  constructor(readonly type: string, message: string) {
    super(`${type}: ${message}`);
  }
}

export async function adminCall<T>(cfg: ClientConfig, operation: string, input: Record<string, unknown> = {}): Promise<T> {
  const url = `${cfg.endpoint.replace(/\/$/, "")}/admin`;
  const body = JSON.stringify(input);
  const headers = await signRequest(url, `EdgeKMSAdmin.${operation}`, body, {
    accessKeyId: cfg.accessKeyId,
    secretAccessKey: cfg.secretAccessKey,
    region: cfg.region,
    contentSha256: true,
  });
  const res = await fetch(url, { method: "POST", headers, body });
  const json = (await res.json()) as T & { __type?: string; message?: string };
  if (!res.ok) throw new AdminError(json.__type ?? `HTTP ${res.status}`, json.message ?? "");
  return json;
}

/** One KMS API call (POST /, X-Amz-Target TrentService.<Operation>), signed as adminCall signs. */
export async function kmsCall<T>(cfg: ClientConfig, operation: string, input: Record<string, unknown> = {}): Promise<T> {
  const url = `${cfg.endpoint.replace(/\/$/, "")}/`;
  const body = JSON.stringify(input);
  const headers = await signRequest(url, `TrentService.${operation}`, body, {
    accessKeyId: cfg.accessKeyId,
    secretAccessKey: cfg.secretAccessKey,
    region: cfg.region,
    contentSha256: true,
  });
  const res = await fetch(url, { method: "POST", headers, body });
  const json = (await res.json()) as T & { __type?: string; message?: string };
  if (!res.ok) throw new AdminError(json.__type ?? `HTTP ${res.status}`, json.message ?? "");
  return json;
}
