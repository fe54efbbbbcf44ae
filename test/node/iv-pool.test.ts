// Ciphertext blob IVs come from a pool that the CSPRNG fills 4 KiB at a time (src/vault/key-types/iv-pool.ts):
// no IV may repeat, across refills too, and the pool must be what they come from.
import { afterEach, describe, expect, it, vi } from "vitest";
import { IV_POOL_BYTES, randomIv } from "../../src/vault/key-types/iv-pool.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("IV pool", () => {
  afterEach(() => vi.restoreAllMocks());

  it("hands out each byte once: IVs never repeat, also across refills", () => {
    const draws = Math.ceil((3 * IV_POOL_BYTES) / 12) + 5; // three refills and a bit
    const ivs = Array.from({ length: draws }, () => randomIv(12));
    for (const iv of ivs) expect(iv.length).toBe(12);
    expect(new Set(ivs.map(hex)).size).toBe(draws);
    // Each its own copy: changing one changes no other.
    ivs[0].fill(0);
    expect(hex(ivs[1])).not.toBe("0".repeat(24));
  });

  it("draws from the CSPRNG once per pool, not once per IV, and moves past every byte it hands out", () => {
    const spy = vi.spyOn(crypto, "getRandomValues");
    const seen: Uint8Array[] = [];
    let lastFillAt = -1;
    for (let i = 0; i < 2 * Math.floor(IV_POOL_BYTES / 12); i++) {
      const fills = spy.mock.calls.length;
      seen.push(randomIv(12));
      if (spy.mock.calls.length > fills) lastFillAt = i;
    }
    // Two pools' worth of IVs: two fills, or three (the pool may have been part used before).
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(3);
    // The IVs handed out since the last fill are that fill's bytes, one after another from its start.
    const pool = spy.mock.results.at(-1)!.value as Uint8Array;
    expect(pool.length).toBe(IV_POOL_BYTES);
    expect(hex(pool).startsWith(seen.slice(lastFillAt).map(hex).join(""))).toBe(true);
  });

  it("a request longer than the pool is drawn on its own", () => {
    const spy = vi.spyOn(crypto, "getRandomValues");
    expect(randomIv(IV_POOL_BYTES + 1).length).toBe(IV_POOL_BYTES + 1);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
