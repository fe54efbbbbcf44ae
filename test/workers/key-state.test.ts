// The operation × key-state table (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html) for Enabled, Disabled and PendingDeletion,
// and PendingReplicaDeletion (a multi-Region primary key whose replicas are not deleted yet), which shares PendingDeletion's column.
import { describe, expect, it } from "vitest";
import { b64, call, ok } from "./kms.js";

type State = "Enabled" | "Disabled" | "PendingDeletion" | "PendingReplicaDeletion";

async function keyIn(state: State): Promise<{ keyId: string; blob: string }> {
  const multiRegion = state === "PendingReplicaDeletion";
  const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", multiRegion ? { MultiRegion: true } : {})).KeyMetadata.KeyId;
  const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).CiphertextBlob;
  if (multiRegion) await ok("ReplicateKey", { KeyId: keyId, ReplicaRegion: "us-west-2" });
  if (state === "Disabled") await ok("DisableKey", { KeyId: keyId });
  if (state === "PendingDeletion" || multiRegion) {
    const r = await ok<{ KeyState: string }>("ScheduleKeyDeletion", { KeyId: keyId, PendingWindowInDays: 7 });
    expect(r.KeyState).toBe(state);
  }
  return { keyId, blob };
}

const OK = "ok";
// [operation, input builder, expected per state]
const TABLE: [string, (k: { keyId: string; blob: string }) => unknown, Record<Exclude<State, "PendingReplicaDeletion">, string>][] = [
  ["Encrypt", (k) => ({ KeyId: k.keyId, Plaintext: b64("y") }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["Decrypt", (k) => ({ CiphertextBlob: k.blob }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["ReEncrypt", (k) => ({ CiphertextBlob: k.blob, DestinationKeyId: k.keyId }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["GenerateDataKey", (k) => ({ KeyId: k.keyId, KeySpec: "AES_256" }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["GenerateDataKeyWithoutPlaintext", (k) => ({ KeyId: k.keyId, NumberOfBytes: 8 }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["DescribeKey", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: OK }],
  ["ListResourceTags", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: OK }],
  ["EnableKey", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["DisableKey", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["ScheduleKeyDeletion", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["CancelKeyDeletion", (k) => ({ KeyId: k.keyId }), { Enabled: "KMSInvalidStateException", Disabled: "KMSInvalidStateException", PendingDeletion: OK }],
  ["CreateAlias", (k) => ({ AliasName: `alias/state-${crypto.randomUUID()}`, TargetKeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["TagResource", (k) => ({ KeyId: k.keyId, Tags: [{ TagKey: "a", TagValue: "b" }] }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["UntagResource", (k) => ({ KeyId: k.keyId, TagKeys: ["a"] }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["UpdateKeyDescription", (k) => ({ KeyId: k.keyId, Description: "d" }), { Enabled: OK, Disabled: OK, PendingDeletion: "KMSInvalidStateException" }],
  ["EnableKeyRotation", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["DisableKeyRotation", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["GetKeyRotationStatus", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: OK }],
  ["RotateKeyOnDemand", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: "DisabledException", PendingDeletion: "KMSInvalidStateException" }],
  ["ListKeyRotations", (k) => ({ KeyId: k.keyId }), { Enabled: OK, Disabled: OK, PendingDeletion: OK }],
];

describe("key state table", () => {
  for (const state of ["Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion"] as State[]) {
    const column = state === "PendingReplicaDeletion" ? "PendingDeletion" : state;
    it.each(TABLE.map(([op, input, expected]) => [op, input, expected[column]] as const))(`%s on a ${state} key → %s`, async (op, input, expected) => {
      const k = await keyIn(state);
      const r = await call(op, input(k));
      expect(r.status === 200 ? OK : r.body.__type, JSON.stringify(r.body)).toBe(expected);
    });
  }

  it("a message names the key and its state", async () => {
    const k = await keyIn("Disabled");
    const r = await call("Encrypt", { KeyId: k.keyId, Plaintext: b64("x") });
    expect(r.body.message).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f-]{36} is disabled\.$/);
    const mrk = await keyIn("PendingReplicaDeletion");
    const m = await call("Encrypt", { KeyId: mrk.keyId, Plaintext: b64("x") });
    expect(m.body.message).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\/mrk-[0-9a-f]{32} is pending replica deletion\.$/);
  });
});
