import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID, type Schema } from "../protocol/validate.js";
import { MAX_MESSAGE } from "../kms/limits.js";
import type { MessageType } from "../vault/key-types/types.js";
import { MESSAGE_TYPES, SIGNING_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; Message: Uint8Array; MessageType?: MessageType; GrantTokens?: string[]; SigningAlgorithm: string; DryRun?: boolean }

/** The members Sign and Verify share. */
export const SIGNING_SCHEMA: Schema = {
  KeyId: { ...KEY_ID, required: true },
  Message: { kind: "blob", min: 1, max: MAX_MESSAGE, required: true },
  MessageType: { kind: "enum", values: MESSAGE_TYPES },
  GrantTokens: GRANT_TOKENS,
  SigningAlgorithm: { kind: "enum", values: SIGNING_ALGORITHMS, required: true },
  DryRun: { kind: "bool" },
};

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html */
export const sign = defineOperation<Input>({
  name: "Sign",
  readOnly: true,
  // Never the message: AWS records the key, the message type and the algorithm.
  auditMembers: ["KeyId", "MessageType", "SigningAlgorithm"],
  defaults: { MessageType: "RAW" },
  iamOnly: false,
  crossAccount: true,
  quota: { byAlgorithm: ["SigningAlgorithm"] },
  schema: SIGNING_SCHEMA,
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).sign(audited(ctx), input.SigningAlgorithm, input.MessageType ?? "RAW", input.Message, input.DryRun), key.arn, ctx);
    if (input.DryRun) throw dryRunSucceeded();
    return { KeyId: r.keyArn, Signature: encodeBase64(r.signature), SigningAlgorithm: input.SigningAlgorithm };
  },
});
