// Where Durable Objects live: their names (a key's vault and an account's catalog are named per
// region) and the stubs for them in the region's placement (an EU jurisdiction, or a location
// hint), so a key made in one region is not found in another. Every stub is made here.
import { placementOf, type Env, type RegionPlacement } from "./env.js";

export const vaultName = (region: string, keyId: string): string => `${region}/key/${keyId}`;
export const catalogName = (region: string, account: string): string => `${region}/account/${account}`;
export const IDENTITY_STORE_NAME = "global/identities";
export const auditLogName = (region: string, account: string): string => `${region}/audit/${account}`;
/** Ingest shard n ≥ 1 of an account-region's AuditLog (shard 0 is the AuditLog itself). */
export const auditShardName = (region: string, account: string, shard: number): string =>
  shard === 0 ? auditLogName(region, account) : `${auditLogName(region, account)}/shard/${shard}`;
export const auditSignerName = (region: string): string => `${region}/audit-signer`;
/** An account-region's request-rate counter (src/quota/counter.ts). */
export const quotaCounterName = (region: string, account: string): string => `${region}/quota/${account}`;

export const MAX_AUDIT_SHARDS = 64;

/** The number of audit ingest shards per account-region, from AUDIT_SHARDS (1..MAX_AUDIT_SHARDS). */
export function auditShards(env: Env): number {
  const n = Number.parseInt(env.AUDIT_SHARDS ?? "1", 10);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_AUDIT_SHARDS) : 1;
}

/**
 * The namespace view for a region: jurisdiction-restricted where the region requires it.
 * Local workerd (wrangler dev, miniflare, tests) has no jurisdictions and says so; there the
 * plain namespace is used. Names carry the region either way (above), so regional
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

/** The stub of a named object of `ns` in a served region's placement. */
export function placedStub<T extends Rpc.DurableObjectBranded | undefined>(env: Env, ns: DurableObjectNamespace<T>, region: string, name: string): DurableObjectStub<T> {
  return regionStub(ns, placementOf(env, region) ?? {}, name);
}

/** The one IdentityStore. */
export const identityStore = (env: Env) => env.IDENTITY_STORE.get(env.IDENTITY_STORE.idFromName(IDENTITY_STORE_NAME));

/** A key's vault. */
export const vaultStub = (env: Env, region: string, keyId: string) => placedStub(env, env.KEY_VAULT, region, vaultName(region, keyId));
/** An account's catalog in a region. */
export const catalogStub = (env: Env, region: string, account: string) => placedStub(env, env.CATALOG, region, catalogName(region, account));
/** An account-region's AuditLog (shard 0), or its ingest shard n. */
export const auditLogStub = (env: Env, region: string, account: string, shard = 0) => placedStub(env, env.AUDIT_LOG, region, auditShardName(region, account, shard));
/** A region's digest signer. */
export const signerStub = (env: Env, region: string) => placedStub(env, env.AUDIT_SIGNER, region, auditSignerName(region));
/** An account-region's request-rate counter. */
export const quotaCounterStub = (env: Env, region: string, account: string) => placedStub(env, env.QUOTA_COUNTER, region, quotaCounterName(region, account));
