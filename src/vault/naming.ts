// Durable Object names. A key's vault and an account's catalog are named per region, and
// live in that region's placement (env.ts), so a key made in one region is not found in another.
export const vaultName = (region: string, keyId: string): string => `${region}/key/${keyId}`;
export const catalogName = (region: string, account: string): string => `${region}/account/${account}`;
export const IDENTITY_STORE_NAME = "global/identities";
export const auditLogName = (region: string, account: string): string => `${region}/audit/${account}`;
/** Ingest shard n ≥ 1 of an account-region's AuditLog (shard 0 is the AuditLog itself). */
export const auditShardName = (region: string, account: string, shard: number): string =>
  shard === 0 ? auditLogName(region, account) : `${auditLogName(region, account)}/shard/${shard}`;
export const auditSignerName = (region: string): string => `${region}/audit-signer`;
