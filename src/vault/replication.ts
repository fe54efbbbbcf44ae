// Multi-Region keys, the calls between vaults
// (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html):
// ReplicateKey and UpdatePrimaryRegion on the primary, the replica's side of them, the pushes of
// what a primary shares, and a replica's deletion notice. What is shared and how records merge is
// multi-region.ts; the design is docs/multi-region.md. The vault (key-vault.ts) keeps the RPC
// methods, storage and alarms, and lends this module what it needs of them (ReplicationHost).
// Material moves only vault to vault: the primary unwraps each version and wraps it under the
// receiving Region's root key itself, so no call, record or response carries it in the clear.
import type { Env } from "../env.js";
import { catalogStub, vaultStub } from "../placement.js";
import { serviceEvent, type AuditDraft, type CloudTrailRecord } from "../audit/record.js";
import type { Permission } from "../authz/authorize.js";
import { DAY_MS } from "../kms/limits.js";
import { keyArn } from "../kms/ids.js";
import { metadata, newKeyRecord, STATES, stateError, type KeyRecord, type Material } from "./key-record.js";
import type { MaterialStore } from "./material.js";
import { rootCheck, rootSecrets } from "./root-key.js";
import type { Faults } from "./faults.js";
import { OneAtATime } from "./group-commit.js";
import {
  applyShared, isPrimary, isReplica, materialStub, owesReplicas, regionRecord, sharedState, withoutReplica,
  type Handover, type ReplicaParams, type SharedState,
} from "./multi-region.js";
import { fail, ok, SKIP, type KeyMetadata, type KeyState, type SuccessRecord, type Tag, type VaultCaller, type VaultResult } from "./types.js";

/** How soon a multi-Region primary tries again a push a replica did not acknowledge (and a replica its deletion notice). */
export const SYNC_RETRY_MS = 10_000;

/** ReplicateKey's result: the new replica's metadata, policy and tags. */
export type ReplicaResult = { metadata: KeyMetadata; policy: string; tags: Tag[] };

/** What ReplicateKey asks of the primary: the replica's Region, and its own description, tags and policy. */
export interface ReplicateParams { region: string; description: string; tags: Tag[]; policy?: string; lockout?: Permission }

/** What the vault lends this module: its record, storage, authorization and audit (key-vault.ts). */
export interface ReplicationHost {
  readonly env: Env;
  readonly faults: Faults;
  readonly material: MaterialStore;
  /** The key record as it is now (it changes across every await). */
  rec(): KeyRecord | undefined;
  now(): number;
  save(rec: KeyRecord, audit?: CloudTrailRecord[], sync?: { acked?: Record<string, number>; push?: boolean }): Promise<void>;
  scheduleAlarm(rec: KeyRecord | undefined): Promise<void>;
  /** Sets the alarm for a retry at `at` (ms since the epoch). */
  retryAt(at: number): Promise<void>;
  audited<T>(caller: VaultCaller, body: (success: SuccessRecord) => Promise<VaultResult<T>>): Promise<VaultResult<T>>;
  access(caller: VaultCaller, states: (s: KeyState) => boolean): VaultResult<KeyRecord>;
  underCurrentRoot(rec: KeyRecord): Promise<KeyRecord>;
  checkPolicy(rec: KeyRecord, caller: VaultCaller, lockout: Permission | undefined): VaultResult<never> | undefined;
}

/** One key's side of its multi-Region calls. */
export class Replication {
  /** When the alarm next pushes to replicas (real time), if anything is owed or a handover is open. */
  syncDue: number | undefined;
  /** Pushes, one at a time. */
  private readonly pushing = new OneAtATime();
  /** Regions a ReplicateKey is making a replica in. */
  private readonly replicating = new Set<string>();
  /** A replica being made in this vault. */
  private creatingReplica = false;

  constructor(private readonly host: ReplicationHost) {}

  /**
   * Whether a ReplicateKey of this key is making a replica now: its Region joins the configuration
   * only once the replica's vault answers, and calls that would move the primary role or delete
   * the primary meanwhile would leave that replica behind them (an outsider's review found both).
   */
  get replicatingNow(): boolean {
    return this.replicating.size > 0;
  }

  /**
   * ReplicateKey and UpdatePrimaryRegion act on an Enabled multi-Region primary key: the caller's
   * access to it (the operation's permission), then UnsupportedOperationException for any other
   * key, then the key state.
   */
  private enabledPrimary(caller: VaultCaller, operation: string): VaultResult<KeyRecord> {
    const r = this.host.access(caller, STATES.any);
    if (!r.ok) return r;
    const rec = r.value;
    if (!rec.multiRegion) return fail("UnsupportedOperation", `${rec.arn} is not a multi-Region key; ${operation} needs a multi-Region primary key.`);
    if (!isPrimary(rec)) return fail("UnsupportedOperation", `${rec.arn} is a multi-Region replica key; call ${operation} on its primary key, in ${rec.multiRegion.primaryRegion}.`);
    return STATES.enabled(rec.state) ? r : stateError(rec);
  }

  /** What this primary shares, every material version wrapped under `region`'s root key (sync version `version`). */
  private async sharedFor(current: KeyRecord, region: string, version = current.multiRegion!.version): Promise<SharedState> {
    const rec = await this.host.underCurrentRoot(current);
    // An EXTERNAL key's material is imported into each Region's key by its owner: only which
    // material the key is bound to is sent (ids, no material), so a replica takes no other.
    const materials: Material[] = rec.origin === "EXTERNAL" ? rec.materials.map(materialStub) : [];
    if (rec.origin === "AWS_KMS") {
      for (const m of rec.materials) {
        const key = await this.host.material.get(rec, m.version);
        if (key) materials.push({ ...m, wrapped: await this.host.material.wrap(region, key) });
      }
    }
    return { ...sharedState(rec, materials), version };
  }

  /**
   * ReplicateKey, on the primary (kms:ReplicateKey decided here; kms:CreateKey in the replica
   * Region by the handler). The replica's vault makes the replica from the shared state
   * (createReplica); then it joins the configuration, which is pushed to every replica.
   */
  async replicate(caller: VaultCaller, p: ReplicateParams): Promise<VaultResult<ReplicaResult>> {
    return this.host.audited<ReplicaResult>(caller, async (success) => {
      const r = this.enabledPrimary(caller, "ReplicateKey");
      if (!r.ok) return r;
      const rec = r.value;
      const replicaArn = keyArn(p.region, rec.account, rec.keyId);
      if (p.region === rec.region) return fail("Validation", `${rec.arn} is in ${p.region}: a replica must be in another Region.`);
      if (rec.multiRegion!.replicaRegions.includes(p.region) || this.replicating.has(p.region)) return fail("AlreadyExists", `${replicaArn} already exists.`);
      this.replicating.add(p.region);
      try {
        const params: ReplicaParams = {
          shared: await this.sharedFor(this.host.rec()!, p.region), keyId: rec.keyId, account: rec.account, region: p.region,
          keySpec: rec.keySpec, keyUsage: rec.keyUsage, origin: rec.origin, description: p.description, tags: p.tags,
          ...(p.policy !== undefined ? { policy: p.policy } : {}), ...(p.lockout ? { lockout: p.lockout } : {}), ...(caller.audit ? { draft: caller.audit } : {}),
        };
        const made = (await vaultStub(this.host.env, p.region, rec.keyId)
          .createReplica({ ...caller, authz: { skip: SKIP.replication }, audit: undefined }, params)) as VaultResult<ReplicaResult | { existing: string }>;
        if (!made.ok) return { ...made, records: undefined };
        if ("existing" in made.value) {
          // A replica an earlier ReplicateKey made whose success this primary did not store (it
          // crashed in between) joins the configuration; the caller learns it exists.
          const cur = this.host.rec()!;
          if (made.value.existing === cur.region && !cur.multiRegion!.replicaRegions.includes(p.region)) {
            await this.host.save({ ...cur, multiRegion: { ...cur.multiRegion!, replicaRegions: [...cur.multiRegion!.replicaRegions, p.region].sort() } });
          }
          return fail("AlreadyExists", `${replicaArn} already exists.`);
        }
        const cur = this.host.rec()!;
        const replica = made.value;
        await this.host.save(
          { ...cur, multiRegion: { ...cur.multiRegion!, replicaRegions: [...cur.multiRegion!.replicaRegions, p.region].sort() } },
          success({ replicaKeyMetadata: { ...replica.metadata }, replicaTags: replica.tags.map((t) => ({ ...t })) }),
        );
        return ok(replica);
      } finally {
        this.replicating.delete(p.region);
      }
    });
  }

  /**
   * A new replica, made in its own vault from what its primary shares (ReplicateKey): the key
   * policy (the default one if none), description and tags are its own. It is listed in this
   * Region's catalog, and this Region records the ReplicateKey too. A key already here answers
   * which primary it has.
   */
  async createReplica(caller: VaultCaller & { authz: { skip: typeof SKIP.replication } }, p: ReplicaParams): Promise<VaultResult<ReplicaResult | { existing: string }>> {
    if (this.host.rec() || this.creatingReplica) return ok({ existing: this.host.rec()?.multiRegion?.primaryRegion ?? "" });
    this.creatingReplica = true;
    try {
      const s = p.shared;
      const arn = keyArn(p.region, p.account, p.keyId);
      const external = p.origin === "EXTERNAL";
      const rec: KeyRecord = {
        // A replica of an EXTERNAL key waits for its own ImportKeyMaterial.
        ...newKeyRecord({ ...p, arn, now: this.host.now(), rootCheck: await rootCheck(rootSecrets(this.host.env).current, p.region) }),
        rotationEnabled: s.rotationEnabled,
        ...(s.rotationPeriodDays !== undefined ? { rotationPeriodDays: s.rotationPeriodDays } : {}),
        ...(s.nextRotation !== undefined ? { nextRotation: s.nextRotation } : {}),
        onDemandRotations: s.onDemandRotations,
        currentVersion: external ? 0 : s.currentVersion,
        materials: external ? [] : s.materials,
        multiRegion: { primaryRegion: s.primaryRegion, replicaRegions: [...new Set([...s.replicaRegions, p.region])].sort(), version: s.version },
      };
      if (p.policy !== undefined) {
        const bad = this.host.checkPolicy(rec, caller, p.lockout);
        if (bad) return bad;
      }
      const catalog = catalogStub(this.host.env, p.region, p.account);
      const registered = (await catalog.registerKey(p.keyId, arn)) as VaultResult<null>;
      if (!registered.ok) return registered;
      const md = metadata(rec);
      try {
        await this.host.save(rec, p.draft ? [regionRecord(p.draft, p.region, arn, { replicaKeyMetadata: { ...md }, replicaTags: rec.tags.map((t) => ({ ...t })) })] : []);
      } catch (e) {
        await catalog.removeKey(p.keyId);
        throw e;
      }
      return ok({ metadata: md, policy: rec.policy, tags: rec.tags });
    } finally {
      this.creatingReplica = false;
    }
  }

  /**
   * A push from the primary: material versions this key lacks are added (by version: a push is
   * idempotent), and a push at least as new as the key's configuration sets it and the rotation
   * settings. This Region records SynchronizeMultiRegionKey when something changed.
   */
  async syncReplica(_decided: typeof SKIP.replication, s: SharedState): Promise<"applied" | "current" | "missing"> {
    const stored = this.host.rec();
    if (!stored?.multiRegion) return "missing";
    await this.host.underCurrentRoot(stored);
    const rec = this.host.rec()!;
    const next = applyShared(rec, s);
    if (!next) return "current";
    await this.host.save(next, [serviceEvent("SynchronizeMultiRegionKey", rec.region, rec.account, rec.arn, this.host.now())]);
    return "applied";
  }

  /**
   * Pushes what this primary owes its replicas, and stores their acknowledgements. A push that
   * fails stays owed (it is stored), and the alarm tries again; a replica whose vault no longer
   * holds it leaves the configuration.
   */
  pushReplicas(): Promise<void> {
    return this.pushing.run(async () => {
      for (let round = 0; round < 3 && owesReplicas(this.host.rec()); round++) {
        const rec = this.host.rec()!;
        const acked: Record<string, number> = {};
        const gone: string[] = [];
        let failed = false;
        await Promise.all(Object.keys(rec.replicaSync!).map(async (region) => {
          try {
            this.host.faults.hit("replica-push");
            const s = await this.sharedFor(this.host.rec()!, region);
            const answer = await vaultStub(this.host.env, region, rec.keyId).syncReplica(SKIP.replication, s);
            acked[region] = s.version;
            if (answer === "missing") gone.push(region);
          } catch (e) {
            failed = true;
            console.error(`push of ${rec.arn} to ${region} failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
          }
        }));
        let next = this.host.rec()!;
        for (const region of gone) next = withoutReplica(next, region, this.host.now(), DAY_MS);
        await this.host.save(next, undefined, { acked, push: false });
        if (failed) break;
      }
      this.syncDue = owesReplicas(this.host.rec()) || this.host.rec()?.handover ? Date.now() + SYNC_RETRY_MS : undefined;
      await this.host.scheduleAlarm(this.host.rec());
    });
  }

  /**
   * A replica's vault says, before it is destroyed, that the replica is deleted: the primary
   * drops it from the configuration and pushes that (a primary waiting for its replicas'
   * deletion starts its own waiting period after the last). A key that is no longer the primary
   * answers which Region is.
   */
  async replicaDeleted(_decided: typeof SKIP.replication, region: string): Promise<{ primaryRegion?: string }> {
    const rec = this.host.rec();
    if (!rec?.multiRegion) return {};
    if (!isPrimary(rec)) return { primaryRegion: rec.multiRegion.primaryRegion };
    if (rec.multiRegion.replicaRegions.includes(region)) await this.host.save(withoutReplica(rec, region, this.host.now(), DAY_MS));
    return {};
  }

  /** Before a replica is destroyed, its primary drops it. False if it could not be told yet: the alarm tries again. */
  async replicaGone(rec: KeyRecord): Promise<boolean> {
    let region = rec.multiRegion!.primaryRegion;
    try {
      for (let hops = 0; hops < 4; hops++) {
        const r = await vaultStub(this.host.env, region, rec.keyId).replicaDeleted(SKIP.replication, rec.region);
        if (!r.primaryRegion || r.primaryRegion === region || r.primaryRegion === rec.region) return true;
        region = r.primaryRegion;
      }
      return true;
    } catch (e) {
      console.error(`deletion of replica ${rec.arn} postponed, its primary in ${region} could not be told: ${e instanceof Error ? e.message : String(e)}`);
      await this.host.retryAt(Date.now() + SYNC_RETRY_MS);
      return false;
    }
  }

  /**
   * UpdatePrimaryRegion, on the primary (kms:UpdatePrimaryRegion decided here): it becomes
   * Updating, stored with the Region it hands over to; the replica there takes the primary role
   * (promote, which decides kms:UpdatePrimaryRegion on that key's policy too); then this key
   * becomes a replica. A refusal undoes it; an unknown outcome (a failed call) leaves the key
   * Updating until its alarm learns which it was (finishHandover).
   */
  async updatePrimaryRegion(caller: VaultCaller, region: string, replicaCaller: VaultCaller): Promise<VaultResult<null>> {
    return this.host.audited<null>(caller, async (success) => {
      const r = this.enabledPrimary(caller, "UpdatePrimaryRegion");
      if (!r.ok) return r;
      const config = r.value.multiRegion!;
      if (region === r.value.region) return fail("Validation", `${r.value.arn} is the primary key already: PrimaryRegion must be the Region of one of its replicas.`);
      if (!config.replicaRegions.includes(region)) return fail("NotFound", `${r.value.arn} has no replica key in ${region}.`);
      if (this.replicatingNow) return fail("InvalidState", `${r.value.arn} is being replicated (a ReplicateKey is in progress); retry once it is done.`);
      const handover: Handover = { to: region, version: config.version + 1, state: r.value.state };
      // Stored with the alarm that finishes or undoes the handover if this call does not.
      this.syncDue = Date.now() + SYNC_RETRY_MS;
      await this.host.save({ ...this.host.rec()!, state: "Updating", handover });
      try {
        this.host.faults.hit("handover-before-promote");
        const s = await this.sharedFor(this.host.rec()!, region, handover.version);
        const promoted = (await vaultStub(this.host.env, region, r.value.keyId).promote(
          { ...replicaCaller, audit: undefined },
          { ...s, primaryRegion: region, replicaRegions: [...s.replicaRegions.filter((x) => x !== region), r.value.region].sort() },
          caller.audit,
        )) as VaultResult<null>;
        if (!promoted.ok) {
          await this.endHandover(false);
          return { ...promoted, records: undefined };
        }
        this.host.faults.hit("handover-after-promote");
      } catch (e) {
        // The outcome is unknown: the key stays Updating until its alarm learns it (finishHandover).
        this.syncDue = Date.now() + SYNC_RETRY_MS;
        await this.host.scheduleAlarm(this.host.rec());
        throw e;
      }
      await this.endHandover(true, success());
      return ok(null);
    });
  }

  /** The handover ends: this key becomes the replica (`promoted`) or stays the primary, in the state it had. */
  private async endHandover(promoted: boolean, audit?: CloudTrailRecord[]): Promise<void> {
    const cur = this.host.rec()!;
    const h = cur.handover;
    if (!owesReplicas(cur)) this.syncDue = undefined;
    // A push from the new primary may have ended it already (multi-region.ts, applyShared).
    if (!h) return this.host.save(cur, audit);
    const { handover: _ended, ...rest } = cur;
    const m = cur.multiRegion!;
    await this.host.save({
      ...rest,
      state: h.state,
      ...(promoted ? { multiRegion: { primaryRegion: h.to, replicaRegions: [...m.replicaRegions.filter((x) => x !== h.to), cur.region].sort(), version: h.version } } : {}),
    }, audit);
  }

  /** Alarm: a handover a failed call left open is finished if the other key took the primary role, else undone. */
  async finishHandover(): Promise<void> {
    const rec = this.host.rec()!;
    const h = rec.handover!;
    try {
      const role = await vaultStub(this.host.env, h.to, rec.keyId).multiRegionRole(SKIP.replication);
      await this.endHandover(role !== undefined && role.primaryRegion === h.to && role.version >= h.version);
    } catch (e) {
      console.error(`handover of ${rec.arn} to ${h.to} still open: ${e instanceof Error ? e.message : String(e)}`);
      this.syncDue = Date.now() + SYNC_RETRY_MS;
    }
  }

  /**
   * UpdatePrimaryRegion, on the replica that becomes the primary: kms:UpdatePrimaryRegion on this
   * key's policy too, and the key Enabled. It takes the shared state (so it lacks nothing the old
   * primary had) and the primary role in one write, then pushes to every replica, the old
   * primary included. This Region records the UpdatePrimaryRegion too.
   */
  async promote(caller: VaultCaller, s: SharedState, draft?: AuditDraft): Promise<VaultResult<null>> {
    const r = this.host.access(caller, STATES.any);
    if (!r.ok) return r;
    const m = r.value.multiRegion;
    if (m && m.primaryRegion === r.value.region && m.version >= s.version) return ok(null);
    if (!m || !isReplica(r.value) || s.primaryRegion !== r.value.region) return fail("UnsupportedOperation", `${r.value.arn} is not a replica of this multi-Region key.`);
    if (!STATES.enabled(r.value.state)) return stateError(r.value);
    await this.host.underCurrentRoot(this.host.rec()!);
    const rec = this.host.rec()!;
    const next = applyShared(rec, s) ?? rec;
    if (!isPrimary(next)) return fail("Conflict", `${rec.arn} has a newer configuration than the request; retry.`);
    await this.host.save(next, draft ? [regionRecord(draft, rec.region, rec.arn)] : []);
    return ok(null);
  }

  /** Which Region this key knows as the primary, and its sync version (a primary's alarm, after a handover failed midway). */
  async multiRegionRole(_decided: typeof SKIP.replication): Promise<{ primaryRegion: string; version: number } | undefined> {
    const m = this.host.rec()?.multiRegion;
    return m ? { primaryRegion: m.primaryRegion, version: m.version } : undefined;
  }
}
