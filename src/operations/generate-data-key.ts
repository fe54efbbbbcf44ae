import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { DATA_KEY_SCHEMA, generateDataKeyIn, type DataKeyInput } from "./data-key.js";
import { defineOperation } from "./operation.js";

/** RecipientInfo (attested decryption for Nitro Enclaves), which EdgeKMS refuses. */
export const RECIPIENT = { kind: "struct", fields: { KeyEncryptionAlgorithm: { kind: "enum", values: ["RSAES_OAEP_SHA_256"] }, AttestationDocument: { kind: "blob", min: 1, max: 262144 } } } as const;

export const generateDataKey = defineOperation<DataKeyInput & { Recipient?: unknown }>({
  name: "GenerateDataKey",
  readOnly: true,
  auditMembers: ["KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext"],
  iamOnly: false,
  crossAccount: true,
  quota: { shared: "CryptographicOperationsSymmetric" },
  encryptionContext: "EncryptionContext",
  conditionDefaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  schema: {
    ...DATA_KEY_SCHEMA,
    Recipient: RECIPIENT,
  },
  async run(ctx, input) {
    if (input.Recipient) throw new KmsError("UnsupportedOperationException", "Recipient (attested decryption) is not supported by EdgeKMS.");
    const r = await generateDataKeyIn(ctx, input, true);
    const out = { CiphertextBlob: encodeBase64(r.blob), Plaintext: encodeBase64(r.plaintext!), KeyId: r.keyArn, KeyMaterialId: r.keyMaterialId };
    r.plaintext!.fill(0);
    return out;
  },
});
