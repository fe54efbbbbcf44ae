import { KEY_ID } from "../protocol/validate.js";
import { DEFAULT_ROTATION_PERIOD_DAYS, MAX_ROTATION_PERIOD_DAYS, MIN_ROTATION_PERIOD_DAYS } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; RotationPeriodInDays?: number }

export const enableKeyRotation = defineOperation<Input>({
  name: "EnableKeyRotation",
  readOnly: false,
  auditMembers: ["KeyId", "RotationPeriodInDays"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, RotationPeriodInDays: { kind: "int", min: MIN_ROTATION_PERIOD_DAYS, max: MAX_ROTATION_PERIOD_DAYS } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).enableRotation(audited(ctx), input.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS), key.arn, ctx);
    return {};
  },
});
