import { encodeBase64 } from "../protocol/codec.js";
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { MAX_PLAINTEXT, OVER_MAX_PLAINTEXT } from "../kms/limits.js";
import { ENCRYPTION_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input {
  KeyId: string;
  Plaintext: Uint8Array;
  EncryptionContext?: Record<string, string>;
  GrantTokens?: string[];
  EncryptionAlgorithm?: string;
  DryRun?: boolean;
}

export const encrypt = defineOperation<Input>({
  name: "Encrypt",
  readOnly: true,
  auditMembers: ["KeyId", "EncryptionContext", "EncryptionAlgorithm"],
  // AWS records the algorithm even when the request leaves it out.
  defaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  iamOnly: false,
  crossAccount: true,
  quota: { byAlgorithm: ["EncryptionAlgorithm"] },
  encryptionContext: "EncryptionContext",
  schema: {
    KeyId: { ...KEY_ID, required: true },
    Plaintext: { kind: "blob", min: 1, max: MAX_PLAINTEXT, overMax: OVER_MAX_PLAINTEXT, required: true },
    EncryptionContext: ENCRYPTION_CONTEXT,
    GrantTokens: GRANT_TOKENS,
    EncryptionAlgorithm: { kind: "enum", values: ENCRYPTION_ALGORITHMS },
    DryRun: { kind: "bool" },
  },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    // The vault checks the algorithm against the key (RSA keys need an RSAES_OAEP algorithm).
    const algorithm = input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT";
    const r = fromVault(await vault(ctx, key.keyId).encrypt(audited(ctx), input.Plaintext, input.EncryptionContext, input.DryRun, algorithm), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { CiphertextBlob: encodeBase64(r.blob), KeyId: r.keyArn, EncryptionAlgorithm: algorithm };
  },
});
