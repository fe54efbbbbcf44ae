import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string }

export const rotateKeyOnDemand = defineOperation<Input>({
  name: "RotateKeyOnDemand",
  readOnly: false,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    return { KeyId: fromVault(await vault(ctx, key.keyId).rotateOnDemand(audited(ctx)), key.arn, ctx).keyArn };
  },
});
