// Bindings and configuration of the Worker (wrangler.toml, .dev.vars / wrangler secret).
import type { KeyVault } from "./vault/key-vault.js";
import type { Catalog } from "./vault/catalog.js";
import type { IdentityStore } from "./vault/identity-store.js";
import type { AuditLog } from "./audit/audit-log.js";
import type { AuditSigner } from "./audit/signer.js";
import type { QuotaCounter } from "./quota/counter.js";

/** Where a region's Durable Objects live: an EU jurisdiction, or a location hint. */
export interface RegionPlacement {
  jurisdiction?: DurableObjectJurisdiction;
  locationHint?: DurableObjectLocationHint;
}

/**
 * A served region's placement, or undefined for any other name. An own member of REGIONS only: a
 * caller's credential scope is any text, and "constructor" or "__proto__" must not count as served
 * (each would name Durable Objects, an AuditLog among them, that no operator reads).
 */
export const placementOf = (env: Pick<Env, "REGIONS">, region: string): RegionPlacement | undefined =>
  Object.hasOwn(env.REGIONS, region) ? env.REGIONS[region] : undefined;

export interface Env {
  KEY_VAULT: DurableObjectNamespace<KeyVault>;
  CATALOG: DurableObjectNamespace<Catalog>;
  IDENTITY_STORE: DurableObjectNamespace<IdentityStore>;
  AUDIT_LOG: DurableObjectNamespace<AuditLog>;
  AUDIT_SIGNER: DurableObjectNamespace<AuditSigner>;
  /** Request-rate counters, one per account and region (docs/quotas.md). */
  QUOTA_COUNTER: DurableObjectNamespace<QuotaCounter>;
  /** Audit objects of non-EU regions, and of EU regions (jurisdiction "eu"). */
  AUDIT_BUCKET: R2Bucket;
  AUDIT_BUCKET_EU: R2Bucket;
  AUDIT_BUCKET_NAME: string;
  AUDIT_BUCKET_EU_NAME: string;
  /** How many AuditLogs take an account-region's records (wrangler.toml [vars]); 1 if unset. */
  AUDIT_SHARDS?: string;
  /** Served regions → placement (wrangler.toml [vars.REGIONS]). */
  REGIONS: Record<string, RegionPlacement>;
  BOOTSTRAP_ACCOUNT_ID: string;
  BOOTSTRAP_ACCESS_KEY_ID: string;
  BOOTSTRAP_SECRET_ACCESS_KEY: string;
  /** 32+ random bytes, base64: the root of every region root key. */
  KMS_ROOT_SECRET: string;
  /** During a rotation of KMS_ROOT_SECRET only: the previous one, until everything is rewrapped (docs/operations.md). */
  KMS_ROOT_SECRET_PREVIOUS?: string;
  /** "off" turns GetKeyLastUsage tracking off (only bench:last-usage sets it, to measure its cost). */
  KEY_LAST_USAGE?: string;
  /** "off" turns request-rate quotas off (only bench:quotas sets it, to measure what they cost; docs/quotas.md). */
  QUOTAS?: string;
  /** A factor on every default request-rate quota (the test environments raise them); unset: AWS's defaults. */
  QUOTA_SCALE?: string;
  /**
   * "on" turns on the Durable Objects' chaos hooks (fault points, abort, clock; docs/chaos.md).
   * Only the chaos driver (bench/chaos.ts) and its tests set it, on servers they start; never wrangler.toml.
   */
  CHAOS?: string;
}
