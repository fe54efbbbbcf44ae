// The shape of one KMS operation: its input schema, its facts, and its run function. Every
// fact is declared here once, in the operation's own file; the lists the rest of the service
// needs (read-only events, audit members, IAM-only permissions, cross-account use) are read
// from the operation table (index.ts), never kept beside it.
import type { Permission } from "../authz/authorize.js";
import type { Schema } from "../protocol/validate.js";
import type { OpContext } from "./context.js";
import type { QuotaElsewhere, QuotaRule } from "../quota/table.js";

export interface Operation<I = never> {
  name: string;
  schema: Schema;
  /** Whether the operation only reads (CloudTrail readOnly). */
  readOnly: boolean;
  /** Request members its audit record's requestParameters may carry (never plaintext, blobs, policy text or tokens). */
  auditMembers: readonly string[];
  /** Members' values when the request leaves them out: its record and its condition keys see them (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html). */
  defaults?: Readonly<Record<string, string>>;
  /**
   * Condition-key values the operation has without a request member for them (its record does
   * not carry them): GenerateDataKey* encrypt under SYMMETRIC_DEFAULT, so kms:EncryptionAlgorithm
   * sees it (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-algorithm).
   */
  conditionDefaults?: Readonly<Record<string, string>>;
  /** Its permission is granted only by identity policies, on no key (the handler asks the authorizer before `run`). */
  iamOnly: boolean;
  /** It may name a key of another account (by key ARN or ciphertext). */
  crossAccount: boolean;
  /** The request member naming the key (kms:RequestAlias); KeyId when absent. */
  keyMember?: "SourceKeyId";
  /** The request member holding the encryption context that condition keys and grant constraints see. */
  encryptionContext?: "EncryptionContext" | "SourceEncryptionContext";
  /**
   * The request-rate quota its requests count against (src/quota/table.ts, docs/quotas.md): a shared
   * cryptographic quota, or one chosen by the algorithm or key pair spec the request names. Absent:
   * its own control-plane quota, named after it.
   */
  quota?: QuotaRule;
  /**
   * What one request also counts as in other Regions' quotas, as AWS counts it
   * (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html): ReplicateKey
   * as two CreateKey requests in the replica's Region, UpdatePrimaryRegion as itself in the new
   * primary's Region. Charged only in Regions EdgeKMS serves (another fails validation in `run`).
   */
  quotaElsewhere?(input: Readonly<Record<string, unknown>>): readonly QuotaElsewhere[];
  run(ctx: OpContext, input: I): Promise<Record<string, unknown>>;
}

export const defineOperation = <I>(op: Operation<I>): Operation<I> => op;

/** The permission an operation needs, as the authorizer takes it: `action` defaults to the operation's name. */
export const permissionOf = (op: Operation<any>, action: string = op.name): Permission => ({
  action: `kms:${action}`,
  iamOnly: op.iamOnly,
  crossAccount: op.crossAccount,
  usesEncryptionContext: op.encryptionContext !== undefined,
});
