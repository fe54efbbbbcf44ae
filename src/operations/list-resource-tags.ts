import { KEY_ID, MARKER, limit } from "../protocol/validate.js";
import { LIST_TAGS_DEFAULT_LIMIT, LIST_TAGS_MAX_LIMIT } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, page, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Limit?: number; Marker?: string }

export const listResourceTags = defineOperation<Input>({
  name: "ListResourceTags",
  readOnly: true,
  auditMembers: ["KeyId", "Limit", "Marker"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, Limit: limit(LIST_TAGS_MAX_LIMIT), Marker: MARKER },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const tags = fromVault(await vault(ctx, key.keyId).listTags(audited(ctx)), key.arn, ctx);
    const { items, ...rest } = page(tags, input.Limit ?? LIST_TAGS_DEFAULT_LIMIT, input.Marker);
    return { Tags: items, ...rest };
  },
});
