import { notFound } from "../protocol/errors.js";
import { aliasArn } from "../kms/ids.js";
import { ALIAS_NAME } from "./alias.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault, vault } from "./shared.js";

interface Input { AliasName: string }

export const deleteAlias = defineOperation<Input>({
  name: "DeleteAlias",
  readOnly: false,
  schema: { AliasName: ALIAS_NAME },
  async run(ctx, input) {
    if (input.AliasName.startsWith("alias/aws/") || !input.AliasName.startsWith("alias/")) {
      throw notFound(`Alias ${aliasArn(ctx.region, ctx.caller.accountId, input.AliasName)} is not found.`);
    }
    const { targetKeyId } = fromVault(await catalog(ctx).deleteAlias(input.AliasName));
    await vault(ctx, targetKeyId).aliasChanged(input.AliasName, false);
    return {};
  },
});
