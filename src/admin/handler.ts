// The admin API: POST /admin, X-Amz-Target "EdgeKMSAdmin.<Operation>", SigV4 as for KMS.
// Each operation names the permission it needs and the resource it touches; the one authorizer
// (src/authz) decides: the operator (bootstrap principal) may do everything, in any account; an
// account root manages its own account; an IAM user where its identity policies allow
// iam:<Action> on the ARN of the user it touches (as IAM does). Used by `edgekms audit …`
// and `edgekms admin …`.
import type { Env } from "../env.js";
import { auditShards, identityStore, vaultStub, catalogStub, auditLogStub, signerStub } from "../placement.js";
import { authenticate, type Observed } from "../auth/authenticate.js";
import { recordRequest, requestDraft, sourceAddress } from "../audit/trail.js";
import { auditBucket, tailMatches, type TailEntry } from "../audit/audit-log.js";
import { NewestRecords, newEventId, completeRecord, type AuditFacts, type CloudTrailRecord, type JsonObject } from "../audit/record.js";
import { JSON_CONTENT_TYPE, encodeBase64, parseBodyBytes } from "../protocol/codec.js";
import { KmsError } from "../protocol/errors.js";
import { renderError, shown } from "../protocol/handler.js";
import { validate } from "../protocol/validate.js";
import { readBody } from "../protocol/body.js";
import { forgetCredentials } from "../auth/credentials.js";
import type { Caller } from "../auth/caller.js";
import { authorize } from "../authz/authorize.js";
import { identityPolicies } from "../authz/identity-policies.js";
import type { RequestContext } from "../policy/conditions.js";
import { callerContext } from "../policy/request-context.js";
import { SKIP, VAULT_ERROR_TYPES, type VaultCaller, type VaultResult } from "../vault/types.js";
import { permissionOf } from "../operations/operation.js";
import { decrypt } from "../operations/decrypt.js";
import { keyArn, newKeyId, parseKeyRef } from "../kms/ids.js";
import { serviceManagedKeyPolicy } from "../vault/key-policy.js";
import { QUOTA_OPERATIONS } from "./quotas.js";

const AUDIT_KEY_ALIAS = "alias/aws/cloudtrail";

/** The most records one AuditTail returns (its Limit; MAX_TAIL_CHARS bounds them too). */
export const MAX_TAIL_RECORDS = 10_000;

const PREFIX = "EdgeKMSAdmin.";

const ACCOUNT = { kind: "string", pattern: /^\d{12}$/ } as const;

export interface Scope { env: Env; region: string; account: string; caller: Caller; reader: VaultCaller }

/**
 * What an admin operation touches, for the authorizer: the action ("iam:CreateUser"…), the ARN of
 * the resource, and who may at all (rootOnly: the account root or the operator; operatorOnly).
 * `shownAs`: what a denial names instead of `resource`, when the resource itself is what the
 * caller may not learn (DeleteAccessKey: who owns an access key).
 */
export interface AdminAccess { action: string; resource: string; rootOnly?: boolean; operatorOnly?: boolean; selfOnly?: boolean; shownAs?: string }

const userArn = (account: string, userName: string) => `arn:aws:iam::${account}:user/${userName}`;
const rootOf = (account: string) => `arn:aws:iam::${account}:root`;
/** An IAM action on the user the request names. */
const onUser = (action: string) => (s: Scope, input: Record<string, unknown>): AdminAccess => ({ action: `iam:${action}`, resource: userArn(s.account, input.UserName as string) });
/** The account's audit trail: its root (or the operator) only. */
const auditTrail = (action: string) => (s: Scope): AdminAccess => ({ action: `edgekms:${action}`, resource: `arn:aws:cloudtrail:${s.region}:${s.account}:trail/edgekms`, rootOnly: true });

const identities = (s: Scope) => identityStore(s.env);

function value<T>(r: VaultResult<T>): T {
  if (r.ok) return r.value;
  throw new KmsError(r.code === "AlreadyExists" ? "EntityAlreadyExistsException" : r.code === "NotFound" ? "NoSuchEntityException" : VAULT_ERROR_TYPES[r.code], r.message);
}

const USER = { kind: "string", min: 1, max: 64, required: true } as const;

const auditLog = (s: Scope) => auditLogStub(s.env, s.region, s.account);
/** The account-region's ingest shards other than the AuditLog itself. */
const auditShardStubs = (s: Scope) =>
  Array.from({ length: auditShards(s.env) - 1 }, (_, i) => auditLogStub(s.env, s.region, s.account, i + 1));
/** The caller of a vault call the authorizer already decided for the admin operation. */
const adminCaller = (s: Scope): VaultCaller => ({ ...s.reader, account: s.account, principalArn: rootOf(s.account), principalType: "Root", policies: [], authz: { skip: SKIP.admin } });
const keyVault = (s: Scope, keyId: string) => vaultStub(s.env, s.region, keyId);

/** Every key of the account in the region (for outbox operations). */
async function allKeyIds(s: Scope): Promise<string[]> {
  const catalog = catalogStub(s.env, s.region, s.account);
  const ids: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await catalog.listKeys(1000, marker);
    if (!r.ok) break;
    ids.push(...r.value.items.map((k) => k.KeyId));
    if (!r.value.nextMarker) break;
    marker = r.value.nextMarker;
  }
  return ids;
}

export interface AdminOperation extends AuditFacts {
  schema: Parameters<typeof validate>[0];
  /** What its record's responseElements carry (never a secret access key). */
  auditResponse?: (out: Record<string, unknown>) => JsonObject;
  /** What the call needs the authorizer to allow (may read the identity store, e.g. whose access key it is). */
  access(s: Scope, input: Record<string, unknown>): AdminAccess | Promise<AdminAccess>;
  /** It changes identities: this isolate's credential cache is dropped after it. */
  changesIdentities?: boolean;
  run(s: Scope, input: Record<string, unknown>): Promise<unknown>;
}

// Where admin calls are recorded from (CloudTrail's eventSource): the AWS service that does the same.
const IAM = "iam.amazonaws.com";
const ORGANIZATIONS = "organizations.amazonaws.com";
const CLOUDTRAIL = "cloudtrail.amazonaws.com";

const OPERATIONS: Record<string, AdminOperation> = {
  /** A new account, and an access key for its root (the secret is returned once). */
  CreateAccount: {
    schema: { AccountId: ACCOUNT },
    eventSource: ORGANIZATIONS,
    readOnly: false,
    auditMembers: ["AccountId"],
    auditResponse: (out) => ({ accountId: String(out.AccountId), accessKeyId: String(out.AccessKeyId) }),
    access: () => ({ action: "edgekms:CreateAccount", resource: "*", operatorOnly: true }),
    changesIdentities: true,
    async run(s, input) {
      return value(await identities(s).createAccount(input.AccountId as string | undefined));
    },
  },
  CreateUser: {
    schema: { Account: ACCOUNT, UserName: USER },
    eventSource: IAM,
    readOnly: false,
    auditMembers: ["Account", "UserName"],
    access: onUser("CreateUser"),
    changesIdentities: true,
    async run(s, input) {
      return value(await identities(s).createUser(s.account, input.UserName as string));
    },
  },
  /**
   * An access key for the named user; without UserName, for the caller itself (as IAM does): an
   * IAM user's own, or the account root's, which only the root or the operator may create.
   */
  CreateAccessKey: {
    schema: { Account: ACCOUNT, UserName: { ...USER, required: false } },
    eventSource: IAM,
    readOnly: false,
    auditMembers: ["Account", "UserName"],
    auditResponse: (out) => ({ accessKey: { accessKeyId: String(out.AccessKeyId), ...(out.UserName ? { userName: String(out.UserName) } : {}) } }),
    access: (s, input) => {
      const userName = (input.UserName as string | undefined) ?? (s.caller.type === "IAMUser" ? s.caller.userName : undefined);
      return userName !== undefined
        ? { action: "iam:CreateAccessKey", resource: userArn(s.account, userName) }
        : { action: "iam:CreateAccessKey", resource: rootOf(s.account), rootOnly: true };
    },
    changesIdentities: true,
    async run(s, input) {
      const userName = (input.UserName as string | undefined) ?? (s.caller.type === "IAMUser" && s.caller.accountId === s.account ? s.caller.userName : undefined);
      return value(await identities(s).createAccessKey(s.account, userName));
    },
  },
  /**
   * Checked against the ARN of the access key's owner: a root's key only by the root or the
   * operator. Whether a key exists, and who owns it, is told only to a caller that may delete it:
   * a key that does not exist is decided as a root's key (so only the root and the operator learn
   * NoSuchEntityException), and a denial names the access key, not its owner.
   */
  DeleteAccessKey: {
    schema: { Account: ACCOUNT, AccessKeyId: { kind: "string", min: 16, max: 128, required: true } },
    eventSource: IAM,
    readOnly: false,
    auditMembers: ["Account", "AccessKeyId"],
    async access(s, input) {
      const id = input.AccessKeyId as string;
      const owner = await identities(s).accessKeyOwner(s.account, id);
      const shownAs = `access key ${id} of account ${s.account}`;
      return owner.ok && owner.value.userName !== undefined
        ? { action: "iam:DeleteAccessKey", resource: userArn(s.account, owner.value.userName), shownAs }
        : { action: "iam:DeleteAccessKey", resource: rootOf(s.account), rootOnly: true, shownAs };
    },
    changesIdentities: true,
    async run(s, input) {
      value(await identities(s).deleteAccessKey(s.account, input.AccessKeyId as string));
      return {};
    },
  },
  PutUserPolicy: {
    schema: { Account: ACCOUNT, UserName: USER, PolicyName: { kind: "string", min: 1, max: 128, required: true }, PolicyDocument: { kind: "string", min: 1, max: 131072, required: true } },
    eventSource: IAM,
    readOnly: false,
    auditMembers: ["Account", "UserName", "PolicyName", "PolicyDocument"],
    access: onUser("PutUserPolicy"),
    changesIdentities: true,
    async run(s, input) {
      value(await identities(s).putUserPolicy(s.account, input.UserName as string, input.PolicyName as string, input.PolicyDocument as string));
      return {};
    },
  },
  DeleteUserPolicy: {
    schema: { Account: ACCOUNT, UserName: USER, PolicyName: { kind: "string", min: 1, max: 128, required: true } },
    eventSource: IAM,
    readOnly: false,
    auditMembers: ["Account", "UserName", "PolicyName"],
    access: onUser("DeleteUserPolicy"),
    changesIdentities: true,
    async run(s, input) {
      value(await identities(s).deleteUserPolicy(s.account, input.UserName as string, input.PolicyName as string));
      return {};
    },
  },
  /** The inline policy's document (IAM GetUserPolicy). */
  GetUserPolicy: {
    schema: { Account: ACCOUNT, UserName: USER, PolicyName: { kind: "string", min: 1, max: 128, required: true } },
    eventSource: IAM,
    readOnly: true,
    auditMembers: ["Account", "UserName", "PolicyName"],
    access: onUser("GetUserPolicy"),
    async run(s, input) {
      const document = value(await identities(s).getUserPolicy(s.account, input.UserName as string, input.PolicyName as string));
      return { UserName: input.UserName, PolicyName: input.PolicyName, PolicyDocument: document };
    },
  },
  /** Who the caller is (STS GetCallerIdentity): any principal may ask about itself, and only about itself. */
  GetCallerIdentity: {
    schema: {},
    eventSource: "sts.amazonaws.com",
    readOnly: true,
    auditMembers: [],
    access: (s) => ({ action: "sts:GetCallerIdentity", resource: s.caller.arn, selfOnly: true }),
    async run(s) {
      return { Account: s.caller.accountId, Arn: s.caller.arn, UserId: s.caller.type === "Root" ? s.caller.accountId : (s.caller.userId ?? s.caller.accessKeyId) };
    },
  },
  /** The ids of every account (the operator's, and those it created). */
  ListAccounts: {
    schema: {},
    eventSource: ORGANIZATIONS,
    readOnly: true,
    auditMembers: [],
    access: () => ({ action: "edgekms:ListAccounts", resource: "*", operatorOnly: true }),
    async run(s) {
      return { Accounts: await identities(s).listAccounts() };
    },
  },
  /**
   * After KMS_ROOT_SECRET was rotated (the old one given as KMS_ROOT_SECRET_PREVIOUS): rewraps
   * every key's material, every identity secret and every region's signing key under the
   * current secret, so the previous one can be dropped (docs/operations.md).
   */
  RewrapRootSecret: {
    schema: {},
    eventSource: "kms.amazonaws.com",
    readOnly: false,
    auditMembers: [],
    auditResponse: (out) => ({ keys: Number(out.Keys), keysRewrapped: Number(out.KeysRewrapped), identitiesRewrapped: Number(out.IdentitiesRewrapped) }),
    access: () => ({ action: "edgekms:RewrapRootSecret", resource: "*", operatorOnly: true }),
    async run(s) {
      const IdentitiesRewrapped = await identities(s).rewrapRootSecret(SKIP.admin);
      let Keys = 0, KeysRewrapped = 0;
      const Mismatched: string[] = [];
      for (const region of Object.keys(s.env.REGIONS)) {
        if ((await signerStub(s.env, region).rewrapRootSecret(SKIP.admin, region)) === "mismatch") Mismatched.push(`audit signer ${region}`);
        for (const account of await identities(s).listAccounts()) {
          for (const id of await allKeyIds({ ...s, region, account })) {
            const r = await vaultStub(s.env, region, id).rewrapRootSecret(SKIP.admin);
            Keys++;
            if (r === "rewrapped") KeysRewrapped++;
            if (r === "mismatch") Mismatched.push(keyArn(region, account, id));
          }
        }
      }
      return { Keys, KeysRewrapped, IdentitiesRewrapped, Mismatched };
    },
  },
  ListUsers: {
    schema: { Account: ACCOUNT },
    eventSource: IAM,
    readOnly: true,
    auditMembers: ["Account"],
    access: (s) => ({ action: "iam:ListUsers", resource: userArn(s.account, "*") }),
    async run(s) {
      return { Users: value(await identities(s).listUsers(s.account)) };
    },
  },
  /** Forward every vault outbox and ingest shard, deliver everything to R2 and write a digest. */
  AuditFlush: {
    schema: { Account: ACCOUNT },
    eventSource: CLOUDTRAIL,
    readOnly: false,
    auditMembers: ["Account"],
    access: auditTrail("AuditFlush"),
    async run(s) {
      let forwarded = 0;
      for (const id of await allKeyIds(s)) forwarded += await keyVault(s, id).forwardAudit();
      let fromShards = 0;
      for (const shard of auditShardStubs(s)) fromShards += await shard.forward();
      const r = await auditLog(s).flush();
      return { ForwardedFromVaults: forwarded, ForwardedFromShards: fromShards, Objects: r.objects, Digest: r.digest ?? null };
    },
  },
  /**
   * Recent records, newest last; Delivered=false for those not yet in R2 (in vaults or the
   * AuditLog). Principal keeps those of one principal (its ARN, access key id, or user name).
   * Truncated says that more records matched than Limit: the oldest were left out.
   */
  AuditTail: {
    schema: {
      Account: ACCOUNT, Limit: { kind: "int", min: 1, max: MAX_TAIL_RECORDS }, EventName: { kind: "string", max: 128 }, KeyId: { kind: "string", max: 2048 },
      Principal: { kind: "string", min: 1, max: 2048 },
    },
    eventSource: CLOUDTRAIL,
    readOnly: true,
    auditMembers: ["Account", "Limit", "EventName", "KeyId", "Principal"],
    access: auditTrail("AuditTail"),
    async run(s, input) {
      const limit = (input.Limit as number | undefined) ?? 100;
      const eventName = input.EventName as string | undefined;
      const key = input.KeyId as string | undefined;
      const principal = input.Principal as string | undefined;
      // Each place is asked for one more than the limit, so that a place holding more matches
      // than the limit shows as more than the limit here (Truncated). The AuditLog and its shards
      // match every filter themselves; each returns at most MAX_TAIL_CHARS, as this answer does.
      const ask = limit + 1;
      // Records move from vault outboxes and ingest shards to the AuditLog, and on to R2. Each
      // place is read before the one its records move to, so a record moving meanwhile is read
      // twice (and listed once) rather than missed.
      // The answer so far, never all the places' answers at once (up to MAX_TAIL_CHARS each, from every key's vault).
      const answer = new NewestRecords<TailEntry>(limit, (e) => e.record);
      // A place that left matches out (more than the limit, or more than MAX_TAIL_CHARS) makes the answer truncated too.
      let placeTruncated = false;
      for (const id of await allKeyIds(s)) {
        const pending = await keyVault(s, id).pendingAudit(SKIP.admin, ask);
        answer.add((pending.records as CloudTrailRecord[])
          .filter((record) => record.recipientAccountId === s.account && tailMatches(record, eventName, key, principal))
          .map((record) => ({ delivered: false, record })));
        placeTruncated ||= pending.truncated;
      }
      for (const place of [...auditShardStubs(s), auditLog(s)]) {
        const got = value(await place.recent(s.reader, ask, eventName, key, principal));
        answer.add(got.entries);
        placeTruncated ||= got.truncated;
      }
      const { kept, truncated } = answer.result();
      return { Entries: kept.map((e) => ({ Delivered: e.delivered, Record: e.record })), Truncated: truncated || placeTruncated };
    },
  },
  /** Delivered log or digest objects of the account and region, in key order. */
  AuditList: {
    schema: { Account: ACCOUNT, Kind: { kind: "enum", values: ["logs", "digests"] }, Cursor: { kind: "string", max: 1024 } },
    eventSource: CLOUDTRAIL,
    readOnly: true,
    auditMembers: ["Account", "Kind"],
    access: auditTrail("AuditList"),
    async run(s, input) {
      const kind = input.Kind === "digests" ? "CloudTrail-Digest" : "CloudTrail";
      const { bucket, name } = auditBucket(s.env, s.region);
      const listed = await bucket.list({ prefix: `AWSLogs/${s.account}/${kind}/${s.region}/`, cursor: input.Cursor as string | undefined, include: ["customMetadata"] });
      return {
        Bucket: name,
        Objects: listed.objects.map((o) => ({ Key: o.key, Size: o.size, Uploaded: o.uploaded.toISOString(), Metadata: o.customMetadata ?? {} })),
        ...(listed.truncated ? { Cursor: listed.cursor } : {}),
      };
    },
  },
  /** One object (gzip bytes, base64) with its metadata. */
  AuditGet: {
    schema: { Account: ACCOUNT, Key: { kind: "string", min: 1, max: 1024, required: true } },
    eventSource: CLOUDTRAIL,
    readOnly: true,
    auditMembers: ["Account", "Key"],
    access: auditTrail("AuditGet"),
    async run(s, input) {
      const key = input.Key as string;
      if (!key.startsWith(`AWSLogs/${s.account}/`)) throw new KmsError("AccessDeniedException", "The object is outside the account's audit trail.");
      // The request's Region's objects (as AuditList lists them): another Region's AuditLog and keys answer for its own.
      if (![`AWSLogs/${s.account}/CloudTrail/${s.region}/`, `AWSLogs/${s.account}/CloudTrail-Digest/${s.region}/`].some((p) => key.startsWith(p))) {
        throw new KmsError("NotFoundException", `No audit object ${key} in ${s.region}: ask for it in its own Region`);
      }
      const obj = await auditBucket(s.env, s.region).bucket.get(key);
      if (!obj) throw new KmsError("NotFoundException", `No audit object ${key}`);
      const stored = new Uint8Array(await obj.arrayBuffer());
      const metadata = obj.customMetadata ?? {};
      // An encrypted log object is also returned decrypted, if the caller may decrypt it through the service.
      const decrypted = metadata["edgekms-sse-kms-key"] ? value(await auditLog(s).openObject(key, stored, metadata, s.reader)) : undefined;
      return { Key: key, Body: encodeBase64(stored), Metadata: metadata, ...(decrypted ? { Decrypted: encodeBase64(decrypted) } : {}) };
    },
  },
  /**
   * Encrypts the account's delivered audit objects from now on: under its service-managed
   * alias/aws/cloudtrail key (created on first use) when no KeyId is given, or under the named
   * key of the account, whose policy must let the service generate data keys. Enabled=false stops.
   */
  AuditSetEncryption: {
    schema: { Account: ACCOUNT, KeyId: { kind: "string", min: 1, max: 2048 }, Enabled: { kind: "bool" } },
    eventSource: CLOUDTRAIL,
    readOnly: false,
    auditMembers: ["Account", "KeyId", "Enabled"],
    auditResponse: (out) => ({ enabled: Boolean(out.Enabled), ...(out.KeyId ? { keyId: String(out.KeyId) } : {}) }),
    access: auditTrail("AuditSetEncryption"),
    async run(s, input) {
      if (input.Enabled === false) {
        await auditLog(s).setEncryption(s.region, s.account, undefined);
        return { Enabled: false };
      }
      const catalog = catalogStub(s.env, s.region, s.account);
      let keyId: string;
      if (input.KeyId === undefined) {
        const existing = await catalog.resolveAlias(AUDIT_KEY_ALIAS);
        if (existing) keyId = existing;
        else {
          keyId = newKeyId();
          const arn = keyArn(s.region, s.account, keyId);
          value(await catalog.registerKey(keyId, arn));
          value(await keyVault(s, keyId).create(adminCaller(s), {
            keyId, account: s.account, region: s.region, keySpec: "SYMMETRIC_DEFAULT", keyUsage: "ENCRYPT_DECRYPT", tags: [], keyManager: "AWS",
            description: "Default key that protects my EdgeKMS audit logs when no other key is defined",
            policy: serviceManagedKeyPolicy(s.account, s.region),
          }, arn));
          value(await catalog.createAlias(AUDIT_KEY_ALIAS, keyId, Date.now()));
          await keyVault(s, keyId).aliasChanged(AUDIT_KEY_ALIAS, true);
        }
      } else {
        const ref = parseKeyRef(input.KeyId as string);
        if (ref.kind !== "key" || (ref.account && ref.account !== s.account) || (ref.region && ref.region !== s.region)) {
          throw new KmsError("NotFoundException", `Key '${input.KeyId}' is not a key of account ${s.account} in ${s.region}`);
        }
        keyId = ref.keyId;
        value(await keyVault(s, keyId).describe(adminCaller(s)));
      }
      const arn = keyArn(s.region, s.account, keyId);
      await auditLog(s).setEncryption(s.region, s.account, { keyId, keyArn: arn });
      return { Enabled: true, KeyId: arn };
    },
  },
  /** The region's digest-signing public key. */
  AuditPublicKey: {
    schema: {},
    eventSource: CLOUDTRAIL,
    readOnly: true,
    auditMembers: [],
    access: auditTrail("AuditPublicKey"),
    async run(s) {
      const signer = signerStub(s.env, s.region);
      const k = await signer.publicKey(s.region);
      return { PublicKey: k.spki, Fingerprint: k.fingerprint, Algorithm: k.algorithm };
    },
  },
  /** GetAccountQuotas, PutAccountQuotas: request-rate quotas (docs/quotas.md). */
  ...QUOTA_OPERATIONS,
};

/**
 * One admin request. Every call, allowed or denied, leaves a record (as CloudTrail records IAM
 * calls), durable before the response, in the trail of the account it concerned (and the
 * caller's, when that is another, with a shared event id); one that failed authentication is
 * recorded as KMS calls are (docs/audit.md). No record carries a secret access key.
 */
export async function handleAdminRequest(request: Request, env: Env, requestId: string, now = Date.now()): Promise<Response> {
  const target = request.headers.get("x-amz-target") ?? "";
  const name = target.startsWith(PREFIX) ? target.slice(PREFIX.length) : "";
  const op = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  const observed: Observed = {};
  let input: Record<string, unknown> | undefined;
  let account: string | undefined;
  let out: Record<string, unknown> | undefined;
  let failure: KmsError | undefined;
  let response: Response;
  try {
    const body = await readBody(request);
    const { principal, region } = await authenticate(env, request, new URL(request.url), body, now, observed);
    if (!op) throw new KmsError("UnknownOperationException", `Unknown operation ${shown(target)}`);
    input = validate<Record<string, unknown>>(op.schema, parseBodyBytes(body));
    account = (input.Account as string | undefined) ?? principal.accountId;
    // The caller's condition keys, as a KMS request has them (request-context.ts): with only the
    // principal's ARN and account, a Deny on aws:username (or a ${aws:username} in its Resource)
    // never applied here, and a user could make another user's access key (an outsider's review).
    // An ordinary object: it travels over Durable Object RPC (the evaluator reads own keys only).
    const context: RequestContext = { ...callerContext(principal, sourceAddress(env, request), new URL(request.url).protocol === "https:", now, region) };
    // Audit objects are read through the service: decrypting them needs kms:Decrypt on their key.
    const reader: VaultCaller = {
      account: principal.accountId, principalArn: principal.arn, principalType: principal.type, policies: principal.policies ?? [], context,
      authz: { check: permissionOf(decrypt) },
    };
    const scope: Scope = { env, region, account, caller: principal, reader };
    const access = await op.access(scope, input);
    const decision = authorize({
      caller: { arn: principal.arn, accountId: principal.accountId, type: principal.type, policies: identityPolicies(principal.policies ?? []), operator: principal.accessKeyId === env.BOOTSTRAP_ACCESS_KEY_ID },
      permission: { action: access.action, iamOnly: true, crossAccount: false, usesEncryptionContext: false, ...(access.rootOnly ? { rootOnly: true } : {}), ...(access.operatorOnly ? { operatorOnly: true } : {}), ...(access.selfOnly ? { selfOnly: true } : {}) },
      resource: access.resource,
      resourceAccount: account,
      context,
    });
    if (!decision.allow) throw new KmsError("AccessDeniedException", access.shownAs === undefined ? decision.message : `User: ${principal.arn} is not authorized to perform: ${access.action} on ${access.shownAs}`);
    out = (await op.run(scope, input)) as Record<string, unknown>;
    if (op.changesIdentities) forgetCredentials();
    response = new Response(JSON.stringify(out), {
      // no-store: an answer may hold a new secret access key (CreateAccount, CreateAccessKey) or decrypted audit objects.
      headers: { "Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": requestId, Date: new Date().toUTCString(), "Cache-Control": "no-store" },
    });
  } catch (err) {
    failure = err instanceof KmsError ? err : new KmsError("KMSInternalException", "An internal error occurred.");
    response = renderError(err, requestId);
  }
  try {
    const draft = requestDraft(env, request, requestId, now, op ? name : "Unknown", op, observed, input);
    const record = completeRecord(draft, {
      errorCode: failure?.type,
      errorMessage: failure ? (failure.auditDetail ?? failure.message) : undefined,
      responseElements: out && op?.auditResponse ? op.auditResponse(out) : null,
    });
    // Allowed calls go to the account they concerned too; a denied one only to the caller's.
    const concerned = !failure && account !== undefined && account !== record.recipientAccountId ? account : undefined;
    const records = concerned
      ? [{ ...record, sharedEventID: record.eventID }, { ...record, eventID: newEventId(), sharedEventID: record.eventID, recipientAccountId: concerned }]
      : [record];
    // A request that failed authentication names no principal: recorded (and aggregated) as KMS calls are.
    await recordRequest(env, observed.principal ? { draft, records } : { draft }, failure);
  } catch (err) {
    console.error(`request ${requestId}: audit record could not be stored`, err instanceof Error ? err.message : String(err));
    return renderError(new KmsError("DependencyTimeoutException", "The request could not be recorded. Retry."), requestId);
  }
  return response;
}
