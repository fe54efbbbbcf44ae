// IdentityStore: access key id → principal and secret. Secrets are stored sealed
// (AES-256-GCM through the crypto core) under a root key derived for identities.
// The bootstrap principal (secrets BOOTSTRAP_*) is written on first use.
import { DurableObject } from "cloudflare:workers";
import { aesGcmOpen, aesGcmSeal } from "../crypto/index.js";
import { bytesEqual, timingSafeEqual } from "../crypto/compare.js";
import type { Env } from "../env.js";
import { deriveRootKey, RootSecretMismatch, rootCheck, rootSecrets, whichRootSecret } from "./root-key.js";
import { parsePolicy, PolicyError } from "../policy/document.js";
import { fail, ok, type SKIP, type VaultResult } from "./types.js";

export interface Principal {
  accessKeyId: string;
  accountId: string;
  arn: string;
  type: "Root" | "IAMUser";
  userName?: string;
  /** An IAM user's unique id (userIdOf), the same for each of its access keys. */
  userId?: string;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * An IAM user's unique id, as AWS gives one ("AIDA" and 17 characters): what aws:userid, the
 * records' userIdentity.principalId and GetCallerIdentity's UserId say. Derived from the user's
 * ARN and creation time, so it is the same for every access key of the user (an access key id
 * was used before, and a Deny on aws:userid stopped applying to the user's second key, an
 * outsider's review) and needs nothing stored.
 */
export async function userIdOf(user: { arn: string; created: number }): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edgekms-user-id\n${user.arn}\n${user.created}`)));
  let id = "AIDA";
  for (let i = 0; i < 17; i++) id += BASE32[h[i]! & 31];
  return id;
}

export interface CredentialRecord extends Principal {
  secretAccessKey: string;
  /** The inline identity policies of an IAM user (none for an account root). */
  policies: string[];
}

interface UserRecord {
  userName: string;
  arn: string;
  created: number;
  policies: Record<string, string>;
}

export interface UserListEntry { UserName: string; Arn: string; CreateDate: number; PolicyNames: string[]; AccessKeyIds: string[] }
export interface NewAccessKey { AccountId: string; AccessKeyId: string; SecretAccessKey: string; UserName?: string }

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function newAccessKeyId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "AKIA" + Array.from(b, (x) => ALNUM[x & 31]).join("");
}

function newSecret(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(30))));
}

interface StoredCredential extends Principal {
  iv: Uint8Array;
  sealedSecret: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The access key id the bootstrap credential was last written for (storage key). */
const BOOTSTRAP_MARK = "bootstrap-akid";
/** The check value of the root secret the secrets here are sealed under (root-key.ts, rootCheck). */
const ROOT_CHECK = "root-check";
const ROOT_SCOPE = "global";

export class IdentityStore extends DurableObject<Env> {
  private readonly rootKeys = new Map<string, Uint8Array>();
  /**
   * Once per instance (a deploy makes new ones): the root secret in force is checked against the
   * one the state was sealed under, and the bootstrap credential brought in line with the
   * environment.
   */
  private ready: Promise<void> | undefined;

  private async key(secret = this.env.KMS_ROOT_SECRET): Promise<Uint8Array> {
    let k = this.rootKeys.get(secret);
    if (!k) this.rootKeys.set(secret, (k = await deriveRootKey(secret, "identity-secrets", ROOT_SCOPE)));
    return k;
  }

  /** Throws RootSecretMismatch when the state was sealed under a secret that is neither the current nor the previous one. */
  private async checkRootSecret(): Promise<void> {
    const secrets = rootSecrets(this.env);
    const stored = await this.ctx.storage.get<string>(ROOT_CHECK);
    if (stored === undefined) {
      // First use, or state from before check values: any sealed secret must open under one of them.
      const any = (await this.ctx.storage.list<StoredCredential>({ prefix: "ak:", limit: 1 })).values().next().value;
      if (any) await this.open(any);
      await this.ctx.storage.put(ROOT_CHECK, await rootCheck(secrets.current, ROOT_SCOPE));
      return;
    }
    if ((await whichRootSecret(secrets, ROOT_SCOPE, stored)) === undefined) throw new RootSecretMismatch();
  }

  private prepare(): Promise<void> {
    return (this.ready ??= (async () => {
      await this.checkRootSecret();
      await this.ensureBootstrap();
    })().catch((e) => { this.ready = undefined; throw e; }));
  }

  /**
   * Stores `p` with its secret sealed under the current root secret. With `replacing` (re-sealing a
   * credential found under the previous secret), only over a stored credential still sealed as
   * that: deriving the key lets other calls in, and a DeleteAccessKey made meanwhile would
   * otherwise be undone, the deleted key authenticating again (an outsider's review).
   */
  private async put(p: Principal, secret: string, replacing?: Uint8Array): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealedSecret = aesGcmSeal(await this.key(), iv, enc.encode(secret), enc.encode(`identity/${p.accessKeyId}`));
    if (replacing) {
      // From here to the put only this object's storage is awaited, which lets no other call in.
      const stored = await this.ctx.storage.get<StoredCredential>(`ak:${p.accessKeyId}`);
      if (!stored || !bytesEqual(stored.sealedSecret, replacing)) return;
    }
    await this.ctx.storage.put(`ak:${p.accessKeyId}`, { ...p, iv, sealedSecret } satisfies StoredCredential);
  }

  /**
   * The operator's credential is exactly what the environment says now: the BOOTSTRAP_* pair is
   * written (or its secret replaced), and a pair written for an earlier BOOTSTRAP_ACCESS_KEY_ID
   * is deleted, so rotating the secrets (wrangler secret put, .dev.vars) retires the old pair.
   */
  private async ensureBootstrap(): Promise<void> {
    const { BOOTSTRAP_ACCESS_KEY_ID: akid, BOOTSTRAP_SECRET_ACCESS_KEY: secret, BOOTSTRAP_ACCOUNT_ID: account } = this.env;
    const previous = await this.ctx.storage.get<string>(BOOTSTRAP_MARK);
    if (previous !== undefined && previous !== akid) await this.ctx.storage.delete([`ak:${previous}`, BOOTSTRAP_MARK]);
    if (!akid || !secret || !account) return;
    // The operator's account stays an account when BOOTSTRAP_ACCOUNT_ID later changes (listed,
    // rewrapped, and never handed out again by CreateAccount).
    if ((await this.ctx.storage.get(`acct:${account}`)) === undefined) await this.ctx.storage.put(`acct:${account}`, { id: account, created: Date.now() });
    const existing = await this.ctx.storage.get<StoredCredential>(`ak:${akid}`);
    if (!(existing && timingSafeEqual(await this.open(existing), secret) && existing.accountId === account)) {
      await this.put({ accessKeyId: akid, accountId: account, arn: `arn:aws:iam::${account}:root`, type: "Root" }, secret);
    }
    await this.ctx.storage.put(BOOTSTRAP_MARK, akid);
  }

  /**
   * A sealed secret, opened under the current root secret, or during a rotation under the
   * previous one (and then sealed again under the current one). Neither: RootSecretMismatch.
   */
  private async open(s: StoredCredential): Promise<string> {
    const aad = enc.encode(`identity/${s.accessKeyId}`);
    const { current, previous } = rootSecrets(this.env);
    try {
      return dec.decode(aesGcmOpen(await this.key(current), s.iv, s.sealedSecret, aad));
    } catch {
      if (previous === undefined) throw new RootSecretMismatch();
    }
    let secret: string;
    try {
      secret = dec.decode(aesGcmOpen(await this.key(previous), s.iv, s.sealedSecret, aad));
    } catch {
      throw new RootSecretMismatch();
    }
    const { iv: _iv, sealedSecret: _sealed, ...principal } = s;
    await this.put(principal, secret, s.sealedSecret);
    return secret;
  }

  /** Whether the state here was sealed under the root secret in force (GET /health/state). */
  async rootSecretStatus(): Promise<"ok" | "root-secret-mismatch"> {
    try {
      await this.prepare();
      return "ok";
    } catch (e) {
      if (e instanceof RootSecretMismatch) return "root-secret-mismatch";
      throw e;
    }
  }

  /**
   * Seals every secret under the current root secret (RewrapRootSecret, after the authorizer
   * decided); then the check value names the current secret. Returns how many were rewrapped.
   */
  async rewrapRootSecret(_decided: typeof SKIP.admin): Promise<number> {
    await this.prepare();
    let rewrapped = 0;
    const { current } = rootSecrets(this.env);
    for (const s of (await this.ctx.storage.list<StoredCredential>({ prefix: "ak:" })).values()) {
      try {
        aesGcmOpen(await this.key(current), s.iv, s.sealedSecret, enc.encode(`identity/${s.accessKeyId}`));
      } catch {
        await this.open(s);
        rewrapped++;
      }
    }
    await this.ctx.storage.put(ROOT_CHECK, await rootCheck(current, ROOT_SCOPE));
    return rewrapped;
  }

  /**
   * The credential of an access key, with the user's policies, or null when there is none;
   * "root-secret-mismatch" when the state was sealed under another KMS_ROOT_SECRET.
   */
  async lookup(accessKeyId: string): Promise<CredentialRecord | null | "root-secret-mismatch"> {
    try {
      return await this.find(accessKeyId);
    } catch (e) {
      if (e instanceof RootSecretMismatch) return "root-secret-mismatch";
      throw e;
    }
  }

  private async find(accessKeyId: string): Promise<CredentialRecord | null> {
    await this.prepare();
    const s = await this.ctx.storage.get<StoredCredential>(`ak:${accessKeyId}`);
    if (!s) return null;
    const { iv: _iv, sealedSecret: _sealed, ...principal } = s;
    const user = s.userName ? await this.ctx.storage.get<UserRecord>(`user:${s.accountId}:${s.userName}`) : undefined;
    return { ...principal, ...(user ? { userId: await userIdOf(user) } : {}), secretAccessKey: await this.open(s), policies: Object.values(user?.policies ?? {}) };
  }

  // ---- management (admin API) -------------------------------------------------------

  private async issueKey(account: string, user?: UserRecord): Promise<NewAccessKey> {
    const accessKeyId = newAccessKeyId();
    const secret = newSecret();
    await this.put(
      user
        ? { accessKeyId, accountId: account, arn: user.arn, type: "IAMUser", userName: user.userName }
        : { accessKeyId, accountId: account, arn: `arn:aws:iam::${account}:root`, type: "Root" },
      secret,
    );
    return { AccountId: account, AccessKeyId: accessKeyId, SecretAccessKey: secret, ...(user ? { UserName: user.userName } : {}) };
  }

  /** A new account and an access key for its root. The secret is shown here only. */
  async createAccount(accountId?: string): Promise<VaultResult<NewAccessKey>> {
    const id = accountId ?? String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
    if (!/^\d{12}$/.test(id)) return fail("Validation", "An account id is 12 digits");
    await this.prepare();
    if (id === this.env.BOOTSTRAP_ACCOUNT_ID || (await this.ctx.storage.get(`acct:${id}`)) || (await this.listAccounts()).includes(id)) return fail("AlreadyExists", `Account ${id} already exists`);
    await this.ctx.storage.put(`acct:${id}`, { id, created: Date.now() });
    return ok(await this.issueKey(id));
  }

  /** Whether `account` exists (the operator's account, or one CreateAccount made). */
  async accountExists(account: string): Promise<boolean> {
    return account === this.env.BOOTSTRAP_ACCOUNT_ID || (await this.ctx.storage.get(`acct:${account}`)) !== undefined;
  }

  async createUser(account: string, userName: string): Promise<VaultResult<{ UserName: string; Arn: string }>> {
    if (!(await this.accountExists(account))) return fail("NotFound", `Account ${account} does not exist`);
    if (!USER_NAME.test(userName)) return fail("Validation", "A user name is 1–64 characters of [\\w+=,.@-]");
    const key = `user:${account}:${userName}`;
    if (await this.ctx.storage.get(key)) return fail("AlreadyExists", `User ${userName} already exists`);
    const user: UserRecord = { userName, arn: `arn:aws:iam::${account}:user/${userName}`, created: Date.now(), policies: {} };
    await this.ctx.storage.put(key, user);
    return ok({ UserName: userName, Arn: user.arn });
  }

  async createAccessKey(account: string, userName?: string): Promise<VaultResult<NewAccessKey>> {
    if (!(await this.accountExists(account))) return fail("NotFound", `Account ${account} does not exist`);
    let user: UserRecord | undefined;
    if (userName !== undefined) {
      user = await this.ctx.storage.get<UserRecord>(`user:${account}:${userName}`);
      if (!user) return fail("NotFound", `User ${userName} does not exist`);
    }
    return ok(await this.issueKey(account, user));
  }

  /** Whose access key this is (a user's, or the account root's when no userName): the admin API checks permission on that principal. */
  async accessKeyOwner(account: string, accessKeyId: string): Promise<VaultResult<{ userName?: string }>> {
    const s = await this.ctx.storage.get<StoredCredential>(`ak:${accessKeyId}`);
    if (!s || s.accountId !== account) return fail("NotFound", `Access key ${accessKeyId} does not exist`);
    return ok(s.userName !== undefined ? { userName: s.userName } : {});
  }

  async deleteAccessKey(account: string, accessKeyId: string): Promise<VaultResult<null>> {
    const s = await this.ctx.storage.get<StoredCredential>(`ak:${accessKeyId}`);
    if (!s || s.accountId !== account) return fail("NotFound", `Access key ${accessKeyId} does not exist`);
    if (accessKeyId === this.env.BOOTSTRAP_ACCESS_KEY_ID) return fail("Validation", "The operator's access key comes from the BOOTSTRAP_* secrets");
    await this.ctx.storage.delete(`ak:${accessKeyId}`);
    return ok(null);
  }

  async putUserPolicy(account: string, userName: string, policyName: string, document: string): Promise<VaultResult<null>> {
    const key = `user:${account}:${userName}`;
    const user = await this.ctx.storage.get<UserRecord>(key);
    if (!user) return fail("NotFound", `User ${userName} does not exist`);
    if (!/^[\w+=,.@-]{1,128}$/.test(policyName)) return fail("Validation", "A policy name is 1–128 characters of [\\w+=,.@-]");
    try {
      parsePolicy(document, "identity");
    } catch (e) {
      if (e instanceof PolicyError) return fail("MalformedPolicy", e.message);
      throw e;
    }
    await this.ctx.storage.put(key, { ...user, policies: { ...user.policies, [policyName]: document } });
    return ok(null);
  }

  async getUserPolicy(account: string, userName: string, policyName: string): Promise<VaultResult<string>> {
    const user = await this.ctx.storage.get<UserRecord>(`user:${account}:${userName}`);
    if (!user || !Object.hasOwn(user.policies, policyName)) return fail("NotFound", `Policy ${policyName} of user ${userName} does not exist`);
    return ok(user.policies[policyName]!);
  }

  async deleteUserPolicy(account: string, userName: string, policyName: string): Promise<VaultResult<null>> {
    const key = `user:${account}:${userName}`;
    const user = await this.ctx.storage.get<UserRecord>(key);
    if (!user || !Object.hasOwn(user.policies, policyName)) return fail("NotFound", `Policy ${policyName} of user ${userName} does not exist`);
    const { [policyName]: _gone, ...rest } = user.policies;
    await this.ctx.storage.put(key, { ...user, policies: rest });
    return ok(null);
  }

  /** Every account: the operator's and those created since (ids only). */
  async listAccounts(): Promise<string[]> {
    await this.prepare();
    const created = [...(await this.ctx.storage.list<{ id: string }>({ prefix: "acct:" })).values()].map((a) => a.id);
    // Accounts from before they were all registered: any account that holds an access key.
    const holders = [...(await this.ctx.storage.list<StoredCredential>({ prefix: "ak:" })).values()].map((k) => k.accountId);
    return [...new Set([this.env.BOOTSTRAP_ACCOUNT_ID, ...created, ...holders])].sort();
  }

  async listUsers(account: string): Promise<VaultResult<UserListEntry[]>> {
    if (!(await this.accountExists(account))) return fail("NotFound", `Account ${account} does not exist`);
    const users = await this.ctx.storage.list<UserRecord>({ prefix: `user:${account}:` });
    const keys = await this.ctx.storage.list<StoredCredential>({ prefix: "ak:" });
    return ok([...users.values()].map((u) => ({
      UserName: u.userName,
      Arn: u.arn,
      CreateDate: u.created / 1000,
      PolicyNames: Object.keys(u.policies),
      AccessKeyIds: [...keys.values()].filter((k) => k.accountId === account && k.userName === u.userName).map((k) => k.accessKeyId),
    })));
  }
}
