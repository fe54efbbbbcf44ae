// The envelope tool's answers to the attack review of issue 13 (docs/envelope.md, "Limits" and "The
// CLI"): decrypt's default cap on encrypted data keys, the KMS keyring's duplicate skipping and its
// bound on failed Decrypt calls, batch answers that do not map one to one onto their entries, an
// answer for another key, throttled entries retried after a back-off in a batch (not at once, not
// one single call each), whole-batch failures that do not fan out, response bodies over the cap,
// and the CLI's output mode, escaping of untrusted text, discovery-partition without accounts, and
// directory walks past names that are not UTF-8.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt, encrypt, MultiKeyring, nodeAesGcm, RawAesKeyring, wasmAesGcm, DEFAULT_MAX_DECRYPT_EDKS } from "../../src/envelope/node.js";
import { answersFor, DEFAULT_MAX_DECRYPT_FAILURES, KmsKeyring } from "../../src/envelope/kms-keyring.js";
import { KmsHttpClient, MAX_RESPONSE_BYTES, type DecryptInput, type KmsClientLike } from "../../src/envelope/kms-client.js";
import { buildKeyring, openInputSync, openMetadataOutput, outputMode, parseEnvelopeArgs, planJobs, printable } from "../../src/cli/envelope.js";
import type { EncryptedDataKey } from "../../src/envelope/types.js";

const ACCOUNT = "111122223333";
const arn = (id: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`;
const CREDS = { accessKeyId: "AKIAFAKEKMS000000001", secretAccessKey: "fake-kms-secret" };
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

describe("encrypted data keys: decrypt's default cap, duplicates, failures", () => {
  it(`decrypt refuses more than ${DEFAULT_MAX_DECRYPT_EDKS} encrypted data keys by default, before any keyring runs; maxEncryptedDataKeys lifts it`, async () => {
    const rings = Array.from({ length: DEFAULT_MAX_DECRYPT_EDKS + 1 }, (_, i) => new RawAesKeyring({ keyNamespace: "ns", keyName: `k${i}`, key: new Uint8Array(randomBytes(32)) }));
    const multi = new MultiKeyring({ generator: rings[0], children: rings.slice(1) });
    const { result } = await encrypt(new Uint8Array([1, 2, 3]), { keyring: multi });
    let tried = 0;
    const counting = { onEncrypt: async (m: never) => m, onDecrypt: async (m: never, e: EncryptedDataKey[]) => (tried++, rings[0]!.onDecrypt(m, e)) };
    await expect(decrypt(result, { keyring: counting })).rejects.toMatchObject({ code: "TOO_MANY_DATA_KEYS" });
    expect(tried).toBe(0);
    expect((await decrypt(result, { keyring: counting, maxEncryptedDataKeys: DEFAULT_MAX_DECRYPT_EDKS + 1 })).plaintext).toEqual(new Uint8Array([1, 2, 3]));
  });

  /** A KMS client that fails every Decrypt, counting them. */
  function failingClient() {
    const calls: DecryptInput[] = [];
    const client: KmsClientLike = {
      generateDataKey: async () => ({}),
      encrypt: async () => ({}),
      decrypt: async (i) => {
        calls.push(i);
        throw new Error("InvalidCiphertextException: " + "x".repeat(5000));
      },
    };
    return { calls, client: () => client };
  }
  const materials = { suite: 0x0478 as const, encryptionContext: {} };

  it("the KMS keyring tries an identical (key, ciphertext) once, and gives up after maxDecryptFailures failed calls with a short error", async () => {
    const { calls, client } = failingClient();
    const ring = new KmsKeyring({ discovery: true, client });
    const same = new Uint8Array([9, 9, 9]);
    const edks: EncryptedDataKey[] = [
      ...Array.from({ length: 50 }, () => ({ providerId: "aws-kms", providerInfo: arn("dup"), ciphertext: same.slice() })),
      ...Array.from({ length: 2000 }, (_, i) => ({ providerId: "aws-kms", providerInfo: arn(`k${i}`), ciphertext: new Uint8Array([i & 255, i >> 8]) })),
    ];
    const err = await ring.onDecrypt(materials, edks).then(() => undefined, (e: Error) => e);
    expect(err).toMatchObject({ code: "NO_DATA_KEY" });
    expect(calls.length).toBe(DEFAULT_MAX_DECRYPT_FAILURES);
    expect(calls.filter((c) => c.KeyId === arn("dup")).length).toBe(1);
    expect(err!.message).toMatch(/gave up after 5 failed KMS calls; 1996 more not tried/);
    expect(err!.message.length).toBeLessThan(2000);

    const strict = failingClient();
    const lifted = new KmsKeyring({ keyIds: [arn("dup")], client: strict.client, maxDecryptFailures: 100 });
    await expect(lifted.onDecrypt(materials, edks)).rejects.toMatchObject({ code: "NO_DATA_KEY" });
    expect(strict.calls.length).toBe(1); // 50 copies of one EDK: one call
    expect(() => new KmsKeyring({ discovery: true, client, maxDecryptFailures: 0 })).toThrow(/maxDecryptFailures/);
  });

  it("a message naming many keys none of which may be used is described in a bounded line", async () => {
    const ring = new KmsKeyring({ keyIds: [arn("mine")], client: failingClient().client });
    const edks = Array.from({ length: 1000 }, (_, i) => ({ providerId: "aws-kms", providerInfo: arn(`other-${i}`), ciphertext: new Uint8Array([1]) }));
    const err = await ring.onDecrypt(materials, edks).then(() => undefined, (e: Error) => e);
    expect(err!.message).toMatch(/and 995 more/);
    expect(err!.message.length).toBeLessThan(1000);
  });
});

/**
 * A scripted KMS endpoint as a fetch function: answers single and batch calls (GenerateDataKey and
 * Decrypt echo the key asked for), optionally rewriting batch answers, and logs each request's target.
 */
function fakeEndpoint(o: { batch?: (results: Record<string, unknown>[], entries: Record<string, unknown>[]) => { status?: number; json: unknown }; single?: () => { status: number; json: unknown } | undefined } = {}) {
  const log: Array<{ target: string; at: number; entries: number }> = [];
  const answer = (op: string, e: Record<string, unknown>): Record<string, unknown> =>
    op === "GenerateDataKey"
      ? { KeyId: e.KeyId, Plaintext: b64(new Uint8Array(32).fill(7)), CiphertextBlob: b64(new TextEncoder().encode(String(e.KeyId))) }
      : { KeyId: e.KeyId, Plaintext: b64(new Uint8Array(32).fill(Number(JSON.stringify(e.EncryptionContext ?? {}).length % 200))) };
  const fetchFn = (async (_url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    const target = Object.entries(headers).find(([k]) => k.toLowerCase() === "x-amz-target")![1];
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    const [service, op] = target.split(".");
    const entries = (body.Entries as Record<string, unknown>[] | undefined) ?? [];
    log.push({ target, at: Date.now(), entries: entries.length });
    const respond = (status: number, json: unknown) => new Response(JSON.stringify(json), { status });
    if (service === "TrentService") {
      const s = o.single?.();
      if (s) return respond(s.status, s.json);
      return respond(200, answer(op!, body));
    }
    const results = entries.map((e, Index) => ({ Index, ...answer(op!.slice(5), e) }));
    const r = o.batch ? o.batch(results, entries) : { json: { Results: results } };
    return respond(r.status ?? 200, r.json);
  }) as typeof fetch;
  return { log, fetchFn, count: (prefix: string) => log.filter((l) => l.target.startsWith(prefix)).length };
}

function client(fetchFn: typeof fetch) {
  return new KmsHttpClient({ endpoint: "http://kms.invalid", region: "us-east-1", credentials: CREDS, fetch: fetchFn, batch: true });
}

/** n concurrent GenerateDataKey calls, one per key k0..k(n-1). */
function generateMany(c: KmsHttpClient, n: number) {
  return Promise.allSettled(Array.from({ length: n }, (_, i) => c.generateDataKey({ KeyId: arn(`k${i}`), NumberOfBytes: 32 })));
}

describe("batch answers are checked before they are trusted", () => {
  const malformed: Array<[string, (r: Record<string, unknown>[]) => unknown]> = [
    ["a duplicate Index", (r) => r.map((x) => ({ ...x, Index: 0 }))],
    ["a missing result", (r) => r.slice(1)],
    ["an out-of-range Index", (r) => r.map((x, i) => ({ ...x, Index: i === 0 ? r.length : i }))],
    ["a negative Index", (r) => r.map((x, i) => ({ ...x, Index: i === 0 ? -1 : i }))],
    ["a non-integer Index", (r) => r.map((x, i) => ({ ...x, Index: i === 0 ? 0.5 : i }))],
    ["a string Index", (r) => r.map((x, i) => ({ ...x, Index: i === 0 ? "0" : i }))],
    ["an extra result", (r) => [...r, { Index: 0, KeyId: arn("forged"), Plaintext: b64(new Uint8Array(32)) }]],
    ["a forged result before the real one", (r) => [{ ...r[1], Index: 0 }, ...r]],
    ["a null result", (r) => [null, ...r.slice(1)]],
  ];
  for (const [name, rewrite] of malformed) {
    it(`${name}: the whole batch is refused and each entry asks alone, getting its own key's answer`, async () => {
      const ep = fakeEndpoint({ batch: (results) => ({ json: { Results: rewrite(results) } }) });
      const c = client(ep.fetchFn);
      const settled = await generateMany(c, 6);
      settled.forEach((s, i) => {
        expect(s.status).toBe("fulfilled");
        expect((s as PromiseFulfilledResult<{ KeyId?: string }>).value.KeyId).toBe(arn(`k${i}`));
      });
      expect(ep.count("EdgeKMSBatch.")).toBe(1);
      expect(ep.count("TrentService.GenerateDataKey")).toBe(6);
    });
  }

  it("the keyring refuses a GenerateDataKey or Encrypt answer for another key than it asked for", async () => {
    const liar = (keyId: string): KmsClientLike => ({
      generateDataKey: async () => ({ KeyId: keyId, Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array([1]) }),
      encrypt: async () => ({ KeyId: keyId, CiphertextBlob: new Uint8Array([1]) }),
      decrypt: async () => ({}),
    });
    const gen = new KmsKeyring({ generatorKeyId: arn("a"), client: () => liar(arn("b")) });
    await expect(encrypt(new Uint8Array(3), { keyring: gen })).rejects.toMatchObject({ code: "KEYRING", message: expect.stringContaining("answered for another key") });
    const both = new KmsKeyring({ generatorKeyId: arn("a"), keyIds: [arn("c")], client: () => liar(arn("a")) });
    await expect(encrypt(new Uint8Array(3), { keyring: both })).rejects.toMatchObject({ code: "KEYRING", message: expect.stringContaining(`Encrypt with ${arn("c")}`) });
    expect(answersFor(arn("a"), arn("a"))).toBe(true);
    expect(answersFor("a", arn("a"))).toBe(true);
    expect(answersFor("b", arn("a"))).toBe(false);
    expect(answersFor("alias/x", arn("a"))).toBe(true);
    expect(answersFor(`arn:aws:kms:us-east-1:${ACCOUNT}:alias/x`, arn("a"))).toBe(true);
    expect(answersFor(`arn:aws:kms:us-west-2:${ACCOUNT}:alias/x`, arn("a"))).toBe(false);
    expect(answersFor(arn("a"), "not an arn")).toBe(false);
  });
});

describe("throttling and whole-batch failures", () => {
  it("throttled entries are retried after a jittered back-off, together in a batch, and fail after maxAttempts", async () => {
    let throttleRounds = 1;
    const ep = fakeEndpoint({
      batch: (results) => {
        if (throttleRounds-- > 0) return { json: { Results: results.map((r) => ({ Index: r.Index, ErrorCode: "ThrottlingException", ErrorMessage: "slow down" })) } };
        return { json: { Results: results } };
      },
    });
    const settled = await generateMany(client(ep.fetchFn), 10);
    expect(settled.every((s) => s.status === "fulfilled")).toBe(true);
    const batches = ep.log.filter((l) => l.target.startsWith("EdgeKMSBatch."));
    expect(batches.map((b) => b.entries)).toEqual([10, 10]);
    expect(batches[1]!.at - batches[0]!.at).toBeGreaterThanOrEqual(45); // 100 ms × [0.5, 1.5)
    expect(ep.count("TrentService.")).toBe(0);

    const always = fakeEndpoint({ batch: (results) => ({ json: { Results: results.map((r) => ({ Index: r.Index, ErrorCode: "ThrottlingException", ErrorMessage: "slow down" })) } }) });
    const failed = await generateMany(client(always.fetchFn), 10);
    expect(failed.every((s) => s.status === "rejected" && (s.reason as Error).name === "ThrottlingException")).toBe(true);
    expect(always.count("EdgeKMSBatch.")).toBe(3); // maxAttempts, default 3
    expect(always.count("TrentService.")).toBe(0);
  });

  for (const [name, status, type, batches] of [["a 5xx", 500, "InternalFailure", 3], ["AccessDenied", 400, "AccessDeniedException", 1]] as const) {
    it(`${name} of a whole batch fails its entries without one single call per entry`, async () => {
      const ep = fakeEndpoint({ batch: () => ({ status, json: { __type: type, message: "no" } }) });
      const settled = await generateMany(client(ep.fetchFn), 20);
      expect(settled.every((s) => s.status === "rejected" && (s.reason as Error).name === type)).toBe(true);
      expect(ep.count("EdgeKMSBatch.")).toBe(batches); // a 5xx is retried as the request it is, with back-off
      expect(ep.count("TrentService.")).toBe(0);
    });
  }

  it("an endpoint without the batch operations still gets single calls (UnknownOperationException)", async () => {
    const ep = fakeEndpoint({ batch: () => ({ status: 400, json: { __type: "com.amazon.coral.service#UnknownOperationException" } }) });
    const settled = await generateMany(client(ep.fetchFn), 5);
    expect(settled.every((s) => s.status === "fulfilled")).toBe(true);
    expect(ep.count("TrentService.GenerateDataKey")).toBe(5);
  });
});

describe("response bodies are capped", () => {
  it(`an answer over ${MAX_RESPONSE_BYTES} bytes fails cleanly, read no further than the cap, and is not retried`, async () => {
    let pulled = 0;
    let requests = 0;
    const fetchFn = (async () => {
      requests++;
      const chunk = new Uint8Array(1 << 20).fill(0x20);
      const body = new ReadableStream<Uint8Array>({
        pull(ctrl) {
          pulled += chunk.length;
          if (pulled > 1024 * chunk.length) ctrl.close();
          else ctrl.enqueue(chunk);
        },
      });
      return new Response(body, { status: 200 });
    }) as typeof fetch;
    const c = new KmsHttpClient({ endpoint: "http://kms.invalid", region: "us-east-1", credentials: CREDS, fetch: fetchFn });
    await expect(c.decrypt({ CiphertextBlob: new Uint8Array(4) })).rejects.toMatchObject({ name: "ResponseTooLarge" });
    expect(pulled).toBeLessThan(MAX_RESPONSE_BYTES + 4 * (1 << 20));
    expect(requests).toBe(1);
    const declared = (async () => new Response("{}", { status: 200, headers: { "content-length": String(MAX_RESPONSE_BYTES + 1) } })) as typeof fetch;
    const d = new KmsHttpClient({ endpoint: "http://kms.invalid", region: "us-east-1", credentials: CREDS, fetch: declared });
    await expect(d.decrypt({ CiphertextBlob: new Uint8Array(4) })).rejects.toMatchObject({ name: "ResponseTooLarge" });
  });
});

describe("the CLI's handling of untrusted input", () => {
  it("outputs never take group/other write or execute bits from the input, and the umask applies", () => {
    expect(outputMode(0o777, 0o077)).toBe(0o600);
    expect(outputMode(0o777, 0o022)).toBe(0o644);
    expect(outputMode(0o600, 0o022)).toBe(0o600);
    expect(outputMode(0o640, 0o002)).toBe(0o640);
    expect(outputMode(0o444, 0o022)).toBe(0o644);
    expect(outputMode(undefined, 0o022)).toBe(0o644);
    expect(outputMode(undefined, 0o077)).toBe(0o600);
  });

  it("control characters, separators and bidi overrides are escaped in what is printed", () => {
    expect(printable("key/x\n\x1b[31mFAKE\x1b]0;pwned\x07\x9b\u2028\u202e ok é")).toBe("key/x\\x0a\\x1b[31mFAKE\\x1b]0;pwned\\x07\\x9b\\u2028\\u202e ok é");
  });

  it("discovery-partition without a discovery-account is a usage error, not a filter that trusts every partition", () => {
    const a = parseEnvelopeArgs("decrypt", ["-i", "x", "-o", "y", "-w", "discovery=true", "discovery-partition=aws-cn"]);
    expect(() => buildKeyring("decrypt", a)).toThrow(/discovery-partition needs at least one discovery-account/);
  });

  it("a directory walk skips and reports a name that is not UTF-8, and plans the other files", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-hardening-"));
    mkdirSync(join(dir, "in", "sub"), { recursive: true });
    writeFileSync(join(dir, "in", "good"), "x");
    writeFileSync(join(dir, "in", "sub", "also-good"), "y");
    writeFileSync(Buffer.concat([Buffer.from(join(dir, "in") + "/bad"), Buffer.from([0xff, 0xfe, 0x1b])]), "z");
    const skipped: Array<{ path: string; reason: string }> = [];
    const jobs = planJobs("encrypt", parseEnvelopeArgs("encrypt", ["-i", join(dir, "in"), "-o", join(dir, "out"), "-r", "-w", "key=k"]), skipped);
    expect(jobs.map((j) => j.input.slice(dir.length))).toEqual(["/in/good", "/in/sub/also-good"]);
    expect(skipped).toEqual([{ path: join(dir, "in", "bad\\xff\\xfe\\x1b"), reason: expect.stringMatching(/not valid UTF-8/) }]);
  });

  it("an input is read only if it is still the file planned: a named link to it is followed, a walked entry's link never, and either swapped meanwhile is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-hardening-"));
    mkdirSync(join(dir, "in"));
    writeFileSync(join(dir, "in", "planted"), "planted");
    writeFileSync(join(dir, "secret"), "the user's own", { mode: 0o600 });
    writeFileSync(join(dir, "real"), "named through a link");
    symlinkSync(join(dir, "real"), join(dir, "named-link"));
    const plan = (...argv: string[]) => planJobs("encrypt", parseEnvelopeArgs("encrypt", [...argv, "-o", join(dir, "out"), "-w", "key=k"]));
    const read = (job: Parameters<typeof openInputSync>[0]) => {
      const fd = openInputSync(job);
      try { return readFileSync(fd, "utf8"); } finally { closeSync(fd); }
    };
    const [named] = plan("-i", join(dir, "named-link"));
    expect(read(named)).toBe("named through a link");
    const [single] = plan("-i", join(dir, "in", "planted"));
    const [walked] = plan("-i", join(dir, "in"), "-r");
    // Another user of the directory swaps the planted file for a link to the user's secret.
    unlinkSync(join(dir, "in", "planted"));
    symlinkSync(join(dir, "secret"), join(dir, "in", "planted"));
    expect(() => read(single)).toThrow(/is not the file it was when the run began/);
    expect(() => read(walked)).toThrow(/is not the file the directory's walk found/);
  });
});

describe("--metadata-output in a shared directory", () => {
  // Making a link owned by another user takes root (lchown); the CI and the sessions run as root.
  it.runIf(process.geteuid?.() === 0)("a link another user planted in a sticky world-writable directory is not followed; the user's own link and links elsewhere are", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-meta-"));
    const shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777); // as /tmp
    writeFileSync(join(dir, "target"), "the user's own\n", { mode: 0o600 });
    const write = (fd: number) => { try { writeSync(fd, "meta\n"); } finally { closeSync(fd); } };
    symlinkSync(join(dir, "target"), join(shared, "planted.json"));
    lchownSync(join(shared, "planted.json"), 65534, 65534); // another user's link
    expect(() => openMetadataOutput(join(shared, "planted.json"), false)).toThrow(/symbolic link another user made in a shared directory/);
    expect(() => openMetadataOutput(join(shared, "planted.json"), true)).toThrow(/not followed/);
    expect(readFileSync(join(dir, "target"), "utf8")).toBe("the user's own\n");
    symlinkSync(join(dir, "target"), join(shared, "mine.json")); // the user's own link there
    write(openMetadataOutput(join(shared, "mine.json"), false));
    const elsewhere = join(dir, "private");
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(join(dir, "target"), join(elsewhere, "link.json"));
    lchownSync(join(elsewhere, "link.json"), 65534, 65534); // another user's link, but not in a shared directory
    write(openMetadataOutput(join(elsewhere, "link.json"), false));
    expect(readFileSync(join(dir, "target"), "utf8")).toBe("the user's own\nmeta\nmeta\n");
    write(openMetadataOutput(join(shared, "new.json"), false)); // a plain new file
    write(openMetadataOutput(join(shared, "new.json"), false));
    expect(readFileSync(join(shared, "new.json"), "utf8")).toBe("meta\nmeta\n");
    write(openMetadataOutput(join(shared, "new.json"), true));
    expect(readFileSync(join(shared, "new.json"), "utf8")).toBe("meta\n");
  });
});

describe("large frames", () => {
  it("a frame over 1 MiB is opened in pieces straight into the output: the same plaintext, and a bad tag leaves no plaintext", async () => {
    const ring = () => new RawAesKeyring({ keyNamespace: "ns", keyName: "k", key: new Uint8Array(32).fill(3) });
    const pt = new Uint8Array(randomBytes(7 * 1024 * 1024 + 11));
    const frameLength = 3 * 1024 * 1024 + 5;
    const { result } = await encrypt(pt, { keyring: ring(), frameLength, aes: wasmAesGcm });
    expect(Buffer.from((await decrypt(result, { keyring: ring(), aes: nodeAesGcm })).plaintext).equals(Buffer.from(pt))).toBe(true);
    const bad = result.slice();
    bad[2_000_000] ^= 1; // inside the first (3 MiB) frame: the header is a few hundred bytes
    await expect(decrypt(bad, { keyring: ring(), aes: nodeAesGcm })).rejects.toMatchObject({ code: "TAG_MISMATCH" });

    const key = nodeAesGcm.importKey(new Uint8Array(32).fill(9));
    const iv = new Uint8Array(12);
    const sealed = new Uint8Array(frameLength + 16);
    key.seal(iv, new Uint8Array(0), pt.subarray(0, frameLength), sealed, 0);
    const out = new Uint8Array(frameLength);
    expect(key.open(iv, new Uint8Array(0), sealed, out, 0)).toBe(true);
    expect(Buffer.from(out).equals(Buffer.from(pt.subarray(0, frameLength)))).toBe(true);
    sealed[sealed.length - 1] ^= 1;
    const out2 = new Uint8Array(frameLength);
    expect(key.open(iv, new Uint8Array(0), sealed, out2, 0)).toBe(false);
    expect(out2.every((b) => b === 0)).toBe(true);
  });
});
