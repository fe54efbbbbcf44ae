// UpdatePrimaryRegion: a replica of a multi-Region key becomes its primary, and the primary one of
// its replicas (https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html).
// kms:UpdatePrimaryRegion is needed on both keys, each decided by its own key policy in its own
// vault (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-update.html).
import { KEY_ID } from "../protocol/validate.js";
import { keyArn } from "../kms/ids.js";
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
  // AWS counts an UpdatePrimaryRegion in both Regions: here also in the new primary's.
  quotaElsewhere: (input) => [{ region: String(input.PrimaryRegion), quota: "UpdatePrimaryRegion", count: 1 }],
  schema: { KeyId: { ...KEY_ID, required: true }, PrimaryRegion: REGION },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    checkOtherRegion(ctx, input.PrimaryRegion, "PrimaryRegion", `${key.arn} is the primary key already: PrimaryRegion must be the Region of one of its replicas.`);
    const r = await vault(ctx, key.keyId).updatePrimaryRegion(audited(ctx), input.PrimaryRegion, checkedFor(ctx));
    // The key that is not found may be the one in PrimaryRegion (no replica there): name that one.
    const missingReplica = !r.ok && r.code === "NotFound" && r.message.includes(" has no replica key in ");
    fromVault(r, missingReplica ? keyArn(input.PrimaryRegion, key.account, key.keyId) : key.arn, ctx);
    return {};
  },
});
