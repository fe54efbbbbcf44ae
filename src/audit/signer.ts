// AuditSigner: one Durable Object per region holding that region's digest-signing key
// (ECDSA P-256). The private key is generated here, stored sealed (AES-256-GCM under a root key
// derived for audit signing) and never leaves; callers get signatures and the public key. A
// rotation of KMS_ROOT_SECRET reseals it (the key, and so the public key, stays the same).
import { DurableObject } from "cloudflare:workers";
import { aesGcmOpen, aesGcmSeal } from "../crypto/index.js";
import type { Env } from "../env.js";
import { deriveRootKey, RootSecretMismatch, rootSecrets } from "../vault/root-key.js";
import type { SKIP } from "../vault/types.js";
import { identityStore } from "../placement.js";

interface StoredKey { iv: Uint8Array; sealedPrivateKey: Uint8Array; publicKeySpki: Uint8Array }

const hex = (b: ArrayBuffer | Uint8Array): string => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const enc = new TextEncoder();

export const DIGEST_SIGNATURE_ALGORITHM = "SHA256withECDSA";

export class AuditSigner extends DurableObject<Env> {
  private key: CryptoKey | undefined;
  private spki: Uint8Array | undefined;

  private async load(region: string): Promise<CryptoKey> {
    if (this.key) return this.key;
    const root = await deriveRootKey(this.env.KMS_ROOT_SECRET, "audit-signing", region);
    let stored = await this.ctx.storage.get<StoredKey>("key");
    if (stored) stored = await this.underCurrentRoot(region, stored, root);
    // A new signing key only under the root secret the state was sealed under: made under a wrong
    // one, the right one would never open it again (the identity store holds the check value).
    if (!stored && (await identityStore(this.env).rootSecretStatus()) !== "ok") throw new RootSecretMismatch();
    if (!stored) {
      const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
      const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      stored = {
        iv,
        sealedPrivateKey: aesGcmSeal(root, iv, pkcs8, enc.encode(`audit-signing/${region}`)),
        publicKeySpki: new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
      };
      pkcs8.fill(0);
      await this.ctx.storage.put("key", stored);
    }
    const pkcs8 = aesGcmOpen(root, stored.iv, stored.sealedPrivateKey, enc.encode(`audit-signing/${region}`));
    this.key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    pkcs8.fill(0);
    root.fill(0);
    this.spki = stored.publicKeySpki;
    return this.key;
  }

  /**
   * The stored key as the current root secret seals it: opened under the current secret, or
   * during a rotation under the previous one and sealed again under the current one.
   */
  private async underCurrentRoot(region: string, stored: StoredKey, root: Uint8Array): Promise<StoredKey> {
    const aad = enc.encode(`audit-signing/${region}`);
    try {
      aesGcmOpen(root, stored.iv, stored.sealedPrivateKey, aad).fill(0);
      return stored;
    } catch {
      const { previous } = rootSecrets(this.env);
      if (previous === undefined) throw new RootSecretMismatch();
      let pkcs8: Uint8Array;
      try {
        pkcs8 = aesGcmOpen(await deriveRootKey(previous, "audit-signing", region), stored.iv, stored.sealedPrivateKey, aad);
      } catch {
        throw new RootSecretMismatch();
      }
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const resealed = { ...stored, iv, sealedPrivateKey: aesGcmSeal(root, iv, pkcs8, aad) };
      pkcs8.fill(0);
      await this.ctx.storage.put("key", resealed);
      return resealed;
    }
  }

  /** Reseals the signing key under the current root secret (RewrapRootSecret, decided by the authorizer). */
  async rewrapRootSecret(_decided: typeof SKIP.admin, region: string): Promise<"current" | "mismatch"> {
    this.key = undefined;
    try {
      await this.load(region);
      return "current";
    } catch (e) {
      if (e instanceof RootSecretMismatch) return "mismatch";
      throw e;
    }
  }

  /** Hex ECDSA P-256 / SHA-256 signature (IEEE P1363 r‖s) over the UTF-8 string. */
  async sign(region: string, data: string): Promise<string> {
    const key = await this.load(region);
    return hex(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, enc.encode(data)));
  }

  /** The public key (DER SubjectPublicKeyInfo, base64) and its SHA-256 fingerprint (hex). */
  async publicKey(region: string): Promise<{ spki: string; fingerprint: string; algorithm: string }> {
    await this.load(region);
    return {
      spki: btoa(String.fromCharCode(...this.spki!)),
      fingerprint: hex(await crypto.subtle.digest("SHA-256", this.spki!)),
      algorithm: DIGEST_SIGNATURE_ALGORITHM,
    };
  }
}
