// The caching materials manager: a data key is reused within max age, max messages and max bytes,
// and never beyond; unsafe requests (unknown length, no key derivation) bypass it; decryption
// materials are reused within max age. The clock is injected, so no test waits.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  CachingMaterialsManager, DefaultMaterialsManager, RawAesKeyring, decrypt, encrypt,
  type DecryptionMaterials, type EncryptedDataKey, type EncryptionMaterials, type Keyring,
} from "../../src/envelope/node.js";

function counting() {
  const inner = new RawAesKeyring({ keyNamespace: "cache", keyName: "k", key: new Uint8Array(randomBytes(32)) });
  const counts = { encrypt: 0, decrypt: 0 };
  const keyring: Keyring = {
    onEncrypt: (m: EncryptionMaterials) => { counts.encrypt++; return inner.onEncrypt(m); },
    onDecrypt: (m: DecryptionMaterials, e: EncryptedDataKey[]) => { counts.decrypt++; return inner.onDecrypt(m, e); },
  };
  return { keyring, counts, inner };
}

const edkOf = async (m: Uint8Array, keyring: Keyring) => {
  const { header } = await decrypt(m, { keyring });
  return Buffer.from(header.encryptedDataKeys[0]!.ciphertext).toString("hex");
};

describe("CachingMaterialsManager", () => {
  it("reuses a data key for at most maxMessages messages", async () => {
    const { keyring, counts, inner } = counting();
    const materials = new CachingMaterialsManager({ keyring, maxAgeMs: 60_000, maxMessages: 3 });
    const pt = new Uint8Array(100);
    const msgs = [];
    for (let i = 0; i < 7; i++) msgs.push((await encrypt(pt, { materials })).result);
    expect(counts.encrypt).toBe(3); // messages 1-3, 4-6, 7
    const edks = await Promise.all(msgs.map((m) => edkOf(m, inner)));
    expect(new Set(edks.slice(0, 3)).size).toBe(1);
    expect(new Set(edks.slice(3, 6)).size).toBe(1);
    expect(edks[3]).not.toBe(edks[0]);
    expect(edks[6]).not.toBe(edks[3]);
    // Every message still has its own message id (and so its own frame key).
    const ids = new Set(await Promise.all(msgs.map(async (m) => Buffer.from((await decrypt(m, { keyring: inner })).header.messageId).toString("hex"))));
    expect(ids.size).toBe(7);
  });

  it("reuses a data key for at most maxBytes bytes; a message larger than maxBytes bypasses the cache", async () => {
    const { keyring, counts } = counting();
    const materials = new CachingMaterialsManager({ keyring, maxAgeMs: 60_000, maxBytes: 1000 });
    for (const n of [400, 400]) await encrypt(new Uint8Array(n), { materials }); // 800 bytes: one key
    expect(counts.encrypt).toBe(1);
    await encrypt(new Uint8Array(400), { materials }); // would make 1200: a new key
    expect(counts.encrypt).toBe(2);
    await encrypt(new Uint8Array(1001), { materials }); // larger than maxBytes: not cached at all
    await encrypt(new Uint8Array(1001), { materials });
    expect(counts.encrypt).toBe(4);
    await encrypt(new Uint8Array(100), { materials }); // the 400-byte entry still serves (500 bytes)
    expect(counts.encrypt).toBe(4);
  });

  it("reuses a data key for at most maxAgeMs", async () => {
    const { keyring, counts } = counting();
    let now = 1_000_000;
    const materials = new CachingMaterialsManager({ keyring, maxAgeMs: 5000, now: () => now });
    await encrypt(new Uint8Array(1), { materials });
    now += 5000;
    await encrypt(new Uint8Array(1), { materials });
    expect(counts.encrypt).toBe(1);
    now += 1;
    await encrypt(new Uint8Array(1), { materials });
    expect(counts.encrypt).toBe(2);
  });

  it("separates entries by suite and encryption context; bypasses unknown lengths and suites without key derivation", async () => {
    const { keyring, counts } = counting();
    const materials = new CachingMaterialsManager({ keyring, maxAgeMs: 60_000 });
    await encrypt(new Uint8Array(1), { materials, encryptionContext: { a: "1" } });
    await encrypt(new Uint8Array(1), { materials, encryptionContext: { a: "1" } });
    await encrypt(new Uint8Array(1), { materials, encryptionContext: { a: "2" } });
    await encrypt(new Uint8Array(1), { materials, suite: 0x0578 });
    await encrypt(new Uint8Array(1), { materials, suite: 0x0578 });
    expect(counts.encrypt).toBe(3);
    // Unknown length: the caller did not say how much it will encrypt.
    await materials.getEncryptionMaterials({ suite: 0x0478, encryptionContext: { a: "1" } });
    expect(counts.encrypt).toBe(4);
    // No key derivation: every message would use the data key itself.
    for (let i = 0; i < 2; i++) await encrypt(new Uint8Array(1), { materials, suite: 0x0078, commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT" });
    expect(counts.encrypt).toBe(6);
  });

  it("caches decryption materials for maxAgeMs", async () => {
    const { keyring, counts } = counting();
    let now = 0;
    const materials = new CachingMaterialsManager({ keyring, maxAgeMs: 1000, now: () => now });
    const { result } = await encrypt(new Uint8Array(randomBytes(5000)), { keyring });
    for (let i = 0; i < 3; i++) expect((await decrypt(result, { materials })).plaintext.length).toBe(5000);
    expect(counts.decrypt).toBe(1);
    now = 1001;
    await decrypt(result, { materials });
    expect(counts.decrypt).toBe(2);
    const { result: other } = await encrypt(new Uint8Array(1), { keyring });
    await decrypt(other, { materials });
    expect(counts.decrypt).toBe(3);
  });

  it("keeps at most capacity entries and accepts a materials manager as backing", async () => {
    const { keyring, counts } = counting();
    const materials = new CachingMaterialsManager({ keyring: new DefaultMaterialsManager(keyring), maxAgeMs: 60_000, capacity: 2 });
    for (const a of ["1", "2", "3", "1"]) await encrypt(new Uint8Array(1), { materials, encryptionContext: { a } });
    expect(counts.encrypt).toBe(4); // "1" was evicted by "3"
    expect(materials.size).toBe(2);
  });

  it("refuses bad limits", () => {
    const { keyring } = counting();
    expect(() => new CachingMaterialsManager({ keyring, maxAgeMs: 0 })).toThrow(/maxAgeMs/);
    expect(() => new CachingMaterialsManager({ keyring, maxAgeMs: 1, maxMessages: 0 })).toThrow(/maxMessages/);
    expect(() => new CachingMaterialsManager({ keyring, maxAgeMs: 1, maxBytes: -1 })).toThrow(/maxBytes/);
  });
});
