import { KEY_ID } from "../protocol/validate.js";
import { MAX_DESCRIPTION } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Description: string }

export const updateKeyDescription = defineOperation<Input>({
  name: "UpdateKeyDescription",
  readOnly: false,
  auditMembers: ["KeyId", "Description"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, Description: { kind: "string", min: 0, max: MAX_DESCRIPTION, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).updateDescription(audited(ctx), input.Description), key.arn, ctx);
    return {};
  },
});
