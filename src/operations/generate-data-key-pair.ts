import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { DATA_KEY_PAIR_AUDIT, DATA_KEY_PAIR_SCHEMA, generateDataKeyPairIn, type DataKeyPairInput } from "./data-key-pair.js";
import { RECIPIENT } from "./generate-data-key.js";
import { defineOperation } from "./operation.js";

export const generateDataKeyPair = defineOperation<DataKeyPairInput & { Recipient?: unknown }>({
  name: "GenerateDataKeyPair",
  readOnly: true,
  auditMembers: DATA_KEY_PAIR_AUDIT,
  iamOnly: false,
  crossAccount: true,
  // One request-rate quota per KeyPairSpec, shared with GenerateDataKeyPairWithoutPlaintext.
  quota: { byKeyPairSpec: true },
  encryptionContext: "EncryptionContext",
  conditionDefaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  schema: { ...DATA_KEY_PAIR_SCHEMA, Recipient: RECIPIENT },
  async run(ctx, input) {
    if (input.Recipient) throw new KmsError("UnsupportedOperationException", "Recipient (attested decryption) is not supported by EdgeKMS.");
    const r = await generateDataKeyPairIn(ctx, input, true);
    const out = {
      PrivateKeyCiphertextBlob: encodeBase64(r.privateKeyBlob),
      PrivateKeyPlaintext: encodeBase64(r.privateKey!),
      PublicKey: encodeBase64(r.publicKey),
      KeyId: r.keyArn,
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: r.keyMaterialId,
    };
    r.privateKey!.fill(0);
    return out;
  },
});
