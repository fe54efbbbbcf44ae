// Every symmetric-key operation through the real AWS SDK for JavaScript v3.
import { describe, expect, inject, it } from "vitest";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";

const kms = kmsClient();
const enc = new TextEncoder();
const dec = new TextDecoder();

async function newKey(description = "e2e"): Promise<K.KeyMetadata> {
  const r = await kms.send(new K.CreateKeyCommand({ Description: description, Tags: [{ TagKey: "team", TagValue: "edge" }] }));
  return r.KeyMetadata!;
}

async function rejects(p: Promise<unknown>, type: new (...a: never[]) => Error): Promise<Error> {
  const e = await p.then(() => undefined, (err: Error) => err);
  expect(e, `expected ${type.name}`).toBeInstanceOf(type);
  return e!;
}

describe("AWS SDK v3 against EdgeKMS", () => {
  it("creates, describes and lists keys", async () => {
    const md = await newKey("list me");
    expect(md).toMatchObject({ AWSAccountId: E2E.account, KeyState: "Enabled", Enabled: true, Description: "list me", KeyManager: "CUSTOMER" });
    expect(md.Arn).toBe(`arn:aws:kms:us-east-1:${E2E.account}:key/${md.KeyId}`);
    expect(md.CreationDate).toBeInstanceOf(Date);
    const d = await kms.send(new K.DescribeKeyCommand({ KeyId: md.Arn }));
    expect(d.KeyMetadata!.KeyId).toBe(md.KeyId);
    const ids: string[] = [];
    for await (const page of K.paginateListKeys({ client: kms, pageSize: 2 }, {})) ids.push(...page.Keys!.map((k) => k.KeyId!));
    expect(ids).toContain(md.KeyId);
  });

  it("Encrypt / Decrypt / ReEncrypt with encryption context, by id, ARN and alias", async () => {
    const a = await newKey(), b = await newKey();
    const alias = `alias/e2e-${a.KeyId!.slice(0, 8)}`;
    await kms.send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: a.KeyId }));
    const ctx = { purpose: "test", tenant: "t1" };
    const c = await kms.send(new K.EncryptCommand({ KeyId: alias, Plaintext: enc.encode("secret data"), EncryptionContext: ctx }));
    expect(c.KeyId).toBe(a.Arn);
    expect(c.EncryptionAlgorithm).toBe("SYMMETRIC_DEFAULT");
    const p = await kms.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob, EncryptionContext: { tenant: "t1", purpose: "test" } }));
    expect(dec.decode(p.Plaintext)).toBe("secret data");
    expect(p.KeyId).toBe(a.Arn);
    await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob })), K.InvalidCiphertextException);
    await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob, EncryptionContext: ctx, KeyId: b.KeyId })), K.IncorrectKeyException);
    const r = await kms.send(new K.ReEncryptCommand({ CiphertextBlob: c.CiphertextBlob, SourceEncryptionContext: ctx, DestinationKeyId: b.Arn, DestinationEncryptionContext: { x: "y" } }));
    expect(r.SourceKeyId).toBe(a.Arn);
    expect(r.KeyId).toBe(b.Arn);
    const p2 = await kms.send(new K.DecryptCommand({ CiphertextBlob: r.CiphertextBlob, EncryptionContext: { x: "y" } }));
    expect(dec.decode(p2.Plaintext)).toBe("secret data");
    const tampered = Uint8Array.from(c.CiphertextBlob!);
    tampered[40] ^= 1;
    await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: ctx })), K.InvalidCiphertextException);
  });

  it("GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom", async () => {
    const k = await newKey();
    const dk = await kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: "AES_128" }));
    expect(dk.Plaintext!.length).toBe(16);
    const back = await kms.send(new K.DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    expect(back.Plaintext).toEqual(dk.Plaintext);
    const dk2 = await kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, NumberOfBytes: 1024 }));
    expect(dk2.Plaintext!.length).toBe(1024);
    const np = await kms.send(new K.GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.Arn, KeySpec: "AES_256", EncryptionContext: { a: "b" } }));
    expect(np).not.toHaveProperty("Plaintext");
    expect((await kms.send(new K.DecryptCommand({ CiphertextBlob: np.CiphertextBlob, EncryptionContext: { a: "b" } }))).Plaintext!.length).toBe(32);
    expect((await rejects(kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId })), K.KMSServiceException)).name).toBe("ValidationException");
    const rnd = await kms.send(new K.GenerateRandomCommand({ NumberOfBytes: 64 }));
    expect(rnd.Plaintext!.length).toBe(64);
  });

  it("enables, disables, schedules and cancels deletion, updates the description", async () => {
    const k = await newKey();
    await kms.send(new K.DisableKeyCommand({ KeyId: k.KeyId }));
    await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("x") })), K.DisabledException);
    await kms.send(new K.EnableKeyCommand({ KeyId: k.KeyId }));
    await kms.send(new K.UpdateKeyDescriptionCommand({ KeyId: k.KeyId, Description: "renamed" }));
    const s = await kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
    expect(s.KeyState).toBe("PendingDeletion");
    expect(s.PendingWindowInDays).toBe(7);
    expect(s.DeletionDate!.getTime()).toBeGreaterThan(Date.now() + 6.9 * 86400e3);
    await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("x") })), K.KMSInvalidStateException);
    expect((await rejects(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 6 })), K.KMSServiceException)).name).toBe("ValidationException");
    const c = await kms.send(new K.CancelKeyDeletionCommand({ KeyId: k.KeyId }));
    expect(c.KeyId).toBe(k.Arn);
    const d = await kms.send(new K.DescribeKeyCommand({ KeyId: k.KeyId }));
    expect(d.KeyMetadata).toMatchObject({ KeyState: "Disabled", Description: "renamed" });
  });

  it("aliases: create, update, list, delete", async () => {
    const a = await newKey(), b = await newKey();
    const name = `alias/e2e-move-${a.KeyId!.slice(0, 8)}`;
    await kms.send(new K.CreateAliasCommand({ AliasName: name, TargetKeyId: a.KeyId }));
    await rejects(kms.send(new K.CreateAliasCommand({ AliasName: name, TargetKeyId: b.KeyId })), K.AlreadyExistsException);
    await rejects(kms.send(new K.CreateAliasCommand({ AliasName: "alias/aws/mine", TargetKeyId: b.KeyId })), K.InvalidAliasNameException);
    await kms.send(new K.UpdateAliasCommand({ AliasName: name, TargetKeyId: b.Arn }));
    const forB = await kms.send(new K.ListAliasesCommand({ KeyId: b.KeyId }));
    expect(forB.Aliases!.map((x) => x.AliasName)).toEqual([name]);
    expect(forB.Aliases![0]).toMatchObject({ TargetKeyId: b.KeyId, AliasArn: `arn:aws:kms:us-east-1:${E2E.account}:${name}` });
    const all: string[] = [];
    for await (const page of K.paginateListAliases({ client: kms, pageSize: 1 }, {})) all.push(...page.Aliases!.map((x) => x.AliasName!));
    expect(all).toContain(name);
    await kms.send(new K.DeleteAliasCommand({ AliasName: name }));
    await rejects(kms.send(new K.DescribeKeyCommand({ KeyId: name })), K.NotFoundException);
  });

  it("tags: tag, untag, list with paging", async () => {
    const k = await newKey();
    await kms.send(new K.TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: "env", TagValue: "prod" }, { TagKey: "team", TagValue: "kms" }] }));
    await kms.send(new K.UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ["env"] }));
    const tags: K.Tag[] = [];
    for await (const page of K.paginateListResourceTags({ client: kms, pageSize: 1 }, { KeyId: k.KeyId })) tags.push(...page.Tags!);
    expect(tags).toEqual([{ TagKey: "team", TagValue: "kms" }]);
    await rejects(kms.send(new K.TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: "aws:x", TagValue: "v" }] })), K.TagException);
  });

  it("rotation: enable, status, on demand, list, disable; old ciphertexts still decrypt", async () => {
    const k = await newKey();
    const before = await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("v1") }));
    await kms.send(new K.EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 90 }));
    const st = await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
    expect(st).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    expect(st.NextRotationDate!.getTime()).toBeGreaterThan(Date.now() + 89 * 86400e3);
    await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
    await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
    const rot = await kms.send(new K.ListKeyRotationsCommand({ KeyId: k.KeyId }));
    expect(rot.Rotations!.map((r) => r.RotationType)).toEqual(["ON_DEMAND", "ON_DEMAND"]);
    const after = await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("v3") }));
    expect(dec.decode((await kms.send(new K.DecryptCommand({ CiphertextBlob: before.CiphertextBlob }))).Plaintext)).toBe("v1");
    expect(dec.decode((await kms.send(new K.DecryptCommand({ CiphertextBlob: after.CiphertextBlob }))).Plaintext)).toBe("v3");
    await kms.send(new K.DisableKeyRotationCommand({ KeyId: k.KeyId }));
    expect((await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).KeyRotationEnabled).toBe(false);
  });

  it("DryRun answers DryRunOperationException when the call would succeed", async () => {
    const k = await newKey();
    await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("x"), DryRun: true })), K.DryRunOperationException);
    await rejects(kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: "AES_256", DryRun: true })), K.DryRunOperationException);
    await kms.send(new K.DisableKeyCommand({ KeyId: k.KeyId }));
    await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("x"), DryRun: true })), K.DisabledException);
  });

  it("keys are regional: a key from us-east-1 does not exist in eu-west-1", async () => {
    const k = await newKey();
    const eu = kmsClient("eu-west-1");
    await rejects(eu.send(new K.DescribeKeyCommand({ KeyId: k.KeyId })), K.NotFoundException);
    await rejects(eu.send(new K.DescribeKeyCommand({ KeyId: k.Arn })), K.NotFoundException);
    const c = await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode("x") }));
    const e = await rejects(eu.send(new K.DecryptCommand({ CiphertextBlob: c.CiphertextBlob })), K.KMSServiceException);
    expect(e.name).toBe("AccessDeniedException");
    const euKey = (await eu.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    expect(euKey.Arn).toContain(":eu-west-1:");
  });

  it("rejects a wrong secret and an unknown access key", async () => {
    const endpoint = inject("kmsEndpoint");
    const wrong = new K.KMSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: E2E.accessKeyId, secretAccessKey: "wrong" }, maxAttempts: 1 });
    expect((await rejects(wrong.send(new K.ListKeysCommand({})), K.KMSServiceException)).name).toBe("InvalidSignatureException");
    const unknown = new K.KMSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "x" }, maxAttempts: 1 });
    expect((await rejects(unknown.send(new K.ListKeysCommand({})), K.KMSServiceException)).name).toBe("UnrecognizedClientException");
  });
});
