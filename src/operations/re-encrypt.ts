import { encodeBase64 } from "../protocol/codec.js";
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { CIPHERTEXT_BLOB, keyOfBlob, mapMissingKey } from "./decrypt.js";
import { DRY_RUN_MODIFIERS, ENCRYPTION_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, checkedFor, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input {
  CiphertextBlob: Uint8Array;
  SourceEncryptionContext?: Record<string, string>;
  SourceKeyId?: string;
  DestinationKeyId: string;
  DestinationEncryptionContext?: Record<string, string>;
  SourceEncryptionAlgorithm?: string;
  DestinationEncryptionAlgorithm?: string;
  GrantTokens?: string[];
  DryRun?: boolean;
  DryRunModifiers?: string[];
}

export const reEncrypt = defineOperation<Input>({
  name: "ReEncrypt",
  readOnly: true,
  auditMembers: ["SourceKeyId", "DestinationKeyId", "SourceEncryptionContext", "DestinationEncryptionContext", "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"],
  iamOnly: false,
  crossAccount: true,
  // Request-rate quota (docs/quotas.md): RSA's when either side names an RSA algorithm, else the symmetric one.
  quota: { byAlgorithm: ["SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"] },
  encryptionContext: "SourceEncryptionContext",
  // AWS records both algorithms; kms:EncryptionAlgorithm is the source's for kms:ReEncryptFrom
  // and the destination's for kms:ReEncryptTo.
  defaults: { SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT", DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  keyMember: "SourceKeyId",
  schema: {
    CiphertextBlob: { ...CIPHERTEXT_BLOB, required: true },
    SourceEncryptionContext: ENCRYPTION_CONTEXT,
    SourceKeyId: KEY_ID,
    DestinationKeyId: { ...KEY_ID, required: true },
    DestinationEncryptionContext: ENCRYPTION_CONTEXT,
    SourceEncryptionAlgorithm: { kind: "enum", values: ENCRYPTION_ALGORITHMS },
    DestinationEncryptionAlgorithm: { kind: "enum", values: ENCRYPTION_ALGORITHMS },
    GrantTokens: GRANT_TOKENS,
    DryRun: { kind: "bool" },
    DryRunModifiers: { kind: "list", item: { kind: "enum", values: DRY_RUN_MODIFIERS } },
  },
  async run(ctx, input) {
    const sourceAlgorithm = input.SourceEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT";
    const destinationAlgorithm = input.DestinationEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT";
    const source = await keyOfBlob(ctx, input.CiphertextBlob, input.SourceKeyId, sourceAlgorithm, "SourceKeyId");
    const destination = await resolveKey(ctx, input.DestinationKeyId, true);
    let r;
    try {
      r = fromVault(
        await vault(ctx, source.keyId).reEncrypt(
          audited(ctx, "ReEncryptFrom"),
          input.CiphertextBlob,
          input.SourceEncryptionContext,
          { region: ctx.region, keyId: destination.keyId, algorithm: destinationAlgorithm },
          // The destination key decides kms:ReEncryptTo on the destination encryption context.
          {
            ...checkedFor(ctx, "ReEncryptTo"),
            keyAccount: destination.account,
            context: ctx.policyContextWith(input.DestinationEncryptionContext, "DestinationKeyId", destinationAlgorithm),
            encryptionContext: input.DestinationEncryptionContext ?? {},
          },
          input.DestinationEncryptionContext,
          input.DryRun,
          sourceAlgorithm,
        ),
        source.arn,
        ctx,
      );
    } catch (e) {
      mapMissingKey(e);
    }
    if (input.DryRun) throw dryRunSucceeded();
    return {
      CiphertextBlob: encodeBase64(r.blob),
      SourceKeyId: r.sourceKeyArn,
      KeyId: r.destinationKeyArn,
      SourceEncryptionAlgorithm: sourceAlgorithm,
      DestinationEncryptionAlgorithm: destinationAlgorithm,
      ...(r.sourceKeyMaterialId ? { SourceKeyMaterialId: r.sourceKeyMaterialId } : {}),
      ...(r.destinationKeyMaterialId ? { DestinationKeyMaterialId: r.destinationKeyMaterialId } : {}),
    };
  },
});
