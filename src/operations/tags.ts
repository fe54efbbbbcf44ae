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

/**
 * A request's tags, checked: each key once. A key's tags are a map, so a tag key given twice keeps
 * its last value, in its first place, as TagResource merges tags into a key's (an outsider's review
 * found CreateKey and ReplicateKey storing both).
 */
export function checkTags(tags: Tag[]): Tag[] {
  const distinct = new Map<string, string>();
  for (const t of tags) {
    if (t.TagKey.startsWith("aws:")) throw new KmsError("TagException", `Tag key ${t.TagKey} uses the reserved prefix 'aws:'.`);
    distinct.set(t.TagKey, t.TagValue);
  }
  return distinct.size === tags.length ? tags : [...distinct].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}
