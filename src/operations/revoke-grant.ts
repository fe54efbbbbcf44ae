import { KEY_ID } from "../protocol/validate.js";
import { GRANT_ID } from "./grant-shapes.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; GrantId: string; DryRun?: boolean }

export const revokeGrant = defineOperation<Input>({
  name: "RevokeGrant",
  readOnly: false,
  auditMembers: ["KeyId", "GrantId"],
  iamOnly: false,
  // No caller is an AWS service acting for an AWS resource (request-context.ts).
  conditionDefaults: { GrantIsForAWSResource: "false" },
  crossAccount: true,
  schema: { KeyId: { ...KEY_ID, required: true }, GrantId: { ...GRANT_ID, required: true }, DryRun: { kind: "bool" } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    fromVault(await vault(ctx, key.keyId).revokeGrant(audited(ctx), input.GrantId, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return {};
  },
});
