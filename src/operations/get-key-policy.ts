import { notFound } from "../protocol/errors.js";
import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; PolicyName?: string }

export const POLICY_NAME = { kind: "string", min: 1, max: 128, pattern: /^[\w]+$/ } as const;
/** "default" is the only policy name a key has. */
export const DEFAULT_POLICY_NAME = "default";

export const getKeyPolicy = defineOperation<Input>({
  name: "GetKeyPolicy",
  readOnly: true,
  auditMembers: ["KeyId", "PolicyName"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true }, PolicyName: POLICY_NAME },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    if ((input.PolicyName ?? DEFAULT_POLICY_NAME) !== DEFAULT_POLICY_NAME) throw notFound(`No such policy exists: ${input.PolicyName}`);
    return { Policy: fromVault(await vault(ctx, key.keyId).getPolicy(audited(ctx)), key.arn, ctx), PolicyName: DEFAULT_POLICY_NAME };
  },
});
