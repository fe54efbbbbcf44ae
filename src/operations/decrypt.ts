import { KmsError } from "../protocol/errors.js";
import { encodeBase64 } from "../protocol/codec.js";
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from "../protocol/validate.js";
import { MAX_CIPHERTEXT_BLOB } from "../kms/limits.js";
import { keyArn, parseKeyRef } from "../kms/ids.js";
import { decodeHeader } from "../vault/blob.js";
import { DRY_RUN_MODIFIERS, ENCRYPTION_ALGORITHMS } from "./enums.js";
import { defineOperation } from "./operation.js";
import type { OpContext } from "./context.js";
import { audited, dryRunSucceeded, fromVault, resolveKey, vault } from "./shared.js";

interface Input {
  CiphertextBlob?: Uint8Array;
  EncryptionContext?: Record<string, string>;
  GrantTokens?: string[];
  KeyId?: string;
  EncryptionAlgorithm?: string;
  Recipient?: Record<string, unknown>;
  DryRun?: boolean;
  DryRunModifiers?: string[];
}

export const CIPHERTEXT_BLOB = { kind: "blob", min: 1, max: MAX_CIPHERTEXT_BLOB } as const;

/** A blob that is not ours: generic on the wire, the reason in the audit record. */
export const invalidCiphertext = (detail: string) => new KmsError("InvalidCiphertextException", "", detail);

/**
 * The key that decrypts a ciphertext: for SYMMETRIC_DEFAULT, the key its blob names, checked
 * against an optional KeyId parameter; for an RSAES_OAEP algorithm (the ciphertext is the raw
 * OAEP output, which names no key), the key the KeyId parameter names — AWS requires it.
 */
export async function keyOfBlob(ctx: OpContext, blob: Uint8Array, keyIdParam: string | undefined, algorithm = "SYMMETRIC_DEFAULT", member = "KeyId"): Promise<{ keyId: string; arn: string }> {
  if (algorithm !== "SYMMETRIC_DEFAULT") {
    if (keyIdParam === undefined) throw new KmsError("ValidationException", `${member} is required to decrypt with an asymmetric KMS key (EncryptionAlgorithm ${algorithm}).`);
    const named = await resolveKey(ctx, keyIdParam, true);
    return { keyId: named.keyId, arn: named.arn };
  }
  const header = decodeHeader(blob);
  if (!header) {
    // Not a symmetric blob: the named key's vault answers (InvalidKeyUsage for an RSA key, InvalidCiphertext otherwise).
    if (keyIdParam !== undefined) {
      const named = await resolveKey(ctx, keyIdParam, true);
      return { keyId: named.keyId, arn: named.arn };
    }
    throw invalidCiphertext("not an EdgeKMS v1 ciphertext blob");
  }
  const arn = keyArn(ctx.region, ctx.caller.accountId, header.keyId);
  ctx.audit.keyArn ??= arn;
  // The blob names its key, in whatever account (the vault checks the key policy).
  ctx.audit.keyAccount ??= "*";
  if (keyIdParam !== undefined) {
    const named = await resolveKey(ctx, keyIdParam, true);
    // A key ARN names the key's account as well as its id, and an alias (by name: the caller's;
    // by ARN: the ARN's) resolves in one account: the vault holds the key to it (not visible,
    // the key is not the one named), where the blob alone names no account.
    const ref = parseKeyRef(keyIdParam);
    if (ref.kind === "alias" || (ref.kind === "key" && ref.account !== undefined)) ctx.audit.keyAccount = named.account;
    if (named.keyId === header.keyId) return { keyId: header.keyId, arn: named.arn };
    throw new KmsError("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.", `blob is for ${header.keyId}`);
  }
  return { keyId: header.keyId, arn };
}

/** Decrypting under a key that is not there (any region or account) is an access error on the wire. */
export function mapMissingKey(e: unknown): never {
  if (e instanceof KmsError && e.type === "NotFoundException") {
    throw new KmsError("AccessDeniedException", "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.", e.message);
  }
  throw e;
}

export const decrypt = defineOperation<Input>({
  name: "Decrypt",
  readOnly: true,
  auditMembers: ["KeyId", "EncryptionContext", "EncryptionAlgorithm"],
  // AWS records the algorithm even when the request leaves it out.
  defaults: { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" },
  iamOnly: false,
  crossAccount: true,
  quota: { byAlgorithm: ["EncryptionAlgorithm"] },
  encryptionContext: "EncryptionContext",
  schema: {
    CiphertextBlob: CIPHERTEXT_BLOB,
    EncryptionContext: ENCRYPTION_CONTEXT,
    GrantTokens: GRANT_TOKENS,
    KeyId: KEY_ID,
    EncryptionAlgorithm: { kind: "enum", values: ENCRYPTION_ALGORITHMS },
    Recipient: { kind: "struct", fields: { KeyEncryptionAlgorithm: { kind: "enum", values: ["RSAES_OAEP_SHA_256"] }, AttestationDocument: { kind: "blob", min: 1, max: 262144 } } },
    DryRun: { kind: "bool" },
    DryRunModifiers: { kind: "list", item: { kind: "enum", values: DRY_RUN_MODIFIERS } },
  },
  async run(ctx, input) {
    if (input.Recipient) throw new KmsError("UnsupportedOperationException", "Recipient (attested decryption) is not supported by EdgeKMS.");
    const ignoreCiphertext = input.DryRun === true && (input.DryRunModifiers ?? []).includes("IGNORE_CIPHERTEXT");
    if (ignoreCiphertext) {
      if (input.KeyId === undefined) throw new KmsError("ValidationException", "KeyId is required when DryRun ignores the ciphertext.");
      const key = await resolveKey(ctx, input.KeyId, true);
      fromVault(await vault(ctx, key.keyId).dryRun(audited(ctx)), key.arn, ctx);
      throw dryRunSucceeded();
    }
    if (!input.CiphertextBlob) throw new KmsError("ValidationException", "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
    const algorithm = input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT";
    const key = await keyOfBlob(ctx, input.CiphertextBlob, input.KeyId, algorithm);
    let r;
    try {
      r = fromVault(await vault(ctx, key.keyId).decrypt(audited(ctx), input.CiphertextBlob, input.EncryptionContext, input.DryRun, algorithm), key.arn, ctx);
    } catch (e) {
      mapMissingKey(e);
    }
    if (input.DryRun) throw dryRunSucceeded();
    return { KeyId: r.keyArn, Plaintext: encodeBase64(r.plaintext), EncryptionAlgorithm: algorithm, ...(r.keyMaterialId ? { KeyMaterialId: r.keyMaterialId } : {}) };
  },
});
