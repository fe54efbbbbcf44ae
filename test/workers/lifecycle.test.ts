// Rotation and deletion on DO alarms with the vault's clock moved forward, consistency of
// Encrypt racing rotation and disable, and account isolation.
import { describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { admin, b64, call, ok, text, unb64 } from "./kms.js";

const DAY = 86_400_000;
const env = testEnv as unknown as Env;

async function newKey(): Promise<{ KeyId: string; Arn: string }> {
  return (await ok<{ KeyMetadata: { KeyId: string; Arn: string } }>("CreateKey", {})).KeyMetadata;
}

const vaultStub = (keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));

async function advance(keyId: string, ms: number): Promise<void> {
  await runInDurableObject(vaultStub(keyId), (instance: KeyVault) => {
    instance.clockOffsetMs += ms;
  });
}

const materialVersion = (blob: string) => new DataView(unb64(blob).buffer).getUint32(18);

describe("automatic rotation", () => {
  it("rotates when the period has passed; old ciphertexts keep decrypting", async () => {
    const k = await newKey();
    const v1 = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("one") })).CiphertextBlob;
    await ok("EnableKeyRotation", { KeyId: k.KeyId, RotationPeriodInDays: 90 });
    await advance(k.KeyId, 91 * DAY);
    expect(await runDurableObjectAlarm(vaultStub(k.KeyId))).toBe(true);
    const rotations = await ok<{ Rotations: { RotationType: string }[] }>("ListKeyRotations", { KeyId: k.KeyId });
    expect(rotations.Rotations.map((r) => r.RotationType)).toEqual(["AUTOMATIC"]);
    const v2 = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("two") })).CiphertextBlob;
    expect(materialVersion(v1)).toBe(1);
    expect(materialVersion(v2)).toBe(2);
    expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: v1 })).Plaintext)).toBe("one");
    expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: v2 })).Plaintext)).toBe("two");
    const status = await ok<{ NextRotationDate: number }>("GetKeyRotationStatus", { KeyId: k.KeyId });
    expect(status.NextRotationDate * 1000).toBeGreaterThan(Date.now() + 180 * DAY);
    // after several more periods, every version still decrypts
    for (let i = 0; i < 3; i++) {
      await advance(k.KeyId, 91 * DAY);
      await runDurableObjectAlarm(vaultStub(k.KeyId));
    }
    const v5 = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("five") })).CiphertextBlob;
    expect(materialVersion(v5)).toBe(5);
    for (const [blob, want] of [[v1, "one"], [v2, "two"], [v5, "five"]]) {
      expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: blob })).Plaintext)).toBe(want);
    }
  });

  it("a disabled key is not rotated, and rotates as soon as it is enabled again", async () => {
    const k = await newKey();
    await ok("EnableKeyRotation", { KeyId: k.KeyId, RotationPeriodInDays: 90 });
    await ok("DisableKey", { KeyId: k.KeyId });
    await advance(k.KeyId, 100 * DAY);
    await runDurableObjectAlarm(vaultStub(k.KeyId));
    expect((await ok<{ Rotations: unknown[] }>("ListKeyRotations", { KeyId: k.KeyId })).Rotations).toHaveLength(0);
    await ok("EnableKey", { KeyId: k.KeyId });
    expect((await ok<{ Rotations: unknown[] }>("ListKeyRotations", { KeyId: k.KeyId })).Rotations).toHaveLength(1);
  });

  it("on-demand rotation is limited to 25 per key", async () => {
    const k = await newKey();
    for (let i = 0; i < 25; i++) await ok("RotateKeyOnDemand", { KeyId: k.KeyId });
    expect((await call("RotateKeyOnDemand", { KeyId: k.KeyId })).body.__type).toBe("LimitExceededException");
  });
});

describe("scheduled deletion", () => {
  it("destroys the key, its material and its aliases at DeletionDate", async () => {
    const k = await newKey();
    const alias = `alias/doomed-${k.KeyId.slice(0, 8)}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: k.KeyId });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("bye") })).CiphertextBlob;
    await ok("ScheduleKeyDeletion", { KeyId: k.KeyId, PendingWindowInDays: 7 });
    await advance(k.KeyId, 6 * DAY);
    await runDurableObjectAlarm(vaultStub(k.KeyId));
    expect((await ok<{ KeyMetadata: { KeyState: string } }>("DescribeKey", { KeyId: k.KeyId })).KeyMetadata.KeyState).toBe("PendingDeletion");
    await advance(k.KeyId, 2 * DAY);
    expect(await runDurableObjectAlarm(vaultStub(k.KeyId))).toBe(true);
    expect((await call("DescribeKey", { KeyId: k.KeyId })).body.__type).toBe("NotFoundException");
    expect((await call("DescribeKey", { KeyId: alias })).body.__type).toBe("NotFoundException");
    expect((await call("Decrypt", { CiphertextBlob: blob })).body.__type).toBe("AccessDeniedException");
    const keys = await ok<{ Keys: { KeyId: string }[] }>("ListKeys", { Limit: 1000 });
    expect(keys.Keys.map((x) => x.KeyId)).not.toContain(k.KeyId);
    await runInDurableObject(vaultStub(k.KeyId), async (_i, state) => {
      expect(await state.storage.list()).toHaveProperty("size", 0);
    });
  });
});

describe("consistency under races", () => {
  it("Encrypt racing rotation and disable: every ciphertext decrypts, and none is made after the disable", async () => {
    const k = await newKey();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i === 20 ? call("RotateKeyOnDemand", { KeyId: k.KeyId })
        : i === 40 ? call("DisableKey", { KeyId: k.KeyId })
        : call<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64(`m${i}`) }),
      ),
    );
    // Every Encrypt that starts after DisableKey resolved is refused, however many race in.
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => call("Encrypt", { KeyId: k.KeyId, Plaintext: b64(`late ${i}`) })));
    expect(after.map((r) => r.body.__type)).toEqual(Array(20).fill("DisabledException"));
    await ok("EnableKey", { KeyId: k.KeyId });
    let encrypted = 0;
    for (const [i, r] of results.entries()) {
      // The 60 calls race: DisableKey may reach the vault before RotateKeyOnDemand, which a disabled
      // key refuses (it failed a CI run so, once). DisableKey itself always succeeds.
      if (i === 20 && r.status !== 200) { expect(r.body.__type, JSON.stringify(r.body)).toBe("DisabledException"); continue; }
      if (i === 20 || i === 40) { expect(r.status, JSON.stringify(r.body)).toBe(200); continue; }
      if (r.status !== 200) { expect(r.body.__type).toBe("DisabledException"); continue; }
      encrypted++;
      const d = await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: (r.body as { CiphertextBlob: string }).CiphertextBlob });
      expect(text(d.Plaintext)).toBe(`m${i}`);
    }
    expect(encrypted).toBeGreaterThan(0);
  });
});

describe("account isolation", () => {
  it("another account's keys are not found, and its ciphertexts cannot be decrypted", async () => {
    // Another account, made through the admin API as the operator makes one.
    const made = await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount", {});
    expect(made.status).toBe(200);
    const other = { accessKeyId: made.body.AccessKeyId, secretAccessKey: made.body.SecretAccessKey };
    const k = await newKey();
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("mine") })).CiphertextBlob;
    expect((await call("DescribeKey", { KeyId: k.KeyId }, other)).body.__type).toBe("NotFoundException");
    // by ARN the key is found, and its (default) policy does not admit the other account
    expect((await call("DescribeKey", { KeyId: k.Arn }, other)).body.__type).toBe("AccessDeniedException");
    expect((await call("Encrypt", { KeyId: k.Arn, Plaintext: b64("x") }, other)).body.__type).toBe("AccessDeniedException");
    expect((await call("DisableKey", { KeyId: k.Arn }, other)).body.__type).toBe("NotFoundException");
    expect((await call("Decrypt", { CiphertextBlob: blob }, other)).body.__type).toBe("AccessDeniedException");
    expect((await call("DisableKey", { KeyId: k.KeyId }, other)).body.__type).toBe("NotFoundException");
    const theirs = await ok<{ Keys: { KeyId: string }[] }>("ListKeys", {}, other);
    expect(theirs.Keys.map((x) => x.KeyId)).not.toContain(k.KeyId);
    const own = await ok<{ KeyMetadata: { Arn: string } }>("CreateKey", {}, other);
    expect(own.KeyMetadata.Arn).toContain(`:${made.body.AccountId}:key/`);
  });
});
