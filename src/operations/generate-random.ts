import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { MAX_RANDOM_BYTES } from "../kms/limits.js";
import { defineOperation } from "./operation.js";

interface Input { NumberOfBytes?: number; CustomKeyStoreId?: string; Recipient?: Record<string, unknown> }

export const generateRandom = defineOperation<Input>({
  name: "GenerateRandom",
  readOnly: true,
  auditMembers: ["NumberOfBytes"],
  iamOnly: true,
  crossAccount: false,
  quota: { shared: "CryptographicOperationsSymmetric" },
  schema: {
    NumberOfBytes: { kind: "int", min: 1, max: MAX_RANDOM_BYTES },
    CustomKeyStoreId: { kind: "string", min: 1, max: 64 },
    Recipient: { kind: "struct", fields: {} },
  },
  async run(_ctx, input) {
    if (input.CustomKeyStoreId) throw new KmsError("CustomKeyStoreNotFoundException", `Custom key store ${input.CustomKeyStoreId} does not exist.`);
    if (input.Recipient) throw new KmsError("UnsupportedOperationException", "Recipient (attested decryption) is not supported by EdgeKMS.");
    if (input.NumberOfBytes === undefined) {
      throw new KmsError("ValidationException", "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null");
    }
    const bytes = crypto.getRandomValues(new Uint8Array(input.NumberOfBytes));
    const out = { Plaintext: encodeBase64(bytes) };
    bytes.fill(0);
    return out;
  },
});
