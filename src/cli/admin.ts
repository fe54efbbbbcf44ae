// `edgekms admin <command>`: accounts, users, access keys, user policies and quotas
// (docs/admin.md). `admin init-secrets` is in init-secrets.ts: it needs no server.
import { readFileSync } from "node:fs";
import { adminCall, type ClientConfig } from "./admin-client.js";
import { UsageError } from "./config.js";

export interface AdminOptions {
  account?: string;
  accountId?: string;
  userName?: string;
  accessKeyId?: string;
  policyName?: string;
  policyDocument?: string;
  /** put-account-quotas: NAME=VALUE, or NAME= for the default. */
  quota?: string[];
  json?: boolean;
}

const COMMANDS: Record<string, [operation: string, input: (o: AdminOptions) => Record<string, unknown>]> = {
  "create-account": ["CreateAccount", (o) => ({ ...(o.accountId ? { AccountId: o.accountId } : {}) })],
  "create-user": ["CreateUser", (o) => ({ UserName: o.userName })],
  "create-access-key": ["CreateAccessKey", (o) => ({ ...(o.userName ? { UserName: o.userName } : {}) })],
  "delete-access-key": ["DeleteAccessKey", (o) => ({ AccessKeyId: o.accessKeyId })],
  "put-user-policy": ["PutUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName, PolicyDocument: o.policyDocument })],
  "get-user-policy": ["GetUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName })],
  "delete-user-policy": ["DeleteUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName })],
  "get-caller-identity": ["GetCallerIdentity", () => ({})],
  "list-users": ["ListUsers", () => ({})],
  "list-accounts": ["ListAccounts", () => ({})],
  "rewrap-root-secret": ["RewrapRootSecret", () => ({})],
  "get-account-quotas": ["GetAccountQuotas", () => ({})],
  "put-account-quotas": ["PutAccountQuotas", (o) => ({ Quotas: quotaChanges(o.quota ?? []) })],
};

/** --policy-document takes JSON, or file://PATH as the AWS CLI does. */
const document = (v: string | undefined) => (v?.startsWith("file://") ? readFileSync(v.slice(7), "utf8") : v);

/** --quota NAME=VALUE (requests per second), or NAME= (back to the default): PutAccountQuotas' Quotas. */
function quotaChanges(given: string[]): { QuotaName: string; Value?: number }[] {
  if (!given.length) throw new UsageError("put-account-quotas needs --quota NAME=VALUE (or NAME= for the default), once per quota");
  return given.map((q) => {
    const at = q.lastIndexOf("=");
    const name = at > 0 ? q.slice(0, at) : "";
    const value = at > 0 ? q.slice(at + 1).trim() : "";
    if (!name) throw new UsageError(`--quota '${q}' is not NAME=VALUE (or NAME= for the default)`);
    if (value === "") return { QuotaName: name };
    const n = Number(value);
    if (!Number.isFinite(n)) throw new UsageError(`--quota '${q}': the value must be a number of requests per second (or empty for the default)`);
    return { QuotaName: name, Value: n };
  });
}

/**
 * Dates as ISO 8601 (UTC): the admin API gives them as numbers, AWS-style epoch seconds
 * (ListUsers' CreateDate) or epoch milliseconds. A member whose name ends in Date or Time
 * holds one; a number below 1e11 is taken as seconds (1e11 s is the year 5138; 1e11 ms is 1973).
 */
export function isoDates(value: unknown, name = ""): unknown {
  if (typeof value === "number" && /(?:Date|Time)$/.test(name)) return new Date(value < 1e11 ? value * 1000 : value).toISOString();
  if (Array.isArray(value)) return value.map((v) => isoDates(v, name));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isoDates(v, k)]));
  return value;
}

interface QuotaListing { Account: string; Region: string; Quotas: { QuotaName: string; Value?: number; Default?: number; Adjusted: boolean }[] }

/** A quota listing as a table; `only` keeps the named quotas (those a put changed). */
function quotaTable(l: QuotaListing, only?: Set<string>): string {
  const rows = l.Quotas.filter((q) => !only || only.has(q.QuotaName)).map((q) => [
    q.QuotaName, q.Value === undefined ? "none" : String(q.Value), q.Default === undefined ? "none" : String(q.Default), q.Adjusted ? "set" : "default",
  ]);
  const all = [["QUOTA", "VALUE/S", "DEFAULT/S", "SOURCE"], ...rows];
  const width = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return [`account ${l.Account}, region ${l.Region} (requests per second; none: no limit)`, ...all.map((r) => r.map((c, i) => c.padEnd(width[i])).join("  ").trimEnd())].join("\n");
}

export async function adminCommand(cmd: string, cfg: ClientConfig, o: AdminOptions): Promise<number> {
  const entry = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!entry) throw new UsageError(`unknown admin command '${cmd}' (${[...Object.keys(COMMANDS), "init-secrets"].join(", ")})`);
  const [operation, input] = entry;
  const request: Record<string, unknown> = { ...input({ ...o, policyDocument: document(o.policyDocument) }), ...(o.account ? { Account: o.account } : {}) };
  const out = await adminCall(cfg, operation, request);
  if ((operation === "GetAccountQuotas" || operation === "PutAccountQuotas") && !o.json) {
    const named = operation === "PutAccountQuotas" ? new Set((request.Quotas as { QuotaName: string }[]).map((q) => q.QuotaName)) : undefined;
    console.log(quotaTable(out as QuotaListing, named));
    return 0;
  }
  console.log(JSON.stringify(isoDates(out), null, 2));
  return 0;
}
