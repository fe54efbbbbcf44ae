// GetKeyLastUsage: the last successful cryptographic call of a key, with the CloudTrail event id
// of its record and its request id; what does not count (reads, failures, dry runs); and that
// the data path writes it at most once a minute (the rest rides along with other writes).
import { describe, expect, it } from "vitest";
import { env as testEnv, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { gunzip } from "../../src/audit/objects.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { LAST_USAGE, TRACKING_EPOCH_MS, type KeyLastUsage } from "../../src/vault/last-usage.js";
import { ACCOUNT, admin, b64, call, newAccount, ok } from "./kms.js";

const env = testEnv as unknown as Env;
const vaultStub = (keyId: string) => env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", keyId)));
type Usage = { KeyId: string; KeyLastUsage?: { Operation: string; Timestamp: number; CloudTrailEventId: string; KmsRequestId: string }; TrackingStartDate: number; KeyCreationDate: number };
const lastUsage = (KeyId: string) => ok<Usage>("GetKeyLastUsage", { KeyId });
const newKey = async (input: Record<string, unknown> = {}) => (await ok<{ KeyMetadata: { KeyId: string; Arn: string; CreationDate: number } }>("CreateKey", input)).KeyMetadata;

async function deliveredRecords(): Promise<CloudTrailRecord[]> {
  expect((await admin("AuditFlush")).status).toBe(200);
  const out: CloudTrailRecord[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/`, cursor });
    for (const o of listed.objects) {
      const obj = await env.AUDIT_BUCKET.get(o.key);
      out.push(...JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(await obj!.arrayBuffer())))).Records);
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return out;
}

describe("GetKeyLastUsage", () => {
  it("a new key: no usage yet; tracking starts when the key was made", async () => {
    const k = await newKey();
    const u = await lastUsage(k.KeyId);
    expect(u.KeyLastUsage).toBeUndefined();
    expect(u.KeyId).toBe(k.KeyId);
    expect(u.KeyCreationDate).toBe(k.CreationDate);
    expect(u.TrackingStartDate).toBe(Math.max(k.CreationDate, TRACKING_EPOCH_MS / 1000));
  });

  it("Encrypt, then Decrypt: the operation, its time, request id and the event id of its CloudTrail record; DescribeKey changes nothing", async () => {
    const k = await newKey();
    const before = Date.now() / 1000;
    const enc = await call<{ CiphertextBlob: string }>("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x") });
    const encId = enc.headers.get("x-amzn-RequestId")!;
    let u = await lastUsage(k.Arn);
    expect(u.KeyLastUsage).toMatchObject({ Operation: "Encrypt", KmsRequestId: encId });
    expect(u.KeyLastUsage!.Timestamp).toBeGreaterThanOrEqual(Math.floor(before) - 1);
    const dec = await call("Decrypt", { CiphertextBlob: enc.body.CiphertextBlob });
    const decId = dec.headers.get("x-amzn-RequestId")!;
    await ok("DescribeKey", { KeyId: k.KeyId });
    await ok("GetKeyRotationStatus", { KeyId: k.KeyId });
    u = await lastUsage(k.KeyId);
    expect(u.KeyLastUsage).toMatchObject({ Operation: "Decrypt", KmsRequestId: decId });
    const record = (await deliveredRecords()).find((r) => r.requestID === decId);
    expect(record?.eventName).toBe("Decrypt");
    expect(u.KeyLastUsage!.CloudTrailEventId).toBe(record!.eventID);
  });

  it("failures and dry runs are not uses; Sign, GenerateMac and data keys are", async () => {
    const k = await newKey();
    await ok("GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" });
    expect((await call("Decrypt", { KeyId: k.KeyId, CiphertextBlob: b64(new Uint8Array(80)) })).status).toBe(400);
    expect((await call("Encrypt", { KeyId: k.KeyId, Plaintext: b64("x"), DryRun: true })).body.__type).toBe("DryRunOperationException");
    expect((await lastUsage(k.KeyId)).KeyLastUsage?.Operation).toBe("GenerateDataKey");
    const s = await newKey({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await ok("GetPublicKey", { KeyId: s.KeyId });
    expect((await lastUsage(s.KeyId)).KeyLastUsage).toBeUndefined();
    await ok("Sign", { KeyId: s.KeyId, Message: b64("m"), SigningAlgorithm: "ECDSA_SHA_256" });
    expect((await lastUsage(s.KeyId)).KeyLastUsage?.Operation).toBe("Sign");
    const h = await newKey({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    await ok("GenerateMac", { KeyId: h.KeyId, Message: b64("m"), MacAlgorithm: "HMAC_SHA_256" });
    expect((await lastUsage(h.KeyId)).KeyLastUsage?.Operation).toBe("GenerateMac");
  });

  it("ReEncrypt counts for both keys", async () => {
    const [a, b] = [await newKey(), await newKey()];
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: a.KeyId, Plaintext: b64("x") })).CiphertextBlob;
    const r = await call("ReEncrypt", { CiphertextBlob: blob, DestinationKeyId: b.KeyId });
    expect(r.status).toBe(200);
    for (const k of [a, b]) expect((await lastUsage(k.KeyId)).KeyLastUsage).toMatchObject({ Operation: "ReEncrypt", KmsRequestId: r.headers.get("x-amzn-RequestId") });
  });

  it("aliases are refused, as are other accounts' keys and callers without kms:GetKeyLastUsage", async () => {
    const k = await newKey();
    await ok("CreateAlias", { AliasName: `alias/lu-${Date.now()}`, TargetKeyId: k.KeyId });
    const aliases = await ok<{ Aliases: { AliasName: string; TargetKeyId?: string }[] }>("ListAliases", { KeyId: k.KeyId });
    const byAlias = await call("GetKeyLastUsage", { KeyId: aliases.Aliases[0]!.AliasName });
    expect([byAlias.status, byAlias.body.__type]).toEqual([400, "NotFoundException"]);
    const other = await newAccount();
    const cross = await call("GetKeyLastUsage", { KeyId: k.Arn }, other);
    expect([cross.status, cross.body.__type]).toEqual([400, "NotFoundException"]);
  });

  it("the data path writes at most once a minute: the first use at once, later ones in memory until a write rides along", async () => {
    const k = await newKey();
    const stored = () => runInDurableObject(vaultStub(k.KeyId), async (_v: KeyVault, state: DurableObjectState) => state.storage.get<KeyLastUsage>(LAST_USAGE));
    expect(await stored()).toBeUndefined();
    await ok("Encrypt", { KeyId: k.KeyId, Plaintext: b64("1") });
    expect((await stored())?.operation).toBe("Encrypt");
    await ok("GenerateDataKey", { KeyId: k.KeyId, KeySpec: "AES_256" });
    // In memory, not yet written (the minute is not up).
    expect((await lastUsage(k.KeyId)).KeyLastUsage?.Operation).toBe("GenerateDataKey");
    expect((await stored())?.operation).toBe("Encrypt");
    // Any write of the vault takes it along.
    await ok("TagResource", { KeyId: k.KeyId, Tags: [{ TagKey: "t", TagValue: "v" }] });
    expect((await stored())?.operation).toBe("GenerateDataKey");
  });
});
