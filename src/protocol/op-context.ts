// What one operation call knows of its request (OpContext): made here for a single request
// (handler.ts) and for each entry of a batch (batch.ts, docs/batch.md) alike, so that a batch
// entry is authorized on exactly the condition keys, grant tokens and encryption context its
// single operation would be.
import { placementOf, type Env } from "../env.js";
import type { Caller } from "../auth/caller.js";
import type { AuditState, OpContext } from "../operations/context.js";
import type { Operation } from "../operations/operation.js";
import { callerContext, requestContext } from "../policy/request-context.js";
import { verifyGrantToken } from "../vault/grant-token.js";
import { isGrantee } from "../authz/authorize.js";
import { rootSecrets } from "../vault/root-key.js";
import { KmsError } from "./errors.js";

/** The authenticated request an operation call is part of. */
export interface RequestFacts {
  env: Env;
  region: string;
  principal: Caller;
  requestId: string;
  now: number;
  /** The record's sourceIPAddress, also aws:SourceIp. */
  sourceIp: string;
  /** aws:SecureTransport. */
  secure: boolean;
}

/** A grant token is genuine and its grant's grantee is the caller (the account, its root, or the principal itself). */
export async function checkGrantToken(env: Env, region: string, caller: { arn: string; accountId: string }, token: string): Promise<void> {
  const claims = await verifyGrantToken(rootSecrets(env), region, token);
  if (!claims || !isGrantee(claims.grantee, caller)) {
    throw new KmsError("InvalidGrantTokenException", "The grant token is not valid.");
  }
}

/** The context of `op` called with the validated members `fields`, its record in the making `audit`. */
export function operationContext(r: RequestFacts, op: Operation<any>, fields: Record<string, unknown>, audit: AuditState): OpContext {
  return new OperationContext(r, op, fields, audit);
}

// A class rather than an object literal with closures: a batch makes one per entry, and its
// methods are made once.
class OperationContext implements OpContext {
  readonly env: Env;
  readonly region: string;
  readonly placement: OpContext["placement"];
  readonly caller: Caller;
  readonly requestId: string;
  readonly now: number;
  readonly policyContext: OpContext["policyContext"];
  readonly encryptionContext?: Record<string, string>;
  stubs?: OpContext["stubs"];

  constructor(private readonly r: RequestFacts, readonly op: Operation<any>, private readonly fields: Record<string, unknown>, readonly audit: AuditState) {
    this.env = r.env;
    this.region = r.region;
    this.placement = placementOf(r.env, r.region) ?? {}; // an authenticated region is served
    this.caller = r.principal;
    this.requestId = r.requestId;
    this.now = r.now;
    // Condition keys see a member left out at its default value (kms:EncryptionAlgorithm is SYMMETRIC_DEFAULT for an Encrypt that names none).
    this.policyContext = this.contextOf({ ...op.conditionDefaults, ...op.defaults, ...fields }, op.keyMember);
    const encryptionContext = op.encryptionContext ? (fields[op.encryptionContext] as Record<string, string> | undefined) : undefined;
    if (encryptionContext) this.encryptionContext = encryptionContext;
  }

  policyContextWith(ec: Record<string, string> | undefined, keyMember: string, algorithm?: string): OpContext["policyContext"] {
    return this.contextOf({ ...this.op.conditionDefaults, ...this.op.defaults, ...this.fields, EncryptionContext: ec, SourceEncryptionContext: undefined, EncryptionAlgorithm: algorithm, SourceEncryptionAlgorithm: undefined }, keyMember);
  }

  private contextOf(input: Record<string, unknown>, keyMember?: string): OpContext["policyContext"] {
    return sharedContext(this.r, requestContext(this.r.principal, this.r.sourceIp, this.r.secure, this.r.now, this.r.region, input, keyMember, callerContextOf(this.r)));
  }
}

/**
 * The request's last condition keys when `made` has the same ones, else `made`: a batch's entries
 * mostly have equal condition keys, and given one object they share it, so that a batch call
 * sends it once (src/vault/batch.ts) and the vault makes one key context of it. Nothing changes
 * a context once made.
 */
const lastContexts = new WeakMap<RequestFacts, OpContext["policyContext"]>();
function sharedContext(r: RequestFacts, made: OpContext["policyContext"]): OpContext["policyContext"] {
  const last = lastContexts.get(r);
  if (last && sameContext(last, made)) return last;
  lastContexts.set(r, made);
  return made;
}

/** Whether two contexts have the same condition keys, in the same order, with the same values (strings, or lists of them). */
function sameContext(a: OpContext["policyContext"], b: OpContext["policyContext"]): boolean {
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (k !== kb[i]) return false;
    const va = a[k], vb = b[k];
    if (va === vb) continue;
    if (!Array.isArray(va) || !Array.isArray(vb) || va.length !== vb.length) return false;
    for (let j = 0; j < va.length; j++) if (va[j] !== vb[j]) return false;
  }
  return true;
}

/**
 * The caller's condition keys (principal, address, transport, Region, time) depend on the request's facts
 * alone: made once per request, which a batch's entries share (docs/batch.md).
 */
const callerContexts = new WeakMap<RequestFacts, Readonly<Record<string, string>>>();
function callerContextOf(r: RequestFacts): Readonly<Record<string, string>> {
  let c = callerContexts.get(r);
  if (!c) callerContexts.set(r, (c = callerContext(r.principal, r.sourceIp, r.secure, r.now, r.region)));
  return c;
}
