// The tag shapes and rules shared by CreateKey and TagResource.
import { KmsError } from "../protocol/errors.js";
import type { Field } from "../protocol/validate.js";
import { MAX_TAG_KEY, MAX_TAG_VALUE } from "../kms/limits.js";
import type { Tag } from "../vault/types.js";

export const TAG_LIST: Field = {
  kind: "list",
  item: {
    kind: "struct",
    fields: {
      TagKey: { kind: "string", min: 1, max: MAX_TAG_KEY, required: true },
      TagValue: { kind: "string", min: 0, max: MAX_TAG_VALUE, required: true },
    },
  },
};

export function checkTags(tags: Tag[]): void {
  for (const t of tags) {
    if (t.TagKey.startsWith("aws:")) throw new KmsError("TagException", `Tag key ${t.TagKey} uses the reserved prefix 'aws:'.`);
  }
}
