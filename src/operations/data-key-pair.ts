// What GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext share.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html
import { KmsError } from "../protocol/errors.js";
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, type Schema } from "../protocol/validate.js";
import { DATA_KEY_PAIR_SPECS } from "./enums.js";
import type { OpContext } from "./context.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

export interface DataKeyPairInput {
  KeyId: string;
  KeyPairSpec: string;
  EncryptionContext?: Record<string, string>;
  GrantTokens?: string[];
  DryRun?: boolean;
}

export const DATA_KEY_PAIR_SCHEMA: Schema = {
  KeyId: { ...KEY_ID, required: true },
  KeyPairSpec: { kind: "enum", values: DATA_KEY_PAIR_SPECS, required: true },
  EncryptionContext: ENCRYPTION_CONTEXT,
  GrantTokens: GRANT_TOKENS,
  DryRun: { kind: "bool" },
};

/** Audit members: never the private key, its ciphertext or the public key. */
export const DATA_KEY_PAIR_AUDIT = ["KeyId", "KeyPairSpec", "EncryptionContext"] as const;

export async function generateDataKeyPairIn(ctx: OpContext, input: DataKeyPairInput, withPlaintext: boolean) {
  // SM2 is offered only in China regions (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-sm).
  if (input.KeyPairSpec === "SM2") throw new KmsError("UnsupportedOperationException", "KeyPairSpec SM2 is offered only in AWS China Regions.");
  const key = await resolveKey(ctx, input.KeyId, true);
  const r = fromVault(await vault(ctx, key.keyId).generateDataKeyPair(audited(ctx), input.KeyPairSpec, input.EncryptionContext, withPlaintext, input.DryRun), key.arn, ctx);
  if (input.DryRun) throw dryRunSucceeded();
  return r;
}
