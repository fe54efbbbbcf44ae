// Bindings and configuration of the Worker (wrangler.toml, .dev.vars / wrangler secret).
import type { KeyVault } from "./vault/key-vault.js";
import type { Catalog } from "./vault/catalog.js";
import type { IdentityStore } from "./vault/identity-store.js";
import type { AuditLog } from "./audit/audit-log.js";
import type { AuditSigner } from "./audit/signer.js";

/** Where a region's Durable Objects live: an EU jurisdiction, or a location hint. */
export interface RegionPlacement {
  jurisdiction?: DurableObjectJurisdiction;
  locationHint?: DurableObjectLocationHint;
}

export interface Env {
  KEY_VAULT: DurableObjectNamespace<KeyVault>;
  CATALOG: DurableObjectNamespace<Catalog>;
  IDENTITY_STORE: DurableObjectNamespace<IdentityStore>;
  AUDIT_LOG: DurableObjectNamespace<AuditLog>;
  AUDIT_SIGNER: DurableObjectNamespace<AuditSigner>;
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
}

export const MAX_AUDIT_SHARDS = 64;

/** The number of audit ingest shards per account-region, from AUDIT_SHARDS (1..MAX_AUDIT_SHARDS). */
export function auditShards(env: Env): number {
  const n = Number.parseInt(env.AUDIT_SHARDS ?? "1", 10);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_AUDIT_SHARDS) : 1;
}

/**
 * The namespace view for a region: jurisdiction-restricted where the region requires it.
 * Local workerd (wrangler dev, miniflare, tests) has no jurisdictions and says so; there the
 * plain namespace is used. Names carry the region either way (vault/naming.ts), so regional
 * isolation does not depend on the jurisdiction.
 */
export function regionNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  placement: RegionPlacement,
): DurableObjectNamespace<T> {
  if (!placement.jurisdiction) return ns;
  try {
    return ns.jurisdiction(placement.jurisdiction);
  } catch (e) {
    if (e instanceof Error && /not implemented in workerd/.test(e.message)) return ns;
    throw e;
  }
}

// Object ids by namespace and region-qualified name: idFromName hashes the name on every call,
// and ids (unlike stubs) outlive a request. Names are bounded by keys and accounts; the map is
// dropped when it grows past MAX_CACHED_IDS.
const ids = new WeakMap<object, Map<string, DurableObjectId>>();
const MAX_CACHED_IDS = 10_000;

function idFor<T extends Rpc.DurableObjectBranded | undefined>(ns: DurableObjectNamespace<T>, placement: RegionPlacement, name: string): DurableObjectId {
  let byName = ids.get(ns);
  if (!byName) ids.set(ns, (byName = new Map()));
  const cacheKey = `${placement.jurisdiction ?? ""}|${name}`;
  let id = byName.get(cacheKey);
  if (!id) {
    id = regionNamespace(ns, placement).idFromName(name);
    if (byName.size >= MAX_CACHED_IDS) byName.clear();
    byName.set(cacheKey, id);
  }
  return id;
}

export function regionStub<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  placement: RegionPlacement,
  name: string,
): DurableObjectStub<T> {
  return regionNamespace(ns, placement).get(idFor(ns, placement, name), placement.locationHint ? { locationHint: placement.locationHint } : undefined);
}
