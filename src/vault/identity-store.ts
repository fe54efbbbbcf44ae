// IdentityStore: access key id → principal and secret. Secrets are stored sealed
// (AES-256-GCM through the crypto core) under a root key derived for identities.
// The bootstrap principal (secrets BOOTSTRAP_*) is written on first use.
import { DurableObject } from "cloudflare:workers";
import { aesGcmOpen, aesGcmSeal } from "../crypto/index.js";
import type { Env } from "../env.js";
import { deriveRootKey } from "./root-key.js";

export interface Principal {
  accessKeyId: string;
  accountId: string;
  arn: string;
  type: "Root" | "IAMUser";
  userName?: string;
}

export interface CredentialRecord extends Principal {
  secretAccessKey: string;
}

interface StoredCredential extends Principal {
  iv: Uint8Array;
  sealedSecret: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class IdentityStore extends DurableObject<Env> {
  private rootKey: Uint8Array | undefined;

  private async key(): Promise<Uint8Array> {
    this.rootKey ??= await deriveRootKey(this.env.KMS_ROOT_SECRET, "identity-secrets", "global");
    return this.rootKey;
  }

  private async put(p: Principal, secret: string): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealedSecret = aesGcmSeal(await this.key(), iv, enc.encode(secret), enc.encode(`identity/${p.accessKeyId}`));
    await this.ctx.storage.put(`ak:${p.accessKeyId}`, { ...p, iv, sealedSecret } satisfies StoredCredential);
  }

  private async ensureBootstrap(): Promise<void> {
    const { BOOTSTRAP_ACCESS_KEY_ID: akid, BOOTSTRAP_SECRET_ACCESS_KEY: secret, BOOTSTRAP_ACCOUNT_ID: account } = this.env;
    if (!akid || !secret || !account) return;
    const existing = await this.ctx.storage.get<StoredCredential>(`ak:${akid}`);
    if (existing && (await this.open(existing)) === secret && existing.accountId === account) return;
    await this.put({ accessKeyId: akid, accountId: account, arn: `arn:aws:iam::${account}:root`, type: "Root" }, secret);
  }

  private async open(s: StoredCredential): Promise<string> {
    return dec.decode(aesGcmOpen(await this.key(), s.iv, s.sealedSecret, enc.encode(`identity/${s.accessKeyId}`)));
  }

  /** The credential of an access key, or null when there is none. */
  async lookup(accessKeyId: string): Promise<CredentialRecord | null> {
    if (accessKeyId === this.env.BOOTSTRAP_ACCESS_KEY_ID) await this.ensureBootstrap();
    const s = await this.ctx.storage.get<StoredCredential>(`ak:${accessKeyId}`);
    if (!s) return null;
    const { iv: _iv, sealedSecret: _sealed, ...principal } = s;
    return { ...principal, secretAccessKey: await this.open(s) };
  }
}
