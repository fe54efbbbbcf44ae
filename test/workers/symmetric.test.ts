// The symmetric key life cycle through the wire protocol, inside workerd.
import { describe, expect, it } from "vitest";
import { ACCOUNT, b64, call, ok, text, unb64 } from "./kms.js";

describe("symmetric keys end to end (SELF.fetch)", () => {
  it("CreateKey → Encrypt → Decrypt → GenerateDataKey", async () => {
    const { KeyMetadata: md } = await ok<{ KeyMetadata: Record<string, unknown> }>("CreateKey", { Description: "first" });
    expect(md).toMatchObject({ AWSAccountId: ACCOUNT, KeyState: "Enabled", Enabled: true, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", KeyManager: "CUSTOMER", Origin: "AWS_KMS", Description: "first" });
    const keyId = md.KeyId as string;
    const enc = await ok<{ CiphertextBlob: string; KeyId: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("hello"), EncryptionContext: { a: "1" } });
    expect(enc.KeyId).toBe(md.Arn);
    const dec = await ok<{ Plaintext: string; KeyId: string }>("Decrypt", { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "1" } });
    expect(text(dec.Plaintext)).toBe("hello");
    const wrongCtx = await call("Decrypt", { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: "2" } });
    expect(wrongCtx.status).toBe(400);
    expect(wrongCtx.body.__type).toBe("InvalidCiphertextException");
    const dk = await ok<{ Plaintext: string; CiphertextBlob: string }>("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256" });
    expect(unb64(dk.Plaintext).length).toBe(32);
    const back = await ok<{ Plaintext: string }>("Decrypt", { CiphertextBlob: dk.CiphertextBlob });
    expect(back.Plaintext).toBe(dk.Plaintext);
  });
});
