import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { MAX_CIPHERTEXT_BLOB } from "../kms/limits.js";
import { ENCAPSULATION_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; SharedSecretCiphertextBlob: Uint8Array; EncapsulationAlgorithm: string; GrantTokens?: string[]; DryRun?: boolean }

/** Decapsulate (ML-KEM, FIPS 203): the shared secret of a ciphertext made with the key's public key. */
export const decapsulate = defineOperation<Input>({
  name: "Decapsulate",
  readOnly: true,
  auditMembers: ["KeyId", "EncapsulationAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  quota: { shared: "CryptographicOperationsMlKem" },
  schema: {
    KeyId: { ...KEY_ID, required: true },
    SharedSecretCiphertextBlob: { kind: "blob", min: 1, max: MAX_CIPHERTEXT_BLOB, required: true },
    EncapsulationAlgorithm: { kind: "enum", values: ENCAPSULATION_ALGORITHMS, required: true },
    GrantTokens: GRANT_TOKENS,
    DryRun: { kind: "bool" },
  },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).decapsulate(audited(ctx), input.EncapsulationAlgorithm, input.SharedSecretCiphertextBlob, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    const out = { KeyId: r.keyArn, SharedSecret: encodeBase64(r.sharedSecret), EncapsulationAlgorithm: input.EncapsulationAlgorithm };
    r.sharedSecret.fill(0);
    return out;
  },
});
