// The console's only way to the service: the same KMS (POST /) and admin (POST /admin)
// endpoints the SDKs and the CLI use, each request SigV4-signed here in the browser with the
// AWS SDK's signer (src/cli/sign.ts). The secret access key stays in this tab's session
// storage; the server never sees it, and the console has no privileges of its own.
import { signRequest } from "../cli/sign.js";

/** The regions this console offers; the server refuses the others (REGIONS in wrangler.toml). */
export const REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Who signed in (GetCallerIdentity's ARN), for the header. */
  principal?: string;
}

const STORAGE_KEY = "edgekms.session";

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return s && typeof s.accessKeyId === "string" && typeof s.secretAccessKey === "string" && typeof s.region === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

export const saveSession = (s: Session): void => sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
export const clearSession = (): void => sessionStorage.removeItem(STORAGE_KEY);

/** An error the service answered with: its AWS error type and message. */
export class ApiError extends Error {
  constructor(readonly type: string, message: string, readonly status: number) {
    super(message || type);
  }
}

async function call<T>(session: Session, path: "/" | "/admin", target: string, input: object): Promise<T> {
  const url = `${location.origin}${path}`;
  const body = JSON.stringify(input);
  const signed = await signRequest(url, target, body, { ...session, contentSha256: true });
  // The browser sets Host itself (the same value that was signed).
  const { host: _host, ...headers } = signed;
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new ApiError("InvalidResponse", `The service answered HTTP ${res.status} with a body that is not JSON.`, res.status);
  }
  if (!res.ok) {
    const type = String(json.__type ?? `HTTP ${res.status}`).split("#").pop()!;
    throw new ApiError(type, String(json.message ?? json.Message ?? ""), res.status);
  }
  return json as T;
}

/** Reads in flight, by operation and input: a second identical read shares the first's answer. */
const reading = new Map<string, Promise<unknown>>();

/**
 * A KMS read (Describe*, Get*, List*) that shares an identical one already in flight: each call
 * is an audit record, and sections that load together must not ask twice.
 */
export function kmsRead<T = Record<string, unknown>>(session: Session, operation: string, input: object = {}): Promise<T> {
  const id = `${session.accessKeyId} ${session.region} ${operation} ${JSON.stringify(input)}`;
  let p = reading.get(id) as Promise<T> | undefined;
  if (!p) {
    p = call<T>(session, "/", `TrentService.${operation}`, input).finally(() => reading.delete(id));
    reading.set(id, p);
  }
  return p;
}

/** A KMS API call (X-Amz-Target TrentService.<operation>). */
export const kms = <T = Record<string, unknown>>(session: Session, operation: string, input: object = {}): Promise<T> =>
  call<T>(session, "/", `TrentService.${operation}`, input);

/** An admin API call (X-Amz-Target EdgeKMSAdmin.<operation>). */
export const admin = <T = Record<string, unknown>>(session: Session, operation: string, input: object = {}): Promise<T> =>
  call<T>(session, "/admin", `EdgeKMSAdmin.${operation}`, input);

/** Every page of a KMS List* operation (Marker / NextMarker / Truncated). */
export async function listAll<T>(session: Session, operation: string, input: object, member: string, limit = 1000): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await kmsRead<Record<string, unknown>>(session, operation, { ...input, Limit: limit, ...(marker ? { Marker: marker } : {}) });
    out.push(...((page[member] as T[] | undefined) ?? []));
    marker = page.Truncated ? (page.NextMarker as string) : undefined;
  } while (marker);
  return out;
}
