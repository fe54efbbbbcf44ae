import { KEY_ID } from "../protocol/validate.js";
import { ALIAS_NAME, aliasTarget, authorizeAlias, checkAliasName } from "./alias.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault, vault } from "./shared.js";

interface Input { AliasName: string; TargetKeyId: string }

export const createAlias = defineOperation<Input>({
  name: "CreateAlias",
  readOnly: false,
  auditMembers: ["AliasName", "TargetKeyId"],
  iamOnly: false,
  crossAccount: false,
  schema: { AliasName: ALIAS_NAME, TargetKeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    checkAliasName(input.AliasName);
    authorizeAlias(ctx, input.AliasName);
    const key = await aliasTarget(ctx, input.TargetKeyId);
    fromVault(await catalog(ctx).createAlias(input.AliasName, key.keyId, ctx.now));
    await vault(ctx, key.keyId).aliasChanged(input.AliasName, true);
    return {};
  },
});
