// Multi-Region keys (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html):
// one key ID in several Regions, each Region's key a key of its own (its own vault, policy,
// grants, aliases, tags, description and state) that shares with the others the key material,
// key spec, usage, origin and rotation settings. The primary key holds the shared properties and
// pushes them to its replicas, vault to vault, with the material re-wrapped by the primary under
// each replica Region's root key (docs/multi-region.md). This module holds the shared state, how
// a record is merged with the stored one, and what a primary still owes its replicas; the calls
// between vaults are replication.ts's.
import { newEventId, completeRecord, type AuditDraft, type CloudTrailRecord, type JsonObject } from "../audit/record.js";
import type { Permission } from "../authz/authorize.js";
import { keyArn } from "../kms/ids.js";
import type { KeyRecord, Material } from "./key-record.js";
import { allMaterialPresent } from "./imports.js";
import type { KeyState, MultiRegionConfiguration } from "./types.js";

/** A multi-Region key's Regions, as its record last knew them (every related key keeps one). */
export interface MultiRegionConfig {
  primaryRegion: string;
  /** Every replica's Region (sorted), a replica's own included. */
  replicaRegions: string[];
  /**
   * The sync version: the primary increments it with every change of what it shares, and a
   * replica holds the version of the last push it applied (pushes are ordered by it).
   */
  version: number;
}

/** A primary handing its role over (UpdatePrimaryRegion): stored while it is Updating, so its alarm can finish or undo it. */
export interface Handover {
  to: string;
  version: number;
  /** The state to return to. */
  state: KeyState;
}

/**
 * What a primary shares with a replica (one push): its Regions, rotation settings and every
 * version of its material wrapped under the replica Region's root key. Never plaintext material.
 */
export interface SharedState {
  version: number;
  primaryRegion: string;
  replicaRegions: string[];
  currentVersion: number;
  rotationEnabled: boolean;
  rotationPeriodDays?: number;
  nextRotation?: number;
  onDemandRotations: number;
  /** AWS_KMS origin: every version, wrapped for the receiving Region. EXTERNAL keys: none (each Region imports its own). */
  materials: Material[];
}

/** What a new replica is made of (ReplicateKey), besides the shared state. */
export interface ReplicaParams {
  shared: SharedState;
  keyId: string;
  account: string;
  /** The replica's Region (the receiving vault's). */
  region: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  description: string;
  tags: { TagKey: string; TagValue: string }[];
  policy?: string;
  /** The permission the lockout safety check asks the new policy for (absent: bypassed). */
  lockout?: Permission;
  /** The request's audit draft: the replica Region records the ReplicateKey too. */
  draft?: AuditDraft;
}

type Regional = Pick<KeyRecord, "region" | "multiRegion">;

export const isPrimary = (rec: Regional): boolean => rec.multiRegion !== undefined && rec.multiRegion.primaryRegion === rec.region;
export const isReplica = (rec: Regional): boolean => rec.multiRegion !== undefined && rec.multiRegion.primaryRegion !== rec.region;

/** A primary's new configuration: the first version, no replicas yet. */
export const newPrimary = (region: string): MultiRegionConfig => ({ primaryRegion: region, replicaRegions: [], version: 1 });

/** KeyMetadata's MultiRegion and MultiRegionConfiguration (https://docs.aws.amazon.com/kms/latest/APIReference/API_MultiRegionConfiguration.html). */
export function multiRegionMetadata(rec: Pick<KeyRecord, "region" | "account" | "keyId" | "multiRegion">): { MultiRegion: boolean; MultiRegionConfiguration?: MultiRegionConfiguration } {
  const m = rec.multiRegion;
  if (!m) return { MultiRegion: false };
  const key = (region: string) => ({ Arn: keyArn(region, rec.account, rec.keyId), Region: region });
  return {
    MultiRegion: true,
    MultiRegionConfiguration: {
      MultiRegionKeyType: m.primaryRegion === rec.region ? "PRIMARY" : "REPLICA",
      PrimaryKey: key(m.primaryRegion),
      ReplicaKeys: m.replicaRegions.map(key),
    },
  };
}

/** What of a record its replicas must see: a change to any of it is pushed. */
function fingerprint(rec: KeyRecord): string {
  const m = rec.multiRegion!;
  return JSON.stringify([
    m.primaryRegion, m.replicaRegions, rec.currentVersion, rec.rotationEnabled, rec.rotationPeriodDays ?? null, rec.nextRotation ?? null,
    rec.onDemandRotations, rec.materials.map((x) => x.id),
  ]);
}

/** The shared state of a primary's record, with `materials` already wrapped for the receiving Region. */
export function sharedState(rec: KeyRecord, materials: Material[]): SharedState {
  const m = rec.multiRegion!;
  return {
    version: m.version,
    primaryRegion: m.primaryRegion,
    replicaRegions: m.replicaRegions,
    currentVersion: rec.currentVersion,
    rotationEnabled: rec.rotationEnabled,
    ...(rec.rotationPeriodDays !== undefined ? { rotationPeriodDays: rec.rotationPeriodDays } : {}),
    ...(rec.nextRotation !== undefined ? { nextRotation: rec.nextRotation } : {}),
    onDemandRotations: rec.onDemandRotations,
    materials,
  };
}

/** Which material an EXTERNAL key is bound to, without the material: what a primary tells its replicas. */
export function materialStub(m: Material): Material {
  return {
    version: m.version, id: m.id, created: m.created, ...(m.rotationType ? { rotationType: m.rotationType } : {}),
    imported: { state: "PENDING_IMPORT", ...(m.imported?.pendingRotation ? { pendingRotation: true } : {}) },
  };
}

/**
 * An EXTERNAL replica's materials after a push: the primary's versions it lacks, as stubs (to be
 * imported); its own kept, following the primary's rotation (a version pending rotation there,
 * or no longer, is here too); versions only pending rotation here that the primary dropped, gone.
 */
function followStubs(base: Material[], stubs: Material[]): Material[] {
  const theirs = new Map(stubs.map((m) => [m.version, m]));
  const kept = base
    .filter((m) => theirs.has(m.version) || !m.imported?.pendingRotation)
    .map((m) => {
      const s = theirs.get(m.version);
      if (!s || m.id !== s.id) return m;
      const imported = { ...(m.imported ?? { state: "PENDING_IMPORT" as const }) };
      if (s.imported?.pendingRotation) imported.pendingRotation = true;
      else delete imported.pendingRotation;
      return { ...m, imported, ...(s.rotationType ? { rotationType: s.rotationType, created: s.created } : {}) };
    });
  const have = new Set(kept.map((m) => m.version));
  return [...kept, ...stubs.filter((m) => !have.has(m.version))].sort((a, b) => a.version - b.version);
}

/** Material versions of `extra` that `base` lacks, added (versions are never removed while the key exists). */
function unionMaterials(base: Material[], extra: Material[]): Material[] {
  const have = new Set(base.map((m) => m.version));
  const missing = extra.filter((m) => !have.has(m.version));
  return missing.length ? [...base, ...missing].sort((a, b) => a.version - b.version) : base;
}

/**
 * The record to store, from the stored one (`prev`) and the one a call computed (`next`), which
 * may have been computed before an await that let a push or a configuration change land:
 * - the configuration of the higher sync version wins (a tie: `next`'s); on a replica, the
 *   rotation settings and current version come with it (they are the primary's);
 * - material versions are never lost (AWS_KMS origin: the union by version);
 * - a primary's debts (`replicaSync`) are the stored ones, owed anew for every replica when what
 *   it shares changed (the version incremented), minus `acked` (region → version acknowledged).
 * `owed` is true when this write made new debts (the caller pushes).
 */
export function syncedRecord(prev: KeyRecord | undefined, next: KeyRecord, acked: Record<string, number> = {}): { rec: KeyRecord; owed: boolean } {
  if (!next.multiRegion || (prev && prev.keyId !== next.keyId)) return { rec: next, owed: false };
  let out: KeyRecord = next;
  if (prev?.multiRegion) {
    if (prev.multiRegion.version > next.multiRegion.version) {
      out = { ...out, multiRegion: prev.multiRegion };
      if (isReplica(prev)) out = { ...out, ...rotationOf(prev), currentVersion: prev.currentVersion };
    }
    if (prev.origin === "AWS_KMS") {
      const materials = unionMaterials(out.materials, prev.materials);
      if (materials !== out.materials) out = { ...out, materials, currentVersion: Math.max(out.currentVersion, prev.currentVersion) };
    }
  }
  if (!isPrimary(out)) {
    if (out.replicaSync === undefined) return { rec: out, owed: false };
    const { replicaSync: _none, ...rest } = out;
    return { rec: rest as KeyRecord, owed: false };
  }
  const debts: Record<string, number> = { ...((prev ? prev.replicaSync : next.replicaSync) ?? {}) };
  let owed = false;
  const changed = !prev?.multiRegion || !isPrimary(prev) || fingerprint(prev) !== fingerprint(out);
  if (changed && out.multiRegion!.replicaRegions.length) {
    const version = Math.max(out.multiRegion!.version, prev?.multiRegion?.version ?? 0) + 1;
    out = { ...out, multiRegion: { ...out.multiRegion!, version } };
    for (const r of out.multiRegion!.replicaRegions) debts[r] = version;
    owed = true;
  }
  for (const [region, version] of Object.entries(acked)) if (debts[region] !== undefined && debts[region] <= version) delete debts[region];
  // A Region no longer in the configuration is owed nothing.
  for (const region of Object.keys(debts)) if (!out.multiRegion!.replicaRegions.includes(region)) delete debts[region];
  if (Object.keys(debts).length) return { rec: { ...out, replicaSync: debts }, owed };
  if (out.replicaSync === undefined) return { rec: out, owed };
  const { replicaSync: _paid, ...rest } = out;
  return { rec: rest as KeyRecord, owed };
}

const rotationOf = (r: Pick<KeyRecord, "rotationEnabled" | "rotationPeriodDays" | "nextRotation" | "onDemandRotations">) => ({
  rotationEnabled: r.rotationEnabled,
  rotationPeriodDays: r.rotationPeriodDays,
  nextRotation: r.nextRotation,
  onDemandRotations: r.onDemandRotations,
});

/** Whether a primary still owes a replica a push. */
export const owesReplicas = (rec: KeyRecord | undefined): boolean => rec !== undefined && isPrimary(rec) && Object.keys(rec.replicaSync ?? {}).length > 0;

/**
 * A push applied to a related key's record (a replica, or a primary handing over its role), or
 * undefined if it brings nothing new. Material versions are added by version (a push is
 * idempotent); the configuration and rotation settings are taken from a push at least as new as
 * the record. A primary that receives a newer configuration naming another primary has been
 * handed over: its handover ends and it takes back the state it had.
 */
export function applyShared(rec: KeyRecord, s: SharedState): KeyRecord | undefined {
  const mine = rec.multiRegion!;
  let out: KeyRecord = rec;
  if (rec.origin === "AWS_KMS") {
    const materials = unionMaterials(rec.materials, s.materials);
    if (materials !== rec.materials) out = { ...out, materials };
  }
  if (s.version >= mine.version) {
    if (rec.origin === "EXTERNAL" && s.primaryRegion !== rec.region) out = { ...out, materials: followStubs(rec.materials, s.materials) };
    out = {
      ...out,
      multiRegion: { primaryRegion: s.primaryRegion, replicaRegions: [...s.replicaRegions].sort(), version: s.version },
      ...rotationOf(s),
      ...(out.materials.some((m) => m.version === s.currentVersion) ? { currentVersion: s.currentVersion } : {}),
    };
    // Bound to material it does not hold (the primary rotated to material not imported here yet): unusable until it is.
    if (rec.origin === "EXTERNAL" && out.state === "Enabled" && !allMaterialPresent(out)) out = { ...out, state: "PendingImport" };
    if (out.rotationPeriodDays === undefined) delete out.rotationPeriodDays;
    if (out.nextRotation === undefined) delete out.nextRotation;
    if (out.handover && s.primaryRegion !== rec.region) {
      const { handover, ...rest } = out;
      out = { ...rest, state: handover.state } as KeyRecord;
    }
  }
  return out === rec || JSON.stringify(applied(out)) === JSON.stringify(applied(rec)) ? undefined : out;
}

/** What a push can change. */
const applied = (r: KeyRecord) => [r.multiRegion, r.currentVersion, rotationOf(r), r.materials.map((m) => [m.version, m.imported?.pendingRotation ?? false]), r.state, r.handover ?? null];

/** A record without a replica's Region (it was deleted); a primary waiting for its replicas' deletion starts its own waiting period when the last is gone. */
export function withoutReplica(rec: KeyRecord, region: string, now: number, dayMs: number): KeyRecord {
  const m = rec.multiRegion!;
  let out: KeyRecord = { ...rec, multiRegion: { ...m, replicaRegions: m.replicaRegions.filter((r) => r !== region) } };
  if (out.state === "PendingReplicaDeletion" && out.multiRegion!.replicaRegions.length === 0) {
    const { pendingWindowDays, ...rest } = out;
    out = { ...rest, state: "PendingDeletion", deletionDate: now + (pendingWindowDays ?? 30) * dayMs } as KeyRecord;
  }
  return out;
}

/**
 * The record a Region keeps of a request that concerns its key but was made in another Region
 * (ReplicateKey, UpdatePrimaryRegion are recorded in the primary's and the replica's Region):
 * the request's record, in this Region, naming this Region's key.
 */
export function regionRecord(draft: AuditDraft, region: string, arn: string, responseElements: JsonObject | null = null): CloudTrailRecord {
  return { ...completeRecord(draft, { responseElements, keyArn: arn }), awsRegion: region, eventID: newEventId() };
}
