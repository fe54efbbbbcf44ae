// The admin API: POST /admin, X-Amz-Target "EdgeKMSAdmin.<Operation>", SigV4 as for KMS.
// The operator (bootstrap principal) may do everything, in any account; an account's root
// may manage the users, access keys and user policies of its own account. Used by
// `npx edgekms audit …` and `npx edgekms admin …`.
import type { Env } from "../env.js";
import { auditShards, regionStub } from "../env.js";
import { authenticate } from "../auth/authenticate.js";
import { auditBucket, tailMatches, type TailEntry } from "../audit/audit-log.js";
import type { CloudTrailRecord } from "../audit/record.js";
import { JSON_CONTENT_TYPE, encodeBase64, parseBody } from "../protocol/codec.js";
import { KmsError } from "../protocol/errors.js";
import { renderError } from "../protocol/handler.js";
import { validate } from "../protocol/validate.js";
import { auditLogName, auditShardName, auditSignerName, catalogName, vaultName } from "../vault/naming.js";
import { MAX_BODY_BYTES } from "../kms/limits.js";
import { forgetCredentials } from "../auth/credentials.js";
import type { Caller } from "../auth/identity-policy.js";
import { parsePolicy } from "../policy/document.js";
import { evaluatePolicy } from "../policy/evaluate.js";
import { IDENTITY_STORE_NAME } from "../vault/naming.js";
import { VAULT_ERROR_TYPES, type VaultCaller, type VaultResult } from "../vault/types.js";
import { keyArn, newKeyId, parseKeyRef } from "../kms/ids.js";
import { serviceManagedKeyPolicy } from "../vault/key-policy.js";

const AUDIT_KEY_ALIAS = "alias/aws/cloudtrail";

const PREFIX = "EdgeKMSAdmin.";

/** The caller's identity policies allow iam:<action> on the resource (no explicit deny). */
function iamAllows(principal: Caller, action: string, resource: string): boolean {
  let allowed = false;
  for (const text of principal.policies ?? []) {
    const d = evaluatePolicy(parsePolicy(text), { action: `iam:${action}`, resource, principal: { arn: principal.arn, accountId: principal.accountId }, context: {} }, false);
    if (d === "Deny") return false;
    if (d === "Allow") allowed = true;
  }
  return allowed;
}
const ACCOUNT = { kind: "string", pattern: /^\d{12}$/ } as const;

interface Scope { env: Env; region: string; account: string; reader: VaultCaller }

const identities = (s: Scope) => s.env.IDENTITY_STORE.get(s.env.IDENTITY_STORE.idFromName(IDENTITY_STORE_NAME));

function value<T>(r: VaultResult<T>): T {
  if (r.ok) return r.value;
  throw new KmsError(r.code === "AlreadyExists" ? "EntityAlreadyExistsException" : r.code === "NotFound" ? "NoSuchEntityException" : VAULT_ERROR_TYPES[r.code], r.message);
}

const USER = { kind: "string", min: 1, max: 64, required: true } as const;
/** Operations that change identities (the isolate's credential cache is dropped after them). */
const ACCOUNT_ADMIN = new Set(["CreateUser", "CreateAccessKey", "DeleteAccessKey", "PutUserPolicy", "DeleteUserPolicy", "ListUsers"]);
/** Operations an account root may call for its own account; the rest are the operator's. */
const ACCOUNT_ROOT_OPERATIONS = new Set([...ACCOUNT_ADMIN, "AuditFlush", "AuditTail", "AuditList", "AuditGet", "AuditPublicKey", "AuditSetEncryption"]);

const auditLog = (s: Scope) => regionStub(s.env.AUDIT_LOG, s.env.REGIONS[s.region], auditLogName(s.region, s.account));
/** The account-region's ingest shards other than the AuditLog itself. */
const auditShardStubs = (s: Scope) =>
  Array.from({ length: auditShards(s.env) - 1 }, (_, i) => regionStub(s.env.AUDIT_LOG, s.env.REGIONS[s.region], auditShardName(s.region, s.account, i + 1)));
const keyVault = (s: Scope, keyId: string) => regionStub(s.env.KEY_VAULT, s.env.REGIONS[s.region], vaultName(s.region, keyId));

/** Every key of the account in the region (for outbox operations). */
async function allKeyIds(s: Scope): Promise<string[]> {
  const catalog = regionStub(s.env.CATALOG, s.env.REGIONS[s.region], catalogName(s.region, s.account));
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

const OPERATIONS: Record<string, { schema: Parameters<typeof validate>[0]; run(s: Scope, input: Record<string, unknown>): Promise<unknown> }> = {
  /** A new account, and an access key for its root (the secret is returned once). */
  CreateAccount: {
    schema: { AccountId: ACCOUNT },
    async run(s, input) {
      return value(await identities(s).createAccount(input.AccountId as string | undefined));
    },
  },
  CreateUser: {
    schema: { Account: ACCOUNT, UserName: USER },
    async run(s, input) {
      return value(await identities(s).createUser(s.account, input.UserName as string));
    },
  },
  /** An access key for a user, or for the account root without UserName. */
  CreateAccessKey: {
    schema: { Account: ACCOUNT, UserName: { ...USER, required: false } },
    async run(s, input) {
      return value(await identities(s).createAccessKey(s.account, input.UserName as string | undefined));
    },
  },
  DeleteAccessKey: {
    schema: { Account: ACCOUNT, AccessKeyId: { kind: "string", min: 16, max: 128, required: true } },
    async run(s, input) {
      value(await identities(s).deleteAccessKey(s.account, input.AccessKeyId as string));
      return {};
    },
  },
  PutUserPolicy: {
    schema: { Account: ACCOUNT, UserName: USER, PolicyName: { kind: "string", min: 1, max: 128, required: true }, PolicyDocument: { kind: "string", min: 1, max: 131072, required: true } },
    async run(s, input) {
      value(await identities(s).putUserPolicy(s.account, input.UserName as string, input.PolicyName as string, input.PolicyDocument as string));
      return {};
    },
  },
  DeleteUserPolicy: {
    schema: { Account: ACCOUNT, UserName: USER, PolicyName: { kind: "string", min: 1, max: 128, required: true } },
    async run(s, input) {
      value(await identities(s).deleteUserPolicy(s.account, input.UserName as string, input.PolicyName as string));
      return {};
    },
  },
  ListUsers: {
    schema: { Account: ACCOUNT },
    async run(s) {
      return { Users: value(await identities(s).listUsers(s.account)) };
    },
  },
  /** Forward every vault outbox and ingest shard, deliver everything to R2 and write a digest. */
  AuditFlush: {
    schema: { Account: ACCOUNT },
    async run(s) {
      let forwarded = 0;
      for (const id of await allKeyIds(s)) forwarded += await keyVault(s, id).forwardAudit();
      let fromShards = 0;
      for (const shard of auditShardStubs(s)) fromShards += await shard.forward();
      const r = await auditLog(s).flush();
      return { ForwardedFromVaults: forwarded, ForwardedFromShards: fromShards, Objects: r.objects, Digest: r.digest ?? null };
    },
  },
  /** Recent records, newest last; Delivered=false for those not yet in R2 (in vaults or the AuditLog). */
  AuditTail: {
    schema: { Account: ACCOUNT, Limit: { kind: "int", min: 1, max: 10_000 }, EventName: { kind: "string", max: 128 }, KeyId: { kind: "string", max: 2048 } },
    async run(s, input) {
      const limit = (input.Limit as number | undefined) ?? 100;
      const eventName = input.EventName as string | undefined;
      const key = input.KeyId as string | undefined;
      // Records move from vault outboxes and ingest shards to the AuditLog, and on to R2. Each
      // place is read before the one its records move to, so a record moving meanwhile is read
      // twice (and listed once) rather than missed.
      const entries: TailEntry[] = [];
      for (const id of await allKeyIds(s)) {
        for (const record of (await keyVault(s, id).pendingAudit(limit)) as CloudTrailRecord[]) {
          if (record.recipientAccountId === s.account && tailMatches(record, eventName, key)) entries.push({ delivered: false, record });
        }
      }
      for (const shard of auditShardStubs(s)) entries.push(...value(await shard.recent(s.reader, limit, eventName, key)));
      entries.push(...value(await auditLog(s).recent(s.reader, limit, eventName, key)));
      const unique = [...new Map(entries.map((e) => [e.record.eventID, e])).values()];
      unique.sort((a, b) => a.record.eventTime.localeCompare(b.record.eventTime));
      return { Entries: unique.slice(-limit).map((e) => ({ Delivered: e.delivered, Record: e.record })) };
    },
  },
  /** Delivered log or digest objects of the account and region, in key order. */
  AuditList: {
    schema: { Account: ACCOUNT, Kind: { kind: "enum", values: ["logs", "digests"] }, Cursor: { kind: "string", max: 1024 } },
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
    async run(s, input) {
      const key = input.Key as string;
      if (!key.startsWith(`AWSLogs/${s.account}/`)) throw new KmsError("AccessDeniedException", "The object is outside the account's audit trail.");
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
    async run(s, input) {
      if (input.Enabled === false) {
        await auditLog(s).setEncryption(s.region, s.account, undefined);
        return { Enabled: false };
      }
      const catalog = regionStub(s.env.CATALOG, s.env.REGIONS[s.region], catalogName(s.region, s.account));
      let keyId: string;
      if (input.KeyId === undefined) {
        const existing = await catalog.resolveAlias(AUDIT_KEY_ALIAS);
        if (existing) keyId = existing;
        else {
          keyId = newKeyId();
          const arn = keyArn(s.region, s.account, keyId);
          value(await catalog.registerKey(keyId, arn));
          value(await keyVault(s, keyId).create({ account: s.account }, {
            keyId, account: s.account, region: s.region, tags: [], keyManager: "AWS",
            description: "Default key that protects my EdgeKMS audit logs when no other key is defined",
            policy: serviceManagedKeyPolicy(s.account, s.region), bypassPolicyLockoutSafetyCheck: true,
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
        value(await keyVault(s, keyId).describe({ account: s.account }));
      }
      const arn = keyArn(s.region, s.account, keyId);
      await auditLog(s).setEncryption(s.region, s.account, { keyId, keyArn: arn });
      return { Enabled: true, KeyId: arn };
    },
  },
  /** The region's digest-signing public key. */
  AuditPublicKey: {
    schema: {},
    async run(s) {
      const signer = regionStub(s.env.AUDIT_SIGNER, s.env.REGIONS[s.region], auditSignerName(s.region));
      const k = await signer.publicKey(s.region);
      return { PublicKey: k.spki, Fingerprint: k.fingerprint, Algorithm: k.algorithm };
    },
  },
};

export async function handleAdminRequest(request: Request, env: Env, requestId: string, now = Date.now()): Promise<Response> {
  try {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) throw new KmsError("ValidationException", "Request body too large");
    const { principal, region } = await authenticate(env, request, new URL(request.url), body, now);
    const target = request.headers.get("x-amz-target") ?? "";
    const name = target.startsWith(PREFIX) ? target.slice(PREFIX.length) : "";
    const op = OPERATIONS[name];
    if (!op) throw new KmsError("UnknownOperationException", `Unknown operation ${target}`);
    const input = validate<Record<string, unknown>>(op.schema, parseBody(new TextDecoder().decode(body)));
    const account = (input.Account as string | undefined) ?? principal.accountId;
    const operator = principal.accessKeyId === env.BOOTSTRAP_ACCESS_KEY_ID;
    const accountRoot = principal.type === "Root" && principal.accountId === account && ACCOUNT_ROOT_OPERATIONS.has(name);
    // An IAM user may manage identities of its own account where its identity policies allow iam:<Operation>.
    const userName = (input.UserName as string | undefined) ?? "*";
    const allowedUser = principal.type === "IAMUser" && principal.accountId === account && ACCOUNT_ADMIN.has(name)
      && iamAllows(principal, name, `arn:aws:iam::${account}:user/${userName}`);
    if (!operator && !accountRoot && !allowedUser) {
      throw new KmsError("AccessDeniedException", `User: ${principal.arn} is not authorized to perform: edgekms-admin:${name} for account ${account}`);
    }
    const reader: VaultCaller = {
      account: principal.accountId, principalArn: principal.arn, principalType: principal.type, policies: principal.policies ?? [],
      context: { "aws:principalarn": principal.arn, "aws:principalaccount": principal.accountId },
    };
    const out = await op.run({ env, region, account, reader }, input);
    if (ACCOUNT_ADMIN.has(name) || name === "CreateAccount") forgetCredentials();
    return new Response(JSON.stringify(out), {
      headers: { "Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": requestId, Date: new Date().toUTCString() },
    });
  } catch (err) {
    return renderError(err, requestId);
  }
}
