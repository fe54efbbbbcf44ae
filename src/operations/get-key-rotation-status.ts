import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string }

export const getKeyRotationStatus = defineOperation<Input>({
  name: "GetKeyRotationStatus",
  readOnly: true,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: true,
  schema: { KeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const { keyArn, ...status } = fromVault(await vault(ctx, key.keyId).rotationStatus(audited(ctx)), key.arn, ctx);
    return { KeyId: keyArn, ...status };
  },
});
