import { KEY_ID, MARKER, limit } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { DEFAULT_POLICY_NAME } from "./get-key-policy.js";
import { audited, fromVault, page, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Limit?: number; Marker?: string }

export const listKeyPolicies = defineOperation<Input>({
  name: "ListKeyPolicies",
  readOnly: true,
  auditMembers: ["KeyId", "Limit", "Marker"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, Limit: limit(1000), Marker: MARKER },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).describe(audited(ctx)), key.arn, ctx);
    const { items, ...rest } = page([DEFAULT_POLICY_NAME], input.Limit ?? 100, input.Marker);
    return { PolicyNames: items, ...rest };
  },
});
