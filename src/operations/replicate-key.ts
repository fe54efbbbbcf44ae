// ReplicateKey: a replica of a multi-Region primary key in another Region
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html). Permissions as AWS
// documents them (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-auth.html):
// kms:ReplicateKey on the primary (its key policy; decided in its vault), kms:CreateKey in the
// replica Region and, with Tags, kms:TagResource there (identity policies; decided here). The
// primary's vault sends the replica's vault the material re-wrapped for that Region.
import { KmsError } from "../protocol/errors.js";
import { KEY_ID } from "../protocol/validate.js";
import { keyArn } from "../kms/ids.js";
import { MAX_DESCRIPTION, MAX_TAGS_PER_KEY } from "../kms/limits.js";
import type { Tag } from "../vault/types.js";
import { createKey } from "./create-key.js";
import { defineOperation, permissionOf } from "./operation.js";
import { KEY_POLICY, putKeyPolicy } from "./put-key-policy.js";
import { REGION, checkOtherRegion, requireIdentityAllowIn } from "./multi-region.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";
import { tagResource } from "./tag-resource.js";
import { TAG_LIST, checkTags } from "./tags.js";

interface Input { KeyId: string; ReplicaRegion: string; Policy?: string; BypassPolicyLockoutSafetyCheck?: boolean; Description?: string; Tags?: Tag[] }

export const replicateKey = defineOperation<Input>({
  name: "ReplicateKey",
  readOnly: false,
  auditMembers: ["KeyId", "ReplicaRegion", "Description", "BypassPolicyLockoutSafetyCheck", "Tags"],
  iamOnly: false,
  crossAccount: false,
  // AWS counts a ReplicateKey as two CreateKey requests in the replica's Region too.
  quotaElsewhere: (input) => [{ region: String(input.ReplicaRegion), quota: "CreateKey", count: 2 }],
  schema: {
    KeyId: { ...KEY_ID, required: true },
    ReplicaRegion: REGION,
    Policy: KEY_POLICY,
    BypassPolicyLockoutSafetyCheck: { kind: "bool" },
    Description: { kind: "string", min: 0, max: MAX_DESCRIPTION },
    Tags: TAG_LIST,
  },
  async run(ctx, input) {
    const tags = checkTags(input.Tags ?? []);
    if (tags.length > MAX_TAGS_PER_KEY) throw new KmsError("TagException", `A key can have at most ${MAX_TAGS_PER_KEY} tags.`);
    const key = await resolveKey(ctx, input.KeyId, false);
    const region = input.ReplicaRegion;
    checkOtherRegion(ctx, region, "ReplicaRegion", `ReplicaRegion ${region} is the Region of the primary key: a replica must be in another Region.`);
    requireIdentityAllowIn(ctx, permissionOf(createKey), "*", region);
    if (tags.length) requireIdentityAllowIn(ctx, permissionOf(tagResource), keyArn(region, ctx.caller.accountId, key.keyId), region);
    const replica = fromVault(
      await vault(ctx, key.keyId).replicate(audited(ctx), {
        region,
        description: input.Description ?? "",
        tags,
        ...(input.Policy !== undefined ? { policy: input.Policy } : {}),
        // The lockout safety check asks whether the replica's policy lets the caller put a key policy later.
        ...(input.BypassPolicyLockoutSafetyCheck ? {} : { lockout: permissionOf(putKeyPolicy) }),
      }),
      key.arn,
      ctx,
    );
    return { ReplicaKeyMetadata: replica.metadata, ReplicaPolicy: replica.policy, ReplicaTags: replica.tags };
  },
});
