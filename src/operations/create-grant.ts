import { KmsError } from "../protocol/errors.js";
import { GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import type { GrantConstraints } from "../vault/types.js";
import { GRANT_OPERATIONS, MAX_CONSTRAINT_PAIRS, MAX_CONSTRAINT_VALUE, PRINCIPAL } from "./grant-shapes.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input {
  KeyId: string;
  GranteePrincipal?: string;
  GranteeServicePrincipal?: string;
  RetiringPrincipal?: string;
  RetiringServicePrincipal?: string;
  Operations: string[];
  Constraints?: GrantConstraints & { SourceArn?: string };
  GrantTokens?: string[];
  Name?: string;
  DryRun?: boolean;
}

export const createGrant = defineOperation<Input>({
  name: "CreateGrant",
  readOnly: false,
  auditMembers: ["KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Constraints", "Name"],
  iamOnly: false,
  // No caller is an AWS service acting for an AWS resource (request-context.ts).
  conditionDefaults: { GrantIsForAWSResource: "false" },
  crossAccount: true,
  schema: {
    KeyId: { ...KEY_ID, required: true },
    GranteePrincipal: PRINCIPAL,
    GranteeServicePrincipal: PRINCIPAL,
    RetiringPrincipal: PRINCIPAL,
    RetiringServicePrincipal: PRINCIPAL,
    Operations: { kind: "list", item: { kind: "enum", values: GRANT_OPERATIONS }, required: true },
    Constraints: { kind: "struct", fields: { EncryptionContextSubset: { kind: "map" }, EncryptionContextEquals: { kind: "map" }, SourceArn: { kind: "string", min: 1, max: 2048 } } },
    GrantTokens: GRANT_TOKENS,
    Name: { kind: "string", min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ },
    DryRun: { kind: "bool" },
  },
  async run(ctx, input) {
    if (input.GranteeServicePrincipal || input.RetiringServicePrincipal || input.Constraints?.SourceArn) {
      throw new KmsError("UnsupportedOperationException", "Service-principal grants are not supported by EdgeKMS yet.");
    }
    if (!input.GranteePrincipal) throw new KmsError("ValidationException", "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null");
    if (input.Operations.length === 0) throw new KmsError("ValidationException", "A grant needs at least one operation.");
    const c = input.Constraints;
    for (const m of [c?.EncryptionContextSubset, c?.EncryptionContextEquals]) {
      if (m && (Object.keys(m).length > MAX_CONSTRAINT_PAIRS || Object.values(m).some((v) => v.length > MAX_CONSTRAINT_VALUE))) {
        throw new KmsError("ValidationException", `Grant constraints hold at most ${MAX_CONSTRAINT_PAIRS} pairs with values of at most ${MAX_CONSTRAINT_VALUE} characters.`);
      }
    }
    const key = await resolveKey(ctx, input.KeyId, false);
    const constraints = c && (c.EncryptionContextSubset || c.EncryptionContextEquals)
      ? { ...(c.EncryptionContextSubset ? { EncryptionContextSubset: c.EncryptionContextSubset } : {}), ...(c.EncryptionContextEquals ? { EncryptionContextEquals: c.EncryptionContextEquals } : {}) }
      : undefined;
    const r = fromVault(await vault(ctx, key.keyId).createGrant(audited(ctx), {
      granteePrincipal: input.GranteePrincipal,
      operations: input.Operations,
      ...(input.RetiringPrincipal ? { retiringPrincipal: input.RetiringPrincipal } : {}),
      ...(constraints ? { constraints } : {}),
      ...(input.Name ? { name: input.Name } : {}),
    }, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { GrantId: r.GrantId, GrantToken: r.GrantToken };
  },
});
