// Every modified, truncated or extended message fails with a specific EnvelopeError: each byte of the
// header, the frames, the tags, the encrypted data keys and the signature; every prefix; frames
// swapped or dropped. Also the policies: commitment, maximum encrypted data keys, required context.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, buildClient } from "@aws-crypto/client-node";
import {
  EnvelopeError, MultiKeyring, RawAesKeyring, decrypt, decryptStream, encrypt, parseHeader,
  type DecryptionMaterials, type EncryptedDataKey, type Keyring, type SuiteId,
} from "../../src/envelope/node.js";

const NS = "tamper";
const key1 = new Uint8Array(randomBytes(32));
const key2 = new Uint8Array(randomBytes(16));
const ring1 = () => new RawAesKeyring({ keyNamespace: NS, keyName: "one", key: key1 });
const ring2 = () => new RawAesKeyring({ keyNamespace: NS, keyName: "two", key: key2 });
const EC = { purpose: "tamper test", n: "1" };
const FRAME = 64;
const PT = new Uint8Array(randomBytes(2 * FRAME + 22)); // two full frames and a final frame of 22 bytes

async function failure(message: Uint8Array, o: Parameters<typeof decrypt>[1] = { keyring: ring1() }): Promise<EnvelopeError> {
  try {
    await decrypt(message, o);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    expect((e as Error).message.length).toBeGreaterThan(10);
    return e as EnvelopeError;
  }
  throw new Error("decryption of a modified message succeeded");
}

const flip = (m: Uint8Array, i: number, bit = 1) => {
  const c = Uint8Array.from(m);
  c[i]! ^= bit;
  return c;
};

interface Layout { header: number; frames: [number, number][]; final: [number, number]; end: number; total: number }
/** Byte ranges of a message made with FRAME and PT. */
function layout(m: Uint8Array): Layout {
  const header = parseHeader(m)!.header.headerLength;
  const frames: [number, number][] = [[header, header + FRAME + 32], [header + FRAME + 32, header + 2 * (FRAME + 32)]];
  const final: [number, number] = [frames[1]![1], frames[1]![1] + 24 + 22 + 16];
  return { header, frames, final, end: final[1], total: m.length };
}

for (const suite of [0x0478, 0x0578] as SuiteId[]) {
  const name = `0x${suite.toString(16).padStart(4, "0")}`;
  describe(`tampering with a ${name} message`, () => {
    const make = async (keyring: Keyring = new MultiKeyring({ generator: ring1(), children: [ring2()] })) =>
      (await encrypt(PT, { keyring, suite, frameLength: FRAME, encryptionContext: EC })).result;

    it("the untouched message decrypts (control)", async () => {
      const m = await make();
      expect(Buffer.from((await decrypt(m, { keyring: ring1() })).plaintext).equals(Buffer.from(PT))).toBe(true);
      expect(Buffer.from((await decrypt(m, { keyring: ring2() })).plaintext).equals(Buffer.from(PT))).toBe(true);
    });

    it("every header byte: a bit flip fails before any plaintext is released", async () => {
      const m = await make();
      const L = layout(m);
      const { header } = parseHeader(m)!;
      const idStart = 3, idEnd = 3 + 32;
      const commitStart = L.header - 16 - 32, commitEnd = L.header - 16;
      const codes = new Set<string>();
      for (let i = 0; i < L.header; i++) {
        const t = flip(m, i);
        const e = await failure(t);
        codes.add(e.code);
        if (i >= idStart && i < idEnd) expect(e.code, `byte ${i} (message id)`).toBe("COMMITMENT_MISMATCH");
        if (i >= commitStart && i < commitEnd) expect(e.code, `byte ${i} (commitment)`).toBe("COMMITMENT_MISMATCH");
        if (i >= L.header - 16) expect(e.code, `byte ${i} (header tag)`).toBe("HEADER_AUTH");
        // The streaming decryptor releases nothing.
        const out: Uint8Array[] = [];
        const p = decryptStream({ keyring: ring1() });
        const reading = (async () => { for await (const c of p.readable as unknown as AsyncIterable<Uint8Array>) out.push(c); })();
        const w = p.writable.getWriter();
        await Promise.allSettled([w.write(t), w.close()]);
        await expect(reading).rejects.toBeInstanceOf(EnvelopeError);
        await expect(p.header).rejects.toBeInstanceOf(EnvelopeError);
        expect(out).toEqual([]);
      }
      expect(header.encryptedDataKeys).toHaveLength(2);
      expect(codes.has("HEADER_AUTH") && codes.has("COMMITMENT_MISMATCH")).toBe(true);
    });

    it("every body byte (sequence numbers, IVs, ciphertext, tags, final frame, signature) fails", async () => {
      const m = await make(ring1());
      const L = layout(m);
      for (let i = L.header; i < m.length; i++) {
        const e = await failure(flip(m, i));
        const region = i < L.end ? (i < L.final[0] ? "frame" : "final") : "footer";
        if (region === "frame") {
          const [s] = L.frames.find(([a, b]) => i >= a && i < b)!;
          const off = i - s;
          expect(e.code, `frame byte ${off}`).toBe(off < 16 ? "MALFORMED_BODY" : "TAG_MISMATCH");
        } else if (region === "final") {
          const off = i - L.final[0];
          if (off < 4) expect(e.code).toMatch(/MALFORMED_BODY|TRUNCATED/);          // end marker
          else if (off < 20) expect(e.code).toBe("MALFORMED_BODY");                // sequence number, IV
          else if (off < 24) expect(e.code).toMatch(/MALFORMED_BODY|TRUNCATED|TRAILING_DATA|TAG_MISMATCH|SIGNATURE/); // length
          else expect(e.code, `final frame byte ${off}`).toBe("TAG_MISMATCH");     // content and tag
        } else {
          const off = i - L.end;
          if (off < 2) expect(e.code).toMatch(/SIGNATURE|TRUNCATED|TRAILING_DATA/); // signature length
          else expect(e.code, `signature byte ${off}`).toBe("SIGNATURE");
        }
      }
      if (suite === 0x0478) expect(m.length).toBe(L.end);
      else expect(m.length).toBeGreaterThan(L.end + 2);
    });

    it("the encrypted data key: a modified one does not decrypt, clearly", async () => {
      const m = await make(ring1());
      const { header } = parseHeader(m)!;
      const edk = header.encryptedDataKeys[0]!;
      const at = Buffer.from(m).indexOf(Buffer.from(edk.ciphertext));
      for (const i of [at, at + 10, at + edk.ciphertext.length - 1]) {
        const e = await failure(flip(m, i));
        expect(e.code).toBe("NO_DATA_KEY");
        expect(e.message).toContain("raw AES keyring tamper/one");
      }
    });

    it("every truncation fails as truncated; a missing final frame says so", async () => {
      const m = await make(ring1());
      const L = layout(m);
      for (let n = 0; n < m.length; n++) {
        const e = await failure(m.subarray(0, n));
        expect(e.code, `prefix of ${n} bytes`).toBe("TRUNCATED");
      }
      expect((await failure(m.subarray(0, L.final[0]))).message).toContain("missing final frame");
      if (suite === 0x0578) expect((await failure(m.subarray(0, L.end))).message).toContain("missing signature");
      expect((await failure(new Uint8Array(0))).message).toContain("empty input");
    });

    it("frames swapped, dropped or repeated, and trailing bytes, fail", async () => {
      const m = await make(ring1());
      const L = layout(m);
      const [f1, f2] = L.frames.map(([a, b]) => m.subarray(a, b));
      const head = m.subarray(0, L.header), rest = m.subarray(L.final[0]);
      expect((await failure(Buffer.concat([head, f2!, f1!, rest]))).code).toBe("MALFORMED_BODY");
      expect((await failure(Buffer.concat([head, f2!, rest]))).code).toBe("MALFORMED_BODY");
      expect((await failure(Buffer.concat([head, f1!, f1!, f2!, rest]))).code).toBe("MALFORMED_BODY");
      expect((await failure(Buffer.concat([m, new Uint8Array([0])]))).code).toBe("TRAILING_DATA");
      expect((await failure(Buffer.concat([m, m]))).code).toBe("TRAILING_DATA");
    });

    it("a wrong wrapping key fails with the keyring named", async () => {
      const m = await make(ring1());
      const other = new RawAesKeyring({ keyNamespace: NS, keyName: "one", key: new Uint8Array(32) });
      const e = await failure(m, { keyring: other });
      expect(e.code).toBe("NO_DATA_KEY");
      const none = await failure(m, { keyring: new RawAesKeyring({ keyNamespace: "elsewhere", keyName: "x", key: new Uint8Array(16) }) });
      expect(none.message).toMatch(/no keyring could decrypt any of the message's 1 encrypted data key \(tamper\)/);
    });
  });
}

describe("signed messages in a stream", () => {
  it("a bad signature errors the stream and holds back the final frame", async () => {
    const { result: m } = await encrypt(PT, { keyring: ring1(), suite: 0x0578, frameLength: FRAME });
    const t = flip(m, m.length - 1);
    const out: Uint8Array[] = [];
    const p = decryptStream({ keyring: ring1() });
    const reading = (async () => { for await (const c of p.readable as unknown as AsyncIterable<Uint8Array>) out.push(c); })();
    const w = p.writable.getWriter();
    const writes = Promise.allSettled([w.write(t), w.close()]);
    await expect(reading).rejects.toMatchObject({ code: "SIGNATURE" });
    await writes;
    // The two full frames were released after their tags verified; the final frame was not.
    expect(Buffer.concat(out).length).toBe(2 * FRAME);
    expect(Buffer.concat(out).equals(Buffer.from(PT.subarray(0, 2 * FRAME)))).toBe(true);
  });
});

describe("policies", () => {
  const countingKeyring = () => {
    const calls: EncryptedDataKey[][] = [];
    const inner = ring1();
    const k: Keyring = {
      onEncrypt: (m) => inner.onEncrypt(m),
      onDecrypt: (m: DecryptionMaterials, e: EncryptedDataKey[]) => { calls.push(e); return inner.onDecrypt(m, e); },
    };
    return { k, calls };
  };

  it("maxEncryptedDataKeys: too many on encrypt, and on decrypt before any keyring runs", async () => {
    const three = new MultiKeyring({ generator: ring1(), children: [ring2(), ring1()] });
    await expect(encrypt(PT, { keyring: three, maxEncryptedDataKeys: 2 })).rejects.toMatchObject({ code: "TOO_MANY_DATA_KEYS" });
    const { result } = await encrypt(PT, { keyring: three, maxEncryptedDataKeys: 3 });
    const { k, calls } = countingKeyring();
    await expect(decrypt(result, { keyring: k, maxEncryptedDataKeys: 2 })).rejects.toMatchObject({ code: "TOO_MANY_DATA_KEYS", message: expect.stringContaining("3 encrypted data keys") });
    expect(calls).toHaveLength(0);
    expect((await decrypt(result, { keyring: k, maxEncryptedDataKeys: 3 })).plaintext.length).toBe(PT.length);
    await expect(decrypt(result, { keyring: k, maxEncryptedDataKeys: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("the ESDK's maxEncryptedDataKeys agrees with ours on the same message", async () => {
    const w = { keyName: "one", keyNamespace: NS, unencryptedMasterKey: key1.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING };
    const { result } = await encrypt(PT, { keyring: new MultiKeyring({ generator: ring1(), children: [ring2()] }) });
    const esdk = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys: 1 });
    await expect(esdk.decrypt(new RawAesKeyringNode(w), result)).rejects.toThrow(/maxEncryptedDataKeys/);
    await expect(decrypt(result, { keyring: ring1(), maxEncryptedDataKeys: 1 })).rejects.toMatchObject({ code: "TOO_MANY_DATA_KEYS" });
  });

  it("required encryption context: pairs and keys, checked before any keyring runs", async () => {
    const { result } = await encrypt(PT, { keyring: ring1(), encryptionContext: { stage: "prod", team: "a" } });
    const { k, calls } = countingKeyring();
    await expect(decrypt(result, { keyring: k, requiredEncryptionContext: { stage: "dev" } }))
      .rejects.toMatchObject({ code: "ENCRYPTION_CONTEXT", message: expect.stringContaining('"stage" = "prod", not the required "dev"') });
    await expect(decrypt(result, { keyring: k, requiredEncryptionContext: { region: "eu" } }))
      .rejects.toMatchObject({ code: "ENCRYPTION_CONTEXT", message: expect.stringContaining('lacks the required key "region"') });
    await expect(decrypt(result, { keyring: k, requiredEncryptionContextKeys: ["owner"] }))
      .rejects.toMatchObject({ code: "ENCRYPTION_CONTEXT", message: expect.stringContaining('"owner"') });
    expect(calls).toHaveLength(0);
    const ok = await decrypt(result, { keyring: k, requiredEncryptionContext: { stage: "prod" }, requiredEncryptionContextKeys: ["team"] });
    expect(ok.header.encryptionContext).toEqual({ stage: "prod", team: "a" });
  });

  it("the public-key context key is reserved; bad options are refused", async () => {
    await expect(encrypt(PT, { keyring: ring1(), encryptionContext: { "aws-crypto-public-key": "x" } })).rejects.toMatchObject({ code: "ENCRYPTION_CONTEXT" });
    await expect(encrypt(PT, { keyring: ring1(), frameLength: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(encrypt(PT, { keyring: ring1(), suite: 0x9999 as SuiteId })).rejects.toMatchObject({ code: "UNSUPPORTED_SUITE" });
    await expect(encrypt(PT, {})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(encrypt(PT, { keyring: ring1(), commitmentPolicy: "NOPE" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(encrypt(PT, { keyring: ring1(), encryptionContext: { a: 1 as unknown as string } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(encrypt(PT, { keyring: ring1(), plaintextLength: 3 })).rejects.toMatchObject({ code: "PLAINTEXT_LENGTH" });
  });

  it("commitment policy: version 1 messages need REQUIRE_ENCRYPT_ALLOW_DECRYPT or FORBID_ENCRYPT_ALLOW_DECRYPT", async () => {
    const { result } = await encrypt(PT, { keyring: ring1(), suite: 0x0178, commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT" });
    await expect(decrypt(result, { keyring: ring1() })).rejects.toMatchObject({ code: "COMMITMENT_POLICY" });
    for (const commitmentPolicy of ["REQUIRE_ENCRYPT_ALLOW_DECRYPT", "FORBID_ENCRYPT_ALLOW_DECRYPT"] as const) {
      expect((await decrypt(result, { keyring: ring1(), commitmentPolicy })).header.suite).toBe(0x0178);
    }
    // A committing message decrypts under every policy.
    const { result: v2 } = await encrypt(PT, { keyring: ring1() });
    for (const commitmentPolicy of ["REQUIRE_ENCRYPT_REQUIRE_DECRYPT", "REQUIRE_ENCRYPT_ALLOW_DECRYPT", "FORBID_ENCRYPT_ALLOW_DECRYPT"] as const) {
      expect((await decrypt(v2, { keyring: ring1(), commitmentPolicy })).header.suite).toBe(0x0478);
    }
  });

  it("a frame longer than maxFrameLength (default 64 MiB) is refused before any keyring runs", async () => {
    const { result } = await encrypt(new Uint8Array(3 << 20).fill(7), { keyring: ring1(), frameLength: 2 << 20 });
    await expect(decrypt(result, { keyring: ring1(), maxFrameLength: 1 << 20 })).rejects.toMatchObject({ code: "LIMIT", message: expect.stringContaining("maxFrameLength") });
    expect((await decrypt(result, { keyring: ring1() })).plaintext.length).toBe(3 << 20);
    // The default: a header that names a 2^32 - 1 frame length.
    const huge = await encrypt(new Uint8Array(10), { keyring: ring1(), frameLength: 0xffffffff });
    await expect(decrypt(huge.result, { keyring: ring1() })).rejects.toMatchObject({ code: "LIMIT" });
    expect((await decrypt(huge.result, { keyring: ring1(), maxFrameLength: 0xffffffff })).plaintext.length).toBe(10);
  });

  it("a header that never ends is refused past 4 MiB instead of being buffered without bound", async () => {
    // 65535 data keys are allowed here (the default cap refuses them at once): the header's size limit is what is tested.
    const p = decryptStream({ keyring: ring1(), maxEncryptedDataKeys: 0xffff });
    const reading = (async () => { for await (const _ of p.readable as unknown as AsyncIterable<Uint8Array>) void _; })();
    const w = p.writable.getWriter();
    // Version 2, suite 0x0478, a message id, no context, 65535 data keys whose fields are all 0x6161 bytes long.
    const start = new Uint8Array(1 + 2 + 32 + 2 + 2);
    start.set([2, 0x04, 0x78]);
    start.set([0xff, 0xff], 37);
    const filler = new Uint8Array(1 << 20).fill(0x61);
    const writes = (async () => {
      await w.write(start);
      for (let i = 0; i < 8; i++) await w.write(filler);
    })();
    await expect(writes).rejects.toMatchObject({ code: "LIMIT" });
    await expect(reading).rejects.toMatchObject({ code: "LIMIT", message: expect.stringContaining("4 MiB") });
    await expect(p.header).rejects.toMatchObject({ code: "LIMIT" });
  });

  it("version 1 header bytes: every flip fails too", async () => {
    for (const suite of [0x0378, 0x0178, 0x0078] as SuiteId[]) {
      const { result: m } = await encrypt(PT, { keyring: ring1(), suite, frameLength: FRAME, commitmentPolicy: "FORBID_ENCRYPT_ALLOW_DECRYPT" });
      const n = parseHeader(m)!.header.headerLength;
      for (let i = 0; i < n; i++) {
        const e = await failure(flip(m, i), { keyring: ring1(), commitmentPolicy: "REQUIRE_ENCRYPT_ALLOW_DECRYPT" });
        if (i >= n - 28) expect(e.code, `header auth byte ${i}`).toBe("HEADER_AUTH");
      }
    }
  });
});
