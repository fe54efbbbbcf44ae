// Catalog: one Durable Object per account and region, holding the list of keys and the
// aliases. It is off the Encrypt/Decrypt path (those go straight to the key's vault) and is
// consulted only to list keys, to manage aliases and to resolve an alias to a key.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import { fail, ok, SKIP, type VaultResult } from "./types.js";
import { MAX_ALIASES_PER_KEY, MAX_KEYS_PER_ACCOUNT_REGION } from "../kms/limits.js";
import { vaultStub } from "../placement.js";

/**
 * How long after a key is registered its vault must hold it. A key is registered before its vault
 * makes it (so that the per-account limit holds); a CreateKey that dies between the two (a crash,
 * a restart) would otherwise leave ListKeys naming a key that does not exist (npm run chaos found
 * it). This long after, the alarm asks the vault, which then refuses a creation still to come.
 */
export const VERIFY_REGISTRATION_MS = 30_000;



interface KeyEntry { keyId: string; arn: string }
interface AliasEntry { aliasName: string; targetKeyId: string; created: number; updated: number }

export interface AliasListEntry {
  AliasName: string;
  AliasArn: string;
  TargetKeyId: string;
  CreationDate: number;
  LastUpdatedDate: number;
}

export interface Page<T> { items: T[]; nextMarker?: string }

// Storage keys: "k:<seq>" key entries in creation order, "i:<keyId>" → seq,
// "a:<alias name>" alias entries, "n:<keyId>" alias count per key, "seq" counter,
// "v:<keyId>" → when a registration is to be verified against its vault (docs/formats.md).
const seqKey = (n: number) => `k:${String(n).padStart(12, "0")}`;

const encodeMarker = (storageKey: string): string => btoa(storageKey);
function decodeMarker(marker: string, prefix: string): string | undefined {
  try {
    const k = atob(marker);
    return k.startsWith(prefix) ? k : undefined;
  } catch {
    return undefined;
  }
}

export class Catalog extends DurableObject<Env> {
  async registerKey(keyId: string, arn: string): Promise<VaultResult<null>> {
    const verifyAt = Date.now() + VERIFY_REGISTRATION_MS;
    // Registered already: a ReplicateKey retried after it died between registering its replica and
    // making it. The key stays listed (and counted) once; its vault is asked again when due.
    if ((await this.ctx.storage.get<number>(`i:${keyId}`)) !== undefined) {
      await this.ctx.storage.put(`v:${keyId}`, verifyAt);
      await this.verifyBy(verifyAt);
      return ok(null);
    }
    const count = (await this.ctx.storage.get<number>("count")) ?? 0;
    if (count >= MAX_KEYS_PER_ACCOUNT_REGION) return fail("LimitExceeded", `The account has reached its limit of ${MAX_KEYS_PER_ACCOUNT_REGION} KMS keys in this region.`);
    const seq = ((await this.ctx.storage.get<number>("seq")) ?? 0) + 1;
    await this.ctx.storage.put({ seq, count: count + 1, [seqKey(seq)]: { keyId, arn } satisfies KeyEntry, [`i:${keyId}`]: seq, [`v:${keyId}`]: verifyAt });
    await this.verifyBy(verifyAt);
    return ok(null);
  }

  /** The alarm goes off by `at` (a registration is due then). */
  private async verifyBy(at: number): Promise<void> {
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > at) await this.ctx.storage.setAlarm(at);
  }

  /** Alarm: registrations due for verification. */
  async alarm(): Promise<void> {
    const next = await this.verifyRegistrations(Date.now());
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Each registration due by `now` is checked with its vault: a vault that holds no key (and from
   * now on refuses to make it) means its CreateKey died, and the listing is dropped. Returns when
   * the next registration is due. A vault that cannot be reached is asked again later.
   */
  async verifyRegistrations(now: number): Promise<number | undefined> {
    let next: number | undefined;
    for (const key of (await this.ctx.storage.list<number>({ prefix: "v:" })).keys()) {
      const keyId = key.slice(2);
      // Read again at its turn: while an earlier key's vault was asked, this one may have been
      // registered again (its mark renewed, due later) or removed.
      const due = await this.ctx.storage.get<number>(key);
      if (due === undefined) continue;
      if (due > now) {
        next = Math.min(next ?? due, due);
        continue;
      }
      const seq = await this.ctx.storage.get<number>(`i:${keyId}`);
      const entry = seq === undefined ? undefined : await this.ctx.storage.get<KeyEntry>(seqKey(seq));
      if (entry) {
        let held: "exists" | "abandoned";
        try {
          // The key's Region is its ARN's (arn:aws:kms:<region>:<account>:key/<id>).
          held = await vaultStub(this.env, entry.arn.split(":")[3], keyId).claimUnmade(SKIP.noKeyYet);
        } catch {
          next = Math.min(next ?? Infinity, Date.now() + VERIFY_REGISTRATION_MS);
          continue;
        }
        // Other calls ran while the vault was asked: the key may have been removed and registered
        // again (a replica made again) under a new seq, or registered again as it was (its mark
        // renewed). That registration is not the one checked: its mark stays, to be checked when
        // due, and its listing stays.
        if ((await this.ctx.storage.get<number>(`i:${keyId}`)) !== seq || (await this.ctx.storage.get<number>(key)) !== due) continue;
        if (held === "abandoned") await this.removeKey(keyId);
      }
      await this.ctx.storage.delete(key);
    }
    return next;
  }

  /** Forgets a destroyed key and every alias that pointed at it. */
  async removeKey(keyId: string): Promise<void> {
    const seq = await this.ctx.storage.get<number>(`i:${keyId}`);
    if (seq === undefined) return;
    const aliases = await this.ctx.storage.list<AliasEntry>({ prefix: "a:" });
    const drop = [...aliases].filter(([, a]) => a.targetKeyId === keyId).map(([k]) => k);
    const count = (await this.ctx.storage.get<number>("count")) ?? 1;
    await this.ctx.storage.delete([seqKey(seq), `i:${keyId}`, `n:${keyId}`, `v:${keyId}`, ...drop]);
    await this.ctx.storage.put("count", count - 1);
  }

  async listKeys(limit: number, marker?: string): Promise<VaultResult<Page<{ KeyId: string; KeyArn: string }>>> {
    let start: string | undefined;
    if (marker !== undefined) {
      start = decodeMarker(marker, "k:");
      if (!start) return fail("InvalidMarker", "Invalid marker");
    }
    const rows = await this.ctx.storage.list<KeyEntry>({ prefix: "k:", ...(start ? { startAfter: start } : {}), limit: limit + 1 });
    const entries = [...rows];
    const page = entries.slice(0, limit);
    return ok({
      items: page.map(([, e]) => ({ KeyId: e.keyId, KeyArn: e.arn })),
      ...(entries.length > limit ? { nextMarker: encodeMarker(page[page.length - 1][0]) } : {}),
    });
  }

  /** The retirement index: "<retiring principal>|<key ARN>|<grant id>" for the account's principals. */
  async indexRetirableGrant(entry: string, present: boolean): Promise<void> {
    if (present) await this.ctx.storage.put(`g:${entry}`, 1);
    else await this.ctx.storage.delete(`g:${entry}`);
  }

  async retirableGrants(retiringPrincipal: string): Promise<{ keyArn: string; grantId: string }[]> {
    const rows = await this.ctx.storage.list({ prefix: `g:${retiringPrincipal}|` });
    return [...rows.keys()].map((k) => {
      const [, keyArn, grantId] = k.slice(2).split("|");
      return { keyArn, grantId };
    });
  }

  async resolveAlias(aliasName: string): Promise<string | undefined> {
    return (await this.ctx.storage.get<AliasEntry>(`a:${aliasName}`))?.targetKeyId;
  }

  async createAlias(aliasName: string, keyId: string, now: number): Promise<VaultResult<null>> {
    if (await this.ctx.storage.get(`a:${aliasName}`)) return fail("AlreadyExists", `An alias with the name ${aliasName} already exists`);
    const n = (await this.ctx.storage.get<number>(`n:${keyId}`)) ?? 0;
    if (n >= MAX_ALIASES_PER_KEY) return fail("LimitExceeded", `A KMS key can have at most ${MAX_ALIASES_PER_KEY} aliases`);
    await this.ctx.storage.put({
      [`a:${aliasName}`]: { aliasName, targetKeyId: keyId, created: now, updated: now } satisfies AliasEntry,
      [`n:${keyId}`]: n + 1,
    });
    return ok(null);
  }

  /**
   * Points an alias at another key. `expectedKeyId` is the target the caller was authorized on:
   * if the alias moved since, nothing changes (ConflictException; the caller may retry).
   */
  async updateAlias(aliasName: string, keyId: string, now: number, expectedKeyId: string): Promise<VaultResult<{ previousKeyId: string }>> {
    const entry = await this.ctx.storage.get<AliasEntry>(`a:${aliasName}`);
    if (!entry) return fail("NotFound", `Alias ${aliasName} is not found.`);
    if (entry.targetKeyId !== expectedKeyId) return fail("Conflict", `Alias ${aliasName} changed while it was being updated; retry.`);
    if (entry.targetKeyId === keyId) return ok({ previousKeyId: keyId });
    const n = (await this.ctx.storage.get<number>(`n:${keyId}`)) ?? 0;
    if (n >= MAX_ALIASES_PER_KEY) return fail("LimitExceeded", `A KMS key can have at most ${MAX_ALIASES_PER_KEY} aliases`);
    const old = (await this.ctx.storage.get<number>(`n:${entry.targetKeyId}`)) ?? 1;
    await this.ctx.storage.put({
      [`a:${aliasName}`]: { ...entry, targetKeyId: keyId, updated: now },
      [`n:${keyId}`]: n + 1,
      [`n:${entry.targetKeyId}`]: old - 1,
    });
    return ok({ previousKeyId: entry.targetKeyId });
  }

  /** Deletes an alias, if it still points at `expectedKeyId` (the key the caller was authorized on). */
  async deleteAlias(aliasName: string, expectedKeyId: string): Promise<VaultResult<{ targetKeyId: string }>> {
    const entry = await this.ctx.storage.get<AliasEntry>(`a:${aliasName}`);
    if (!entry) return fail("NotFound", `Alias ${aliasName} is not found.`);
    if (entry.targetKeyId !== expectedKeyId) return fail("Conflict", `Alias ${aliasName} changed while it was being deleted; retry.`);
    const n = (await this.ctx.storage.get<number>(`n:${entry.targetKeyId}`)) ?? 1;
    await this.ctx.storage.delete(`a:${aliasName}`);
    await this.ctx.storage.put(`n:${entry.targetKeyId}`, n - 1);
    return ok({ targetKeyId: entry.targetKeyId });
  }

  async listAliases(aliasArnPrefix: string, limit: number, marker?: string, keyId?: string): Promise<VaultResult<Page<AliasListEntry>>> {
    let start: string | undefined;
    if (marker !== undefined) {
      start = decodeMarker(marker, "a:");
      if (!start) return fail("InvalidMarker", "Invalid marker");
    }
    const items: AliasListEntry[] = [];
    let last: string | undefined;
    let more = false;
    // Page through storage until `limit` matching aliases are found (a key filter may skip rows).
    let cursor = start;
    for (;;) {
      const rows = [...(await this.ctx.storage.list<AliasEntry>({ prefix: "a:", ...(cursor ? { startAfter: cursor } : {}), limit: 256 }))];
      for (const [k, a] of rows) {
        if (keyId !== undefined && a.targetKeyId !== keyId) continue;
        if (items.length === limit) { more = true; break; }
        items.push({ AliasName: a.aliasName, AliasArn: `${aliasArnPrefix}${a.aliasName}`, TargetKeyId: a.targetKeyId, CreationDate: a.created / 1000, LastUpdatedDate: a.updated / 1000 });
        last = k;
      }
      if (more || rows.length < 256) break;
      cursor = rows[rows.length - 1][0];
    }
    return ok({ items, ...(more && last ? { nextMarker: encodeMarker(last) } : {}) });
  }
}
