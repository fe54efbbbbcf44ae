// The admin API's request-rate quota operations (docs/quotas.md), in the account and region of
// the request (as AWS's quotas are per account and region):
// - GetAccountQuotas: every quota with its value in force, its default and whether it was set;
//   the account root (its own account) or the operator;
// - PutAccountQuotas: sets quotas, or returns them to their default (a quota without Value); the
//   operator only, so no account raises its own.
// Both are decided by the one authorizer and recorded as every admin call (src/admin/handler.ts).
import type { AdminOperation, Scope } from "./handler.js";
import { OPERATIONS } from "../operations/index.js";
import { DATA_KEY_PAIR_SPECS } from "../operations/enums.js";
import { identityStore, quotaCounterStub } from "../placement.js";
import { KmsError, validationError } from "../protocol/errors.js";
import { quotaIn, quotasChanged } from "../quota/enforce.js";
import { MAX_QUOTA, SHARED_QUOTAS, dataKeyPairQuota, describeQuota } from "../quota/table.js";

const ACCOUNT = { kind: "string", pattern: /^\d{12}$/ } as const;
const SERVICE_QUOTAS = "servicequotas.amazonaws.com";

/**
 * Every quota: the shared cryptographic ones, GenerateDataKeyPair's per key pair spec, and the
 * control-plane quota of every other operation of the operation table.
 */
export function quotaNames(): string[] {
  const controlPlane = [...OPERATIONS.values()].filter((op) => op.quota === undefined).map((op) => op.name).sort();
  return [...Object.keys(SHARED_QUOTAS), ...DATA_KEY_PAIR_SPECS.map(dataKeyPairQuota), ...controlPlane];
}

/** Quotas are an existing account's: the operator names any account, and a typo must not set quotas no account has. */
async function existing(s: Scope): Promise<void> {
  if (!(await identityStore(s.env).accountExists(s.account))) throw new KmsError("NoSuchEntityException", `Account ${s.account} does not exist`);
}

/** The account-region's quotas (the resource the authorizer decides on). */
const quotasArn = (s: Scope) => `arn:aws:servicequotas:${s.region}:${s.account}:kms`;

function listing(s: Scope, configured: Readonly<Record<string, number>>) {
  return {
    Account: s.account,
    Region: s.region,
    Quotas: quotaNames().map((name) => {
      const value = quotaIn(s.env, s.region, name, configured);
      const dflt = quotaIn(s.env, s.region, name, {});
      return {
        QuotaName: name,
        Description: describeQuota(name),
        // No value: no limit (AWS documents no default for it, and none was set).
        ...(value === undefined ? {} : { Value: value }),
        ...(dflt === undefined ? {} : { Default: dflt }),
        Adjusted: Object.hasOwn(configured, name),
      };
    }),
  };
}

export const QUOTA_OPERATIONS: Record<string, AdminOperation> = {
  GetAccountQuotas: {
    schema: { Account: ACCOUNT },
    eventSource: SERVICE_QUOTAS,
    readOnly: true,
    auditMembers: ["Account"],
    access: (s) => ({ action: "edgekms:GetAccountQuotas", resource: quotasArn(s), rootOnly: true }),
    async run(s) {
      await existing(s);
      return listing(s, await quotaCounterStub(s.env, s.region, s.account).getQuotas());
    },
  },
  PutAccountQuotas: {
    schema: {
      Account: ACCOUNT,
      Quotas: {
        kind: "list", min: 1, max: 200, required: true,
        item: { kind: "struct", fields: { QuotaName: { kind: "string", min: 1, max: 128, required: true }, Value: { kind: "number", min: 0, max: MAX_QUOTA } } },
      },
    },
    eventSource: SERVICE_QUOTAS,
    readOnly: false,
    auditMembers: ["Account", "Quotas"],
    access: (s) => ({ action: "edgekms:PutAccountQuotas", resource: quotasArn(s), operatorOnly: true }),
    async run(s, input) {
      const known = new Set(quotaNames());
      const changes: Record<string, number | null> = {};
      const errors: string[] = [];
      (input.Quotas as { QuotaName: string; Value?: number }[]).forEach((q, i) => {
        if (!known.has(q.QuotaName)) errors.push(`Value '${q.QuotaName}' at 'quotas.${i + 1}.member.quotaName' failed to satisfy constraint: Member must name a quota (GetAccountQuotas lists them)`);
        changes[q.QuotaName] = q.Value ?? null;
      });
      if (errors.length) throw validationError(errors);
      await existing(s);
      const configured = await quotaCounterStub(s.env, s.region, s.account).setQuotas(changes);
      quotasChanged(s.account, s.region, configured);
      return listing(s, configured);
    },
  },
};
