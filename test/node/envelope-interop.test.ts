// edgekms/envelope against the AWS Encryption SDK for JavaScript (@aws-crypto/client-node), with raw
// AES keyrings on both sides (no server): messages either side makes decrypt on the other, byte for
// byte the same plaintext, for the committing suites, the version 1 suites, several keyrings, an
// encryption context and frame sizes from 1 byte to larger than the plaintext.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  AlgorithmSuiteIdentifier, CommitmentPolicy, MultiKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient,
} from "@aws-crypto/client-node";
import {
  MultiKeyring, RawAesKeyring, decrypt, decryptStream, encrypt, encryptStream, nodeAesGcm, parseHeader, wasmAesGcm,
  type AesGcmProvider, type CommitmentPolicy as Policy, type SuiteId,
} from "../../src/envelope/node.js";

const WRAP = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
} as const;

interface Wrapping { ns: string; name: string; key: Uint8Array }
const wrapping = (name: string, len: 16 | 24 | 32 = 32): Wrapping => ({ ns: "edgekms-test", name, key: new Uint8Array(randomBytes(len)) });
const theirs = (w: Wrapping, utf8Sorting?: boolean) => new RawAesKeyringNode({
  keyNamespace: w.ns, keyName: w.name, unencryptedMasterKey: w.key.slice(), // the ESDK zeroes the buffer it is given
  wrappingSuite: WRAP[w.key.length as 16 | 24 | 32], utf8Sorting,
});
const ours = (w: Wrapping) => new RawAesKeyring({ keyNamespace: w.ns, keyName: w.name, key: w.key });

const esdk = {
  REQUIRE_ENCRYPT_REQUIRE_DECRYPT: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
  REQUIRE_ENCRYPT_ALLOW_DECRYPT: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT),
  FORBID_ENCRYPT_ALLOW_DECRYPT: buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT),
};

const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
const EC = { purpose: "interop test", "tenant": "acme", "ünïcödé-kéy": "välue ✓", empty: "" };

/** Collects a web ReadableStream. */
async function collect(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of r as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  return Buffer.concat(parts);
}

/** Writes data in chunks of the given sizes (cycled) through a stream pair and collects the output. */
async function through(p: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }, data: Uint8Array, sizes: number[]): Promise<Uint8Array> {
  const out = collect(p.readable);
  const w = p.writable.getWriter();
  let o = 0;
  for (let i = 0; o < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    await w.write(data.subarray(o, o + n));
    o += n;
  }
  await w.close();
  return out;
}

const COMMITTING: SuiteId[] = [0x0478, 0x0578];
const V1: SuiteId[] = [0x0378, 0x0346, 0x0214, 0x0178, 0x0146, 0x0114, 0x0078, 0x0046, 0x0014];

describe("the ESDK's messages decrypt with edgekms/envelope", () => {
  for (const suite of COMMITTING) {
    for (const [frameLength, size] of [[4096, 0], [4096, 1], [4096, 4096], [4096, 3 * 4096], [4096, 100_000], [1, 5], [512, 1000], [65536, 20_000]] as const) {
      it(`suite 0x${suite.toString(16).padStart(4, "0")}, frame ${frameLength}, ${size} bytes`, async () => {
        const w = wrapping("k1");
        const pt = randomBytes(size);
        const { result } = await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.encrypt(theirs(w), pt, { suiteId: suite as number as AlgorithmSuiteIdentifier, encryptionContext: EC, frameLength });
        const { plaintext, header } = await decrypt(result, { keyring: ours(w) });
        same(plaintext, pt);
        expect(header.suite).toBe(suite);
        expect(header.version).toBe(2);
        expect(header.frameLength).toBe(frameLength);
        expect(header.encryptionContext).toMatchObject(EC);
        if (suite === 0x0578) expect(header.encryptionContext["aws-crypto-public-key"]).toMatch(/^[A-Za-z0-9+/]+=*$/);
        // The streaming decryptor, fed in awkward chunk sizes, gives the same bytes.
        same(await through(decryptStream({ keyring: ours(w) }), result, [1, 7, 4133, 65536]), pt);
      });
    }
  }

  for (const suite of V1) {
    it(`version 1 suite 0x${suite.toString(16).padStart(4, "0")} (REQUIRE_ENCRYPT_ALLOW_DECRYPT)`, async () => {
      const w = wrapping("v1", ([16, 24, 32] as const)[suite % 3]);
      const pt = randomBytes(10_000);
      const { result } = await esdk.FORBID_ENCRYPT_ALLOW_DECRYPT.encrypt(theirs(w), pt, { suiteId: suite as number as AlgorithmSuiteIdentifier, encryptionContext: EC, frameLength: 1024 });
      const { plaintext, header } = await decrypt(result, { keyring: ours(w), commitmentPolicy: "REQUIRE_ENCRYPT_ALLOW_DECRYPT" });
      same(plaintext, pt);
      expect(header.version).toBe(1);
      expect(header.suite).toBe(suite);
      // The default policy refuses version 1 messages, naming the way out.
      await expect(decrypt(result, { keyring: ours(w) })).rejects.toMatchObject({ code: "COMMITMENT_POLICY", message: expect.stringContaining("REQUIRE_ENCRYPT_ALLOW_DECRYPT") });
    });
  }

  it("a message with several wrapping keys decrypts with any one of them", async () => {
    const [a, b, c] = [wrapping("a", 16), wrapping("b", 24), wrapping("c")];
    const ring = new MultiKeyringNode({ generator: theirs(a), children: [theirs(b), theirs(c)] });
    const pt = randomBytes(9000);
    const { result } = await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.encrypt(ring, pt, { encryptionContext: EC });
    for (const w of [a, b, c]) same((await decrypt(result, { keyring: ours(w) })).plaintext, pt);
    const { header } = await decrypt(result, { keyring: new MultiKeyring({ children: [ours(wrapping("unrelated")), ours(c)] }) });
    expect(header.encryptedDataKeys.map((e) => e.providerId)).toEqual(["edgekms-test", "edgekms-test", "edgekms-test"]);
    expect(header.suite).toBe(0x0578); // the ESDK's default suite
  });

  it("the ESDK's default (String.localeCompare) context order in its raw keyring decrypts here too", async () => {
    const w = wrapping("order");
    // "B" < "a" in UTF-8 bytes, "a" < "B" in localeCompare: the keyring AADs differ.
    const ec = { a: "1", B: "2", "Zed": "3", "ä": "4" };
    const pt = randomBytes(100);
    for (const utf8Sorting of [false, true]) {
      const { result } = await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.encrypt(theirs(w, utf8Sorting), pt, { encryptionContext: ec, suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY });
      same((await decrypt(result, { keyring: ours(w) })).plaintext, pt);
    }
    // Ours writes the specification's order, which the ESDK reads with utf8Sorting.
    const { result } = await encrypt(pt, { keyring: ours(w), encryptionContext: ec });
    same((await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.decrypt(theirs(w, true), result)).plaintext, pt);
  });
});

describe("edgekms/envelope's messages decrypt with the ESDK", () => {
  const providers: AesGcmProvider[] = [nodeAesGcm, wasmAesGcm];
  for (const aes of providers) {
    for (const suite of COMMITTING) {
      for (const [frameLength, size] of [[4096, 0], [4096, 4096], [4096, 2 * 4096 + 1], [4096, 50_000], [1, 3], [100, 1000], [1 << 20, 10]] as const) {
        it(`${aes.name} AES: suite 0x${suite.toString(16).padStart(4, "0")}, frame ${frameLength}, ${size} bytes`, async () => {
          const w = wrapping("k1", 24);
          const pt = randomBytes(size);
          const { result, header } = await encrypt(pt, { keyring: ours(w), suite, encryptionContext: EC, frameLength, aes });
          expect(header.suite).toBe(suite);
          const back = await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.decrypt(theirs(w), result);
          same(back.plaintext, pt);
          expect(back.messageHeader.suiteId).toBe(suite);
          expect(back.messageHeader.frameLength).toBe(frameLength);
          expect(back.messageHeader.encryptionContext).toMatchObject(EC);
          expect(Buffer.from(back.messageHeader.messageId).equals(Buffer.from(header.messageId))).toBe(true);
          // The message's length is what the format says: header, full frames, final frame, footer.
          const parsed = parseHeader(result)!;
          const frames = Math.floor(size / frameLength);
          const bodyLength = frames * (frameLength + 32) + 24 + (size - frames * frameLength) + 16;
          const footer = result.length - parsed.header.headerLength - bodyLength;
          if (suite === 0x0478) expect(footer).toBe(0);
          else expect(footer).toBeGreaterThan(2 + 64); // a DER P-384 signature after its length
          // Streamed encryption in odd chunk sizes makes a message the ESDK reads as well.
          const streamed = await through(encryptStream({ keyring: ours(w), suite, frameLength, aes }), pt, [3, 5000, 1]);
          same((await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.decrypt(theirs(w), streamed)).plaintext, pt);
        });
      }
    }
  }

  for (const suite of V1) {
    it(`version 1 suite 0x${suite.toString(16).padStart(4, "0")} under FORBID_ENCRYPT_ALLOW_DECRYPT`, async () => {
      const w = wrapping("v1", ([16, 24, 32] as const)[suite % 3]);
      const pt = randomBytes(5000);
      const policy: Policy = "FORBID_ENCRYPT_ALLOW_DECRYPT";
      const { result, header } = await encrypt(pt, { keyring: ours(w), suite, encryptionContext: EC, frameLength: 2048, commitmentPolicy: policy });
      expect(header.version).toBe(1);
      same((await esdk.REQUIRE_ENCRYPT_ALLOW_DECRYPT.decrypt(theirs(w), result)).plaintext, pt);
      same((await decrypt(result, { keyring: ours(w), commitmentPolicy: policy })).plaintext, pt);
    });
  }

  it("FORBID_ENCRYPT_ALLOW_DECRYPT defaults to 0x0378 and refuses the committing suites", async () => {
    const w = wrapping("forbid");
    const { header } = await encrypt(new Uint8Array(3), { keyring: ours(w), commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT" });
    expect(header.suite).toBe(0x0378);
    await expect(encrypt(new Uint8Array(3), { keyring: ours(w), commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT", suite: 0x0478 }))
      .rejects.toMatchObject({ code: "COMMITMENT_POLICY" });
    await expect(encrypt(new Uint8Array(3), { keyring: ours(w), suite: 0x0178 })).rejects.toMatchObject({ code: "COMMITMENT_POLICY" });
  });

  it("several wrapping keys: each of the ESDK's keyrings decrypts alone", async () => {
    const ws = [wrapping("gen", 32), wrapping("child1", 16), wrapping("child2", 24)];
    const ring = new MultiKeyring({ generator: ours(ws[0]!), children: [ours(ws[1]!), ours(ws[2]!)] });
    const pt = randomBytes(20_000);
    for (const suite of COMMITTING) {
      const { result, header } = await encrypt(pt, { keyring: ring, suite, encryptionContext: { department: "finance" } });
      expect(header.encryptedDataKeys).toHaveLength(3);
      for (const w of ws) same((await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.decrypt(theirs(w), result)).plaintext, pt);
      const limited = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys: 2 });
      await expect(limited.decrypt(theirs(ws[0]!), result)).rejects.toThrow();
    }
  });

  it("the encryption context arrives intact, including the signed suite's public key", async () => {
    const w = wrapping("ec");
    const ec = { a: "1", b: "x".repeat(1000), "日本": "語" };
    const { result } = await encrypt(new Uint8Array([1, 2, 3]), { keyring: ours(w), suite: 0x0578, encryptionContext: ec });
    const back = await esdk.REQUIRE_ENCRYPT_REQUIRE_DECRYPT.decrypt(theirs(w), result);
    expect(back.messageHeader.encryptionContext).toMatchObject(ec);
    expect(Object.keys(back.messageHeader.encryptionContext).sort()).toEqual([...Object.keys(ec), "aws-crypto-public-key"].sort());
  });
});

describe("non-framed version 1 messages (other SDKs write them with frame length 0)", () => {
  // Built here from the specification with node:crypto, independently of the library's encoder.
  async function nonFramed(w: Wrapping, pt: Uint8Array, ec: Record<string, string>): Promise<Uint8Array> {
    const { createCipheriv, hkdfSync } = await import("node:crypto");
    const suite = 0x0178;
    const dataKey = new Uint8Array(randomBytes(32));
    const m = await ours(w).onEncrypt({ suite, encryptionContext: ec, dataKey, encryptedDataKeys: [] });
    const edk = m.encryptedDataKeys[0]!;
    const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    const field = (b: Uint8Array) => Buffer.concat([u16(b.length), b]);
    const entries = Object.entries(ec).map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const).sort(([a], [b]) => Buffer.compare(a, b));
    const aad = entries.length ? Buffer.concat([u16(entries.length), ...entries.flatMap(([k, v]) => [field(k), field(v)])]) : Buffer.alloc(0);
    const messageId = randomBytes(16);
    const header = Buffer.concat([
      Buffer.from([1, 0x80]), u16(suite), messageId, field(aad), u16(1),
      field(Buffer.from(edk.providerId)), field(edk.rawInfo!), field(edk.ciphertext),
      Buffer.from([1]), u32(0), Buffer.from([12]), u32(0),
    ]);
    const key = Buffer.from(hkdfSync("sha256", dataKey, Buffer.alloc(0), Buffer.concat([u16(suite), messageId]), 32));
    const headerIv = Buffer.alloc(12);
    const h = createCipheriv("aes-256-gcm", key, headerIv).setAAD(header);
    h.final();
    const iv = Buffer.concat([Buffer.alloc(8), u32(1)]);
    const len = Buffer.alloc(8); len.writeBigUInt64BE(BigInt(pt.length));
    const c = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.concat([messageId, Buffer.from("AWSKMSEncryptionClient Single Block"), u32(1), len]));
    const ct = Buffer.concat([c.update(pt), c.final()]);
    return Buffer.concat([header, headerIv, h.getAuthTag(), iv, len, ct, c.getAuthTag()]);
  }

  it("decrypts, in one piece and streamed; a modified body or an oversized one is refused", async () => {
    const w = wrapping("nf");
    const pt = randomBytes(100_000);
    const m = await nonFramed(w, pt, EC);
    const o = { keyring: ours(w), commitmentPolicy: "REQUIRE_ENCRYPT_ALLOW_DECRYPT" } as const;
    const { plaintext, header } = await decrypt(m, o);
    same(plaintext, pt);
    expect(header).toMatchObject({ version: 1, suite: 0x0178, contentType: 1, frameLength: 0 });
    same(await through(decryptStream(o), m, [1000, 1, 77_777]), pt);
    const t = Uint8Array.from(m);
    t[t.length - 1]! ^= 1;
    await expect(decrypt(t, o)).rejects.toMatchObject({ code: "TAG_MISMATCH" });
    await expect(decrypt(m.subarray(0, m.length - 1), o)).rejects.toMatchObject({ code: "TRUNCATED" });
    await expect(decrypt(m, { ...o, maxNonFramedBodyLength: 99_999 })).rejects.toMatchObject({ code: "LIMIT" });
    same((await decrypt(await nonFramed(w, new Uint8Array(0), {}), o)).plaintext, new Uint8Array(0));
  });
});
