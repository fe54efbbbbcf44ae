// User-supplied strings and maps reach the vault as data: a map key named like an
// Object.prototype member ("__proto__", "constructor", …) is an ordinary key, and a string that
// is not well-formed Unicode (a lone UTF-16 surrogate, which TextEncoder would turn into U+FFFD)
// is refused with a ValidationException before anything is encoded or compared.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signRequest } from "../../src/cli/sign.js";
import { sha256Hex } from "../../src/crypto/hex.js";
import { ACCESS_KEY_ID, ACCOUNT, ENDPOINT, SECRET_ACCESS_KEY, b64, call, ok, text } from "./kms.js";

async function newKey(): Promise<string> {
  return (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
}

/** JSON text of the body with `"\ud800"`-style escapes kept as written (a lone surrogate once parsed). */
const rawJson = (parts: string[]): string => parts.join("");
const LONE_HIGH = "\\ud800";
const LONE_LOW = "\\udfff";

function expectValidation(r: { status: number; body: { __type?: string; message?: string } }, member: string): void {
  expect(r.body.__type, JSON.stringify(r.body)).toBe("ValidationException");
  expect(r.status).toBe(400);
  expect(r.body.message).toMatch(new RegExp(`^1 validation error detected: Value at '${member.replaceAll(".", "\\.")}' failed to satisfy constraint: Member must `));
}

describe("encryption-context keys named like Object.prototype members", () => {
  it("__proto__ is bound to the ciphertext like any other key", async () => {
    const keyId = await newKey();
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
    const full = JSON.parse('{"__proto__":"a","purpose":"p"}') as Record<string, string>;
    const { CiphertextBlob } = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("secret"), EncryptionContext: full });
    const partial = await call("Decrypt", { CiphertextBlob, EncryptionContext: { purpose: "p" } });
    expect(partial.body.__type, JSON.stringify(partial.body)).toBe("InvalidCiphertextException");
    expect(partial.status).toBe(400);
    const { Plaintext } = await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob, EncryptionContext: full });
    expect(text(Plaintext)).toBe("secret");
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])("%s round-trips and cannot be left out", async (name) => {
    const keyId = await newKey();
    const context = JSON.parse(`{${JSON.stringify(name)}:"v"}`) as Record<string, string>;
    const { CiphertextBlob } = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: context });
    expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob, EncryptionContext: context })).Plaintext)).toBe("x");
    expect((await call("Decrypt", { CiphertextBlob })).body.__type).toBe("InvalidCiphertextException");
    expect((await call("Decrypt", { CiphertextBlob, EncryptionContext: JSON.parse(`{${JSON.stringify(name)}:"w"}`) })).body.__type).toBe("InvalidCiphertextException");
  });

  it("a grant constraint keeps a __proto__ key", async () => {
    const keyId = await newKey();
    const constraint = JSON.parse('{"__proto__":"a"}') as Record<string, string>;
    const { GrantId } = await ok<{ GrantId: string }>("CreateGrant", {
      KeyId: keyId,
      GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/grantee`,
      Operations: ["Decrypt"],
      Constraints: { EncryptionContextEquals: constraint },
    });
    const { Grants } = await ok<{ Grants: { GrantId: string; Constraints?: { EncryptionContextEquals?: Record<string, string> } }[] }>("ListGrants", { KeyId: keyId });
    const stored = Grants.find((g) => g.GrantId === GrantId)?.Constraints?.EncryptionContextEquals;
    expect(stored && Object.entries(stored)).toEqual([["__proto__", "a"]]);
  });
});

describe("strings that are not well-formed Unicode → ValidationException", () => {
  it("an encryption-context key or value with a lone surrogate", async () => {
    const keyId = await newKey();
    for (const [k, v] of [[LONE_HIGH, "v"], ["k", LONE_HIGH], ["k", `a${LONE_LOW}b`], [`${LONE_LOW}${LONE_HIGH}`, "v"]]) {
      const body = rawJson(['{"KeyId":"', keyId, '","Plaintext":"', b64("x"), '","EncryptionContext":{"', k, '":"', v, '"}}']);
      expectValidation(await call("Encrypt", null, { rawBody: body }), "encryptionContext");
      expectValidation(await call("GenerateDataKey", null, { rawBody: body.replace(/"Plaintext":"[^"]*"/, '"KeySpec":"AES_256"') }), "encryptionContext");
    }
  });

  it("is not taken for U+FFFD: a context with U+FFFD does not open with a lone surrogate", async () => {
    const keyId = await newKey();
    const { CiphertextBlob } = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { k: "\ufffd" } });
    const r = await call("Decrypt", null, { rawBody: rawJson(['{"CiphertextBlob":"', CiphertextBlob, '","EncryptionContext":{"k":"', LONE_HIGH, '"}}']) });
    expectValidation(r, "encryptionContext");
  });

  it("a surrogate pair is well-formed and accepted", async () => {
    const keyId = await newKey();
    const context = { "\u{1F511}": "\u{1F600}" };
    const { CiphertextBlob } = await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: context });
    const r = await call("Decrypt", null, { rawBody: rawJson(['{"CiphertextBlob":"', CiphertextBlob, '","EncryptionContext":{"\\ud83d\\udd11":"\\ud83d\\ude00"}}']) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it("a tag key or value on CreateKey and TagResource", async () => {
    expectValidation(await call("CreateKey", null, { rawBody: rawJson(['{"Tags":[{"TagKey":"', LONE_HIGH, '","TagValue":"v"}]}']) }), "tags.1.member.tagKey");
    expectValidation(await call("CreateKey", null, { rawBody: rawJson(['{"Tags":[{"TagKey":"k","TagValue":"', LONE_LOW, '"}]}']) }), "tags.1.member.tagValue");
    const keyId = await newKey();
    expectValidation(await call("TagResource", null, { rawBody: rawJson(['{"KeyId":"', keyId, '","Tags":[{"TagKey":"ok","TagValue":"v"},{"TagKey":"x', LONE_HIGH, '","TagValue":"v"}]}']) }), "tags.2.member.tagKey");
    expectValidation(await call("TagResource", null, { rawBody: rawJson(['{"KeyId":"', keyId, '","Tags":[{"TagKey":"k","TagValue":"', LONE_LOW, '"}]}']) }), "tags.1.member.tagValue");
    const { Tags } = await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: keyId });
    expect(Tags).toEqual([]);
  });

  it("a grant constraint key or value", async () => {
    const keyId = await newKey();
    const grant = (constraints: string) => rawJson(['{"KeyId":"', keyId, '","GranteePrincipal":"arn:aws:iam::', ACCOUNT, ':user/grantee","Operations":["Decrypt"],"Constraints":', constraints, "}"]);
    expectValidation(await call("CreateGrant", null, { rawBody: grant(`{"EncryptionContextSubset":{"${LONE_HIGH}":"v"}}`) }), "constraints.encryptionContextSubset");
    expectValidation(await call("CreateGrant", null, { rawBody: grant(`{"EncryptionContextEquals":{"k":"${LONE_LOW}"}}`) }), "constraints.encryptionContextEquals");
  });

  it("a plain string member, a list item and a policy", async () => {
    expectValidation(await call("CreateKey", null, { rawBody: rawJson(['{"Description":"d', LONE_HIGH, '"}']) }), "description");
    const keyId = await newKey();
    expectValidation(await call("Encrypt", null, { rawBody: rawJson(['{"KeyId":"', keyId, '","Plaintext":"', b64("x"), '","GrantTokens":["', LONE_HIGH, '"]}']) }), "grantTokens.1.member");
    expectValidation(await call("Encrypt", null, { rawBody: rawJson(['{"KeyId":"', keyId, LONE_LOW, '","Plaintext":"', b64("x"), '"}']) }), "keyId");
    expectValidation(await call("PutKeyPolicy", null, { rawBody: rawJson(['{"KeyId":"', keyId, '","Policy":"{', LONE_HIGH, '}"}']) }), "policy");
  });
});

describe("a body whose bytes are not UTF-8 → SerializationException, not U+FFFD", () => {
  /** POSTs `bytes` signed over exactly those bytes (the payload hash given, as a client hashing bytes does). */
  async function rawCall(target: string, bytes: Uint8Array, endpoint = ENDPOINT): Promise<{ status: number; body: { __type?: string; message?: string } }> {
    const hash = await sha256Hex(bytes);
    const headers = await signRequest(endpoint, target, "", { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: "us-east-1", extraHeaders: { "x-amz-content-sha256": hash } });
    const res = await SELF.fetch(endpoint, { method: "POST", headers, body: bytes });
    return { status: res.status, body: (await res.json()) as { __type?: string; message?: string } };
  }
  /** JSON text around raw bytes: `before`, the bytes, `after`. */
  const around = (before: string, bytes: number[], after: string) => {
    const e = new TextEncoder();
    return Uint8Array.from([...e.encode(before), ...bytes, ...e.encode(after)]);
  };
  // FF FE is no UTF-8 at all; ED A0 80 is a lone surrogate (U+D800) written as UTF-8; C0 AF an overlong "/".
  const INVALID: [string, number[]][] = [["FF FE", [0xff, 0xfe]], ["ED A0 80", [0xed, 0xa0, 0x80]], ["C0 AF", [0xc0, 0xaf]]];

  it.each(INVALID)("Encrypt with %s in an encryption-context value, and an alias name", async (_, bytes) => {
    const keyId = await newKey();
    for (const body of [
      around(`{"KeyId":"${keyId}","Plaintext":"${b64("x")}","EncryptionContext":{"k":"`, bytes, `"}}`),
      around(`{"KeyId":"alias/`, bytes, `","Plaintext":"${b64("x")}"}`),
    ]) {
      const r = await rawCall("TrentService.Encrypt", body);
      expect(r.body.__type, JSON.stringify(r.body)).toBe("SerializationException");
      expect(r.status).toBe(400);
    }
  });

  it.each(INVALID)("a batch entry and an admin call with %s", async (_, bytes) => {
    const keyId = await newKey();
    const batch = await rawCall("EdgeKMSBatch.BatchEncrypt", around(`{"Entries":[{"KeyId":"${keyId}","Plaintext":"${b64("x")}","EncryptionContext":{"k":"`, bytes, `"}}]}`));
    expect(batch.body.__type, JSON.stringify(batch.body)).toBe("SerializationException");
    const user = await rawCall("EdgeKMSAdmin.CreateUser", around(`{"UserName":"u`, bytes, `"}`), `${ENDPOINT}admin`);
    expect(user.body.__type, JSON.stringify(user.body)).toBe("SerializationException");
    expect([batch.status, user.status]).toEqual([400, 400]);
  });

  it("well-formed UTF-8 beyond ASCII is read as written", async () => {
    const keyId = await newKey();
    const r = await rawCall("TrentService.Encrypt", around(`{"KeyId":"${keyId}","Plaintext":"${b64("x")}","EncryptionContext":{"k":"`, [0xc3, 0xa9, 0xf0, 0x9f, 0x94, 0x91], `"}}`));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const { CiphertextBlob } = r.body as { CiphertextBlob?: string };
    expect(text((await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob, EncryptionContext: { k: "é\u{1F511}" } })).Plaintext)).toBe("x");
  });
});

describe("a tag key given twice in one request", () => {
  // A key's tags are a map: the last value stands, in the key's first place, as TagResource merges them.
  it("CreateKey, ReplicateKey and TagResource keep one tag per key; __proto__ and constructor among them", async () => {
    const twice = [
      { TagKey: "team", TagValue: "a" }, { TagKey: "__proto__", TagValue: "p1" }, { TagKey: "team", TagValue: "b" },
      { TagKey: "constructor", TagValue: "c" }, { TagKey: "__proto__", TagValue: "p2" },
    ];
    const once = [{ TagKey: "team", TagValue: "b" }, { TagKey: "__proto__", TagValue: "p2" }, { TagKey: "constructor", TagValue: "c" }];
    const made = await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", { MultiRegion: true, Tags: twice });
    expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: made.KeyMetadata.KeyId })).Tags).toEqual(once);
    const replica = await ok<{ ReplicaTags: unknown[] }>("ReplicateKey", { KeyId: made.KeyMetadata.KeyId, ReplicaRegion: "us-west-2", Tags: twice });
    expect(replica.ReplicaTags).toEqual(once);
    expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: made.KeyMetadata.KeyId }, { region: "us-west-2" })).Tags).toEqual(once);
    const plain = await newKey();
    await ok("TagResource", { KeyId: plain, Tags: twice });
    expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: plain })).Tags).toEqual(once);
  });
});
