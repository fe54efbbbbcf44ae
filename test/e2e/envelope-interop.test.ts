// `edgekms encrypt | decrypt` against the AWS Encryption SDK for JavaScript (@aws-crypto/client-node)
// with KMS keyrings on the same e2e server, both ways: messages the SDK makes decrypt with the CLI,
// and messages the CLI makes decrypt with the SDK — for 0x0478 and 0x0578, three wrapping keys (one
// in another region) and an encryption context; and a version 1 suite (0x0378) from the SDK.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { E2E } from "./client.js";
import { edgekms, esdkKmsClient, metadata, newKeyArn, pseudoRandom, tempDir } from "./envelope-helpers.js";

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const clientProvider = (region: string) => esdkKmsClient(region);
const CONTEXT = { purpose: "envelope-e2e", tenant: "t-42" };

const SUITES = [
  { id: 0x0478, esdk: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY },
  { id: 0x0578, esdk: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 },
] as const;

let a: string, b: string, west: string;

beforeAll(async () => {
  a = await newKeyArn("us-east-1", "envelope generator");
  b = await newKeyArn("us-east-1", "envelope second key");
  west = await newKeyArn("us-west-2", "envelope key in another region");
});

describe("edgekms envelope CLI and the AWS Encryption SDK", () => {
  for (const suite of SUITES) {
    const hex = `0x0${suite.id.toString(16)}`;

    it(`SDK → CLI, ${hex}: three wrapping keys (one in us-west-2), each alone decrypts; context checked`, async () => {
      const dir = tempDir();
      const plaintext = pseudoRandom(10_000 + suite.id, suite.id);
      const keyring = new KmsKeyringNode({ generatorKeyId: a, keyIds: [b, west], clientProvider });
      const { result, messageHeader } = await esdk.encrypt(keyring, plaintext, { suiteId: suite.esdk, encryptionContext: CONTEXT, frameLength: 1024 });
      expect(messageHeader.encryptedDataKeys.map((k) => k.providerInfo)).toEqual([a, b, west]);
      writeFileSync(join(dir, "sdk.enc"), result);

      for (const key of [a, b, west]) {
        const out = join(dir, `out-${key.split("/").pop()}`);
        const r = edgekms(["decrypt", "-i", join(dir, "sdk.enc"), "-o", out, "-w", `key=${key}`, "-c", `purpose=${CONTEXT.purpose}`, "--metadata-output", join(dir, "meta.jsonl")]);
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(out).equals(plaintext)).toBe(true);
      }
      const [m] = metadata(readFileSync(join(dir, "meta.jsonl"), "utf8"));
      expect(m).toMatchObject({ mode: "decrypt", wrapping_keys: [a, b, west], bytes_out: plaintext.length });
      expect(m.header).toMatchObject({ version: 2, algorithm_id: hex, frame_length: 1024, encryption_context: expect.objectContaining(CONTEXT) });
      expect("aws-crypto-public-key" in m.header.encryption_context).toBe(suite.id === 0x0578);

      // The SDK's context is required as given: a wrong value or a missing key fails, leaving nothing.
      const wrong = edgekms(["decrypt", "-i", join(dir, "sdk.enc"), "-o", join(dir, "wrong"), "-w", `key=${a}`, "-c", "purpose=other"]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/purpose/);
      const missing = edgekms(["decrypt", "-i", join(dir, "sdk.enc"), "-o", join(dir, "missing"), "-w", `key=${a}`, "-c", "owner"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/owner/);
    });

    it(`CLI → SDK, ${hex}: three wrapping keys in two groups, the SDK decrypts with each key alone and in discovery mode`, async () => {
      const dir = tempDir();
      const plaintext = pseudoRandom(50_001, 7 + suite.id);
      writeFileSync(join(dir, "plain"), plaintext);
      const r = edgekms([
        "encrypt", "-i", join(dir, "plain"), "-o", join(dir, "cli.enc"), "-w", `key=${a}`, `key=${b}`, "-w", `key=${west}`,
        "-c", `purpose=${CONTEXT.purpose}`, `tenant=${CONTEXT.tenant}`, "--algorithm", hex, "--frame-length", "2000",
        "--metadata-output", join(dir, "meta.jsonl"),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const message = readFileSync(join(dir, "cli.enc"));
      const [m] = metadata(readFileSync(join(dir, "meta.jsonl"), "utf8"));
      expect(m).toMatchObject({ mode: "encrypt", wrapping_keys: [a, b, west], bytes_in: plaintext.length, bytes_out: message.length });

      for (const key of [a, b, west]) {
        const { plaintext: back, messageHeader } = await esdk.decrypt(new KmsKeyringNode({ keyIds: [key], clientProvider }), message);
        expect(Buffer.from(back).equals(plaintext)).toBe(true);
        expect(messageHeader.suiteId).toBe(suite.id);
        expect(messageHeader.frameLength).toBe(2000);
        expect(messageHeader.encryptionContext).toMatchObject(CONTEXT);
        expect(messageHeader.encryptedDataKeys.map((k) => k.providerInfo)).toEqual([a, b, west]);
      }
      const discovery = new KmsKeyringNode({ discovery: true, discoveryFilter: { partition: "aws", accountIDs: [E2E.account] }, clientProvider });
      expect(Buffer.from((await esdk.decrypt(discovery, message)).plaintext).equals(plaintext)).toBe(true);

      // The SDK's streaming decrypt too (it reads frame by frame).
      const chunks: Buffer[] = [];
      const stream = esdk.decryptStream(new KmsKeyringNode({ keyIds: [west], clientProvider }));
      stream.on("data", (c: Buffer) => chunks.push(c));
      const done = new Promise((res, rej) => { stream.on("end", res); stream.on("error", rej); });
      stream.end(message);
      await done;
      expect(Buffer.concat(chunks).equals(plaintext)).toBe(true);
    });
  }

  it("an empty plaintext and one of exactly two frames, both ways", async () => {
    const dir = tempDir();
    for (const [name, plaintext] of [["empty", Buffer.alloc(0)], ["two-frames", pseudoRandom(8192, 3)]] as const) {
      writeFileSync(join(dir, name), plaintext);
      const r = edgekms(["encrypt", "-i", join(dir, name), "-o", join(dir, `${name}.enc`), "-w", `key=${a}`]);
      expect(r.code, r.stderr).toBe(0);
      const back = await esdk.decrypt(new KmsKeyringNode({ keyIds: [a], clientProvider }), readFileSync(join(dir, `${name}.enc`)));
      expect(Buffer.from(back.plaintext).equals(plaintext)).toBe(true);
      const { result } = await esdk.encrypt(new KmsKeyringNode({ generatorKeyId: a, clientProvider }), plaintext, { frameLength: 4096 });
      writeFileSync(join(dir, `${name}.sdk`), result);
      const d = edgekms(["decrypt", "-i", join(dir, `${name}.sdk`), "-o", join(dir, `${name}.out`), "-w", `key=${a}`]);
      expect(d.code, d.stderr).toBe(0);
      expect(readFileSync(join(dir, `${name}.out`)).equals(plaintext)).toBe(true);
    }
  });

  it("a version 1 message (0x0378) from the SDK: refused under the default commitment policy, decrypted when allowed", async () => {
    const dir = tempDir();
    const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
    const plaintext = pseudoRandom(9000, 11);
    const { result } = await legacy.encrypt(new KmsKeyringNode({ generatorKeyId: a, keyIds: [west], clientProvider }), plaintext, {
      suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, encryptionContext: CONTEXT,
    });
    writeFileSync(join(dir, "v1.enc"), result);
    const refused = edgekms(["decrypt", "-i", join(dir, "v1.enc"), "-o", join(dir, "refused"), "-w", `key=${west}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/commitment/i);
    const ok = edgekms(["decrypt", "-i", join(dir, "v1.enc"), "-o", join(dir, "v1.out"), "-w", `key=${west}`, "--commitment-policy", "require-encrypt-allow-decrypt"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, "v1.out")).equals(plaintext)).toBe(true);

    // And the CLI encrypts 0x0378 only under forbid-encrypt-allow-decrypt; the SDK reads it.
    writeFileSync(join(dir, "plain"), plaintext);
    const no = edgekms(["encrypt", "-i", join(dir, "plain"), "-o", join(dir, "no.enc"), "-w", `key=${a}`, "--algorithm", "0x0378"]);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toMatch(/commit/i);
    const yes = edgekms(["encrypt", "-i", join(dir, "plain"), "-o", join(dir, "v1cli.enc"), "-w", `key=${a}`, "--algorithm", "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", "--commitment-policy", "forbid-encrypt-allow-decrypt"]);
    expect(yes.code, yes.stderr).toBe(0);
    const back = await legacy.decrypt(new KmsKeyringNode({ keyIds: [a], clientProvider }), readFileSync(join(dir, "v1cli.enc")));
    expect(back.messageHeader.suiteId).toBe(0x0378);
    expect(Buffer.from(back.plaintext).equals(plaintext)).toBe(true);
  });
});
