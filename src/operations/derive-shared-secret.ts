import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { MAX_PUBLIC_KEY } from "../kms/limits.js";
import { KEY_AGREEMENT_ALGORITHMS } from "./enums.js";
import { RECIPIENT } from "./generate-data-key.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; KeyAgreementAlgorithm: string; PublicKey: Uint8Array; GrantTokens?: string[]; DryRun?: boolean; Recipient?: unknown }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html — the raw ECDH shared secret. */
export const deriveSharedSecret = defineOperation<Input>({
  name: "DeriveSharedSecret",
  readOnly: true,
  // Never the peer's public key or the secret.
  auditMembers: ["KeyId", "KeyAgreementAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  quota: { shared: "CryptographicOperationsEcc" },
  schema: {
    KeyId: { ...KEY_ID, required: true },
    KeyAgreementAlgorithm: { kind: "enum", values: KEY_AGREEMENT_ALGORITHMS, required: true },
    PublicKey: { kind: "blob", min: 1, max: MAX_PUBLIC_KEY, required: true },
    GrantTokens: GRANT_TOKENS,
    DryRun: { kind: "bool" },
    Recipient: RECIPIENT,
  },
  async run(ctx, input) {
    if (input.Recipient) throw new KmsError("UnsupportedOperationException", "Recipient (attested decryption) is not supported by EdgeKMS.");
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).deriveSharedSecret(audited(ctx), input.KeyAgreementAlgorithm, input.PublicKey, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    const out = { KeyId: r.keyArn, SharedSecret: encodeBase64(r.sharedSecret), KeyAgreementAlgorithm: input.KeyAgreementAlgorithm, KeyOrigin: "AWS_KMS" };
    r.sharedSecret.fill(0);
    return out;
  },
});
