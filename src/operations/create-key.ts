import { KmsError } from "../protocol/errors.js";
import { keyArn, newKeyId } from "../kms/ids.js";
import { MAX_DESCRIPTION, MAX_TAGS_PER_KEY } from "../kms/limits.js";
import type { Tag } from "../vault/types.js";
import { CUSTOMER_MASTER_KEY_SPECS, KEY_SPECS, KEY_USAGES, ORIGINS } from "./enums.js";
import { defineOperation, permissionOf } from "./operation.js";
import { callerWith, catalog, fromVault, vault } from "./shared.js";
import { findKeyType } from "../vault/key-types/index.js";
import { SKIP } from "../vault/types.js";
import { TAG_LIST, checkTags } from "./tags.js";
import { KEY_POLICY, putKeyPolicy } from "./put-key-policy.js";

interface Input {
  Policy?: string;
  Description?: string;
  KeyUsage?: string;
  KeySpec?: string;
  CustomerMasterKeySpec?: string;
  Origin?: string;
  CustomKeyStoreId?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Tags?: Tag[];
  MultiRegion?: boolean;
  XksKeyId?: string;
}

/**
 * The KeyUsage of a new key, as AWS checks it: symmetric keys default to ENCRYPT_DECRYPT; every
 * other spec must name its usage, one the spec allows
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#KMS-CreateKey-request-KeyUsage).
 */
function keyUsageFor(spec: string, requested: string | undefined, allowed: readonly string[]): string {
  if (spec === "SYMMETRIC_DEFAULT") {
    if (requested !== undefined && requested !== "ENCRYPT_DECRYPT") {
      throw new KmsError("ValidationException", `The operation failed because the KeyUsage value of the CMK is ${requested}. To perform this operation, the KeyUsage value must be ENCRYPT_DECRYPT.`);
    }
    return "ENCRYPT_DECRYPT";
  }
  if (requested === undefined) throw new KmsError("ValidationException", `You must specify a KeyUsage value for ${spec.startsWith("HMAC_") ? "an HMAC" : "an asymmetric"} CMK.`);
  if (!allowed.includes(requested)) throw new KmsError("ValidationException", `KeyUsage ${requested} is not compatible with KeySpec ${spec}`);
  return requested;
}

export const createKey = defineOperation<Input>({
  name: "CreateKey",
  readOnly: false,
  auditMembers: ["Description", "KeyUsage", "KeySpec", "CustomerMasterKeySpec", "Origin", "BypassPolicyLockoutSafetyCheck", "Tags", "MultiRegion"],
  iamOnly: true,
  crossAccount: false,
  // kms:KeySpec, kms:KeyOrigin and kms:MultiRegion see the key's defaults when the request leaves them out.
  conditionDefaults: { KeySpec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", MultiRegion: "false" },
  schema: {
    Policy: KEY_POLICY,
    Description: { kind: "string", min: 0, max: MAX_DESCRIPTION },
    KeyUsage: { kind: "enum", values: KEY_USAGES },
    KeySpec: { kind: "enum", values: KEY_SPECS },
    CustomerMasterKeySpec: { kind: "enum", values: CUSTOMER_MASTER_KEY_SPECS },
    Origin: { kind: "enum", values: ORIGINS },
    CustomKeyStoreId: { kind: "string", min: 1, max: 64 },
    BypassPolicyLockoutSafetyCheck: { kind: "bool" },
    Tags: TAG_LIST,
    MultiRegion: { kind: "bool" },
    XksKeyId: { kind: "string", min: 1, max: 128 },
  },
  async run(ctx, input) {
    if (input.KeySpec && input.CustomerMasterKeySpec) {
      throw new KmsError("ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.");
    }
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
    const type = findKeyType(spec);
    // SM2 is offered only in China regions (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-sm).
    if (!type) throw new KmsError("UnsupportedOperationException", `KeySpec ${spec} is offered only in AWS China Regions.`);
    const usage = keyUsageFor(spec, input.KeyUsage, type.usages);
    const origin = input.Origin ?? "AWS_KMS";
    // Custom key stores (AWS_CLOUDHSM, EXTERNAL_KEY_STORE) are not offered; EXTERNAL keys wait for ImportKeyMaterial.
    if (origin !== "AWS_KMS" && origin !== "EXTERNAL") throw new KmsError("UnsupportedOperationException", `Origin ${origin} needs a custom key store, which EdgeKMS does not offer.`);
    if (origin === "EXTERNAL" && !type.importMaterial) throw new KmsError("UnsupportedOperationException", `KeySpec ${spec} does not support imported key material in EdgeKMS.`);
    if (input.CustomKeyStoreId || input.XksKeyId) throw new KmsError("UnsupportedOperationException", "Custom key stores are not supported by EdgeKMS.");
    // MultiRegion: a multi-Region primary key, of any spec, its ID an mrk- one (ReplicateKey makes its replicas;
    // https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html).
    const multiRegion = input.MultiRegion === true;
    const tags = checkTags(input.Tags ?? []);
    if (tags.length > MAX_TAGS_PER_KEY) throw new KmsError("TagException", `A key can have at most ${MAX_TAGS_PER_KEY} tags.`);

    const keyId = newKeyId(multiRegion);
    const arn = keyArn(ctx.region, ctx.caller.accountId, keyId);
    const cat = catalog(ctx);
    fromVault(await cat.registerKey(keyId, arn));
    try {
      const metadata = fromVault(
        await vault(ctx, keyId).create(
          { ...callerWith(ctx, { skip: SKIP.noKeyYet }), audit: ctx.audit.draft },
          {
            keyId, account: ctx.caller.accountId, region: ctx.region, keySpec: spec, keyUsage: usage, description: input.Description ?? "", tags, policy: input.Policy, origin,
            ...(multiRegion ? { multiRegion } : {}),
            // The lockout safety check asks whether the new policy lets the caller put a key policy later.
            ...(input.BypassPolicyLockoutSafetyCheck ? {} : { lockout: permissionOf(putKeyPolicy) }),
          },
          arn,
        ),
        undefined,
        ctx,
      );
      return { KeyMetadata: metadata };
    } catch (e) {
      await cat.removeKey(keyId);
      throw e;
    }
  },
});
