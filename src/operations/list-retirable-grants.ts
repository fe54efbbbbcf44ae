import { KmsError } from "../protocol/errors.js";
import { catalogStub } from "../placement.js";
import { MARKER, limit } from "../protocol/validate.js";
import { SKIP, type GrantListEntry } from "../vault/types.js";
import { PRINCIPAL } from "./grant-shapes.js";
import { defineOperation } from "./operation.js";
import { page, requireIdentityAllow, vault } from "./shared.js";

interface Input { RetiringPrincipal?: string; RetiringServicePrincipal?: string; Limit?: number; Marker?: string }

/** Grants whose retiring principal is the given one, across keys of the region (from the retiring principal's account index). */
export const listRetirableGrants = defineOperation<Input>({
  name: "ListRetirableGrants",
  readOnly: true,
  auditMembers: ["RetiringPrincipal", "Limit", "Marker"],
  iamOnly: true,
  crossAccount: false,
  schema: { RetiringPrincipal: PRINCIPAL, RetiringServicePrincipal: PRINCIPAL, Limit: limit(100), Marker: MARKER },
  async run(ctx, input) {
    if (input.RetiringServicePrincipal) throw new KmsError("UnsupportedOperationException", "Service-principal grants are not supported by EdgeKMS yet.");
    const principal = input.RetiringPrincipal;
    if (!principal) throw new KmsError("ValidationException", "RetiringPrincipal is required.");
    const account = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(principal)?.[1] ?? (/^\d{12}$/.test(principal) ? principal : undefined);
    if (!account) throw new KmsError("ValidationException", `Invalid retiring principal ${principal}`);
    // kms:ListRetirableGrants is IAM-only, and the retiring principal must be of the caller's account.
    requireIdentityAllow(ctx, "*", account);
    const index = await catalogStub(ctx.env, ctx.region, account).retirableGrants(principal);
    const byKey = new Map<string, string[]>();
    for (const { keyArn, grantId } of index) byKey.set(keyArn, [...(byKey.get(keyArn) ?? []), grantId]);
    const grants: GrantListEntry[] = [];
    for (const [keyArn, ids] of byKey) {
      const keyId = keyArn.split("/").pop()!;
      grants.push(...((await vault(ctx, keyId).describeGrants(SKIP.retirementIndex, ids)) as GrantListEntry[]));
    }
    const { items, ...rest } = page(grants, input.Limit ?? 50, input.Marker);
    return { Grants: items, ...rest };
  },
});
