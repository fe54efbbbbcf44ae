import { encodeBase64 } from "../protocol/codec.js";
import { DATA_KEY_SCHEMA, generateDataKeyIn, type DataKeyInput } from "./data-key.js";
import { defineOperation } from "./operation.js";

export const generateDataKeyWithoutPlaintext = defineOperation<DataKeyInput>({
  name: "GenerateDataKeyWithoutPlaintext",
  readOnly: true,
  auditMembers: ["KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext"],
  iamOnly: false,
  crossAccount: true,
  quota: { shared: "CryptographicOperationsSymmetric" },
  encryptionContext: "EncryptionContext",
  conditionDefaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  schema: DATA_KEY_SCHEMA,
  async run(ctx, input) {
    const r = await generateDataKeyIn(ctx, input, false);
    return { CiphertextBlob: encodeBase64(r.blob), KeyId: r.keyArn, KeyMaterialId: r.keyMaterialId };
  },
});
