import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { ENCAPSULATION_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; EncapsulationAlgorithm: string; GrantTokens?: string[]; DryRun?: boolean }

/** Encapsulate (ML-KEM, FIPS 203): a fresh 32-byte shared secret and its ciphertext under the key's public key. */
export const encapsulate = defineOperation<Input>({
  name: "Encapsulate",
  readOnly: true,
  auditMembers: ["KeyId", "EncapsulationAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  // AWS documents no default for ML-KEM keys: none applies unless configured (docs/quotas.md).
  quota: { shared: "CryptographicOperationsMlKem" },
  schema: {
    KeyId: { ...KEY_ID, required: true },
    EncapsulationAlgorithm: { kind: "enum", values: ENCAPSULATION_ALGORITHMS, required: true },
    GrantTokens: GRANT_TOKENS,
    DryRun: { kind: "bool" },
  },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).encapsulate(audited(ctx), input.EncapsulationAlgorithm, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    const out = { KeyId: r.keyArn, SharedSecret: encodeBase64(r.sharedSecret), SharedSecretCiphertextBlob: encodeBase64(r.ciphertext!), EncapsulationAlgorithm: input.EncapsulationAlgorithm };
    r.sharedSecret.fill(0);
    return out;
  },
});
