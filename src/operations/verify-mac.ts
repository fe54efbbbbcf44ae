import { MAX_SIGNATURE } from "../kms/limits.js";
import { MAC_SCHEMA } from "./generate-mac.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Message: Uint8Array; MacAlgorithm: string; Mac: Uint8Array; GrantTokens?: string[]; DryRun?: boolean }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html — a wrong MAC is KMSInvalidMacException. */
export const verifyMac = defineOperation<Input>({
  name: "VerifyMac",
  readOnly: true,
  auditMembers: ["KeyId", "MacAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  // HMAC keys count against the symmetric cryptographic quota, as AWS counts them.
  quota: { shared: "CryptographicOperationsSymmetric" },
  schema: { ...MAC_SCHEMA, Mac: { kind: "blob", min: 1, max: MAX_SIGNATURE, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).verifyMac(audited(ctx), input.MacAlgorithm, input.Message, input.Mac, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { KeyId: r.keyArn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
  },
});
