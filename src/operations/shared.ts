// Helpers the operation files share: vault and catalog stubs, key resolution, and the
// mapping of vault result codes to AWS errors.
import { KmsError, notFound } from "../protocol/errors.js";
import { vaultStub, catalogStub } from "../placement.js";
import { aliasArn, keyArn, parseKeyRef } from "../kms/ids.js";
import { VAULT_ERROR_TYPES, type Authorization, type VaultCaller, type VaultErrorCode, type VaultResult } from "../vault/types.js";
import { permissionOf, type Operation } from "./operation.js";
import type { AuditDraft } from "../audit/record.js";
import { authorize } from "../authz/authorize.js";
import { identityPolicies } from "../authz/identity-policies.js";
import type { OpContext } from "./context.js";

export const vault = (ctx: OpContext, keyId: string) => ctx.stubs?.vault(keyId) ?? vaultStub(ctx.env, ctx.region, keyId);
/** An account's catalog in the request's region: the caller's, or (to resolve an alias ARN for a cross-account operation) the account the ARN names. */
export const catalog = (ctx: OpContext, account = ctx.caller.accountId) => ctx.stubs?.catalog(account) ?? catalogStub(ctx.env, ctx.region, account);


// Decrypt failures stay generic on the wire; the detail goes to the audit record only.
const GENERIC_MESSAGES: Partial<Record<VaultErrorCode, string>> = {
  InvalidCiphertext: "",
  IncorrectKey: "The key ID in the request does not identify a KMS key that can perform this operation.",
};

/**
 * The caller as a vault sees it, with the request's audit draft (so that the vault completes the
 * record of the outcome), to be authorized for the operation's permission (or `action`'s).
 */
export const audited = (ctx: OpContext, action?: string): VaultCaller => callerWith(ctx, checkOf(ctx.op, action), ctx.audit.draft);

/** The caller for a vault call that is part of a request (the handler records it), authorized for the operation's permission (or `action`'s). */
export const checkedFor = (ctx: OpContext, action?: string): VaultCaller => callerWith(ctx, checkOf(ctx.op, action));

/**
 * One authorization object per operation and action, and one empty list of identity policies:
 * a batch's entries then share them, and a batch call sends each once rather than compare them
 * member by member (src/vault/batch.ts). Frozen, as they are shared.
 */
const checks = new WeakMap<Operation<any>, Map<string, Authorization>>();
function checkOf(op: Operation<any>, action: string = op.name): Authorization {
  let byAction = checks.get(op);
  if (!byAction) checks.set(op, (byAction = new Map()));
  let check = byAction.get(action);
  if (!check) byAction.set(action, (check = Object.freeze({ check: Object.freeze(permissionOf(op, action)) })));
  return check;
}
const NO_POLICIES: readonly string[] = Object.freeze([]);

/** The caller for a vault call with the given authorization (a permission, or a named skip), and the request's audit draft when the vault is to record it. */
export function callerWith(ctx: OpContext, authz: Authorization, audit?: AuditDraft): VaultCaller {
  // Members in one order whatever is present (a batch call sends callers of one shape by member).
  const caller: VaultCaller = { account: ctx.caller.accountId } as VaultCaller;
  if (ctx.audit.keyAccount) caller.keyAccount = ctx.audit.keyAccount;
  caller.principalArn = ctx.caller.arn;
  caller.principalType = ctx.caller.type;
  caller.policies = ctx.caller.policies ?? NO_POLICIES;
  caller.context = ctx.policyContext;
  if (ctx.encryptionContext) caller.encryptionContext = ctx.encryptionContext;
  caller.authz = authz;
  if (audit) caller.audit = audit;
  return caller;
}

/**
 * The value of a vault result, or the matching AWS error. `subject` names the key in NotFound
 * messages. With ctx, notes whether the vault already wrote the request's audit record.
 */
export function fromVault<T>(r: VaultResult<T>, subject?: string, ctx?: OpContext): T {
  if (ctx && r.audited) ctx.audit.recorded = true;
  if (ctx && r.records) ctx.audit.records = r.records;
  if (subject && ctx) ctx.audit.keyArn ??= subject;
  if (r.ok) return r.value;
  const message = r.code === "NotFound" && subject ? `Key '${subject}' does not exist` : (GENERIC_MESSAGES[r.code] ?? r.message);
  throw new KmsError(VAULT_ERROR_TYPES[r.code], message, r.detail);
}

export interface ResolvedKey {
  keyId: string;
  arn: string;
  /** The account the key was named in. */
  account: string;
  /** The alias the caller named, if any. */
  alias?: string;
}

/**
 * Why an ARN of another served region is not found here: a request is answered in the region of
 * its credential scope. Said only from the ARN itself (whether the key exists there is not
 * looked up, so nothing is told about another region's or account's keys); a region that is not
 * served gets nothing more than AWS's own message.
 */
function inOtherRegion(ctx: OpContext, region: string): string {
  if (!Object.hasOwn(ctx.env.REGIONS, region)) return "";
  return ` in ${ctx.region}: its ARN names ${region}, and a request is answered in the region of its credential scope. Send it to ${region} (set the client's region to ${region})`;
}

/**
 * Resolves a KeyId parameter in the request's region. Aliases are accepted only where the API
 * accepts them. A key id or alias name names a key of the caller's account; a key ARN or alias
 * ARN of another account is accepted only for an operation declared cross-account (the
 * authorizer then decides, in the key's vault), else it is not found. An alias ARN of another
 * account is resolved through that account's catalog in the request's region: its answer says
 * only whether the alias exists (NotFoundException if not), as AWS's does; whether the caller
 * may use the key it names is the vault's to decide, exactly as for that key's ARN.
 * (https://docs.aws.amazon.com/kms/latest/developerguide/alias-using.html#alias-using-cross-account)
 */
export async function resolveKey(ctx: OpContext, value: string, allowAlias: boolean): Promise<ResolvedKey> {
  const crossAccount = ctx.op.crossAccount;
  const ref = parseKeyRef(value);
  const account = ctx.caller.accountId;
  if (ref.kind === "invalid") throw notFound(`Invalid keyId '${value}'`);
  if (ref.kind === "key") {
    const arn = keyArn(ref.region ?? ctx.region, ref.account ?? account, ref.keyId);
    // Another account's key only by its ARN, and only where AWS allows cross-account use.
    if (ref.region && ref.region !== ctx.region) throw notFound(`Key '${arn}' does not exist${inOtherRegion(ctx, ref.region)}`);
    if (ref.account && ref.account !== account && !crossAccount) throw notFound(`Key '${arn}' does not exist`);
    ctx.audit.keyArn ??= arn;
    ctx.audit.keyAccount ??= ref.account ?? account;
    return { keyId: ref.keyId, arn, account: ref.account ?? account };
  }
  // The account whose alias it is: the ARN's, or (an alias name alone) the caller's own.
  const owner = ref.account ?? account;
  const arnOfAlias = aliasArn(ref.region ?? ctx.region, owner, ref.aliasName);
  if (!allowAlias) throw notFound(`Invalid keyId '${value}'`);
  if (ref.region && ref.region !== ctx.region) throw notFound(`Alias ${arnOfAlias} is not found${inOtherRegion(ctx, ref.region)}.`);
  // Another account's alias only by its ARN, and only where AWS allows cross-account use.
  if (owner !== account && !crossAccount) throw notFound(`Alias ${arnOfAlias} is not found.`);
  const keyId = await catalog(ctx, owner).resolveAlias(ref.aliasName);
  if (!keyId) throw notFound(`Alias ${arnOfAlias} is not found.`);
  const arn = keyArn(ctx.region, owner, keyId);
  ctx.audit.keyArn ??= arn;
  ctx.audit.keyAccount ??= owner;
  return { keyId, arn, account: owner, alias: ref.aliasName };
}

export const dryRunSucceeded = (): KmsError =>
  new KmsError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.");

/** Opaque paging markers over a position in a list. */
export const indexMarker = (i: number): string => btoa(`idx:${i}`);
export function parseIndexMarker(marker: string | undefined): number {
  if (marker === undefined) return 0;
  try {
    const m = /^idx:(\d+)$/.exec(atob(marker));
    if (m) return Number(m[1]);
  } catch {
    /* fall through */
  }
  throw new KmsError("InvalidMarkerException", "Invalid marker");
}

/** One page of an in-memory list, in the List* response shape. */
export function page<T>(items: T[], limit: number, marker: string | undefined): { items: T[]; NextMarker?: string; Truncated: boolean } {
  const start = parseIndexMarker(marker);
  if (start > items.length) throw new KmsError("InvalidMarkerException", "Invalid marker");
  const slice = items.slice(start, start + limit);
  const truncated = start + limit < items.length;
  return { items: slice, Truncated: truncated, ...(truncated ? { NextMarker: indexMarker(start + limit) } : {}) };
}

/**
 * Asks the authorizer about a permission on a resource that no key policy governs (IAM-only
 * operations, alias ARNs): the caller's identity policies, in its own account. Denied → AccessDeniedException.
 */
export function requireIdentityAllow(ctx: OpContext, resource: string, resourceAccount = ctx.caller.accountId): void {
  const decision = authorize({
    caller: { arn: ctx.caller.arn, accountId: ctx.caller.accountId, type: ctx.caller.type, policies: identityPolicies(ctx.caller.policies ?? []) },
    permission: { ...permissionOf(ctx.op), iamOnly: true },
    resource,
    resourceAccount,
    context: ctx.policyContext,
  });
  if (!decision.allow) throw new KmsError("AccessDeniedException", decision.message);
}
