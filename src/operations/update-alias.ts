import { KEY_ID } from "../protocol/validate.js";
import { notFound } from "../protocol/errors.js";
import { aliasArn } from "../kms/ids.js";
import { ALIAS_NAME, aliasTarget } from "./alias.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault, vault } from "./shared.js";

interface Input { AliasName: string; TargetKeyId: string }

export const updateAlias = defineOperation<Input>({
  name: "UpdateAlias",
  readOnly: false,
  schema: { AliasName: ALIAS_NAME, TargetKeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    if (input.AliasName.startsWith("alias/aws/") || !input.AliasName.startsWith("alias/")) {
      throw notFound(`Alias ${aliasArn(ctx.region, ctx.caller.accountId, input.AliasName)} is not found.`);
    }
    // Every key EdgeKMS has today is SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT, so old and new
    // targets always have the same type and usage.
    const key = await aliasTarget(ctx, input.TargetKeyId, "UpdateAlias");
    const { previousKeyId } = fromVault(await catalog(ctx).updateAlias(input.AliasName, key.keyId, ctx.now));
    if (previousKeyId !== key.keyId) {
      await vault(ctx, previousKeyId).aliasChanged(input.AliasName, false);
      await vault(ctx, key.keyId).aliasChanged(input.AliasName, true);
    }
    return {};
  },
});
