import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; KeyMaterialId?: string }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html */
export const deleteImportedKeyMaterial = defineOperation<Input>({
  name: "DeleteImportedKeyMaterial",
  readOnly: false,
  auditMembers: ["KeyId", "KeyMaterialId"],
  iamOnly: false,
  crossAccount: false,
  schema: {
    KeyId: { ...KEY_ID, required: true },
    KeyMaterialId: { kind: "string", min: 64, max: 64, pattern: /^[a-f0-9]+$/ },
  },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const r = fromVault(await vault(ctx, key.keyId).deleteImportedKeyMaterial(audited(ctx), input.KeyMaterialId), key.arn, ctx);
    return { KeyId: r.keyArn, ...(r.keyMaterialId ? { KeyMaterialId: r.keyMaterialId } : {}) };
  },
});
