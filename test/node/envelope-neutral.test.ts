// The environment-neutral entry (src/envelope/index.ts: what browsers and Workers get): AES-GCM on
// the WASM core and ECDSA on @noble, checked against the AWS Encryption SDK (OpenSSL) both ways.
// This file imports no Node entry of the envelope, so the neutral defaults are in force.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  AlgorithmSuiteIdentifier, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient,
} from "@aws-crypto/client-node";
import "../../src/crypto/node.js"; // hands the WASM core its module, as a Worker's import would
import { RawAesKeyring, decrypt, encrypt, type SuiteId } from "../../src/envelope/index.js";
import { platform } from "../../src/envelope/platform.js";

const key = new Uint8Array(randomBytes(32));
const ours = new RawAesKeyring({ keyNamespace: "neutral", keyName: "k", key });
const theirs = new RawAesKeyringNode({ keyNamespace: "neutral", keyName: "k", unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });

describe("the neutral entry", () => {
  it("runs on the WASM core and @noble", () => {
    expect(platform().aes.name).toBe("wasm");
    expect(platform().signatures.name).toBe("noble");
  });

  for (const suite of [0x0478, 0x0578] as SuiteId[]) {
    it(`suite 0x0${suite.toString(16)} both ways with the ESDK`, async () => {
      const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const pt = randomBytes(30_000);
      const { result } = await encrypt(pt, { keyring: ours, suite, encryptionContext: { where: "browser" } });
      expect(Buffer.from((await esdk.decrypt(theirs, result)).plaintext).equals(pt)).toBe(true);
      const made = await esdk.encrypt(theirs, pt, { suiteId: suite as number as AlgorithmSuiteIdentifier, encryptionContext: { where: "node" } });
      expect(Buffer.from((await decrypt(made.result, { keyring: ours })).plaintext).equals(pt)).toBe(true);
      // A flipped signature byte is caught by the @noble verifier too.
      if (suite === 0x0578) {
        const t = Uint8Array.from(made.result);
        t[t.length - 5]! ^= 1;
        await expect(decrypt(t, { keyring: ours })).rejects.toMatchObject({ code: "SIGNATURE" });
      }
    });
  }

  for (const suite of [0x0378, 0x0346, 0x0214] as SuiteId[]) {
    it(`signed version 1 suite 0x0${suite.toString(16)} from the ESDK verifies with @noble`, async () => {
      const esdk = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
      const pt = randomBytes(5000);
      const made = await esdk.encrypt(theirs, pt, { suiteId: suite as number as AlgorithmSuiteIdentifier });
      expect(Buffer.from((await decrypt(made.result, { keyring: ours, commitmentPolicy: "REQUIRE_ENCRYPT_ALLOW_DECRYPT" })).plaintext).equals(pt)).toBe(true);
      const { result } = await encrypt(pt, { keyring: ours, suite, commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT" });
      expect(Buffer.from((await esdk.decrypt(theirs, result)).plaintext).equals(pt)).toBe(true);
    });
  }
});
