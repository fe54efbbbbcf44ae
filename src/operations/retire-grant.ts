import { KmsError } from "../protocol/errors.js";
import { keyArn, parseKeyRef } from "../kms/ids.js";
import { verifyGrantToken } from "../vault/grant-token.js";
import { rootSecrets } from "../vault/root-key.js";
import { GRANT_ID, GRANT_TOKEN } from "./grant-shapes.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { GrantToken?: string; KeyId?: string; GrantId?: string; DryRun?: boolean }

export const retireGrant = defineOperation<Input>({
  name: "RetireGrant",
  readOnly: false,
  auditMembers: ["KeyId", "GrantId"],
  iamOnly: false,
  crossAccount: true,
  schema: { GrantToken: GRANT_TOKEN, KeyId: { kind: "string", min: 1, max: 2048 }, GrantId: GRANT_ID, DryRun: { kind: "bool" } },
  async run(ctx, input) {
    let keyId: string;
    let arn: string;
    if (input.GrantToken !== undefined) {
      const t = await verifyGrantToken(rootSecrets(ctx.env), ctx.region, input.GrantToken);
      if (!t) throw new KmsError("InvalidGrantTokenException", "The grant token is not valid.");
      keyId = t.keyId;
      arn = keyArn(ctx.region, ctx.caller.accountId, t.keyId);
      ctx.audit.keyAccount = "*"; // the token names its key, in whatever account
    } else {
      if (!input.KeyId || !input.GrantId) throw new KmsError("ValidationException", "RetireGrant needs a GrantToken, or a KeyId (key ARN) and a GrantId.");
      if (parseKeyRef(input.KeyId).kind !== "key") throw new KmsError("InvalidArnException", `Invalid key ARN ${input.KeyId}`);
      const key = await resolveKey(ctx, input.KeyId, false);
      keyId = key.keyId;
      arn = key.arn;
    }
    // The authorizer decides by the grant: its retiring principal, its grantee, or its issuing account.
    // The account the key was named in: a key ARN's (resolveKey), or any ("*") for a grant token.
    fromVault(await vault(ctx, keyId).retireGrant(audited(ctx), { grantId: input.GrantId, token: input.GrantToken }, input.DryRun), arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return {};
  },
});
