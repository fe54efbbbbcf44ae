// What an operation knows about its request.
import type { Env, RegionPlacement } from "../env.js";
import type { Caller } from "../auth/caller.js";
import type { AuditDraft, CloudTrailRecord, JsonObject } from "../audit/record.js";
import type { RequestContext } from "../policy/conditions.js";
import type { Operation } from "./operation.js";
import type { catalogStub, vaultStub } from "../placement.js";

/** Where an operation's vault and catalog calls go: a batch's entries share them (docs/batch.md). */
export interface Stubs {
  vault(keyId: string): ReturnType<typeof vaultStub>;
  /** An account's catalog in the request's region (another account's only to resolve its alias ARN). */
  catalog(account: string): ReturnType<typeof catalogStub>;
}

/** The request's audit record in the making. */
export interface AuditState {
  draft: AuditDraft;
  /** The key the request concerned, for the record's resources. */
  keyArn?: string;
  /** The account the request named its key in ("*" when a ciphertext blob named it). */
  keyAccount?: string;
  /** Set when a vault has already written the record (with a state change). */
  recorded?: boolean;
  /** The records a vault completed for the handler to store (two for cross-account use). */
  records?: CloudTrailRecord[];
  responseElements?: JsonObject | null;
}

export interface OpContext {
  env: Env;
  region: string;
  placement: RegionPlacement;
  /** The operation being run (its facts decide how it is authorized). */
  op: Operation<any>;
  caller: Caller;
  requestId: string;
  now: number;
  audit: AuditState;
  /** The request's encryption context, as given (for grant constraints). */
  encryptionContext?: Record<string, string>;
  /** Condition keys of the request (lower-cased names) for policy evaluation. */
  policyContext: RequestContext;
  /** Condition keys of the request for another key it names (`keyMember`) with encryption context `ec` (ReEncrypt's destination). */
  policyContextWith(ec: Record<string, string> | undefined, keyMember: string, encryptionAlgorithm?: string): RequestContext;
  /**
   * A batch entry's calls: one vault call per key per batch, one lookup per alias (docs/batch.md).
   * Absent for a single request, whose calls go straight to the Durable Objects.
   */
  stubs?: Stubs;
}
