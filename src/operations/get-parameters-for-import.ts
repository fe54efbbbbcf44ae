import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { KEY_ID } from "../protocol/validate.js";
import type { WrappingAlgorithm, WrappingKeySpec } from "../vault/imports.js";
import { WRAPPING_ALGORITHM_SPECS, WRAPPING_KEY_SPEC_VALUES } from "./enums.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string; WrappingAlgorithm: string; WrappingKeySpec: string }

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html */
export const getParametersForImport = defineOperation<Input>({
  name: "GetParametersForImport",
  readOnly: true,
  auditMembers: ["KeyId", "WrappingAlgorithm", "WrappingKeySpec"],
  iamOnly: false,
  crossAccount: false,
  schema: {
    KeyId: { ...KEY_ID, required: true },
    WrappingAlgorithm: { kind: "enum", values: WRAPPING_ALGORITHM_SPECS, required: true },
    WrappingKeySpec: { kind: "enum", values: WRAPPING_KEY_SPEC_VALUES, required: true },
  },
  async run(ctx, input) {
    // RSAES_PKCS1_V1_5 is no longer accepted (AWS, since 2023-10-10); SM2 wrapping is China-only.
    if (input.WrappingAlgorithm === "RSAES_PKCS1_V1_5") throw new KmsError("ValidationException", "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.");
    if (input.WrappingAlgorithm === "SM2PKE" || input.WrappingKeySpec === "SM2") throw new KmsError("UnsupportedOperationException", "SM2 wrapping keys are offered only in AWS China Regions.");
    const key = await resolveKey(ctx, input.KeyId, false);
    const r = fromVault(
      await vault(ctx, key.keyId).getParametersForImport(audited(ctx), input.WrappingAlgorithm as WrappingAlgorithm, input.WrappingKeySpec as WrappingKeySpec),
      key.arn,
      ctx,
    );
    return { KeyId: r.keyArn, ImportToken: encodeBase64(r.importToken), PublicKey: encodeBase64(r.publicKey), ParametersValidTo: r.validTo / 1000 };
  },
});
