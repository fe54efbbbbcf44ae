// AWS KMS's request-rate quotas (requests per second, per account and region) and which one a
// request counts against: https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
// The one table of quota values. Which quota an operation counts against is a fact of the
// operation (its `quota`, src/operations/operation.ts); an operation without one counts against
// its own control-plane quota, named after it. Pure: no I/O (src/quota/enforce.ts enforces them,
// docs/quotas.md says how).

/** The shared quotas of the cryptographic operations, one per family of key. */
export const SHARED_QUOTAS = {
  CryptographicOperationsSymmetric: "Cryptographic operations (symmetric) request rate",
  CryptographicOperationsRsa: "Cryptographic operations (RSA) request rate",
  CryptographicOperationsEcc: "Cryptographic operations (ECC) request rate",
  CryptographicOperationsMlDsa: "Cryptographic operations (ML-DSA) request rate",
  CryptographicOperationsMlKem: "Cryptographic operations (ML-KEM) request rate",
} as const;
export type SharedQuota = keyof typeof SHARED_QUOTAS;

/**
 * Which quota an operation's requests count against, when it is not its own control-plane quota:
 * - `shared`: a shared cryptographic quota (GenerateDataKey counts against the symmetric one);
 * - `byAlgorithm`: the family of key the request's algorithm member names (the first of the
 *   members that names an asymmetric algorithm; symmetric when none does, SYMMETRIC_DEFAULT being
 *   the default): Encrypt with RSAES_OAEP_SHA_256 counts against the RSA quota, Sign with
 *   ECDSA_SHA_256 against the ECC one. A request names the algorithm its key needs, so the quota
 *   is known in the Worker, before the key's vault is asked;
 * - `byKeyPairSpec`: GenerateDataKeyPair's, one quota per KeyPairSpec.
 */
export type QuotaRule =
  | { readonly shared: SharedQuota }
  | { readonly byAlgorithm: readonly string[] }
  | { readonly byKeyPairSpec: true };

/** The quota of GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext for a key pair spec. */
export const dataKeyPairQuota = (spec: string): string => `GenerateDataKeyPair:${spec}`;

/** The family of key an algorithm (EncryptionAlgorithm, SigningAlgorithm) is for. */
export function familyOf(algorithm: string): SharedQuota {
  if (algorithm.startsWith("RSA")) return "CryptographicOperationsRsa"; // RSAES_OAEP_*, RSASSA_*
  if (algorithm.startsWith("ECDSA") || algorithm.startsWith("ED25519") || algorithm.startsWith("SM2") || algorithm === "ECDH") return "CryptographicOperationsEcc";
  if (algorithm.startsWith("ML_DSA")) return "CryptographicOperationsMlDsa";
  return "CryptographicOperationsSymmetric";
}

/** The quota one request of the operation counts against. */
/** Requests of quota `quota` that one request also counts as in `region` (Operation.quotaElsewhere). */
export interface QuotaElsewhere { region: string; quota: string; count: number }

export function quotaOf(op: { readonly name: string; readonly quota?: QuotaRule }, input: Readonly<Record<string, unknown>>): string {
  const rule = op.quota;
  if (!rule) return op.name;
  if ("shared" in rule) return rule.shared;
  if ("byKeyPairSpec" in rule) return dataKeyPairQuota(String(input.KeyPairSpec));
  for (const member of rule.byAlgorithm) {
    const algorithm = input[member];
    if (typeof algorithm !== "string") continue;
    const family = familyOf(algorithm);
    if (family !== "CryptographicOperationsSymmetric") return family;
  }
  return "CryptographicOperationsSymmetric";
}

// ---- AWS's defaults

/**
 * The symmetric quota by region. AWS's guide gives 10,000 by default and 20,000 in us-east-2,
 * ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-central-1 and eu-west-2 (it was 5,500 and
 * 10,000 until 2023); for us-east-1, us-west-2 and eu-west-1 it gave 50,000, the figure used here
 * (docs/quotas.md, "Defaults").
 */
const SYMMETRIC_BY_REGION: Readonly<Record<string, number>> = {
  "us-east-1": 50_000, "us-west-2": 50_000, "eu-west-1": 50_000,
  "us-east-2": 20_000, "ap-southeast-1": 20_000, "ap-southeast-2": 20_000, "ap-northeast-1": 20_000, "eu-central-1": 20_000, "eu-west-2": 20_000,
};
const SYMMETRIC_ELSEWHERE = 10_000;

/** The other shared quotas (ML-KEM has no documented default: none is applied unless configured). */
const SHARED_DEFAULTS: Readonly<Partial<Record<SharedQuota, number>>> = {
  CryptographicOperationsRsa: 1_000,
  CryptographicOperationsEcc: 1_000,
  CryptographicOperationsMlDsa: 1_000,
};

/** GenerateDataKeyPair(WithoutPlaintext) per KeyPairSpec (specs AWS lists no quota for have none by default). */
const DATA_KEY_PAIR_DEFAULTS: Readonly<Record<string, number>> = {
  ECC_NIST_P256: 25, ECC_NIST_P384: 10, ECC_NIST_P521: 5, ECC_SECG_P256K1: 25, SM2: 25,
  RSA_2048: 1, RSA_3072: 0.5, RSA_4096: 0.1,
};

/** Control-plane quotas, one per operation, as AWS lists them; operations it does not list have none by default. */
export const CONTROL_PLANE_DEFAULTS: Readonly<Record<string, number>> = {
  CancelKeyDeletion: 5, CreateAlias: 5, CreateGrant: 50, CreateKey: 5, DeleteAlias: 15, DeleteImportedKeyMaterial: 5,
  DescribeKey: 2000, DisableKey: 5, DisableKeyRotation: 5, EnableKey: 5, EnableKeyRotation: 15,
  GetKeyPolicy: 1000, GetKeyRotationStatus: 1000, GetParametersForImport: 0.25, GetPublicKey: 2000, ImportKeyMaterial: 5,
  ListAliases: 500, ListGrants: 100, ListKeyPolicies: 100, ListKeys: 500, ListResourceTags: 2000, ListRetirableGrants: 100,
  PutKeyPolicy: 15, ReplicateKey: 5, RetireGrant: 30, RevokeGrant: 30, ScheduleKeyDeletion: 15, TagResource: 10,
  UntagResource: 5, UpdateAlias: 5, UpdateKeyDescription: 5, UpdatePrimaryRegion: 5,
};

/** AWS's default for a quota in a region; undefined where AWS documents none (no limit unless configured). */
export function defaultQuota(name: string, region: string): number | undefined {
  if (name === "CryptographicOperationsSymmetric") return SYMMETRIC_BY_REGION[region] ?? SYMMETRIC_ELSEWHERE;
  if (Object.hasOwn(SHARED_DEFAULTS, name)) return SHARED_DEFAULTS[name as SharedQuota];
  if (name.startsWith("GenerateDataKeyPair:")) {
    const spec = name.slice("GenerateDataKeyPair:".length);
    return Object.hasOwn(DATA_KEY_PAIR_DEFAULTS, spec) ? DATA_KEY_PAIR_DEFAULTS[spec] : undefined;
  }
  return Object.hasOwn(CONTROL_PLANE_DEFAULTS, name) ? CONTROL_PLANE_DEFAULTS[name] : undefined;
}

/** AWS's name of a quota ("CreateKey request rate"). */
export function describeQuota(name: string): string {
  if (Object.hasOwn(SHARED_QUOTAS, name)) return SHARED_QUOTAS[name as SharedQuota];
  if (name.startsWith("GenerateDataKeyPair:")) return `GenerateDataKeyPair (${name.slice("GenerateDataKeyPair:".length)}) request rate`;
  return `${name} request rate`;
}

/** The largest quota that can be configured (requests per second). */
export const MAX_QUOTA = 10_000_000;

/** QUOTA_SCALE: a factor on every default (the test environments raise them); 1 when unset or not a positive number. */
export function quotaScale(value: string | undefined): number {
  const n = Number(value ?? "1");
  return Number.isFinite(n) && n > 0 ? n : 1;
}
