import { MARKER, limit } from "../protocol/validate.js";
import { LIST_KEYS_DEFAULT_LIMIT, LIST_KEYS_MAX_LIMIT } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { catalog, fromVault } from "./shared.js";

interface Input { Limit?: number; Marker?: string }

export const listKeys = defineOperation<Input>({
  name: "ListKeys",
  readOnly: true,
  auditMembers: ["Limit", "Marker"],
  iamOnly: true,
  crossAccount: false,
  schema: { Limit: limit(LIST_KEYS_MAX_LIMIT), Marker: MARKER },
  async run(ctx, input) {
    const page = fromVault(await catalog(ctx).listKeys(input.Limit ?? LIST_KEYS_DEFAULT_LIMIT, input.Marker));
    return { Keys: page.items, Truncated: page.nextMarker !== undefined, ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}) };
  },
});
