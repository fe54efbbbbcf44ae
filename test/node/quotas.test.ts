// The request-rate quotas' pure parts (docs/quotas.md): which quota a request counts against,
// AWS's defaults, the token bucket, the allotment of a quota among isolates, the counter's board,
// and one isolate's limiter against a fake counter. The Worker's side is test/workers/quotas.test.ts.
import { describe, expect, it } from "vitest";
import { defaultQuota, describeQuota, quotaOf, quotaScale, type QuotaRule } from "../../src/quota/table.js";
import { AccountLimiter, FORGET_MS, SYNC_MS, UsageBoard, allotment, capacityOf, newBucket, setRate, take, type QuotaReply } from "../../src/quota/limiter.js";

const op = (name: string, quota?: QuotaRule) => ({ name, ...(quota ? { quota } : {}) });
const BY_ENC = op("Encrypt", { byAlgorithm: ["EncryptionAlgorithm"] });
const BY_SIGN = op("Sign", { byAlgorithm: ["SigningAlgorithm"] });
const RE_ENCRYPT = op("ReEncrypt", { byAlgorithm: ["SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"] });

describe("which quota a request counts against", () => {
  const rows: [string, ReturnType<typeof op>, Record<string, unknown>, string][] = [
    ["Encrypt without an algorithm: symmetric", BY_ENC, {}, "CryptographicOperationsSymmetric"],
    ["Encrypt SYMMETRIC_DEFAULT", BY_ENC, { EncryptionAlgorithm: "SYMMETRIC_DEFAULT" }, "CryptographicOperationsSymmetric"],
    ["Encrypt RSAES_OAEP_SHA_256: RSA", BY_ENC, { EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }, "CryptographicOperationsRsa"],
    ["Encrypt SM2PKE: ECC (with SM2)", BY_ENC, { EncryptionAlgorithm: "SM2PKE" }, "CryptographicOperationsEcc"],
    ["Sign RSASSA_PSS_SHA_256: RSA", BY_SIGN, { SigningAlgorithm: "RSASSA_PSS_SHA_256" }, "CryptographicOperationsRsa"],
    ["Sign ECDSA_SHA_384: ECC", BY_SIGN, { SigningAlgorithm: "ECDSA_SHA_384" }, "CryptographicOperationsEcc"],
    ["Sign ED25519_SHA_512: ECC", BY_SIGN, { SigningAlgorithm: "ED25519_SHA_512" }, "CryptographicOperationsEcc"],
    ["Sign ML_DSA_SHAKE_256: ML-DSA", BY_SIGN, { SigningAlgorithm: "ML_DSA_SHAKE_256" }, "CryptographicOperationsMlDsa"],
    ["ReEncrypt symmetric to symmetric", RE_ENCRYPT, {}, "CryptographicOperationsSymmetric"],
    ["ReEncrypt symmetric to RSA: RSA", RE_ENCRYPT, { DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_1" }, "CryptographicOperationsRsa"],
    ["ReEncrypt RSA to symmetric: RSA", RE_ENCRYPT, { SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_256", DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT" }, "CryptographicOperationsRsa"],
    ["GenerateDataKey: shared symmetric", op("GenerateDataKey", { shared: "CryptographicOperationsSymmetric" }), {}, "CryptographicOperationsSymmetric"],
    ["DeriveSharedSecret: ECC", op("DeriveSharedSecret", { shared: "CryptographicOperationsEcc" }), {}, "CryptographicOperationsEcc"],
    ["GenerateDataKeyPair RSA_4096: its spec's", op("GenerateDataKeyPair", { byKeyPairSpec: true }), { KeyPairSpec: "RSA_4096" }, "GenerateDataKeyPair:RSA_4096"],
    ["CreateKey: its own control-plane quota", op("CreateKey"), { KeySpec: "RSA_2048" }, "CreateKey"],
    ["an operation AWS lists no quota for: still its own", op("ListKeyRotations"), {}, "ListKeyRotations"],
  ];
  it.each(rows)("%s", (_, o, input, expected) => expect(quotaOf(o, input)).toBe(expected));
});

describe("AWS's defaults", () => {
  const rows: [string, string, number | undefined][] = [
    ["CryptographicOperationsSymmetric", "us-east-1", 50_000],
    ["CryptographicOperationsSymmetric", "eu-west-1", 50_000],
    ["CryptographicOperationsSymmetric", "eu-central-1", 20_000],
    ["CryptographicOperationsSymmetric", "ap-southeast-2", 20_000],
    ["CryptographicOperationsSymmetric", "sa-east-1", 10_000],
    ["CryptographicOperationsRsa", "us-east-1", 1_000],
    ["CryptographicOperationsEcc", "us-east-1", 1_000],
    ["CryptographicOperationsMlDsa", "us-east-1", 1_000],
    ["CryptographicOperationsMlKem", "us-east-1", undefined],
    ["GenerateDataKeyPair:ECC_NIST_P256", "us-east-1", 25],
    ["GenerateDataKeyPair:RSA_3072", "us-east-1", 0.5],
    ["GenerateDataKeyPair:RSA_4096", "us-east-1", 0.1],
    ["GenerateDataKeyPair:ML_KEM_768", "us-east-1", undefined],
    ["CreateKey", "us-east-1", 5],
    ["CreateAlias", "us-east-1", 5],
    ["ScheduleKeyDeletion", "us-east-1", 15],
    ["DescribeKey", "us-east-1", 2000],
    ["ListKeys", "us-east-1", 500],
    ["GetParametersForImport", "us-east-1", 0.25],
    ["ListKeyRotations", "us-east-1", undefined],
    ["constructor", "us-east-1", undefined],
  ];
  it.each(rows)("%s in %s: %s", (name, region, expected) => expect(defaultQuota(name, region)).toBe(expected));

  it("names quotas as AWS does, and reads QUOTA_SCALE as a positive factor", () => {
    expect(describeQuota("CryptographicOperationsSymmetric")).toBe("Cryptographic operations (symmetric) request rate");
    expect(describeQuota("GenerateDataKeyPair:RSA_2048")).toBe("GenerateDataKeyPair (RSA_2048) request rate");
    expect(describeQuota("CreateKey")).toBe("CreateKey request rate");
    expect([quotaScale(undefined), quotaScale("1000"), quotaScale("0"), quotaScale("-3"), quotaScale("x")]).toEqual([1, 1000, 1, 1, 1]);
  });
});

describe("token bucket", () => {
  it("starts full (one second of its rate, at least one request), empties, and refills at its rate", () => {
    expect([capacityOf(5), capacityOf(0.25), capacityOf(0)]).toEqual([5, 1, 0]);
    const b = newBucket(5, 0);
    expect(take(b, 3, 0)).toBe(3);
    expect(take(b, 3, 0)).toBe(2); // partial: the first two of three
    expect(take(b, 1, 0)).toBe(0);
    expect(take(b, 1, 199)).toBe(0); // 0.995 of a token
    expect(take(b, 1, 200)).toBe(1);
    expect(take(b, 10, 10_000)).toBe(5); // never more than its capacity
  });

  it("a fractional quota admits one request per 1/rate seconds", () => {
    const b = newBucket(0.25, 0);
    expect([take(b, 1, 0), take(b, 1, 3_999), take(b, 1, 4_000), take(b, 1, 4_001)]).toEqual([1, 0, 1, 0]);
  });

  it("a quota of zero admits nothing", () => {
    const b = newBucket(0, 0);
    expect([take(b, 1, 0), take(b, 1, 60_000)]).toEqual([0, 0]);
  });

  it("a lower rate caps what the bucket holds; a clock going back refills nothing", () => {
    const b = newBucket(100, 0);
    setRate(b, 10, 0);
    expect(take(b, 100, 0)).toBe(10);
    expect(take(b, 1, -5_000)).toBe(0);
  });
});

describe("allotment of a quota among isolates", () => {
  const rows: [string, [number, number, number, number], number][] = [
    ["alone: the whole quota", [100, 30, 30, 1], 100],
    ["under the quota: own demand plus an equal share of the headroom", [100, 30, 50, 2], 30 + 25],
    ["an idle isolate still gets its share of the headroom", [100, 0, 50, 2], 25],
    ["over the quota: in proportion to demand", [100, 150, 300, 3], 50],
    ["the counter's total lags behind this isolate's own demand", [100, 80, 20, 2], 80 + 10],
  ];
  it.each(rows)("%s", (_, [q, own, total, n], expected) => expect(allotment(q, own, total, n)).toBeCloseTo(expected, 9));

  it("the allotments add up to the quota, under it and over it", () => {
    for (const demands of [[10, 20, 30], [200, 50, 0, 0], [1, 1]]) {
      const total = demands.reduce((a, b) => a + b, 0);
      const sum = demands.reduce((a, own) => a + allotment(100, own, total, demands.length), 0);
      expect(sum).toBeCloseTo(100, 9);
    }
  });
});

describe("the counter's board", () => {
  it("adds up the isolates' rates, counts quiet isolates without their rates, and forgets silent ones", () => {
    const board = new UsageBoard();
    expect(board.report("a", { Q: 100 }, 1000, 0)).toEqual({ usage: { Q: 100 }, isolates: 1 });
    expect(board.report("b", { Q: 25, R: 5 }, 500, 100)).toEqual({ usage: { Q: 150, R: 10 }, isolates: 2 });
    // a has gone quiet (its report is older than ACTIVE_MS): counted, but not its rate.
    expect(board.report("b", { Q: 10 }, 1000, 4_000)).toEqual({ usage: { Q: 10 }, isolates: 2 });
    // a is forgotten after FORGET_MS.
    expect(board.report("b", { Q: 10 }, 1000, FORGET_MS + 1)).toEqual({ usage: { Q: 10 }, isolates: 1 });
  });
});

describe("one isolate's limiter", () => {
  /** A counter on a board, with the configured quotas `quotas`; records every report. */
  function counter(quotas: Record<string, number>, board = new UsageBoard(), clock = () => 0) {
    const reports: { id: string; counts: Record<string, number> }[] = [];
    const make = (id: string) => ({
      report: async (counts: Record<string, number>, interval: number): Promise<QuotaReply> => {
        reports.push({ id, counts });
        return { quotas, ...board.report(id, counts, interval, clock()) };
      },
      limitOf: (name: string, configured: Readonly<Record<string, number>>) => configured[name] ?? (name === "Q" ? 1000 : undefined),
    });
    return { reports, make };
  }

  it("waits for its quotas on the first request only, then decides at once and reports in the background at most every SYNC_MS", async () => {
    const c = counter({ Q: 3 });
    const l = new AccountLimiter(c.make("i"));
    const background: Promise<void>[] = [];
    const bg = (p: Promise<void>) => void background.push(p);
    const first = l.charge("Q", 1, 0, bg);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(1);
    expect([l.charge("Q", 1, 10, bg), l.charge("Q", 1, 20, bg), l.charge("Q", 1, 30, bg)]).toEqual([1, 1, 0]);
    expect(background).toHaveLength(0);
    expect(l.charge("Q", 1, SYNC_MS, bg)).toBe(1); // 1 s at 3/s refilled 3 tokens
    expect(background).toHaveLength(1);
    await Promise.all(background);
    // The first report had nothing to count; the second the four requests before it (the fifth opens the next interval).
    expect(c.reports.map((r) => r.counts)).toEqual([{}, { Q: 4 }]);
    // Unlimited quotas are admitted and not counted.
    expect(l.charge("Unlimited", 1000, SYNC_MS + 1, bg)).toBe(1000);
  });

  it("fails open on the last known quotas when the counter cannot be reached", async () => {
    const errors: unknown[] = [];
    const l = new AccountLimiter({
      report: () => Promise.reject(new Error("down")),
      limitOf: (name, configured) => configured[name] ?? 2,
      onError: (e) => void errors.push(e),
    });
    expect(await l.charge("Q", 5, 0, () => {})).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it("asks again, waiting, when it has not heard from the counter for FORGET_MS", async () => {
    const c = counter({ Q: 3 });
    const l = new AccountLimiter(c.make("i"));
    await l.charge("Q", 1, 0, () => {});
    expect(l.charge("Q", 1, FORGET_MS + 1, () => {})).toBeInstanceOf(Promise);
  });

  it("quotas set through the admin API apply at once in this isolate", async () => {
    const c = counter({ Q: 100 });
    const l = new AccountLimiter(c.make("i"));
    await l.charge("Q", 1, 0, () => {});
    l.setConfigured({ Q: 2 }, 0);
    expect(l.charge("Q", 5, 0, () => {})).toBe(2);
  });

  it("two isolates on one counter settle to the quota between them after one report each", async () => {
    let now = 0;
    const board = new UsageBoard();
    const c = counter({ Q: 100 }, board, () => now);
    const a = new AccountLimiter(c.make("a"));
    const b = new AccountLimiter(c.make("b"));
    const pending: Promise<void>[] = [];
    const bg = (p: Promise<void>) => void pending.push(p);
    await a.charge("Q", 1, 0, bg);
    await b.charge("Q", 1, 0, bg); // b hears that a exists: its allotment is half the headroom
    // Both busy for a second, then both report.
    now = SYNC_MS;
    a.charge("Q", 500, now, bg);
    b.charge("Q", 500, now, bg);
    await Promise.all(pending.splice(0));
    now = SYNC_MS + 1;
    a.charge("Q", 1, now, bg);
    b.charge("Q", 1, now, bg);
    await Promise.all(pending.splice(0));
    // Over the next second, at most the quota (plus what the buckets held) between them.
    const admitted = a.charge("Q", 1000, 2 * SYNC_MS + 1, bg) as number + (b.charge("Q", 1000, 2 * SYNC_MS + 1, bg) as number);
    expect(admitted).toBeGreaterThan(90);
    expect(admitted).toBeLessThanOrEqual(101);
  });
});
