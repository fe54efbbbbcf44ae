import { ALIAS_NAME, authorizeAlias, authorizeAliasKey, currentTarget } from "./alias.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault, vault } from "./shared.js";

interface Input { AliasName: string }

export const deleteAlias = defineOperation<Input>({
  name: "DeleteAlias",
  readOnly: false,
  auditMembers: ["AliasName"],
  iamOnly: false,
  crossAccount: false,
  schema: { AliasName: ALIAS_NAME },
  async run(ctx, input) {
    authorizeAlias(ctx, input.AliasName);
    const current = await currentTarget(ctx, input.AliasName);
    await authorizeAliasKey(ctx, current);
    const { targetKeyId } = fromVault(await catalog(ctx).deleteAlias(input.AliasName, current.keyId));
    await vault(ctx, targetKeyId).aliasChanged(input.AliasName, false);
    return {};
  },
});
