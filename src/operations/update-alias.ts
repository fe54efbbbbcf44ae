import { KmsError } from "../protocol/errors.js";
import { KEY_ID } from "../protocol/validate.js";
import { ALIAS_NAME, aliasTarget, authorizeAlias, authorizeAliasKey, currentTarget } from "./alias.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault, vault } from "./shared.js";

interface Input { AliasName: string; TargetKeyId: string }

const keyClass = (spec: string): string => (spec === "SYMMETRIC_DEFAULT" ? "symmetric" : spec.startsWith("HMAC_") ? "HMAC" : "asymmetric");

export const updateAlias = defineOperation<Input>({
  name: "UpdateAlias",
  readOnly: false,
  auditMembers: ["AliasName", "TargetKeyId"],
  iamOnly: false,
  crossAccount: false,
  schema: { AliasName: ALIAS_NAME, TargetKeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    authorizeAlias(ctx, input.AliasName);
    const current = await currentTarget(ctx, input.AliasName);
    // kms:UpdateAlias on the key the alias points at now, and on the new target.
    const old = await authorizeAliasKey(ctx, current);
    const key = await aliasTarget(ctx, input.TargetKeyId);
    // The new target must be of the same type (symmetric, asymmetric or HMAC) and key usage
    // (https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html).
    if (keyClass(old.keySpec) !== keyClass(key.keySpec) || old.keyUsage !== key.keyUsage) {
      throw new KmsError("ValidationException", `Alias ${input.AliasName} points at a ${keyClass(old.keySpec)} ${old.keyUsage} key; its new target must be of the same type and key usage.`);
    }
    const { previousKeyId } = fromVault(await catalog(ctx).updateAlias(input.AliasName, key.keyId, ctx.now, current.keyId));
    if (previousKeyId !== key.keyId) {
      await vault(ctx, previousKeyId).aliasChanged(input.AliasName, false);
      await vault(ctx, key.keyId).aliasChanged(input.AliasName, true);
    }
    return {};
  },
});
