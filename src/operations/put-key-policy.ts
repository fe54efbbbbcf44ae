import { KmsError } from "../protocol/errors.js";
import { KEY_ID, type Field } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { DEFAULT_POLICY_NAME, POLICY_NAME } from "./get-key-policy.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Policy: string; PolicyName?: string; BypassPolicyLockoutSafetyCheck?: boolean }

/** Model constraint: 1–131072 characters of tab, newline, CR and U+0020–U+00FF (the 32 KB quota is the vault's check). */
export const KEY_POLICY: Field = { kind: "string", min: 1, max: 131072, pattern: /^[\t\n\r\u0020-\u00FF]+$/ };

export const putKeyPolicy = defineOperation<Input>({
  name: "PutKeyPolicy",
  readOnly: false,
  auditMembers: ["KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, Policy: { ...KEY_POLICY, required: true }, PolicyName: POLICY_NAME, BypassPolicyLockoutSafetyCheck: { kind: "bool" } },
  async run(ctx, input) {
    if ((input.PolicyName ?? DEFAULT_POLICY_NAME) !== DEFAULT_POLICY_NAME) throw new KmsError("ValidationException", "PolicyName must be \"default\".");
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).putPolicy(audited(ctx), input.Policy, input.BypassPolicyLockoutSafetyCheck ?? false), key.arn, ctx);
    return {};
  },
});
