import { KEY_ID } from "../protocol/validate.js";
import { MAX_TAG_KEY } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; TagKeys: string[] }

export const untagResource = defineOperation<Input>({
  name: "UntagResource",
  readOnly: false,
  auditMembers: ["KeyId", "TagKeys"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, TagKeys: { kind: "list", item: { kind: "string", min: 1, max: MAX_TAG_KEY }, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).untag(audited(ctx), input.TagKeys), key.arn, ctx);
    return {};
  },
});
