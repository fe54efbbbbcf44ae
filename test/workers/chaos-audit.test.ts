// Findings of `npm run chaos` (docs/chaos.md), each kept as a regression test here: what the
// AuditLog does during an R2 outage under load, a crash in the middle of a key's destruction, a
// CreateKey that dies between registering its key and making it; and the chaos hooks' gate.
import { describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { gunzip } from "../../src/audit/objects.js";
import { encodeRecord, type CloudTrailRecord } from "../../src/audit/record.js";
import { DELIVERY_BATCH, type AuditLog } from "../../src/audit/audit-log.js";
import { auditLogName, catalogName, vaultName } from "../../src/placement.js";
import { VERIFY_REGISTRATION_MS, type Catalog } from "../../src/vault/catalog.js";
import { SKIP } from "../../src/vault/types.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { ACCOUNT, admin, call, ok } from "./kms.js";

const env = testEnv as unknown as Env;
// An account of its own: no other test's records or alarms in this AuditLog, nor objects under its prefix.
const OWN = "999900001111";
const REGION = "us-east-1";

const record = (i: number): CloudTrailRecord => ({
  eventVersion: "1.08", userIdentity: { type: "Root", accountId: ACCOUNT }, eventTime: "2026-01-01T00:00:00Z", eventSource: "kms.amazonaws.com",
  eventName: "ListKeys", awsRegion: REGION, sourceIPAddress: "127.0.0.1", userAgent: "test", requestParameters: null, responseElements: null,
  requestID: `outage-${i}`, eventID: crypto.randomUUID(), readOnly: true, eventType: "AwsApiCall", managementEvent: true,
  recipientAccountId: OWN, eventCategory: "Management",
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("an R2 outage under load", () => {
  it("records arriving past a full batch do not pull a backed-off retry forward: R2 is retried on the backoff schedule", async () => {
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(REGION, OWN)));
    await runInDurableObject(log, (i: AuditLog) => i.faults.armFor("r2-put", 60_000));
    // A full batch: the alarm is due at once, runs, and R2 refuses it (the first retry is 2 s later).
    await log.append(REGION, OWN, Array.from({ length: DELIVERY_BATCH }, (_, i) => encodeRecord(record(i))));
    const failed = () => runInDurableObject(log, (i: AuditLog) => i.faults.failed.get("r2-put") ?? 0);
    for (let t = 0; t < 50 && (await failed()) === 0; t++) await sleep(20);
    expect(await failed()).toBe(1);
    // Load goes on for a second: with a retry pending, each append used to set the alarm to now,
    // and every one of them read, gzipped and tried to write a batch again.
    for (let n = 0; n < 10; n++) {
      await log.append(REGION, OWN, [encodeRecord(record(DELIVERY_BATCH + n))]);
      await sleep(100);
    }
    expect(await failed()).toBe(1);
    // R2 is back: the retry delivers every record, once.
    await runInDurableObject(log, (i: AuditLog) => i.faults.disarm());
    expect(await runDurableObjectAlarm(log)).toBe(true);
    const ids: string[] = [];
    for (const o of (await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${OWN}/CloudTrail/` })).objects) {
      const body = await (await env.AUDIT_BUCKET.get(o.key))!.arrayBuffer();
      ids.push(...(JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(body)))) as { Records: CloudTrailRecord[] }).Records.map((r) => r.requestID!));
    }
    expect(ids.length).toBe(DELIVERY_BATCH + 10);
    expect(new Set(ids).size).toBe(DELIVERY_BATCH + 10);
  });
});

describe("a crash while a key is destroyed", () => {
  it("the alarm that retries the destruction does not record DeleteKey again", async () => {
    const { KeyId } = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata;
    await ok("ScheduleKeyDeletion", { KeyId, PendingWindowInDays: 7 });
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", KeyId)));
    await runInDurableObject(vault, (i: KeyVault) => {
      i.clockOffsetMs += 8 * 86_400_000;
      i.faults.arm("after-delete-record");
    });
    // The first pass stores DeleteKey and dies before the key is gone; the alarm runs again (as
    // the runtime retries a failed alarm).
    await expect(runInDurableObject(vault, (i: KeyVault) => i.alarm())).rejects.toThrow(/after-delete-record/);
    await runInDurableObject(vault, (i: KeyVault) => i.alarm());
    expect((await call("DescribeKey", { KeyId })).body.__type).toBe("NotFoundException");
    expect((await admin("AuditFlush")).status).toBe(200);
    const deletes: CloudTrailRecord[] = [];
    let cursor: string | undefined;
    do {
      const listed = await env.AUDIT_BUCKET.list({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/`, cursor });
      for (const o of listed.objects) {
        const body = await (await env.AUDIT_BUCKET.get(o.key))!.arrayBuffer();
        const { Records } = JSON.parse(new TextDecoder().decode(await gunzip(new Uint8Array(body)))) as { Records: CloudTrailRecord[] };
        deletes.push(...Records.filter((r) => r.eventName === "DeleteKey" && r.serviceEventDetails?.keyId === KeyId));
      }
      cursor = listed.truncated ? listed.cursor : undefined;
    } while (cursor);
    expect(deletes).toHaveLength(1);
  });
});

/** Every key ListKeys names for the test account, paged. */
async function listedKeys(): Promise<string[]> {
  const out: string[] = [];
  let marker: string | undefined;
  do {
    const page = await ok<{ Keys: { KeyId: string }[]; Truncated: boolean; NextMarker?: string }>("ListKeys", { Limit: 1000, ...(marker ? { Marker: marker } : {}) });
    out.push(...page.Keys.map((k) => k.KeyId));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return out;
}

/**
 * The catalog instance's calls to vaults (claimUnmade), counted; the nth is answered 150 ms late
 * when `held(n)`. Returns the count so far.
 */
async function holdClaims(catalog: DurableObjectStub<Catalog>, held: (n: number) => boolean): Promise<() => number> {
  let asked = 0;
  await runInDurableObject(catalog, (i: Catalog) => {
    const c = i as unknown as { env: Env };
    const vaults = c.env.KEY_VAULT;
    const wrapped = {
      idFromName: (name: string) => vaults.idFromName(name),
      get: (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
        const stub = vaults.get(id, options);
        return { claimUnmade: async (decided: typeof SKIP.noKeyYet) => { if (held(++asked)) await sleep(150); return stub.claimUnmade(decided); } };
      },
    };
    c.env = { ...c.env, KEY_VAULT: wrapped as unknown as Env["KEY_VAULT"] };
  });
  return () => asked;
}

describe("a CreateKey that dies between registering its key and making it", () => {
  it("leaves no listing of a key that does not exist: the catalog asks the vault, which then refuses to make it", async () => {
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(catalogName("us-east-1", ACCOUNT)));
    const phantom = crypto.randomUUID();
    // What CreateKey does first; the process dies before the key's vault makes it.
    expect(await catalog.registerKey(phantom, `arn:aws:kms:us-east-1:${ACCOUNT}:key/${phantom}`)).toEqual({ ok: true, value: null });
    const real = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    expect(await listedKeys()).toEqual(expect.arrayContaining([phantom, real]));
    expect((await call("DescribeKey", { KeyId: phantom })).body.__type).toBe("NotFoundException");
    // The catalog's alarm, once the registrations are due (VERIFY_REGISTRATION_MS later).
    await runInDurableObject(catalog, (i: Catalog) => i.verifyRegistrations(Date.now() + VERIFY_REGISTRATION_MS + 1));
    const listed = await listedKeys();
    expect(listed).not.toContain(phantom);
    expect(listed).toContain(real);
    expect((await call("DescribeKey", { KeyId: real })).status).toBe(200);
    // A creation still to come is refused by the vault it would have made.
    expect(await env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", phantom))).claimUnmade(SKIP.noKeyYet)).toBe("abandoned");
    expect(await env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", real))).claimUnmade(SKIP.noKeyYet)).toBe("exists");
  });

  it("a key removed and registered again while the catalog asked its vault keeps its new registration's check: the catalog asks the vault again when that one is due", async () => {
    // A catalog of its own (an account no other test uses), whose one registration is a real key's.
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(catalogName(REGION, "999900002222")));
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const arn = `arn:aws:kms:${REGION}:999900002222:key/${keyId}`;
    expect(await catalog.registerKey(keyId, arn)).toEqual({ ok: true, value: null });
    // The vault's answer to the catalog's check comes a while later (this catalog instance's calls to vaults only).
    const asked = await holdClaims(catalog, () => true);
    const verified = runInDurableObject(catalog, (i: Catalog) => i.verifyRegistrations(Date.now() + VERIFY_REGISTRATION_MS + 1));
    await sleep(40);
    // Meanwhile the key leaves the catalog (its replica was destroyed) and is registered again (made again, by a ReplicateKey that may yet die).
    await catalog.removeKey(keyId);
    expect(await catalog.registerKey(keyId, arn)).toEqual({ ok: true, value: null });
    await verified;
    expect(asked()).toBe(1);
    await runInDurableObject(catalog, (i: Catalog) => i.verifyRegistrations(Date.now() + 2 * VERIFY_REGISTRATION_MS + 1));
    expect(asked()).toBe(2);
  });
});

describe("a registration renewed while the catalog asked another key's vault", () => {
  it("is checked when its new time is due, not at the time the check listed", async () => {
    const account = `9998${String(Date.now()).slice(-8)}`;
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(catalogName(REGION, account)));
    const hex = crypto.randomUUID().replaceAll("-", "");
    const [first, second] = [`mrk-00${hex.slice(2)}`, `mrk-ff${hex.slice(2)}`]; // checked in this order
    const arn = (id: string) => `arn:aws:kms:${REGION}:${account}:key/${id}`;
    for (const id of [first, second]) expect(await catalog.registerKey(id, arn(id))).toEqual({ ok: true, value: null });
    // Both registered VERIFY_REGISTRATION_MS ago: due now. The first vault's answer comes a while later.
    await runInDurableObject(catalog, async (_i: Catalog, state) => { await state.storage.put({ [`v:${first}`]: Date.now() - 1, [`v:${second}`]: Date.now() - 1 }); });
    const asked = await holdClaims(catalog, (n) => n === 1);
    const verified = runInDurableObject(catalog, (i: Catalog) => i.verifyRegistrations(Date.now()));
    await sleep(40);
    // Meanwhile a retried ReplicateKey registers the second key again: its check is due later.
    expect(await catalog.registerKey(second, arn(second))).toEqual({ ok: true, value: null });
    await verified;
    expect(asked()).toBe(1);
    const listed = await catalog.listKeys(100);
    expect(listed.ok && listed.value.items.map((k) => k.KeyId)).toEqual([second]);
  });
});

describe("a ReplicateKey retried after it died between registering its replica and making it", () => {
  it("leaves the key listed and counted once", async () => {
    const account = `9999${String(Date.now()).slice(-8)}`;
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(catalogName(REGION, account)));
    const keyId = `mrk-${crypto.randomUUID().replaceAll("-", "")}`;
    const arn = `arn:aws:kms:${REGION}:${account}:key/${keyId}`;
    expect(await catalog.registerKey(keyId, arn)).toEqual({ ok: true, value: null });
    expect(await catalog.registerKey(keyId, arn)).toEqual({ ok: true, value: null });
    const listed = await catalog.listKeys(100);
    expect(listed.ok && listed.value.items.map((k) => k.KeyId)).toEqual([keyId]);
    expect(await runInDurableObject(catalog, (_i: Catalog, state) => state.storage.get("count"))).toBe(1);
    // Its vault is still asked when the registration is due: no key there, so the listing goes.
    await runInDurableObject(catalog, (i: Catalog) => i.verifyRegistrations(Date.now() + VERIFY_REGISTRATION_MS + 1));
    const after = await catalog.listKeys(100);
    expect(after.ok && after.value.items).toEqual([]);
    expect(await runInDurableObject(catalog, (_i: Catalog, state) => state.storage.get("count"))).toBe(0);
  });
});

describe("the chaos hooks", () => {
  it("refuse every command unless CHAOS is on (it is not in wrangler.toml, nor in these tests)", async () => {
    expect(env.CHAOS).toBeUndefined();
    const key = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const vault = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(`us-east-1/key/${key}`));
    const log = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(auditLogName(REGION, OWN)));
    for (const cmd of [{ op: "stats" }, { op: "abort" }, { op: "clock", addMs: 1 }, { op: "arm", point: "r2-put" }] as const) {
      expect(await vault.chaos(cmd)).toEqual({ refused: 'chaos hooks are off (CHAOS is not "on")' });
      expect(await log.chaos(cmd)).toEqual({ refused: 'chaos hooks are off (CHAOS is not "on")' });
    }
    // Nothing moved: the vault's clock and faults are as they were.
    expect(await runInDurableObject(vault, (i: KeyVault) => i.clockOffsetMs)).toBe(0);
  });
});
