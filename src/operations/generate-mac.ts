import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID, type Schema } from "../protocol/validate.js";
import { MAX_MESSAGE } from "../kms/limits.js";
import { MAC_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Message: Uint8Array; MacAlgorithm: string; GrantTokens?: string[]; DryRun?: boolean }

/** The members GenerateMac and VerifyMac share. */
export const MAC_SCHEMA: Schema = {
  Message: { kind: "blob", min: 1, max: MAX_MESSAGE, required: true },
  KeyId: { ...KEY_ID, required: true },
  MacAlgorithm: { kind: "enum", values: MAC_ALGORITHMS, required: true },
  GrantTokens: GRANT_TOKENS,
  DryRun: { kind: "bool" },
};

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html */
export const generateMac = defineOperation<Input>({
  name: "GenerateMac",
  readOnly: true,
  auditMembers: ["KeyId", "MacAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  // HMAC keys count against the symmetric cryptographic quota, as AWS counts them.
  quota: { shared: "CryptographicOperationsSymmetric" },
  schema: MAC_SCHEMA,
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).generateMac(audited(ctx), input.MacAlgorithm, input.Message, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { Mac: encodeBase64(r.mac), MacAlgorithm: input.MacAlgorithm, KeyId: r.keyArn };
  },
});
