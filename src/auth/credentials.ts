// Access key → credential, from the identity store, cached per isolate so that the request
// path rarely leaves the Worker.
import type { Env } from "../env.js";
import { identityStore } from "../placement.js";
import type { CredentialRecord } from "../vault/identity-store.js";
import { KmsError } from "../protocol/errors.js";
import { ROOT_SECRET_MISMATCH } from "../vault/root-key.js";

const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
const cache = new Map<string, { value: CredentialRecord | null; expires: number }>();

/**
 * The credential of an access key, or null. Throws KMSInternalException with the reason when the
 * identity store was sealed under another KMS_ROOT_SECRET (never cached: the fix is a restart with the right secret).
 */
export async function lookupCredential(env: Env, accessKeyId: string, now: number): Promise<CredentialRecord | null> {
  const hit = cache.get(accessKeyId);
  if (hit && hit.expires > now) return hit.value;
  const store = identityStore(env);
  const found = (await store.lookup(accessKeyId)) as CredentialRecord | null | "root-secret-mismatch";
  if (found === "root-secret-mismatch") throw new KmsError("KMSInternalException", ROOT_SECRET_MISMATCH);
  const value = found;
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(accessKeyId, { value, expires: now + (value ? TTL_MS : NEGATIVE_TTL_MS) });
  return value;
}

/** Drops this isolate's cached credentials (after an identity change made through this isolate). */
export function forgetCredentials(): void {
  cache.clear();
}
