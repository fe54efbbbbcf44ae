import { encodeBase64 } from "../protocol/codec.js";
import { GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; GrantTokens?: string[] }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html */
export const getPublicKey = defineOperation<Input>({
  name: "GetPublicKey",
  readOnly: true,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: true,
  schema: { KeyId: { ...KEY_ID, required: true }, GrantTokens: GRANT_TOKENS },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, true);
    const r = fromVault(await vault(ctx, key.keyId).getPublicKey(audited(ctx)), key.arn, ctx);
    return {
      KeyId: r.keyArn,
      PublicKey: encodeBase64(r.publicKey),
      KeySpec: r.keySpec,
      ...(r.customerMasterKeySpec ? { CustomerMasterKeySpec: r.keySpec } : {}),
      KeyUsage: r.keyUsage,
      ...r.algorithms,
    };
  },
});
