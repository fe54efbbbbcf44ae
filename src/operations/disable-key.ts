import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string }

export const disableKey = defineOperation<Input>({
  name: "DisableKey",
  readOnly: false,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).disable(audited(ctx)), key.arn, ctx);
    return {};
  },
});
