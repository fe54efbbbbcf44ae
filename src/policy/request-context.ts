// The condition keys of a request (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), with lower-cased names as the policy
// evaluator looks them up. Key attributes (kms:KeySpec, aws:ResourceTag/…) are added by the vault.

/**
 * Adds a value to a condition key. Condition key names ignore case but user keys (encryption
 * context, tags) do not: keys that differ only in case ("tier", "TIER") give one condition key
 * with every value, so no pair can hide another (a Deny matches if any of them does).
 */
export function addConditionValue(ctx: Record<string, string | string[]>, name: string, value: string): void {
  const seen = Object.hasOwn(ctx, name) ? ctx[name] : undefined;
  ctx[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
}

/** The caller as the condition keys see it: an IAM user has a type, a name and a unique id (its records' principalId). */
export interface ContextPrincipal {
  arn: string;
  accountId: string;
  type?: "Root" | "IAMUser";
  userName?: string;
  userId?: string;
  accessKeyId?: string;
}

/**
 * The condition keys of the caller, its address and transport, and the request's Region and time:
 * the same for every operation call a request makes (and every entry of a batch request, which
 * shares its caller, address and time), so made once per request and copied into each call's
 * context. The global keys every request has
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html) are
 * all here: left out, a Deny conditioned on one never applied (an outsider's review). No caller
 * of the API is an AWS service, nor calls through one.
 */
export function callerContext(principal: ContextPrincipal, sourceIp: string, secure: boolean, now: number, region: string): Readonly<Record<string, string>> {
  const user = principal.type === "IAMUser";
  return {
    "aws:sourceip": sourceIp,
    "aws:principalarn": principal.arn,
    "aws:principalaccount": principal.accountId,
    // Account for an account's root, User for an IAM user (AWS's values).
    "aws:principaltype": user ? "User" : "Account",
    // As the records' userIdentity.principalId: the account id for the root, the user's unique id for a user.
    "aws:userid": user ? (principal.userId ?? principal.accessKeyId ?? principal.accountId) : principal.accountId,
    ...(user && principal.userName ? { "aws:username": principal.userName } : {}),
    "aws:principalisawsservice": "false",
    "aws:viaawsservice": "false",
    "aws:requestedregion": region,
    "aws:currenttime": new Date(now).toISOString(),
    "aws:epochtime": String(Math.floor(now / 1000)),
    "aws:securetransport": String(secure),
    "kms:calleraccount": principal.accountId,
  };
}

/** Sets condition key `key` to request member `name` when that is a string. */
function copyString(ctx: Record<string, string | string[]>, input: Record<string, unknown>, name: string, key: string): void {
  const v = input[name];
  if (typeof v === "string") ctx[key] = v;
}

/**
 * `keyMember` names the request member that names the key being authorized (KeyId; ReEncrypt's
 * SourceKeyId or DestinationKeyId): kms:RequestAlias is the alias used for that key. `caller` is
 * callerContext's for the same principal, address, transport and time, when already made.
 */
export function requestContext(
  principal: ContextPrincipal,
  sourceIp: string,
  secure: boolean,
  now: number,
  region: string,
  input: Record<string, unknown>,
  keyMember = "KeyId",
  caller: Readonly<Record<string, string>> = callerContext(principal, sourceIp, secure, now, region),
): Record<string, string | string[]> {
  // An ordinary object, not a null-prototype one: it travels to the key's vault over Durable
  // Object RPC, whose structured clone refuses null-prototype objects. So the evaluator looks up
  // own keys only (conditions.ts), and every key set here has a fixed prefix, so no user string
  // (encryption-context or tag key) can be "__proto__" itself. A copy: each call's context is its own.
  const ctx: Record<string, string | string[]> = { ...caller };
  const ec = (input.EncryptionContext ?? input.SourceEncryptionContext) as Record<string, string> | undefined;
  if (ec) {
    for (const [k, v] of Object.entries(ec)) addConditionValue(ctx, `kms:encryptioncontext:${k.toLowerCase()}`, v);
    ctx["kms:encryptioncontextkeys"] = Object.keys(ec);
  }
  copyString(ctx, input, "EncryptionAlgorithm", "kms:encryptionalgorithm");
  // ReEncrypt's source side (its destination side is given EncryptionAlgorithm instead).
  if (typeof input.EncryptionAlgorithm !== "string") copyString(ctx, input, "SourceEncryptionAlgorithm", "kms:encryptionalgorithm");
  copyString(ctx, input, "SigningAlgorithm", "kms:signingalgorithm");
  copyString(ctx, input, "MessageType", "kms:messagetype");
  copyString(ctx, input, "MacAlgorithm", "kms:macalgorithm");
  copyString(ctx, input, "KeyAgreementAlgorithm", "kms:keyagreementalgorithm");
  copyString(ctx, input, "KeyPairSpec", "kms:datakeypairspec");
  // ReplicateKey and UpdatePrimaryRegion (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-replica-region).
  copyString(ctx, input, "ReplicaRegion", "kms:replicaregion");
  copyString(ctx, input, "PrimaryRegion", "kms:primaryregion");
  // CreateKey: the key's facts as requested (a call on an existing key sees the key's own
  // instead, which the authorizer puts over these; https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-key-spec).
  // KeySpec and CustomerMasterKeySpec never come together (CreateKey refuses that).
  if (typeof input.CustomerMasterKeySpec === "string") ctx["kms:keyspec"] = ctx["kms:customermasterkeyspec"] = input.CustomerMasterKeySpec;
  else copyString(ctx, input, "KeySpec", "kms:keyspec");
  copyString(ctx, input, "KeyUsage", "kms:keyusage");
  if (input.KeyUsage === undefined && ctx["kms:keyspec"] === "SYMMETRIC_DEFAULT") ctx["kms:keyusage"] = "ENCRYPT_DECRYPT";
  copyString(ctx, input, "Origin", "kms:keyorigin");
  if (input.MultiRegion !== undefined) {
    const multi = String(input.MultiRegion) === "true";
    ctx["kms:multiregion"] = String(multi);
    if (multi) ctx["kms:multiregionkeytype"] = "PRIMARY";
  }
  // Imported key material (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-wrapping-algorithm).
  copyString(ctx, input, "WrappingAlgorithm", "kms:wrappingalgorithm");
  copyString(ctx, input, "WrappingKeySpec", "kms:wrappingkeyspec");
  copyString(ctx, input, "ExpirationModel", "kms:expirationmodel");
  if (typeof input.ValidTo === "number") ctx["kms:validto"] = String(Math.floor(input.ValidTo));
  const named = input[keyMember];
  if (typeof named === "string" && named.includes("alias/")) ctx["kms:requestalias"] = named.slice(named.indexOf("alias/"));
  if (typeof input.PendingWindowInDays === "number") ctx["kms:schedulekeydeletionpendingwindowindays"] = String(input.PendingWindowInDays);
  if (typeof input.RotationPeriodInDays === "number") ctx["kms:rotationperiodindays"] = String(input.RotationPeriodInDays);
  if (typeof input.BypassPolicyLockoutSafetyCheck === "boolean") ctx["kms:bypasspolicylockoutsafetycheck"] = String(input.BypassPolicyLockoutSafetyCheck);
  const tags = input.Tags as { TagKey: string; TagValue: string }[] | undefined;
  if (Array.isArray(tags)) {
    for (const t of tags) addConditionValue(ctx, `aws:requesttag/${t.TagKey.toLowerCase()}`, t.TagValue);
    ctx["aws:tagkeys"] = tags.map((t) => t.TagKey);
  }
  if (Array.isArray(input.TagKeys)) ctx["aws:tagkeys"] = input.TagKeys as string[];
  // CreateGrant, ListGrants and RevokeGrant: kms:GrantIsForAWSResource (false: no caller is an
  // AWS service; https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
  copyString(ctx, input, "GrantIsForAWSResource", "kms:grantisforawsresource");
  if (Array.isArray(input.Operations)) ctx["kms:grantoperations"] = input.Operations as string[];
  copyString(ctx, input, "GranteePrincipal", "kms:granteeprincipal");
  copyString(ctx, input, "RetiringPrincipal", "kms:retiringprincipal");
  const constraints = input.Constraints as Record<string, unknown> | undefined;
  if (constraints?.EncryptionContextEquals) ctx["kms:grantconstrainttype"] = "EncryptionContextEquals";
  else if (constraints?.EncryptionContextSubset) ctx["kms:grantconstrainttype"] = "EncryptionContextSubset";
  return ctx;
}
