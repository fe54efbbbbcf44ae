import { describe, expect, it } from "vitest";
import { timingSafeEqual } from "../../src/crypto/compare.js";

describe("timingSafeEqual", () => {
  it.each([
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["abc", "ab", false],
    ["", "", true],
    ["", "a", false],
    ["a".repeat(64), "a".repeat(63) + "b", false],
    ["ab", "ba", false],
  ])("%j vs %j → %s", (a, b, want) => {
    expect(timingSafeEqual(a, b)).toBe(want);
  });
});
