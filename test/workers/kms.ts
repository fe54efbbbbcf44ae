// A minimal KMS client for tests inside workerd: signs with the clients' SigV4 signer (src/cli/sign.ts) and calls
// the Worker through SELF.fetch.
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
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

export type Creds = { accessKeyId: string; secretAccessKey: string };

/** A policy document of the given statements. */
export const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** A name no other test uses. */
export const unique = (p: string) => `${p}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** An IAM user (of `account`, by default the test account; made as `as`) with an inline policy of `policy`, and its access key. */
export async function newUser(policy?: object[], account?: string, as?: Creds): Promise<Creds & { arn: string; name: string }> {
  const name = unique("u");
  const acct = account ? { Account: account } : {};
  const created = await admin<{ Arn: string }>("CreateUser", { ...acct, UserName: name }, as);
  expect(created.status).toBe(200);
  if (policy) expect((await admin("PutUserPolicy", { ...acct, UserName: name, PolicyName: "p", PolicyDocument: doc(...policy) }, as)).status).toBe(200);
  const k = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { ...acct, UserName: name }, as)).body;
  return { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey, arn: created.body.Arn, name };
}

/** A new account and its root's access key. */
export async function newAccount(): Promise<Creds & { account: string }> {
  const r = (await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount", {})).body;
  return { account: r.AccountId, accessKeyId: r.AccessKeyId, secretAccessKey: r.SecretAccessKey };
}
