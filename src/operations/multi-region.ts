// What ReplicateKey and UpdatePrimaryRegion share: the Region parameter, and the permissions
// decided by identity policies in another Region than the request's
// (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-auth.html).
import { KmsError } from "../protocol/errors.js";
import type { Field } from "../protocol/validate.js";
import { authorize, type Permission } from "../authz/authorize.js";
import { identityPolicies } from "../authz/identity-policies.js";
import type { OpContext } from "./context.js";

/** ReplicaRegion and PrimaryRegion, as the service model constrains them. */
export const REGION: Field = { kind: "string", min: 1, max: 32, pattern: /^([a-z]+-){2,3}\d+$/, required: true };

/**
 * A Region the key's other Region may be in: one this service serves, other than the request's.
 * Another Region (well-formed, not served) is refused as AWS refuses a Region where the key
 * cannot be made (UnsupportedOperationException, https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html#API_ReplicateKey_Errors).
 */
export function checkOtherRegion(ctx: OpContext, region: string, member: string, sameRegion: string): void {
  if (!Object.hasOwn(ctx.env.REGIONS, region)) {
    throw new KmsError("UnsupportedOperationException", `${member} ${region} is not a Region EdgeKMS serves (it serves ${Object.keys(ctx.env.REGIONS).join(", ")}).`);
  }
  if (region === ctx.region) throw new KmsError("ValidationException", sameRegion);
}

/**
 * Asks the authorizer about a permission that only identity policies grant, as in `region`
 * (aws:RequestedRegion is that Region): ReplicateKey's kms:CreateKey, and kms:TagResource with
 * Tags, in the replica Region. Denied → AccessDeniedException.
 */
export function requireIdentityAllowIn(ctx: OpContext, permission: Permission, resource: string, region: string): void {
  const decision = authorize({
    caller: { arn: ctx.caller.arn, accountId: ctx.caller.accountId, type: ctx.caller.type, policies: identityPolicies(ctx.caller.policies ?? []) },
    permission: { ...permission, iamOnly: true },
    resource,
    resourceAccount: ctx.caller.accountId,
    context: { ...ctx.policyContext, "aws:requestedregion": region },
  });
  if (!decision.allow) throw new KmsError("AccessDeniedException", decision.message);
}
