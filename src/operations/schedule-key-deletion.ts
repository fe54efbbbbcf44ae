import { KmsError } from "../protocol/errors.js";
import { KEY_ID } from "../protocol/validate.js";
import { DEFAULT_PENDING_WINDOW_DAYS, MAX_PENDING_WINDOW_DAYS, MIN_PENDING_WINDOW_DAYS } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; PendingWindowInDays?: number }

export const scheduleKeyDeletion = defineOperation<Input>({
  name: "ScheduleKeyDeletion",
  readOnly: false,
  auditMembers: ["KeyId", "PendingWindowInDays"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, PendingWindowInDays: { kind: "int", min: 1, max: 365 } },
  async run(ctx, input) {
    const days = input.PendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS;
    if (days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS) {
      throw new KmsError("ValidationException", `PendingWindowInDays must be between ${MIN_PENDING_WINDOW_DAYS} and ${MAX_PENDING_WINDOW_DAYS} days.`);
    }
    const key = await resolveKey(ctx, input.KeyId, false);
    const r = fromVault(await vault(ctx, key.keyId).scheduleDeletion(audited(ctx), days), key.arn, ctx);
    // A multi-Region primary with replicas has no DeletionDate yet (PendingReplicaDeletion).
    return { KeyId: r.keyArn, ...(r.deletionDate !== undefined ? { DeletionDate: r.deletionDate } : {}), KeyState: r.state, PendingWindowInDays: days };
  },
});
