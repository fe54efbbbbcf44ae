import { KEY_ID, MARKER, limit } from "../protocol/validate.js";
import { LIST_ROTATIONS_DEFAULT_LIMIT, LIST_ROTATIONS_MAX_LIMIT } from "../kms/limits.js";
import { INCLUDE_KEY_MATERIAL } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, page, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; IncludeKeyMaterial?: string; Limit?: number; Marker?: string }

export const listKeyRotations = defineOperation<Input>({
  name: "ListKeyRotations",
  readOnly: true,
  auditMembers: ["KeyId", "IncludeKeyMaterial", "Limit", "Marker"],
  iamOnly: false,
  crossAccount: false,
  schema: {
    KeyId: { ...KEY_ID, required: true },
    IncludeKeyMaterial: { kind: "enum", values: INCLUDE_KEY_MATERIAL },
    Limit: limit(LIST_ROTATIONS_MAX_LIMIT),
    Marker: MARKER,
  },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const rotations = fromVault(await vault(ctx, key.keyId).listRotations(audited(ctx), input.IncludeKeyMaterial === "ALL_KEY_MATERIAL"), key.arn, ctx);
    const { items, ...rest } = page(rotations, input.Limit ?? LIST_ROTATIONS_DEFAULT_LIMIT, input.Marker);
    return { Rotations: items, ...rest };
  },
});
