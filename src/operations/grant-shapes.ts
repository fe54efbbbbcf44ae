// Shapes shared by the grant operations (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html).
import type { Field } from "../protocol/validate.js";

export const GRANT_OPERATIONS = ["Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate", "GetPublicKey", "DescribeKey", "CreateGrant", "RetireGrant"] as const;
export const PRINCIPAL: Field = { kind: "string", min: 1, max: 256, pattern: /^[\w+=,.@:/-]+$/ };
export const GRANT_ID: Field = { kind: "string", min: 1, max: 128 };
export const GRANT_TOKEN: Field = { kind: "string", min: 1, max: 8192 };
export const MAX_CONSTRAINT_PAIRS = 8;
export const MAX_CONSTRAINT_VALUE = 384;
