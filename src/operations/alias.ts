// Alias rules shared by CreateAlias, UpdateAlias and DeleteAlias. An alias operation needs its
// permission twice: on the alias (identity policies, alias ARN) and on each key involved (the
// key's policies): for UpdateAlias both the current and the new target.
// https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html
import { KmsError, notFound } from "../protocol/errors.js";
import type { Field } from "../protocol/validate.js";
import { ALIAS_NAME_RE, aliasArn } from "../kms/ids.js";
import { MAX_ALIAS_NAME } from "../kms/limits.js";
import type { OpContext } from "./context.js";
import { catalog, checkedFor, fromVault, requireIdentityAllow, resolveKey, type ResolvedKey, vault } from "./shared.js";

export const ALIAS_NAME: Field = { kind: "string", min: 1, max: MAX_ALIAS_NAME, pattern: /^[a-zA-Z0-9:/_-]+$/, required: true };

/** A customer alias name: "alias/…", not in the reserved "alias/aws/" space. */
export function checkAliasName(name: string): void {
  if (!ALIAS_NAME_RE.test(name)) throw new KmsError("InvalidAliasNameException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  if (name.startsWith("alias/aws/")) throw new KmsError("InvalidAliasNameException", `Alias ${name} cannot begin with alias/aws/, which is reserved for AWS managed keys.`);
}

/** The alias half of the permission: the caller's identity policies on the alias ARN. */
export function authorizeAlias(ctx: OpContext, aliasName: string): void {
  requireIdentityAllow(ctx, aliasArn(ctx.region, ctx.caller.accountId, aliasName));
}

/** An existing customer alias's current target (UpdateAlias, DeleteAlias). */
export async function currentTarget(ctx: OpContext, aliasName: string): Promise<ResolvedKey> {
  const missing = () => notFound(`Alias ${aliasArn(ctx.region, ctx.caller.accountId, aliasName)} is not found.`);
  if (aliasName.startsWith("alias/aws/") || !aliasName.startsWith("alias/")) throw missing();
  const keyId = await catalog(ctx).resolveAlias(aliasName);
  if (!keyId) throw missing();
  return resolveKey(ctx, keyId, false);
}

/** The key half: the key's policies allow the alias operation on it. Returns the key's state, spec and usage. */
export async function authorizeAliasKey(ctx: OpContext, key: ResolvedKey) {
  return fromVault(await vault(ctx, key.keyId).aliasTarget(checkedFor(ctx)), key.arn);
}

/** A new target must be a key of the caller's, not pending deletion, that the key's policies let it point the alias at. */
export async function aliasTarget(ctx: OpContext, keyIdParam: string): Promise<ResolvedKey & { keySpec: string; keyUsage: string }> {
  const key = await resolveKey(ctx, keyIdParam, false);
  const t = await authorizeAliasKey(ctx, key);
  if (t.state === "PendingDeletion" || t.state === "PendingReplicaDeletion") throw new KmsError("KMSInvalidStateException", `${key.arn} is ${t.state === "PendingDeletion" ? "pending deletion" : "pending replica deletion"}.`);
  return { ...key, keySpec: t.keySpec, keyUsage: t.keyUsage };
}
