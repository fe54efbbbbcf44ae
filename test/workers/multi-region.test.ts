// Multi-Region keys through the real Worker and vaults (SELF.fetch), in several Regions: what is
// shared (material, rotation, key spec) and what each Region's key keeps (policy, tags,
// description, aliases, state), ReplicateKey and UpdatePrimaryRegion with their errors and
// permissions, deletion (PendingReplicaDeletion), pushes retried by the alarm, CloudTrail records
// in both Regions, and key material never in the clear. Expectations come from AWS's documentation:
//   https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
//   https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
//   https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-auth.html
//   https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-delete.html
import { describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import type { KeyRecord } from "../../src/vault/key-record.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { deriveRootKey, rootCheck } from "../../src/vault/root-key.js";
import { MaterialStore } from "../../src/vault/material.js";
import { SKIP } from "../../src/vault/types.js";
import { aesKeyUnwrapPad, AuthenticationError } from "../../src/crypto/index.js";
import { ACCOUNT, admin, b64, call, doc, newAccount, newUser, ok, text, unb64, type KmsResponse } from "./kms.js";
import { containsSecret } from "./leaks.js";
import { wrapMaterial } from "./wrap-material.js";

const env = testEnv as unknown as Env;
const DAY = 86_400_000;
const A = "us-east-1";
const B = "us-west-2";
const C = "eu-west-1";
const UNSERVED = "sa-east-1";

type Md = Record<string, unknown> & {
  KeyId: string; Arn: string; KeyState: string;
  MultiRegion: boolean;
  MultiRegionConfiguration?: { MultiRegionKeyType: string; PrimaryKey: { Arn: string; Region: string }; ReplicaKeys: { Arn: string; Region: string }[] };
};
type Creds = { accessKeyId: string; secretAccessKey: string };

const arnIn = (region: string, keyId: string, account = ACCOUNT) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
const at = (region: string, as: Partial<Creds> = {}) => ({ region, ...as });
const vault = (region: string, keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName(region, keyId)));
const stored = (region: string, keyId: string) => runInDurableObject(vault(region, keyId), async (_i, state) => state.storage.get<KeyRecord>("key"));
const advance = (region: string, keyId: string, ms: number) => runInDurableObject(vault(region, keyId), (i: KeyVault) => { i.clockOffsetMs += ms; });
const materialVersion = (blob: string) => new DataView(unb64(blob).buffer).getUint32(18);
const outcome = (r: KmsResponse) => (r.status === 200 ? "ok" : String(r.body.__type));

async function mrk(input: Record<string, unknown> = {}, as: Partial<Creds> = {}): Promise<Md> {
  return (await ok<{ KeyMetadata: Md }>("CreateKey", { MultiRegion: true, ...input }, as)).KeyMetadata;
}
async function replicate(keyId: string, region: string, input: Record<string, unknown> = {}, as: Partial<Creds> = {}) {
  return ok<{ ReplicaKeyMetadata: Md; ReplicaPolicy: string; ReplicaTags: { TagKey: string; TagValue: string }[] }>("ReplicateKey", { KeyId: keyId, ReplicaRegion: region, ...input }, as);
}
const describeIn = async (region: string, keyId: string) => (await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: keyId }, at(region))).KeyMetadata;
const encryptIn = async (region: string, keyId: string, plaintext: string) =>
  (await ok<{ CiphertextBlob: string; KeyId: string }>("Encrypt", { KeyId: keyId, Plaintext: b64(plaintext), EncryptionContext: { purpose: "mrk" } }, at(region)));
const decryptIn = async (region: string, blob: string) =>
  text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: blob, EncryptionContext: { purpose: "mrk" } }, at(region))).Plaintext);

/** A symmetric multi-Region key in A with replicas in B and C. */
async function family(): Promise<Md> {
  const k = await mrk();
  await replicate(k.KeyId, B);
  await replicate(k.KeyId, C);
  return k;
}

describe("CreateKey MultiRegion", () => {
  it("makes an mrk- primary key of any spec, whose metadata names its configuration", async () => {
    for (const [spec, usage] of [["SYMMETRIC_DEFAULT", undefined], ["ECC_NIST_P256", "SIGN_VERIFY"], ["HMAC_256", "GENERATE_VERIFY_MAC"], ["RSA_2048", "ENCRYPT_DECRYPT"]]) {
      const k = await mrk({ KeySpec: spec, ...(usage ? { KeyUsage: usage } : {}) });
      expect(k.KeyId, spec).toMatch(/^mrk-[0-9a-f]{32}$/);
      expect(k).toMatchObject({ KeySpec: spec, MultiRegion: true, KeyState: "Enabled", Origin: "AWS_KMS" });
      expect(k.MultiRegionConfiguration).toEqual({ MultiRegionKeyType: "PRIMARY", PrimaryKey: { Arn: arnIn(A, k.KeyId), Region: A }, ReplicaKeys: [] });
      expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration).toEqual(k.MultiRegionConfiguration);
    }
    const single = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    expect(single.KeyId).toMatch(/^[0-9a-f]{8}-/);
    expect(single.MultiRegion).toBe(false);
    expect(single.MultiRegionConfiguration).toBeUndefined();
  });
});

describe("ReplicateKey", () => {
  it("a key replicated to two Regions: each Region encrypts and every other decrypts; all describe one configuration", async () => {
    const k = await mrk({ Description: "primary" });
    const rb = await replicate(k.KeyId, B, { Description: "in B", Tags: [{ TagKey: "team", TagValue: "b" }] });
    expect(rb.ReplicaKeyMetadata).toMatchObject({
      KeyId: k.KeyId, Arn: arnIn(B, k.KeyId), KeyState: "Enabled", Enabled: true, Description: "in B", KeySpec: "SYMMETRIC_DEFAULT",
      KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", MultiRegion: true, CurrentKeyMaterialId: k.CurrentKeyMaterialId,
    });
    expect(rb.ReplicaKeyMetadata.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: "REPLICA", PrimaryKey: { Arn: k.Arn, Region: A }, ReplicaKeys: [{ Arn: arnIn(B, k.KeyId), Region: B }],
    });
    expect(rb.ReplicaTags).toEqual([{ TagKey: "team", TagValue: "b" }]);
    expect(JSON.parse(rb.ReplicaPolicy)).toMatchObject({ Statement: [{ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*" }] });
    await replicate(k.KeyId, C);
    const replicaKeys = [{ Arn: arnIn(C, k.KeyId), Region: C }, { Arn: arnIn(B, k.KeyId), Region: B }];
    for (const [region, type] of [[A, "PRIMARY"], [B, "REPLICA"], [C, "REPLICA"]]) {
      const md = await describeIn(region, k.KeyId);
      expect(md.Arn).toBe(arnIn(region, k.KeyId));
      expect(md.CurrentKeyMaterialId, region).toBe(k.CurrentKeyMaterialId);
      expect(md.MultiRegionConfiguration, region).toEqual({ MultiRegionKeyType: type, PrimaryKey: { Arn: k.Arn, Region: A }, ReplicaKeys: replicaKeys });
    }
    // Each Region's ciphertext decrypts in every other (same key ID, same material versions).
    for (const from of [A, B, C]) {
      const e = await encryptIn(from, k.KeyId, `made in ${from}`);
      expect(e.KeyId).toBe(arnIn(from, k.KeyId));
      for (const to of [A, B, C]) expect(await decryptIn(to, e.CiphertextBlob), `${from} → ${to}`).toBe(`made in ${from}`);
    }
    // The replica is listed in its Region, by its Region's ARN.
    const listed = await ok<{ Keys: { KeyId: string; KeyArn: string }[] }>("ListKeys", { Limit: 1000 }, at(B));
    expect(listed.Keys).toContainEqual({ KeyId: k.KeyId, KeyArn: arnIn(B, k.KeyId) });
  });

  it("asymmetric and HMAC multi-Region keys: signatures and MACs made in one Region verify in another", async () => {
    const ecc = await mrk({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await replicate(ecc.KeyId, B);
    const message = b64("sign me in one Region, verify in another");
    for (const [from, to] of [[A, B], [B, A]]) {
      const sig = await ok<{ Signature: string }>("Sign", { KeyId: ecc.KeyId, Message: message, SigningAlgorithm: "ECDSA_SHA_256" }, at(from));
      const v = await ok<{ SignatureValid: boolean; KeyId: string }>("Verify", { KeyId: ecc.KeyId, Message: message, Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256" }, at(to));
      expect(v).toMatchObject({ SignatureValid: true, KeyId: arnIn(to, ecc.KeyId) });
    }
    const pubA = (await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: ecc.KeyId }, at(A))).PublicKey;
    const pubB = (await ok<{ PublicKey: string }>("GetPublicKey", { KeyId: ecc.KeyId }, at(B))).PublicKey;
    expect(pubB).toBe(pubA);
    const hmac = await mrk({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    await replicate(hmac.KeyId, C);
    const mac = await ok<{ Mac: string }>("GenerateMac", { KeyId: hmac.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_256" }, at(C));
    expect((await ok<{ MacValid: boolean }>("VerifyMac", { KeyId: hmac.KeyId, Message: message, Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256" }, at(A))).MacValid).toBe(true);
    const macA = await ok<{ Mac: string }>("GenerateMac", { KeyId: hmac.KeyId, Message: message, MacAlgorithm: "HMAC_SHA_256" }, at(A));
    expect(macA.Mac).toBe(mac.Mac);
  });

  it("refuses: an unserved Region, the primary's Region, a Region that has the replica, a replica, a single-Region key, a primary not Enabled", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const single = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    const cases: [string, Record<string, unknown>, Partial<Creds> & { region?: string }, string][] = [
      ["unserved Region", { KeyId: k.KeyId, ReplicaRegion: UNSERVED }, {}, "UnsupportedOperationException"],
      ["the primary's Region", { KeyId: k.KeyId, ReplicaRegion: A }, {}, "ValidationException"],
      ["malformed Region", { KeyId: k.KeyId, ReplicaRegion: "us_east_1" }, {}, "ValidationException"],
      ["a Region that has the replica", { KeyId: k.KeyId, ReplicaRegion: B }, {}, "AlreadyExistsException"],
      ["from a replica", { KeyId: k.KeyId, ReplicaRegion: C }, at(B), "UnsupportedOperationException"],
      ["a single-Region key", { KeyId: single.KeyId, ReplicaRegion: B }, {}, "UnsupportedOperationException"],
      ["an unknown key", { KeyId: "mrk-00000000000000000000000000000000", ReplicaRegion: B }, {}, "NotFoundException"],
      ["an alias", { KeyId: "alias/anything", ReplicaRegion: B }, {}, "NotFoundException"],
    ];
    for (const [what, input, opts, want] of cases) expect(outcome(await call("ReplicateKey", input, opts)), what).toBe(want);
    await ok("DisableKey", { KeyId: k.KeyId });
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }))).toBe("DisabledException");
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }))).toBe("KMSInvalidStateException");
    // None of the refusals made a key in C.
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(C)))).toBe("NotFoundException");
  });

  it("concurrent ReplicateKey calls into one Region make one replica; the others are AlreadyExists", async () => {
    const k = await mrk();
    const rs = await Promise.all(Array.from({ length: 4 }, () => call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C })));
    expect(rs.map(outcome).sort()).toEqual(["AlreadyExistsException", "AlreadyExistsException", "AlreadyExistsException", "ok"]);
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration!.ReplicaKeys).toEqual([{ Arn: arnIn(C, k.KeyId), Region: C }]);
    const keys = await ok<{ Keys: { KeyId: string }[] }>("ListKeys", { Limit: 1000 }, at(C));
    expect(keys.Keys.filter((x) => x.KeyId === k.KeyId)).toHaveLength(1);
  });

  it("policy, tags, description, aliases and grants are each Region's own", async () => {
    const k = await mrk({ Description: "primary", Tags: [{ TagKey: "env", TagValue: "a" }] });
    const policy = doc(
      { Sid: "root", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Sid: "replica only", Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:GenerateDataKey", Resource: "*" },
    );
    const rb = await replicate(k.KeyId, B, { Description: "replica", Tags: [{ TagKey: "env", TagValue: "b" }], Policy: policy });
    expect(rb.ReplicaPolicy).toBe(policy);
    expect((await ok<{ Policy: string }>("GetKeyPolicy", { KeyId: k.KeyId }, at(B))).Policy).toBe(policy);
    expect((await ok<{ Policy: string }>("GetKeyPolicy", { KeyId: k.KeyId }, at(A))).Policy).not.toBe(policy);
    // The replica's policy governs the replica only.
    expect(outcome(await call("GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" }, at(B)))).toBe("AccessDeniedException");
    expect(outcome(await call("GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" }, at(A)))).toBe("ok");
    await ok("UpdateKeyDescription", { KeyId: k.KeyId, Description: "changed in B" }, at(B));
    await ok("TagResource", { KeyId: k.KeyId, Tags: [{ TagKey: "only", TagValue: "a" }] }, at(A));
    expect((await describeIn(A, k.KeyId)).Description).toBe("primary");
    expect((await describeIn(B, k.KeyId)).Description).toBe("changed in B");
    const tags = async (region: string) => (await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: k.KeyId }, at(region))).Tags;
    expect(await tags(A)).toEqual([{ TagKey: "env", TagValue: "a" }, { TagKey: "only", TagValue: "a" }]);
    expect(await tags(B)).toEqual([{ TagKey: "env", TagValue: "b" }]);
    const alias = `alias/mrk-${k.KeyId.slice(4, 12)}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: k.KeyId }, at(B));
    expect((await ok<{ KeyMetadata: Md }>("DescribeKey", { KeyId: alias }, at(B))).KeyMetadata.Arn).toBe(arnIn(B, k.KeyId));
    expect(outcome(await call("DescribeKey", { KeyId: alias }, at(A)))).toBe("NotFoundException");
    const grant = await ok<{ GrantId: string }>("CreateGrant", { KeyId: k.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ["Encrypt"] }, at(A));
    const grantsIn = async (region: string) => (await ok<{ Grants: { GrantId: string }[] }>("ListGrants", { KeyId: k.KeyId }, at(region))).Grants.map((g) => g.GrantId);
    expect(await grantsIn(A)).toEqual([grant.GrantId]);
    expect(await grantsIn(B)).toEqual([]);
    // Disabling one Region's key leaves the others Enabled.
    await ok("DisableKey", { KeyId: k.KeyId }, at(B));
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
    expect(outcome(await call("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") }, at(B)))).toBe("DisabledException");
  });

  it("the replica's policy passes the lockout safety check unless bypassed; a refused replica leaves nothing behind", async () => {
    const k = await mrk();
    const lockout = doc({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:Encrypt", Resource: "*" });
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B, Policy: lockout }))).toBe("MalformedPolicyDocumentException");
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B, Policy: "{not json" }))).toBe("MalformedPolicyDocumentException");
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(B)))).toBe("NotFoundException");
    expect((await ok<{ Keys: { KeyId: string }[] }>("ListKeys", { Limit: 1000 }, at(B))).Keys.map((x) => x.KeyId)).not.toContain(k.KeyId);
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration!.ReplicaKeys).toEqual([]);
    const r = await replicate(k.KeyId, B, { Policy: lockout, BypassPolicyLockoutSafetyCheck: true });
    expect(r.ReplicaPolicy).toBe(lockout);
  });
});

describe("rotation follows the primary", () => {
  it("on demand and automatic (the primary's alarm) rotations reach every replica; every version decrypts everywhere", async () => {
    const k = await family();
    const v1 = (await encryptIn(B, k.KeyId, "version one")).CiphertextBlob;
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
    const v2 = (await encryptIn(B, k.KeyId, "version two")).CiphertextBlob;
    expect([materialVersion(v1), materialVersion(v2)]).toEqual([1, 2]);
    for (const region of [A, C]) expect(await decryptIn(region, v2)).toBe("version two");
    const rotations = async (region: string) => (await ok<{ Rotations: { KeyMaterialId: string; RotationType: string; KeyId: string }[] }>("ListKeyRotations", { KeyId: k.KeyId }, at(region))).Rotations;
    const inA = await rotations(A);
    const inB = await rotations(B);
    expect(inB.map((x) => x.RotationType)).toEqual(["ON_DEMAND"]);
    expect(inB[0].KeyMaterialId).toBe(inA[0].KeyMaterialId);
    expect(inB[0].KeyId).toBe(arnIn(B, k.KeyId));
    // Rotation is managed on the primary: a replica refuses to change it, and shows the primary's setting.
    for (const op of ["EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"]) {
      expect(outcome(await call(op, { KeyId: k.KeyId }, at(C))), op).toBe("UnsupportedOperationException");
    }
    await ok("EnableKeyRotation", { KeyId: k.KeyId, RotationPeriodInDays: 90 });
    const statusA = await ok<{ KeyRotationEnabled: boolean; RotationPeriodInDays: number; NextRotationDate: number }>("GetKeyRotationStatus", { KeyId: k.KeyId });
    for (const region of [B, C]) {
      expect(await ok("GetKeyRotationStatus", { KeyId: k.KeyId }, at(region)), region).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90, NextRotationDate: statusA.NextRotationDate });
    }
    // A replica never rotates on its own, whatever its clock says.
    await advance(C, k.KeyId, 200 * DAY);
    await runDurableObjectAlarm(vault(C, k.KeyId));
    expect(await rotations(C)).toHaveLength(1);
    // The primary's automatic rotation reaches both replicas.
    await advance(A, k.KeyId, 91 * DAY);
    expect(await runDurableObjectAlarm(vault(A, k.KeyId))).toBe(true);
    for (const region of [B, C]) expect((await rotations(region)).map((x) => x.RotationType), region).toEqual(["ON_DEMAND", "AUTOMATIC"]);
    const v3 = (await encryptIn(C, k.KeyId, "version three")).CiphertextBlob;
    expect(materialVersion(v3)).toBe(3);
    for (const region of [A, B, C]) {
      for (const [blob, want] of [[v1, "version one"], [v2, "version two"], [v3, "version three"]]) expect(await decryptIn(region, blob), region).toBe(want);
    }
    await ok("DisableKeyRotation", { KeyId: k.KeyId });
    expect((await ok<{ KeyRotationEnabled: boolean }>("GetKeyRotationStatus", { KeyId: k.KeyId }, at(B))).KeyRotationEnabled).toBe(false);
  });

  it("a push that fails is stored with the rotation and retried by the alarm; meanwhile the replica lacks only the new material", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const old = (await encryptIn(A, k.KeyId, "before")).CiphertextBlob;
    await runInDurableObject(vault(A, k.KeyId), (i: KeyVault) => i.faults.arm("replica-push"));
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
    // The debt is in the primary's storage, written with the rotation.
    const owed = await stored(A, k.KeyId);
    expect(owed!.currentVersion).toBe(2);
    expect(Object.keys(owed!.replicaSync ?? {})).toEqual([B]);
    const fresh = (await encryptIn(A, k.KeyId, "after")).CiphertextBlob;
    expect(materialVersion(fresh)).toBe(2);
    expect(outcome(await call("Decrypt", { CiphertextBlob: fresh, EncryptionContext: { purpose: "mrk" } }, at(B)))).toBe("InvalidCiphertextException");
    expect(await decryptIn(B, old)).toBe("before");
    const lagging = (await encryptIn(B, k.KeyId, "from the lagging replica")).CiphertextBlob;
    expect(materialVersion(lagging)).toBe(1);
    expect(await decryptIn(A, lagging)).toBe("from the lagging replica");
    // The alarm pushes again, and the replica acknowledges.
    await runDurableObjectAlarm(vault(A, k.KeyId));
    expect(await decryptIn(B, fresh)).toBe("after");
    expect(Object.keys((await stored(A, k.KeyId))!.replicaSync ?? {})).toEqual([]);
    expect((await stored(B, k.KeyId))!.currentVersion).toBe(2);
  });
});

describe("UpdatePrimaryRegion", () => {
  it("swaps the roles; afterwards rotation is managed by the new primary and reaches the old one", async () => {
    const k = await family();
    const before = (await encryptIn(A, k.KeyId, "before the swap")).CiphertextBlob;
    expect(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B })).toMatchObject({ status: 200 });
    // ReplicaKeys are listed by Region name.
    const replicaKeys = [{ Arn: arnIn(C, k.KeyId), Region: C }, { Arn: arnIn(A, k.KeyId), Region: A }];
    for (const [region, type] of [[A, "REPLICA"], [B, "PRIMARY"], [C, "REPLICA"]]) {
      const md = await describeIn(region, k.KeyId);
      expect(md.KeyState, region).toBe("Enabled");
      expect(md.MultiRegionConfiguration, region).toEqual({ MultiRegionKeyType: type, PrimaryKey: { Arn: arnIn(B, k.KeyId), Region: B }, ReplicaKeys: replicaKeys });
    }
    // Neither key is left Updating, nor with a handover.
    for (const region of [A, B]) {
      const rec = (await stored(region, k.KeyId))!;
      expect(rec.state).toBe("Enabled");
      expect(rec.handover).toBeUndefined();
    }
    expect(outcome(await call("RotateKeyOnDemand", { KeyId: k.KeyId }, at(A)))).toBe("UnsupportedOperationException");
    expect(outcome(await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: "ap-southeast-2" }, at(A)))).toBe("UnsupportedOperationException");
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(B));
    const after = (await encryptIn(A, k.KeyId, "after the swap")).CiphertextBlob;
    expect(materialVersion(after)).toBe(2);
    for (const region of [A, B, C]) {
      expect(await decryptIn(region, before)).toBe("before the swap");
      expect(await decryptIn(region, after)).toBe("after the swap");
    }
    // The new primary replicates, and its replicas learn of it.
    await replicate(k.KeyId, "ap-southeast-2", {}, at(B));
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration!.ReplicaKeys.map((x) => x.Region)).toEqual(["ap-southeast-2", C, A]);
    // ...and the roles can go back.
    await ok("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: A }, at(B));
    expect((await describeIn(C, k.KeyId)).MultiRegionConfiguration!.PrimaryKey.Region).toBe(A);
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(A));
    expect(materialVersion((await encryptIn("ap-southeast-2", k.KeyId, "v3")).CiphertextBlob)).toBe(3);
  });

  it("a handover a crash interrupts leaves the primary Updating; its alarm undoes it, or finishes it if the replica took the role", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const role = async (region: string) => (await describeIn(region, k.KeyId)).MultiRegionConfiguration!.MultiRegionKeyType;
    // Dies before the replica is asked: undone.
    await runInDurableObject(vault(A, k.KeyId), (i: KeyVault) => i.faults.arm("handover-before-promote"));
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("KMSInternalException");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Updating");
    expect((await stored(A, k.KeyId))!.handover).toMatchObject({ to: B, state: "Enabled" });
    expect(outcome(await call("ScheduleKeyDeletion", { KeyId: k.KeyId }))).toBe("KMSInvalidStateException");
    await runDurableObjectAlarm(vault(A, k.KeyId));
    expect([(await describeIn(A, k.KeyId)).KeyState, await role(A), await role(B)]).toEqual(["Enabled", "PRIMARY", "REPLICA"]);
    expect((await stored(A, k.KeyId))!.handover).toBeUndefined();
    // Dies after the replica took the role (and before hearing from it): finished.
    await runInDurableObject(vault(A, k.KeyId), (i: KeyVault) => i.faults.arm("handover-after-promote"));
    await runInDurableObject(vault(B, k.KeyId), (i: KeyVault) => i.faults.arm("replica-push", 10));
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("KMSInternalException");
    expect([(await describeIn(A, k.KeyId)).KeyState, await role(B)]).toEqual(["Updating", "PRIMARY"]);
    await runDurableObjectAlarm(vault(A, k.KeyId));
    expect([(await describeIn(A, k.KeyId)).KeyState, await role(A)]).toEqual(["Enabled", "REPLICA"]);
    await runInDurableObject(vault(B, k.KeyId), (i: KeyVault) => i.faults.disarm());
    await runDurableObjectAlarm(vault(B, k.KeyId));
    expect(Object.keys((await stored(B, k.KeyId))!.replicaSync ?? {})).toEqual([]);
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(B));
    expect(materialVersion((await encryptIn(A, k.KeyId, "after")).CiphertextBlob)).toBe(2);
  });

  it("refuses: a Region without a replica, an unserved Region, the primary's own Region, a replica, a disabled primary", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const cases: [string, Record<string, unknown>, { region?: string }, string][] = [
      ["no replica there", { KeyId: k.KeyId, PrimaryRegion: C }, {}, "NotFoundException"],
      ["unserved", { KeyId: k.KeyId, PrimaryRegion: UNSERVED }, {}, "UnsupportedOperationException"],
      ["own Region", { KeyId: k.KeyId, PrimaryRegion: A }, {}, "ValidationException"],
      ["on the replica", { KeyId: k.KeyId, PrimaryRegion: C }, at(B), "UnsupportedOperationException"],
      ["malformed", { KeyId: k.KeyId, PrimaryRegion: "west" }, {}, "ValidationException"],
    ];
    for (const [what, input, opts, want] of cases) expect(outcome(await call("UpdatePrimaryRegion", input, opts)), what).toBe(want);
    // The missing key named is the one in PrimaryRegion, not the primary (which exists).
    expect((await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: C })).body.message).toBe(`Key '${k.Arn.replace(`:${A}:`, `:${C}:`)}' does not exist`);
    await ok("DisableKey", { KeyId: k.KeyId });
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("DisabledException");
    await ok("EnableKey", { KeyId: k.KeyId });
    await ok("DisableKey", { KeyId: k.KeyId }, at(B));
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("DisabledException");
    // Refused: the primary is still the primary, Enabled.
    expect(await describeIn(A, k.KeyId)).toMatchObject({ KeyState: "Enabled", MultiRegionConfiguration: { MultiRegionKeyType: "PRIMARY" } });
    expect((await stored(A, k.KeyId))!.handover).toBeUndefined();
  });
});

describe("deletion", () => {
  it("a primary with replicas waits in PendingReplicaDeletion; the last replica's deletion starts its waiting period; CancelKeyDeletion → Disabled", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const scheduled = await ok<Record<string, unknown>>("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(scheduled).toEqual({ KeyId: k.Arn, KeyState: "PendingReplicaDeletion", PendingWindowInDays: 7 });
    const md = await describeIn(A, k.KeyId);
    expect(md).toMatchObject({ KeyState: "PendingReplicaDeletion", Enabled: false, PendingDeletionWindowInDays: 7 });
    expect(md.DeletionDate).toBeUndefined();
    for (const [op, input] of [["Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") }], ["GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" }], ["EnableKey", { KeyId: k.KeyId }],
      ["ScheduleKeyDeletion", { KeyId: k.KeyId }], ["TagResource", { KeyId: k.KeyId, Tags: [{ TagKey: "a", TagValue: "b" }] }], ["ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }],
      ["CreateAlias", { AliasName: `alias/prd-${k.KeyId.slice(4, 14)}`, TargetKeyId: k.KeyId }]] as const) {
      expect(outcome(await call(op, input)), op).toBe("KMSInvalidStateException");
    }
    expect((await ok<{ KeyRotationEnabled: boolean }>("GetKeyRotationStatus", { KeyId: k.KeyId })).KeyRotationEnabled).toBe(false);
    // The replica is not affected.
    expect((await describeIn(B, k.KeyId)).KeyState).toBe("Enabled");
    expect(await ok("CancelKeyDeletion", { KeyId: k.KeyId })).toEqual({ KeyId: k.Arn });
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Disabled");
    await ok("EnableKey", { KeyId: k.KeyId });
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 9 });
    // The replica's own deletion, at the end of its waiting period, tells the primary.
    const replicaDeletion = await ok<{ KeyState: string; DeletionDate: number }>("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 }, at(B));
    expect(replicaDeletion.KeyState).toBe("PendingDeletion");
    expect(replicaDeletion.DeletionDate).toBeGreaterThan(Date.now() / 1000);
    await advance(B, k.KeyId, 8 * DAY);
    expect(await runDurableObjectAlarm(vault(B, k.KeyId))).toBe(true);
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(B)))).toBe("NotFoundException");
    expect((await ok<{ Keys: { KeyId: string }[] }>("ListKeys", { Limit: 1000 }, at(B))).Keys.map((x) => x.KeyId)).not.toContain(k.KeyId);
    const primary = await describeIn(A, k.KeyId);
    expect(primary.KeyState).toBe("PendingDeletion");
    expect(primary.PendingDeletionWindowInDays).toBeUndefined();
    expect(primary.MultiRegionConfiguration).toEqual({ MultiRegionKeyType: "PRIMARY", PrimaryKey: { Arn: k.Arn, Region: A }, ReplicaKeys: [] });
    const days = ((primary.DeletionDate as number) * 1000 - Date.now()) / DAY;
    expect(days).toBeGreaterThan(8.9);
    expect(days).toBeLessThan(9.1);
    await advance(A, k.KeyId, 10 * DAY);
    expect(await runDurableObjectAlarm(vault(A, k.KeyId))).toBe(true);
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }))).toBe("NotFoundException");
  });

  it("a primary without replicas is deleted as any key; a primary whose replicas were all deleted earlier too", async () => {
    const k = await mrk();
    const r = await ok<Record<string, unknown>>("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(r).toMatchObject({ KeyState: "PendingDeletion", PendingWindowInDays: 7 });
    expect(typeof r.DeletionDate).toBe("number");
  });
});

describe("authorization", () => {
  const allow = (...actions: string[]) => ({ Effect: "Allow", Action: actions, Resource: "*" });

  it("kms:ReplicateKey on the primary, kms:CreateKey (and kms:TagResource with Tags) in the replica Region, each through the authorizer", async () => {
    const k = await mrk();
    const inB = { StringEquals: { "aws:RequestedRegion": B } };
    const users = {
      noCreateKey: await newUser([allow("kms:ReplicateKey", "kms:DescribeKey")]),
      createKeyInBOnly: await newUser([allow("kms:ReplicateKey"), { ...allow("kms:CreateKey"), Condition: inB }]),
      noReplicateKey: await newUser([allow("kms:CreateKey", "kms:DescribeKey")]),
      noTagResource: await newUser([allow("kms:ReplicateKey", "kms:CreateKey")]),
      notToC: await newUser([allow("kms:ReplicateKey", "kms:CreateKey", "kms:TagResource"), { Effect: "Deny", Action: "kms:ReplicateKey", Resource: "*", Condition: { StringEquals: { "kms:ReplicaRegion": C } } }]),
    };
    const rows: [string, Creds, Record<string, unknown>, string, string?][] = [
      ["no kms:CreateKey", users.noCreateKey, { ReplicaRegion: B }, "AccessDeniedException", "kms:CreateKey"],
      ["kms:CreateKey only in another Region", users.createKeyInBOnly, { ReplicaRegion: C }, "AccessDeniedException", "kms:CreateKey"],
      ["no kms:ReplicateKey", users.noReplicateKey, { ReplicaRegion: C }, "AccessDeniedException", "kms:ReplicateKey"],
      ["Tags without kms:TagResource", users.noTagResource, { ReplicaRegion: C, Tags: [{ TagKey: "a", TagValue: "b" }] }, "AccessDeniedException", "kms:TagResource"],
      ["kms:ReplicaRegion denied", users.notToC, { ReplicaRegion: C }, "AccessDeniedException", "kms:ReplicateKey"],
      ["kms:CreateKey in the replica Region", users.createKeyInBOnly, { ReplicaRegion: B }, "ok"],
      ["no Tags, no kms:TagResource needed", users.noTagResource, { ReplicaRegion: C }, "ok"],
      ["kms:ReplicaRegion another Region", users.notToC, { ReplicaRegion: "ap-southeast-2", Tags: [{ TagKey: "a", TagValue: "b" }] }, "ok"],
    ];
    for (const [what, user, input, want, names] of rows) {
      const r = await call("ReplicateKey", { KeyId: k.KeyId, ...input }, user);
      expect(outcome(r), `${what}: ${JSON.stringify(r.body)}`).toBe(want);
      if (names) expect(r.body.message, what).toContain(names);
    }
    expect((await describeIn(A, k.KeyId)).MultiRegionConfiguration!.ReplicaKeys.map((x) => x.Region)).toEqual(["ap-southeast-2", C, B].sort());
  });

  it("another account's key ARN is not found (ReplicateKey and UpdatePrimaryRegion are not cross-account), even where its policy admits that account", async () => {
    const other = await newAccount();
    const policy = doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other.account}:root` }, Action: "kms:*", Resource: "*" },
    );
    const k = await mrk({ Policy: policy });
    await replicate(k.KeyId, B);
    expect(outcome(await call("ReplicateKey", { KeyId: k.Arn, ReplicaRegion: C }, other))).toBe("NotFoundException");
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.Arn, PrimaryRegion: B }, other))).toBe("NotFoundException");
    expect(outcome(await call("DescribeKey", { KeyId: k.Arn }, other))).toBe("ok"); // DescribeKey is cross-account
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(C)))).toBe("NotFoundException");
  });

  it("UpdatePrimaryRegion needs kms:UpdatePrimaryRegion in both keys' policies", async () => {
    const k = await mrk();
    const denyUpdate = doc(
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:UpdatePrimaryRegion", Resource: "*" },
    );
    await replicate(k.KeyId, B, { Policy: denyUpdate });
    const r = await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B });
    expect(outcome(r)).toBe("AccessDeniedException");
    expect(r.body.message).toContain(arnIn(B, k.KeyId));
    expect(await describeIn(A, k.KeyId)).toMatchObject({ KeyState: "Enabled", MultiRegionConfiguration: { MultiRegionKeyType: "PRIMARY" } });
    expect(await describeIn(B, k.KeyId)).toMatchObject({ KeyState: "Enabled", MultiRegionConfiguration: { MultiRegionKeyType: "REPLICA" } });
    // A user allowed on both keys swaps them; one allowed on the primary only cannot.
    const k2 = await mrk();
    await replicate(k2.KeyId, B);
    const onPrimaryOnly = await newUser([{ Effect: "Allow", Action: "kms:UpdatePrimaryRegion", Resource: arnIn(A, k2.KeyId) }]);
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k2.KeyId, PrimaryRegion: B }, onPrimaryOnly))).toBe("AccessDeniedException");
    const onBoth = await newUser([{ Effect: "Allow", Action: "kms:UpdatePrimaryRegion", Resource: [arnIn(A, k2.KeyId), arnIn(B, k2.KeyId)] }]);
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k2.KeyId, PrimaryRegion: B }, onBoth))).toBe("ok");
  });

  it("kms:MultiRegion and kms:MultiRegionKeyType are condition keys of the key", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    const single = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    const user = await newUser([{ Effect: "Allow", Action: "kms:DescribeKey", Resource: "*", Condition: { StringEquals: { "kms:MultiRegionKeyType": "PRIMARY" } } }]);
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, user))).toBe("ok");
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, at(B, user)))).toBe("AccessDeniedException");
    expect(outcome(await call("DescribeKey", { KeyId: single.KeyId }, user))).toBe("AccessDeniedException");
    const multi = await newUser([{ Effect: "Allow", Action: "kms:DescribeKey", Resource: "*", Condition: { Bool: { "kms:MultiRegion": "false" } } }]);
    expect(outcome(await call("DescribeKey", { KeyId: single.KeyId }, multi))).toBe("ok");
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }, multi))).toBe("AccessDeniedException");
  });
});

// ---- key material never in the clear; CloudTrail in both Regions -----------------------

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const b64of = (b: Uint8Array) => btoa(String.fromCharCode(...b));


const tail = async (region: string, keyId: string) =>
  (await admin<{ Entries: { Record: CloudTrailRecord }[] }>("AuditTail", { Limit: 10_000, KeyId: keyId }, at(region))).body.Entries.map((e) => e.Record);

describe("key material and the audit trail", () => {
  it("material moves wrapped under each Region's root key: never in a stored record, a response or an audit record", async () => {
    const responses: unknown[] = [];
    const keep = async <T>(p: Promise<T>) => { const r = await p; responses.push(r); return r; };
    const k = await keep(mrk());
    await keep(replicate(k.KeyId, B));
    await keep(replicate(k.KeyId, C));
    await keep(ok("RotateKeyOnDemand", { KeyId: k.KeyId }));
    await keep(ok("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: C }));
    await keep(ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(C)));
    for (const region of [A, B, C]) await keep(describeIn(region, k.KeyId));
    const storage = new Map<string, unknown[]>();
    for (const region of [A, B, C]) storage.set(region, await runInDurableObject(vault(region, k.KeyId), async (_i, state) => [...(await state.storage.list()).values()]));
    const recordOf = (region: string) => storage.get(region)!.find((v) => (v as KeyRecord).keyId === k.KeyId) as KeyRecord;
    const roots = new Map<string, Uint8Array>();
    for (const region of [A, B, C]) roots.set(region, await deriveRootKey(env.KMS_ROOT_SECRET, "key-material", region));
    const first = recordOf(A);
    expect(first.materials.map((m) => m.version)).toEqual([1, 2, 3]);
    const secrets: Uint8Array[] = [];
    for (const m of first.materials) {
      const material = aesKeyUnwrapPad(roots.get(A)!, m.wrapped!);
      secrets.push(material);
      for (const region of [B, C]) {
        const there = recordOf(region).materials.find((x) => x.version === m.version)!;
        expect(there.id).toBe(m.id);
        // The same material, wrapped under that Region's root key (and not under A's).
        expect(hex(aesKeyUnwrapPad(roots.get(region)!, there.wrapped!))).toBe(hex(material));
        expect(hex(there.wrapped!)).not.toBe(hex(m.wrapped!));
        expect(() => aesKeyUnwrapPad(roots.get(A)!, there.wrapped!)).toThrow(AuthenticationError);
      }
    }
    const records = [...(await tail(A, k.KeyId)), ...(await tail(B, k.KeyId)), ...(await tail(C, k.KeyId))];
    expect(records.length).toBeGreaterThan(5);
    // The search finds material in each form it looks for.
    expect([containsSecret([{ x: [b64of(secrets[0])] }], secrets[0]), containsSecret([`..${hex(secrets[1])}..`], secrets[1]), containsSecret([Uint8Array.of(7, ...secrets[2], 9)], secrets[2])]).toEqual([true, true, true]);
    for (const [i, material] of secrets.entries()) {
      for (const region of [A, B, C]) expect(containsSecret(storage.get(region)!, material), `version ${i + 1} in ${region}'s storage`).toBe(false);
      expect(containsSecret(responses, material), `version ${i + 1} in a response`).toBe(false);
      expect(containsSecret(records, material), `version ${i + 1} in an audit record`).toBe(false);
    }
  });

  it("ReplicateKey and UpdatePrimaryRegion are recorded in both Regions; a replica records the pushes it applies", async () => {
    const k = await mrk();
    const r = await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B, Description: "audited" });
    expect(r.status).toBe(200);
    const requestId = r.headers.get("x-amzn-RequestId")!;
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
    const u = await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B });
    expect(u.status).toBe(200);
    const updateId = u.headers.get("x-amzn-RequestId")!;
    const inA = await tail(A, k.KeyId);
    const inB = await tail(B, k.KeyId);
    const one = (records: CloudTrailRecord[], id: string) => {
      const found = records.filter((x) => x.requestID === id);
      expect(found, id).toHaveLength(1);
      return found[0];
    };
    for (const [records, region] of [[inA, A], [inB, B]] as const) {
      const rec = one(records, requestId);
      expect(rec).toMatchObject({ eventName: "ReplicateKey", awsRegion: region, readOnly: false, eventType: "AwsApiCall", recipientAccountId: ACCOUNT });
      expect(rec.errorCode).toBeUndefined();
      expect(rec.requestParameters).toMatchObject({ keyId: k.KeyId, replicaRegion: B, description: "audited" });
      expect(rec.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: arnIn(region, k.KeyId) }]);
      expect((rec.responseElements as { replicaKeyMetadata: { Arn: string } }).replicaKeyMetadata.Arn).toBe(arnIn(B, k.KeyId));
      const upd = one(records, updateId);
      expect(upd).toMatchObject({ eventName: "UpdatePrimaryRegion", awsRegion: region, requestParameters: { keyId: k.KeyId, primaryRegion: B } });
      expect(upd.resources![0].ARN).toBe(arnIn(region, k.KeyId));
    }
    expect(one(inA, requestId).eventID).not.toBe(one(inB, requestId).eventID);
    const syncs = inB.filter((x) => x.eventName === "SynchronizeMultiRegionKey");
    expect(syncs.length).toBeGreaterThan(0);
    expect(syncs[0]).toMatchObject({ eventType: "AwsServiceEvent", awsRegion: B, userIdentity: { type: "AWSService", invokedBy: "AWS Internal" } });
    // A refused ReplicateKey is recorded once, in the request's Region.
    const refused = await call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C }, at(A));
    expect(outcome(refused)).toBe("UnsupportedOperationException");
    const refusedId = refused.headers.get("x-amzn-RequestId")!;
    expect(one(await tail(A, k.KeyId), refusedId)).toMatchObject({ errorCode: "UnsupportedOperationException" });
    expect((await tail(C, k.KeyId)).filter((x) => x.requestID === refusedId)).toEqual([]);
  });
});

// Calls that change a key while another call on it waits (an outsider's review, 2026-12-03): a
// Durable Object runs other calls while one awaits something other than its storage (making
// material, the other Region's vault). Each case holds the first call at that await, with a delay
// put into the vault's own step, and sends the second meanwhile.
describe("calls racing on one key", () => {
  /** Delays `method` of the vault's MaterialStore in `region` by `ms` (this vault instance only). */
  const slow = (region: string, keyId: string, method: "create" | "wrap", ms = 150) =>
    runInDurableObject(vault(region, keyId), (i: KeyVault) => {
      const m = (i as unknown as { material: Record<string, (...a: unknown[]) => Promise<unknown>> }).material;
      const original = m[method].bind(m);
      m[method] = async (...a: unknown[]) => { await new Promise((r) => setTimeout(r, ms)); return original(...a); };
    });
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const denyEncrypt = doc(
    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
    { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:Encrypt", Resource: "*" },
  );

  for (const [op, input, holds] of [
    ["DisableKey", {}, (md: Md) => expect(md.KeyState).toBe("Disabled")],
    ["ScheduleKeyDeletion", { PendingWindowInDays: 7 }, (md: Md) => expect(md.KeyState).toBe("PendingDeletion")],
    ["PutKeyPolicy", { PolicyName: "default", Policy: denyEncrypt }, async (md: Md) => expect(outcome(await call("Encrypt", { KeyId: md.KeyId, Plaintext: b64("x") }))).toBe("AccessDeniedException")],
    ["TagResource", { Tags: [{ TagKey: "t", TagValue: "v" }] }, async (md: Md) => expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: md.KeyId })).Tags).toEqual([{ TagKey: "t", TagValue: "v" }])],
  ] as const) {
    it(`RotateKeyOnDemand is refused (ConflictException) when ${op} changed the key while its material was made; ${op} stands`, async () => {
      const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
      await slow(A, k.KeyId, "create");
      const rotation = call("RotateKeyOnDemand", { KeyId: k.KeyId });
      await pause(40);
      expect(outcome(await call(op, { KeyId: k.KeyId, ...input }))).toBe("ok");
      expect(outcome(await rotation)).toBe("ConflictException");
      await holds(await describeIn(A, k.KeyId));
      expect((await stored(A, k.KeyId))!.materials.map((m) => m.version)).toEqual([1]);
    });
  }

  it("the alarm's automatic rotation is not saved when DisableKey changed the key meanwhile; EnableKey then rotates it", async () => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    await ok("EnableKeyRotation", { KeyId: k.KeyId, RotationPeriodInDays: 90 });
    await advance(A, k.KeyId, 91 * DAY);
    await slow(A, k.KeyId, "create");
    const alarm = runDurableObjectAlarm(vault(A, k.KeyId));
    await pause(40);
    expect(outcome(await call("DisableKey", { KeyId: k.KeyId }))).toBe("ok");
    await alarm;
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Disabled");
    expect((await stored(A, k.KeyId))!.materials.map((m) => m.version)).toEqual([1]);
    // Enabled again, the overdue rotation is made (EnableKey's catch-up), once.
    await ok("EnableKey", { KeyId: k.KeyId });
    await runDurableObjectAlarm(vault(A, k.KeyId));
    const after = (await stored(A, k.KeyId))!;
    expect([after.state, after.materials.map((m) => m.version), after.currentVersion]).toEqual(["Enabled", [1, 2], 2]);
  });

  /**
   * The vault in `region` as it starts after an operator rotated the root secret (the test one
   * given as the previous, `ROTATED` as the current), its check of the key's root secret taking
   * `ms` longer (this vault instance only).
   */
  const ROTATED = btoa("edgekms-test-root-secret-rotated-to-this-one");
  const rotatedRoot = (region: string, keyId: string, ms = 150) =>
    runInDurableObject(vault(region, keyId), (i: KeyVault) => {
      const store = new MaterialStore(() => ({ current: ROTATED, previous: env.KMS_ROOT_SECRET }));
      const original = store.ensureCurrent.bind(store);
      store.ensureCurrent = async (rec: KeyRecord) => { await pause(ms); return original(rec); };
      (i as unknown as { material: MaterialStore }).material = store;
    });
  for (const [op, input, holds] of [
    ["DisableKey", {}, (md: Md) => expect(md.KeyState).toBe("Disabled")],
    ["TagResource", { Tags: [{ TagKey: "t", TagValue: "v" }] }, async (md: Md) => expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: md.KeyId })).Tags).toEqual([{ TagKey: "t", TagValue: "v" }])],
  ] as const) {
    it(`the first call after a root secret rotation does not undo a ${op} made while it rewrapped the key's material; the next call rewraps it`, async () => {
      const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
      const sealed = await encryptIn(A, k.KeyId, "under the previous root secret");
      await rotatedRoot(A, k.KeyId);
      const first = decryptIn(A, sealed.CiphertextBlob);
      await pause(40);
      expect(outcome(await call(op, { KeyId: k.KeyId, ...input }))).toBe("ok");
      expect(await first).toBe("under the previous root secret");
      await holds(await describeIn(A, k.KeyId));
      // The operator's pass rewraps the key as it is now, and says so.
      expect(await vault(A, k.KeyId).rewrapRootSecret(SKIP.admin)).toBe("rewrapped");
      await holds(await describeIn(A, k.KeyId));
      expect((await stored(A, k.KeyId))!.rootCheck).toBe(await rootCheck(ROTATED, A));
    });
  }

  it("material imported while the first call's rewrap was not saved (the key changed meanwhile) is wrapped under the current secret; the next rewrap takes the record as it is, and every version decrypts", async () => {
    interface Params { ImportToken: string; PublicKey: string }
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", { Origin: "EXTERNAL" })).KeyMetadata;
    const material = crypto.getRandomValues(new Uint8Array(32));
    const importing = async (p: Params) => call("ImportKeyMaterial", { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: b64(await wrapMaterial(p.PublicKey, "RSAES_OAEP_SHA_256", material)), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
    const params = () => call<Params>("GetParametersForImport", { KeyId: k.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" });
    expect(outcome(await importing((await params()).body))).toBe("ok");
    const sealed = await encryptIn(A, k.KeyId, "under the previous root secret");
    await rotatedRoot(A, k.KeyId);
    // Each call's rewrap is held while a TagResource changes the key: neither rewrap is saved.
    const p1 = params();
    await pause(40);
    expect(outcome(await call("TagResource", { KeyId: k.KeyId, Tags: [{ TagKey: "a", TagValue: "1" }] }))).toBe("ok");
    const imported = importing((await p1).body);
    await pause(40);
    expect(outcome(await call("TagResource", { KeyId: k.KeyId, Tags: [{ TagKey: "b", TagValue: "2" }] }))).toBe("ok");
    expect(outcome(await imported)).toBe("ok");
    expect(await decryptIn(A, sealed.CiphertextBlob)).toBe("under the previous root secret");
    expect(await vault(A, k.KeyId).rewrapRootSecret(SKIP.admin)).toBe("current");
    expect((await stored(A, k.KeyId))!.rootCheck).toBe(await rootCheck(ROTATED, A));
    expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: k.KeyId })).Tags).toEqual([{ TagKey: "a", TagValue: "1" }, { TagKey: "b", TagValue: "2" }]);
  });

  /** Delays the vault's calls to the catalog's retirement index (a grant with a retiring principal) by `ms`. */
  const holdCatalog = (region: string, keyId: string, ms = 200) =>
    runInDurableObject(vault(region, keyId), (i: KeyVault) => {
      const v = i as unknown as { catalogFor: (account: string) => Record<string, (...a: unknown[]) => Promise<unknown>> };
      const original = v.catalogFor.bind(i);
      v.catalogFor = (account: string) => {
        const stub = original(account);
        return { indexRetirableGrant: async (...a: unknown[]) => { await pause(ms); return stub.indexRetirableGrant(...a); }, removeKey: (...a: unknown[]) => stub.removeKey(...a) };
      };
    });
  for (const which of ["CreateGrant", "RevokeGrant", "RetireGrant"] as const) {
    it(`${which} of a grant with a retiring principal, held at the catalog, does not undo a rotation or a description made meanwhile; the new version decrypts after the vault forgets its material`, async () => {
      const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
      const grantInput = { KeyId: k.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/grantee`, RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ["Decrypt"] };
      const first = which === "CreateGrant" ? undefined : await ok<{ GrantId: string; GrantToken: string }>("CreateGrant", grantInput);
      await holdCatalog(A, k.KeyId);
      const grantCall = which === "CreateGrant" ? call("CreateGrant", grantInput)
        : which === "RevokeGrant" ? call("RevokeGrant", { KeyId: k.KeyId, GrantId: first!.GrantId })
        : call("RetireGrant", { GrantToken: first!.GrantToken });
      await pause(40);
      await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
      await ok("UpdateKeyDescription", { KeyId: k.KeyId, Description: "changed meanwhile" });
      const sealed = await encryptIn(A, k.KeyId, "under version 2");
      expect(outcome(await grantCall)).toBe("ok");
      const after = (await stored(A, k.KeyId))!;
      expect([after.materials.map((m) => m.version), after.currentVersion, after.description]).toEqual([[1, 2], 2, "changed meanwhile"]);
      // As after a restart: the vault's unwrapped material is gone, the record is all there is.
      await runInDurableObject(vault(A, k.KeyId), (i: KeyVault) => (i as unknown as { material: { wipe(): void } }).material.wipe());
      expect(await decryptIn(A, sealed.CiphertextBlob)).toBe("under version 2");
    });
  }

  /**
   * A key past the end of its waiting period, whose destruction's first call to another object
   * (the outbox's forwarding to the AuditLog) goes through `forward`, given the original.
   */
  const pastDeletion = async (forward: (original: () => Promise<unknown>) => () => Promise<unknown>) => {
    const k = (await ok<{ KeyMetadata: Md }>("CreateKey", {})).KeyMetadata;
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    await advance(A, k.KeyId, 8 * DAY);
    await runInDurableObject(vault(A, k.KeyId), (i: KeyVault) => {
      const v = i as unknown as { forwardAudit: () => Promise<unknown> };
      v.forwardAudit = forward(v.forwardAudit.bind(i));
    });
    return k;
  };

  it("CancelKeyDeletion while the alarm destroys the key is refused (KMSInvalidStateException), not answered ok for a key destroyed a moment later", async () => {
    const k = await pastDeletion((original) => async () => { await pause(150); return original(); });
    const alarm = runDurableObjectAlarm(vault(A, k.KeyId));
    await pause(40);
    expect(outcome(await call("CancelKeyDeletion", { KeyId: k.KeyId }))).toBe("KMSInvalidStateException");
    await alarm;
    expect(outcome(await call("DescribeKey", { KeyId: k.KeyId }))).toBe("NotFoundException");
  });

  it("CancelKeyDeletion works again when the destruction failed before its DeleteKey record was sent", async () => {
    // The forwarding fails once (the AuditLog unreachable).
    let failed = false;
    const k = await pastDeletion((original) => async () => { if (!failed) { failed = true; throw new Error("AuditLog unreachable"); } return original(); });
    await runDurableObjectAlarm(vault(A, k.KeyId)).catch(() => undefined);
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("PendingDeletion");
    expect(outcome(await call("CancelKeyDeletion", { KeyId: k.KeyId }))).toBe("ok");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Disabled");
  });

  it("RotateKeyOnDemand is refused when UpdatePrimaryRegion moved the primary meanwhile; both Regions then share every version", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    await slow(A, k.KeyId, "create");
    const rotation = call("RotateKeyOnDemand", { KeyId: k.KeyId });
    await pause(40);
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("ok");
    expect(outcome(await rotation)).toBe("ConflictException");
    // The new primary rotates; its pushes reach the old one; each Region decrypts the other's ciphertext.
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(B));
    for (const r of [A, B]) await runDurableObjectAlarm(vault(r, k.KeyId));
    const [a, b] = [(await stored(A, k.KeyId))!, (await stored(B, k.KeyId))!];
    expect(a.materials.map((m) => m.id)).toEqual(b.materials.map((m) => m.id));
    expect([a.multiRegion!.primaryRegion, b.multiRegion!.primaryRegion]).toEqual([B, B]);
    for (const [from, to] of [[A, B], [B, A]]) expect(await decryptIn(to, (await encryptIn(from, k.KeyId, `${from} to ${to}`)).CiphertextBlob)).toBe(`${from} to ${to}`);
  });

  it("ScheduleKeyDeletion of a primary is refused (KMSInvalidStateException) while a ReplicateKey is making a replica; the replica joins", async () => {
    const k = await mrk();
    await slow(A, k.KeyId, "wrap");
    const replication = call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: B });
    await pause(40);
    expect(outcome(await call("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 }))).toBe("KMSInvalidStateException");
    expect(outcome(await replication)).toBe("ok");
    expect((await describeIn(A, k.KeyId)).KeyState).toBe("Enabled");
    expect((await stored(A, k.KeyId))!.multiRegion!.replicaRegions).toEqual([B]);
    // Afterwards the primary waits for its replica, as any primary with replicas.
    expect((await ok<{ KeyState: string }>("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 })).KeyState).toBe("PendingReplicaDeletion");
  });

  it("UpdatePrimaryRegion is refused (KMSInvalidStateException) while a ReplicateKey is making a replica; afterwards it moves the role, the new replica included", async () => {
    const k = await mrk();
    await replicate(k.KeyId, B);
    await slow(A, k.KeyId, "wrap");
    const replication = call("ReplicateKey", { KeyId: k.KeyId, ReplicaRegion: C });
    await pause(40);
    expect(outcome(await call("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B }))).toBe("KMSInvalidStateException");
    expect(outcome(await replication)).toBe("ok");
    await ok("UpdatePrimaryRegion", { KeyId: k.KeyId, PrimaryRegion: B });
    for (let round = 0; round < 2; round++) for (const r of [A, B, C]) await runDurableObjectAlarm(vault(r, k.KeyId));
    for (const r of [A, B, C]) expect((await stored(r, k.KeyId))!.multiRegion).toMatchObject({ primaryRegion: B, replicaRegions: [A, C].sort() });
    await ok("RotateKeyOnDemand", { KeyId: k.KeyId }, at(B));
    for (const r of [A, B, C]) await runDurableObjectAlarm(vault(r, k.KeyId));
    const blob = (await encryptIn(B, k.KeyId, "after")).CiphertextBlob;
    for (const r of [A, C]) expect(await decryptIn(r, blob)).toBe("after");
  });
});
