import { encodeBase64 } from "../protocol/codec.js";
import { DATA_KEY_PAIR_AUDIT, DATA_KEY_PAIR_SCHEMA, generateDataKeyPairIn, type DataKeyPairInput } from "./data-key-pair.js";
import { defineOperation } from "./operation.js";

export const generateDataKeyPairWithoutPlaintext = defineOperation<DataKeyPairInput>({
  name: "GenerateDataKeyPairWithoutPlaintext",
  readOnly: true,
  auditMembers: DATA_KEY_PAIR_AUDIT,
  iamOnly: false,
  crossAccount: true,
  quota: { byKeyPairSpec: true },
  encryptionContext: "EncryptionContext",
  conditionDefaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  schema: DATA_KEY_PAIR_SCHEMA,
  async run(ctx, input) {
    const r = await generateDataKeyPairIn(ctx, input, false);
    return { PrivateKeyCiphertextBlob: encodeBase64(r.privateKeyBlob), PublicKey: encodeBase64(r.publicKey), KeyId: r.keyArn, KeyPairSpec: input.KeyPairSpec, KeyMaterialId: r.keyMaterialId };
  },
});
