// The algorithm suite table of the AWS Encryption SDK (algorithms-reference.html) and the
// commitment policies. docs/envelope.md, "Algorithm suites".
import { fail } from "./errors.js";
import type { CommitmentPolicy, SuiteId } from "./types.js";

export interface SuiteInfo {
  id: SuiteId;
  /** Message format version: 2 for the committing suites, 1 otherwise. */
  version: 1 | 2;
  /** Data key and frame key length in bytes (AES-128/192/256). */
  keyLength: 16 | 24 | 32;
  /** HKDF hash, or undefined when the data key is the frame key. */
  kdfHash?: "SHA-256" | "SHA-384" | "SHA-512";
  /** ECDSA curve and hash of the footer signature. */
  signature?: { curve: "P-256" | "P-384"; hash: "SHA-256" | "SHA-384" };
  /** Key commitment (32 bytes in the header, version 2). */
  committing: boolean;
  name: string;
}

const s = (
  id: SuiteId, keyLength: 16 | 24 | 32, kdfHash: SuiteInfo["kdfHash"], signature: SuiteInfo["signature"], committing: boolean, name: string,
): SuiteInfo => Object.freeze({ id, version: committing ? 2 : 1, keyLength, kdfHash, signature, committing, name });

const P256 = Object.freeze({ curve: "P-256", hash: "SHA-256" } as const);
const P384 = Object.freeze({ curve: "P-384", hash: "SHA-384" } as const);

export const SUITES: Readonly<Record<SuiteId, SuiteInfo>> = Object.freeze({
  0x0578: s(0x0578, 32, "SHA-512", P384, true, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"),
  0x0478: s(0x0478, 32, "SHA-512", undefined, true, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"),
  0x0378: s(0x0378, 32, "SHA-384", P384, false, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"),
  0x0346: s(0x0346, 24, "SHA-384", P384, false, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"),
  0x0214: s(0x0214, 16, "SHA-256", P256, false, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256"),
  0x0178: s(0x0178, 32, "SHA-256", undefined, false, "AES_256_GCM_IV12_TAG16_HKDF_SHA256"),
  0x0146: s(0x0146, 24, "SHA-256", undefined, false, "AES_192_GCM_IV12_TAG16_HKDF_SHA256"),
  0x0114: s(0x0114, 16, "SHA-256", undefined, false, "AES_128_GCM_IV12_TAG16_HKDF_SHA256"),
  0x0078: s(0x0078, 32, undefined, undefined, false, "AES_256_GCM_IV12_TAG16_NO_KDF"),
  0x0046: s(0x0046, 24, undefined, undefined, false, "AES_192_GCM_IV12_TAG16_NO_KDF"),
  0x0014: s(0x0014, 16, undefined, undefined, false, "AES_128_GCM_IV12_TAG16_NO_KDF"),
});

export const DEFAULT_SUITE: SuiteId = 0x0478;
/** The default under FORBID_ENCRYPT_ALLOW_DECRYPT (as the AWS Encryption SDK's). */
export const DEFAULT_NON_COMMITTING_SUITE: SuiteId = 0x0378;
export const DEFAULT_FRAME_LENGTH = 4096;
export const DEFAULT_COMMITMENT_POLICY: CommitmentPolicy = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT";
/** The encryption-context key under which the signed suites carry the public key. */
export const ENCODED_SIGNER_KEY = "aws-crypto-public-key";
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

const POLICIES: readonly CommitmentPolicy[] = ["REQUIRE_ENCRYPT_REQUIRE_DECRYPT", "REQUIRE_ENCRYPT_ALLOW_DECRYPT", "FORBID_ENCRYPT_ALLOW_DECRYPT"];

export function hex16(id: number): string {
  return "0x" + id.toString(16).padStart(4, "0");
}

/** The suite of an id read from a message or given by a caller; throws UNSUPPORTED_SUITE otherwise. */
export function suiteInfo(id: number): SuiteInfo {
  const info = Object.prototype.hasOwnProperty.call(SUITES, id) ? SUITES[id as SuiteId] : undefined;
  if (!info) fail("UNSUPPORTED_SUITE", `unsupported algorithm suite ${hex16(id)} (supported: ${Object.keys(SUITES).map((k) => hex16(Number(k))).join(", ")})`);
  return info;
}

export function checkPolicy(policy: unknown): CommitmentPolicy {
  if (!POLICIES.includes(policy as CommitmentPolicy)) fail("INVALID_ARGUMENT", `commitmentPolicy must be one of ${POLICIES.join(", ")}, got ${String(policy)}`);
  return policy as CommitmentPolicy;
}

/** The suite an encrypt uses: the one given, else the default for the commitment policy. */
export const encryptSuite = (suite: SuiteId | undefined, policy: CommitmentPolicy | undefined): SuiteId =>
  suite ?? (policy === "FORBID_ENCRYPT_ALLOW_DECRYPT" ? DEFAULT_NON_COMMITTING_SUITE : DEFAULT_SUITE);

export function checkEncryptSuite(policy: CommitmentPolicy, suite: SuiteInfo): void {
  if (policy === "FORBID_ENCRYPT_ALLOW_DECRYPT" && suite.committing) {
    fail("COMMITMENT_POLICY", `commitment policy ${policy} forbids encrypting with the committing suite ${hex16(suite.id)}`);
  }
  if (policy !== "FORBID_ENCRYPT_ALLOW_DECRYPT" && !suite.committing) {
    fail("COMMITMENT_POLICY", `commitment policy ${policy} requires a committing suite (0x0478 or 0x0578) to encrypt, got ${hex16(suite.id)}`);
  }
}

export function checkDecryptSuite(policy: CommitmentPolicy, suite: SuiteInfo): void {
  if (policy === "REQUIRE_ENCRYPT_REQUIRE_DECRYPT" && !suite.committing) {
    fail("COMMITMENT_POLICY", `commitment policy ${policy} refuses the non-committing suite ${hex16(suite.id)} (a version 1 message); ` +
      `decrypt it with commitment policy REQUIRE_ENCRYPT_ALLOW_DECRYPT if you trust its origin`);
  }
}
