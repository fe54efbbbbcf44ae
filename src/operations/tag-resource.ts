import { KEY_ID } from "../protocol/validate.js";
import type { Tag } from "../vault/types.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";
import { TAG_LIST, checkTags } from "./tags.js";

interface Input { KeyId: string; Tags: Tag[] }

export const tagResource = defineOperation<Input>({
  name: "TagResource",
  readOnly: false,
  auditMembers: ["KeyId", "Tags"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, Tags: { ...TAG_LIST, required: true } },
  async run(ctx, input) {
    const tags = checkTags(input.Tags);
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).tag(audited(ctx), tags), key.arn, ctx);
    return {};
  },
});
