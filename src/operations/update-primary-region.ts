// UpdatePrimaryRegion: a replica of a multi-Region key becomes its primary, and the primary one of
// its replicas (https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html).
// kms:UpdatePrimaryRegion is needed on both keys, each decided by its own key policy in its own
// vault (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-update.html).
import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { REGION, checkOtherRegion } from "./multi-region.js";
import { audited, checkedFor, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; PrimaryRegion: string }

export const updatePrimaryRegion = defineOperation<Input>({
  name: "UpdatePrimaryRegion",
  readOnly: false,
  auditMembers: ["KeyId", "PrimaryRegion"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, PrimaryRegion: REGION },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    checkOtherRegion(ctx, input.PrimaryRegion, "PrimaryRegion", `${key.arn} is the primary key already: PrimaryRegion must be the Region of one of its replicas.`);
    fromVault(await vault(ctx, key.keyId).updatePrimaryRegion(audited(ctx), input.PrimaryRegion, checkedFor(ctx)), key.arn, ctx);
    return {};
  },
});
