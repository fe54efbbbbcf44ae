import { MAX_SIGNATURE } from "../kms/limits.js";
import type { MessageType } from "../vault/key-types/types.js";
import { defineOperation } from "./operation.js";
import { SIGNING_SCHEMA } from "./sign.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Message: Uint8Array; MessageType?: MessageType; Signature: Uint8Array; SigningAlgorithm: string; GrantTokens?: string[]; DryRun?: boolean }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html — an invalid signature is KMSInvalidSignatureException. */
export const verify = defineOperation<Input>({
  name: "Verify",
  readOnly: true,
  auditMembers: ["KeyId", "MessageType", "SigningAlgorithm"],
  defaults: { MessageType: "RAW" },
  iamOnly: false,
  crossAccount: true,
  quota: { byAlgorithm: ["SigningAlgorithm"] },
  schema: { ...SIGNING_SCHEMA, Signature: { kind: "blob", min: 1, max: MAX_SIGNATURE, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).verify(audited(ctx), input.SigningAlgorithm, input.MessageType ?? "RAW", input.Message, input.Signature, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { KeyId: r.keyArn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
});
