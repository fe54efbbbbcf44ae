// The operation table: X-Amz-Target operation name → implementation.
import type { Operation } from "./operation.js";
import { cancelKeyDeletion } from "./cancel-key-deletion.js";
import { createAlias } from "./create-alias.js";
import { createGrant } from "./create-grant.js";
import { listGrants } from "./list-grants.js";
import { listRetirableGrants } from "./list-retirable-grants.js";
import { retireGrant } from "./retire-grant.js";
import { revokeGrant } from "./revoke-grant.js";
import { createKey } from "./create-key.js";
import { decrypt } from "./decrypt.js";
import { deleteAlias } from "./delete-alias.js";
import { describeKey } from "./describe-key.js";
import { disableKey } from "./disable-key.js";
import { disableKeyRotation } from "./disable-key-rotation.js";
import { enableKey } from "./enable-key.js";
import { enableKeyRotation } from "./enable-key-rotation.js";
import { encrypt } from "./encrypt.js";
import { generateDataKey } from "./generate-data-key.js";
import { generateDataKeyWithoutPlaintext } from "./generate-data-key-without-plaintext.js";
import { generateRandom } from "./generate-random.js";
import { getKeyRotationStatus } from "./get-key-rotation-status.js";
import { getKeyPolicy } from "./get-key-policy.js";
import { listKeyPolicies } from "./list-key-policies.js";
import { putKeyPolicy } from "./put-key-policy.js";
import { listAliases } from "./list-aliases.js";
import { listKeyRotations } from "./list-key-rotations.js";
import { listKeys } from "./list-keys.js";
import { listResourceTags } from "./list-resource-tags.js";
import { reEncrypt } from "./re-encrypt.js";
import { rotateKeyOnDemand } from "./rotate-key-on-demand.js";
import { scheduleKeyDeletion } from "./schedule-key-deletion.js";
import { tagResource } from "./tag-resource.js";
import { untagResource } from "./untag-resource.js";
import { updateAlias } from "./update-alias.js";
import { updateKeyDescription } from "./update-key-description.js";
import { decapsulate } from "./decapsulate.js";
import { deriveSharedSecret } from "./derive-shared-secret.js";
import { encapsulate } from "./encapsulate.js";
import { generateDataKeyPair } from "./generate-data-key-pair.js";
import { generateDataKeyPairWithoutPlaintext } from "./generate-data-key-pair-without-plaintext.js";
import { generateMac } from "./generate-mac.js";
import { getPublicKey } from "./get-public-key.js";
import { sign } from "./sign.js";
import { verify } from "./verify.js";
import { verifyMac } from "./verify-mac.js";
import { replicateKey } from "./replicate-key.js";
import { updatePrimaryRegion } from "./update-primary-region.js";
import { getParametersForImport } from "./get-parameters-for-import.js";
import { importKeyMaterial } from "./import-key-material.js";
import { deleteImportedKeyMaterial } from "./delete-imported-key-material.js";
import { getKeyLastUsage } from "./get-key-last-usage.js";

const ALL: Operation<any>[] = [
  cancelKeyDeletion, createAlias, createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant, createKey, decrypt, deleteAlias, describeKey, disableKey, disableKeyRotation,
  enableKey, enableKeyRotation, encrypt, generateDataKey, generateDataKeyWithoutPlaintext, generateRandom,
  getKeyPolicy, getKeyRotationStatus, listAliases, listKeyPolicies, putKeyPolicy, listKeyRotations, listKeys, listResourceTags, reEncrypt, rotateKeyOnDemand,
  scheduleKeyDeletion, tagResource, untagResource, updateAlias, updateKeyDescription,
  decapsulate, deriveSharedSecret, encapsulate, generateDataKeyPair, generateDataKeyPairWithoutPlaintext, generateMac, getPublicKey, sign, verify, verifyMac,
  replicateKey, updatePrimaryRegion,
  getParametersForImport, importKeyMaterial, deleteImportedKeyMaterial, getKeyLastUsage,
];

export const OPERATIONS: ReadonlyMap<string, Operation<any>> = new Map(ALL.map((op) => [op.name, op]));

/** AWS KMS operations EdgeKMS does not implement yet (UnsupportedOperationException, not UnknownOperation). */
export const NOT_YET_IMPLEMENTED: ReadonlySet<string> = new Set([
  "ConnectCustomKeyStore", "CreateCustomKeyStore", "DeleteCustomKeyStore",
  "DescribeCustomKeyStores", "DisconnectCustomKeyStore",
  "UpdateCustomKeyStore",
]);
