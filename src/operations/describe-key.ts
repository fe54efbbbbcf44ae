import { KEY_ID, GRANT_TOKENS } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; GrantTokens?: string[] }

export const describeKey = defineOperation<Input>({
  name: "DescribeKey",
  readOnly: true,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: true,
  schema: { KeyId: { ...KEY_ID, required: true }, GrantTokens: GRANT_TOKENS },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    return { KeyMetadata: fromVault(await vault(ctx, key.keyId).describe(audited(ctx)), key.arn, ctx) };
  },
});
