import { KmsError } from "../protocol/errors.js";
import { KEY_ID } from "../protocol/validate.js";
import { DAY_MS, MAX_IMPORT_BLOB, MAX_KEY_MATERIAL_DESCRIPTION, MAX_MATERIAL_VALID_DAYS } from "../kms/limits.js";
import type { ImportMaterialParams } from "../vault/types.js";
import { EXPIRATION_MODELS, IMPORT_TYPES } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input {
  KeyId: string;
  ImportToken: Uint8Array;
  EncryptedKeyMaterial: Uint8Array;
  ValidTo?: number;
  ExpirationModel?: ImportMaterialParams["expirationModel"];
  ImportType?: ImportMaterialParams["importType"];
  KeyMaterialDescription?: string;
  KeyMaterialId?: string;
}

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html */
export const importKeyMaterial = defineOperation<Input>({
  name: "ImportKeyMaterial",
  readOnly: false,
  // Never the token or the wrapped material.
  auditMembers: ["KeyId", "ValidTo", "ExpirationModel", "ImportType", "KeyMaterialDescription", "KeyMaterialId"],
  iamOnly: false,
  crossAccount: false,
  // kms:ExpirationModel is KEY_MATERIAL_EXPIRES when the request names none (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-expiration-model).
  conditionDefaults: { ExpirationModel: "KEY_MATERIAL_EXPIRES" },
  schema: {
    KeyId: { ...KEY_ID, required: true },
    ImportToken: { kind: "blob", min: 1, max: MAX_IMPORT_BLOB, required: true },
    EncryptedKeyMaterial: { kind: "blob", min: 1, max: MAX_IMPORT_BLOB, required: true },
    ValidTo: { kind: "timestamp" },
    ExpirationModel: { kind: "enum", values: EXPIRATION_MODELS },
    ImportType: { kind: "enum", values: IMPORT_TYPES },
    KeyMaterialDescription: { kind: "string", min: 0, max: MAX_KEY_MATERIAL_DESCRIPTION, pattern: /^[a-zA-Z0-9:/_\s.-]+$/ },
    KeyMaterialId: { kind: "string", min: 64, max: 64, pattern: /^[a-f0-9]+$/ },
  },
  async run(ctx, input) {
    const expirationModel = input.ExpirationModel ?? "KEY_MATERIAL_EXPIRES";
    if (expirationModel === "KEY_MATERIAL_EXPIRES") {
      if (input.ValidTo === undefined) throw new KmsError("ValidationException", "A ValidTo date is required when ExpirationModel is KEY_MATERIAL_EXPIRES.");
      const validTo = input.ValidTo * 1000;
      if (validTo <= ctx.now) throw new KmsError("ValidationException", "ValidTo must be in the future.");
      if (validTo > ctx.now + MAX_MATERIAL_VALID_DAYS * DAY_MS) throw new KmsError("ValidationException", `ValidTo must be at most ${MAX_MATERIAL_VALID_DAYS} days from now.`);
    } else if (input.ValidTo !== undefined) {
      throw new KmsError("ValidationException", "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.");
    }
    if (input.ImportType === "NEW_KEY_MATERIAL" && input.KeyMaterialId !== undefined) {
      throw new KmsError("ValidationException", "KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.");
    }
    const key = await resolveKey(ctx, input.KeyId, false);
    const result = await vault(ctx, key.keyId).importKeyMaterial(audited(ctx), {
        importToken: input.ImportToken,
        encryptedKeyMaterial: input.EncryptedKeyMaterial,
        expirationModel,
        ...(input.ValidTo !== undefined ? { validTo: Math.floor(input.ValidTo * 1000) } : {}),
        ...(input.ImportType !== undefined ? { importType: input.ImportType } : {}),
        ...(input.KeyMaterialDescription !== undefined ? { description: input.KeyMaterialDescription } : {}),
        ...(input.KeyMaterialId !== undefined ? { keyMaterialId: input.KeyMaterialId } : {}),
    });
    let r;
    try {
      r = fromVault(result, key.arn, ctx);
    } catch (e) {
      // Unlike Decrypt's, this InvalidCiphertextException says what went wrong (the caller's own
      // wrapping); the audit record keeps the detail.
      if (e instanceof KmsError && e.type === "InvalidCiphertextException" && !result.ok) throw new KmsError(e.type, result.message, result.detail);
      throw e;
    }
    return { KeyId: r.keyArn, KeyMaterialId: r.keyMaterialId };
  },
});
