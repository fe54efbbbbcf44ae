// The clients' SigV4 signer (src/cli/sign.ts: the CLI, the envelope KMS client, the console) against
// AWS's own signer, @smithy/signature-v4 (what the AWS SDK for JavaScript v3 signs with): the same
// inputs must give the same headers, Authorization included, byte for byte. And against a fixed
// vector (AWS's example credentials, a KMS ListKeys request) computed independently, which the
// server's verifier accepts too (test/workers/sigv4.test.ts).
import { describe, expect, it } from "vitest";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { headerLookup, signRequest, type SignOptions } from "../../src/cli/sign.js";
import fc from "fast-check";

/** The SDK's hash interface on node:crypto. */
class NodeSha256 {
  private readonly parts: Buffer[] = [];
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {}
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.parts.push(typeof data === "string" ? Buffer.from(data, "utf8") : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  async digest(): Promise<Uint8Array> {
    const all = Buffer.concat(this.parts);
    if (this.secret === undefined) return createHash("sha256").update(all).digest();
    const key = typeof this.secret === "string" ? this.secret : this.secret instanceof ArrayBuffer ? Buffer.from(this.secret) : Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength);
    return createHmac("sha256", key).update(all).digest();
  }
  reset(): void {
    this.parts.length = 0;
  }
}

/** What the AWS SDK's signer makes of the same request. */
async function smithy(url: string, target: string, body: string, o: SignOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    service: o.service ?? "kms",
    region: o.region,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    sha256: NodeSha256,
    applyChecksum: o.contentSha256 ?? false,
  });
  const signed = await signer.sign(
    {
      method: "POST", protocol: u.protocol, hostname: u.hostname, port: u.port ? Number(u.port) : undefined, path: u.pathname, query: {},
      headers: { host: u.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": target.includes(".") ? target : `TrentService.${target}`, ...(o.extraHeaders ?? {}) },
      body,
    },
    { signingDate: o.date ?? new Date(), unsignableHeaders: o.unsignableHeaders },
  );
  return signed.headers as Record<string, string>;
}

/** Deterministic pseudo-random choices (xorshift), so a failure reproduces. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

describe("SigV4 signer (src/cli/sign.ts) against @smithy/signature-v4", () => {
  it("AWS's example credentials and a KMS ListKeys request: the vector's signatures, with and without x-amz-content-sha256", async () => {
    const o = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)) };
    const plain = await signRequest("https://kms.us-east-1.amazonaws.com/", "ListKeys", "{}", o);
    expect(plain.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=07499af8ab2ef3d35030bf049520b6c0de4a040bfc6c24cd89fc4dab8a531f56",
    );
    expect(plain["x-amz-date"]).toBe("20150830T123600Z");
    const withHash = await signRequest("https://kms.us-east-1.amazonaws.com/", "ListKeys", "{}", { ...o, contentSha256: true });
    expect(withHash["x-amz-content-sha256"]).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    expect(withHash.authorization).toMatch(/SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=8bceec4e6ca463c201715359e4e6ad17ca5d65394e614a706174a96900df7a97$/);
  });

  it("300 requests of varied endpoints, regions, services, dates, bodies and headers: the same headers as the SDK's signer", async () => {
    const r = rng(20261202);
    const endpoints = ["https://kms.us-east-1.amazonaws.com/", "http://localhost:8787/", "http://127.0.0.1:41234/", "https://kms.eu-west-1.amazonaws.com", "http://localhost:8787/admin", "https://kms-fips.us-west-2.amazonaws.com/"];
    const targets = ["ListKeys", "TrentService.Encrypt", "EdgeKMSBatch.BatchGenerateDataKey", "EdgeKMSAdmin.CreateUser"];
    const bodies = ["{}", "", '{"KeyId":"alias/a b","Plaintext":"AAEC"}', JSON.stringify({ EncryptionContext: { "ü ñ": "值 \u2028", "__proto__": "x" } }), "x".repeat(5000)];
    const extras: Array<Record<string, string> | undefined> = [undefined, { "x-amz-security-token": "FQoGZXIvYXdzE//token+with/slash==" }, { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }, { "user-agent": "edgekms/1", "X-Custom": "  spaced   value  " }];
    const unsignable: Array<Set<string> | undefined> = [undefined, new Set(["x-amz-target"]), new Set(["host"])];
    for (let i = 0; i < 300; i++) {
      const o: SignOptions = {
        accessKeyId: `AKIA${Math.floor(r.next() * 1e12)}`,
        secretAccessKey: r.pick(["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "s3cr3t+/=", "e2e-test-secret-access-key-not-for-production-use"]),
        region: r.pick(["us-east-1", "eu-central-1", "ap-southeast-2", "cn-north-1"]),
        service: r.pick([undefined, "kms", "s3"]),
        date: new Date(Date.UTC(2015 + Math.floor(r.next() * 12), Math.floor(r.next() * 12), 1 + Math.floor(r.next() * 28), Math.floor(r.next() * 24), Math.floor(r.next() * 60), Math.floor(r.next() * 60))),
        contentSha256: r.next() < 0.5,
        extraHeaders: r.pick(extras),
        unsignableHeaders: r.pick(unsignable),
      };
      const url = r.pick(endpoints), target = r.pick(targets), body = r.pick(bodies);
      const ours = await signRequest(url, target, body, o);
      const theirs = await smithy(url, target, body, o);
      expect(ours, `request ${i}: ${url} ${target} ${JSON.stringify({ ...o, secretAccessKey: "…" })}`).toEqual(theirs);
    }
  });

  it("the signer reads its headers as a Headers object would (the server's view): case folded, values trimmed, names that differ in case joined", () => {
    const name = fc.constantFrom("x-amz-target", "X-Amz-Target", "X-AMZ-TARGET", "content-type", "Content-Type", "host", "x-custom", "X-Custom", "__proto__", "constructor");
    const value = fc.tuple(fc.constantFrom("", " ", "\t", "  \t"), fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/), fc.constantFrom("", " ", "\t ")).map(([a, b, c]) => a + b + c);
    fc.assert(fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
      const record: Record<string, string> = Object.create(null);
      for (const [k, v] of pairs) record[k] = v;
      const ours = headerLookup(record), theirs = new Headers(Object.entries(record));
      for (const n of ["x-amz-target", "content-type", "host", "x-custom", "__proto__", "constructor", "absent"]) expect(ours.get(n)).toBe(theirs.get(n));
    }), { numRuns: 500 });
  });

  it("headers that would be signed as one thing and sent as another are refused: a name twice in two cases, a value outside printable ASCII", async () => {
    const o = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret", region: "us-east-1" };
    await expect(signRequest("http://localhost:8787/", "ListKeys", "{}", { ...o, extraHeaders: { "X-Custom": "a", "x-custom": "b" } })).rejects.toThrow(/given twice/);
    await expect(signRequest("http://localhost:8787/", "ListKeys", "{}", { ...o, extraHeaders: { "X-Amz-Target": "TrentService.Decrypt" } })).rejects.toThrow(/given twice/);
    for (const v of ["café", "a\u00a0b", "a\nb", "a\u0000b"]) await expect(signRequest("http://localhost:8787/", "ListKeys", "{}", { ...o, extraHeaders: { "x-custom": v } }), JSON.stringify(v)).rejects.toThrow(/printable ASCII/);
    expect((await signRequest("http://localhost:8787/", "ListKeys", "{}", { ...o, extraHeaders: { "x-custom": "\t a b ~ " } })).authorization).toMatch(/SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-custom,/);
  });

  it("a different secret, date, region, body or target changes the signature", async () => {
    const base = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret", region: "us-east-1", date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) };
    const sig = async (o: SignOptions, body = "{}", target = "ListKeys") => (await signRequest("http://localhost:8787/", target, body, o)).authorization!.slice(-64);
    const ref = await sig(base);
    for (const other of [
      await sig({ ...base, secretAccessKey: "secreT" }), await sig({ ...base, date: new Date(Date.UTC(2026, 0, 2, 3, 4, 6)) }),
      await sig({ ...base, region: "us-west-2" }), await sig(base, '{ }'), await sig(base, "{}", "DescribeKey"),
    ]) expect(other).not.toBe(ref);
  });
});
