// Alias rules shared by CreateAlias, UpdateAlias and DeleteAlias (reference §2.4).
import { KmsError } from "../protocol/errors.js";
import type { Field } from "../protocol/validate.js";
import { ALIAS_NAME_RE } from "../kms/ids.js";
import { MAX_ALIAS_NAME } from "../kms/limits.js";
import type { OpContext } from "./context.js";
import { fromVault, internal, resolveKey, type ResolvedKey, vault } from "./shared.js";

export const ALIAS_NAME: Field = { kind: "string", min: 1, max: MAX_ALIAS_NAME, pattern: /^[a-zA-Z0-9:/_-]+$/, required: true };

/** A customer alias name: "alias/…", not in the reserved "alias/aws/" space. */
export function checkAliasName(name: string): void {
  if (!ALIAS_NAME_RE.test(name)) throw new KmsError("InvalidAliasNameException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  if (name.startsWith("alias/aws/")) throw new KmsError("InvalidAliasNameException", `Alias ${name} cannot begin with alias/aws/, which is reserved for AWS managed keys.`);
}

/** The target of an alias must be a key of the caller that is not pending deletion. */
export async function aliasTarget(ctx: OpContext, keyIdParam: string, action: "CreateAlias" | "UpdateAlias"): Promise<ResolvedKey> {
  const key = await resolveKey(ctx, keyIdParam, false);
  const t = fromVault(await vault(ctx, key.keyId).aliasTarget(internal(ctx, action)), key.arn);
  if (t.state === "PendingDeletion") throw new KmsError("KMSInvalidStateException", `${key.arn} is pending deletion.`);
  return key;
}
