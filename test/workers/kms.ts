// A minimal KMS client for tests inside workerd: signs with @smithy/signature-v4 and calls
// the Worker through SELF.fetch.
import { SELF } from "cloudflare:test";
import { signRequest, type SignOptions } from "../../src/cli/sign.js";

export const ACCOUNT = "111122223333";
export const ACCESS_KEY_ID = "AKIAEDGEKMSTEST00001";
export const SECRET_ACCESS_KEY = "test-secret-access-key-for-the-workers-tests/0001";
export const ENDPOINT = "https://kms.us-east-1.amazonaws.com/";

export interface KmsResponse<T = Record<string, unknown>> {
  status: number;
  body: T & { __type?: string; message?: string };
  headers: Headers;
}

export async function call<T = Record<string, unknown>>(
  target: string,
  input: unknown,
  opts: Partial<SignOptions> & { endpoint?: string; rawBody?: string } = {},
): Promise<KmsResponse<T>> {
  const body = opts.rawBody ?? JSON.stringify(input);
  const endpoint = opts.endpoint ?? ENDPOINT;
  const headers = await signRequest(endpoint, target, body, {
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: "us-east-1",
    ...opts,
  });
  const res = await SELF.fetch(endpoint, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** Calls and expects success; returns the body. */
export async function ok<T = Record<string, unknown>>(target: string, input: unknown, opts: Parameters<typeof call>[2] = {}): Promise<T> {
  const r = await call<T>(target, input, opts);
  if (r.status !== 200) throw new Error(`${target} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export const b64 = (s: string | Uint8Array): string => btoa(typeof s === "string" ? s : String.fromCharCode(...s));
export const unb64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
export const text = (s: string): string => new TextDecoder().decode(unb64(s));

/** Calls the operator's admin API (POST /admin, X-Amz-Target EdgeKMSAdmin.<op>). */
export async function admin<T = Record<string, unknown>>(op: string, input: unknown = {}, opts: Parameters<typeof call>[2] = {}): Promise<KmsResponse<T>> {
  return call<T>(`EdgeKMSAdmin.${op}`, input, { endpoint: `${ENDPOINT}admin`, ...opts });
}
