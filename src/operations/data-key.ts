// What GenerateDataKey and GenerateDataKeyWithoutPlaintext share.
import { KmsError } from "../protocol/errors.js";
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, type Schema } from "../protocol/validate.js";
import { MAX_DATA_KEY_BYTES } from "../kms/limits.js";
import { DATA_KEY_SPECS } from "./enums.js";
import type { OpContext } from "./context.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

export interface DataKeyInput {
  KeyId: string;
  KeySpec?: string;
  NumberOfBytes?: number;
  EncryptionContext?: Record<string, string>;
  GrantTokens?: string[];
  DryRun?: boolean;
}

export const DATA_KEY_SCHEMA: Schema = {
  KeyId: { ...KEY_ID, required: true },
  KeySpec: { kind: "enum", values: DATA_KEY_SPECS },
  NumberOfBytes: { kind: "int", min: 1, max: MAX_DATA_KEY_BYTES },
  EncryptionContext: ENCRYPTION_CONTEXT,
  GrantTokens: GRANT_TOKENS,
  DryRun: { kind: "bool" },
};

export async function generateDataKeyIn(ctx: OpContext, input: DataKeyInput, withPlaintext: boolean) {
  if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) {
    throw new KmsError("ValidationException", "Please specify either number of bytes or key spec.");
  }
  const bytes = input.NumberOfBytes ?? (input.KeySpec === "AES_128" ? 16 : 32);
  const key = await resolveKey(ctx, input.KeyId, true);
  const r = fromVault(await vault(ctx, key.keyId).generateDataKey(audited(ctx), bytes, input.EncryptionContext, withPlaintext, input.DryRun), key.arn, ctx);
  if (input.DryRun) throw dryRunSucceeded();
  return r;
}
