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

/**
 * `keyMember` names the request member that names the key being authorized (KeyId; ReEncrypt's
 * SourceKeyId or DestinationKeyId): kms:RequestAlias is the alias used for that key.
 */
export function requestContext(
  principal: { arn: string; accountId: string },
  sourceIp: string,
  secure: boolean,
  now: number,
  input: Record<string, unknown>,
  keyMember = "KeyId",
): Record<string, string | string[]> {
  // An ordinary object, not a null-prototype one: it travels to the key's vault over Durable
  // Object RPC, whose structured clone refuses null-prototype objects. So the evaluator looks up
  // own keys only (conditions.ts), and every key set here has a fixed prefix, so no user string
  // (encryption-context or tag key) can be "__proto__" itself.
  const ctx: Record<string, string | string[]> = {
    "aws:sourceip": sourceIp,
    "aws:principalarn": principal.arn,
    "aws:principalaccount": principal.accountId,
    "aws:currenttime": new Date(now).toISOString(),
    "aws:securetransport": String(secure),
    "kms:calleraccount": principal.accountId,
  };
  const ec = (input.EncryptionContext ?? input.SourceEncryptionContext) as Record<string, string> | undefined;
  if (ec) {
    for (const [k, v] of Object.entries(ec)) addConditionValue(ctx, `kms:encryptioncontext:${k.toLowerCase()}`, v);
    ctx["kms:encryptioncontextkeys"] = Object.keys(ec);
  }
  const str = (name: string, key: string) => { if (typeof input[name] === "string") ctx[key] = input[name] as string; };
  str("EncryptionAlgorithm", "kms:encryptionalgorithm");
  // ReEncrypt's source side (its destination side is given EncryptionAlgorithm instead).
  if (typeof input.EncryptionAlgorithm !== "string") str("SourceEncryptionAlgorithm", "kms:encryptionalgorithm");
  str("SigningAlgorithm", "kms:signingalgorithm");
  str("MessageType", "kms:messagetype");
  str("MacAlgorithm", "kms:macalgorithm");
  str("KeyAgreementAlgorithm", "kms:keyagreementalgorithm");
  str("KeyPairSpec", "kms:datakeypairspec");
  // ReplicateKey and UpdatePrimaryRegion (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-replica-region).
  str("ReplicaRegion", "kms:replicaregion");
  str("PrimaryRegion", "kms:primaryregion");
  // CreateKey: the key's facts as requested (a call on an existing key sees the key's own
  // instead, which the authorizer puts over these; https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-key-spec).
  // KeySpec and CustomerMasterKeySpec never come together (CreateKey refuses that).
  if (typeof input.CustomerMasterKeySpec === "string") ctx["kms:keyspec"] = ctx["kms:customermasterkeyspec"] = input.CustomerMasterKeySpec;
  else str("KeySpec", "kms:keyspec");
  str("KeyUsage", "kms:keyusage");
  if (input.KeyUsage === undefined && ctx["kms:keyspec"] === "SYMMETRIC_DEFAULT") ctx["kms:keyusage"] = "ENCRYPT_DECRYPT";
  str("Origin", "kms:keyorigin");
  if (input.MultiRegion !== undefined) {
    const multi = String(input.MultiRegion) === "true";
    ctx["kms:multiregion"] = String(multi);
    if (multi) ctx["kms:multiregionkeytype"] = "PRIMARY";
  }
  // Imported key material (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-wrapping-algorithm).
  str("WrappingAlgorithm", "kms:wrappingalgorithm");
  str("WrappingKeySpec", "kms:wrappingkeyspec");
  str("ExpirationModel", "kms:expirationmodel");
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
  // CreateGrant
  if (Array.isArray(input.Operations)) {
    ctx["kms:grantoperations"] = input.Operations as string[];
    ctx["kms:grantisforawsresource"] = "false";
  }
  str("GranteePrincipal", "kms:granteeprincipal");
  str("RetiringPrincipal", "kms:retiringprincipal");
  const constraints = input.Constraints as Record<string, unknown> | undefined;
  if (constraints?.EncryptionContextEquals) ctx["kms:grantconstrainttype"] = "EncryptionContextEquals";
  else if (constraints?.EncryptionContextSubset) ctx["kms:grantconstrainttype"] = "EncryptionContextSubset";
  return ctx;
}
