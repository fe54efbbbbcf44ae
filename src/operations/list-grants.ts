import { GRANT_TOKENS, KEY_ID, MARKER, limit } from "../protocol/validate.js";
import { GRANT_ID, PRINCIPAL } from "./grant-shapes.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, page, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Limit?: number; Marker?: string; GrantId?: string; GranteePrincipal?: string; GrantTokens?: string[] }

export const listGrants = defineOperation<Input>({
  name: "ListGrants",
  readOnly: true,
  auditMembers: ["KeyId", "GrantId", "GranteePrincipal", "Limit", "Marker"],
  iamOnly: false,
  // No caller is an AWS service acting for an AWS resource (request-context.ts).
  conditionDefaults: { GrantIsForAWSResource: "false" },
  crossAccount: true,
  schema: { KeyId: { ...KEY_ID, required: true }, Limit: limit(100), Marker: MARKER, GrantId: GRANT_ID, GranteePrincipal: PRINCIPAL, GrantTokens: GRANT_TOKENS },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const grants = fromVault(await vault(ctx, key.keyId).listGrants(audited(ctx), { grantId: input.GrantId, granteePrincipal: input.GranteePrincipal }), key.arn, ctx);
    const { items, ...rest } = page(grants, input.Limit ?? 50, input.Marker);
    return { Grants: items, ...rest };
  },
});
