// npm run bench:constant-time — a timing report, not a test: wall-clock timings on a shared
// machine are too noisy to assert on. GCM open with a correct tag vs a tag wrong in its first or
// last byte, and GCM seal under very different keys, interleaved round by round so that warm-up
// and drift hit every case alike. Medians in ns per call; the ratios should sit near 1.
import { randomBytes } from "node:crypto";
import { aesGcmOpen, aesGcmSeal } from "edgekms/crypto";
import { table } from "./harness.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "41");
const PER_ROUND = 400;

/** The median over rounds of the mean ns per call of each case, the cases interleaved. */
function interleaved(cases: (() => void)[]): number[] {
  for (const f of cases) for (let i = 0; i < PER_ROUND; i++) f();
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    cases.forEach((f, c) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i++) f();
      samples[c].push(Number(process.hrtime.bigint() - t0) / PER_ROUND);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
}

console.log(`Constant-time report, Node ${process.version}, ${new Date().toISOString()}, ${ROUNDS} rounds of ${PER_ROUND} calls\n`);

const key = randomBytes(32), iv = randomBytes(12), pt = randomBytes(64);
const good = aesGcmSeal(key, iv, pt);
const badFirst = Uint8Array.from(good), badLast = Uint8Array.from(good);
badFirst[64] ^= 1;
badLast[79] ^= 1;
const open = (s: Uint8Array) => () => { try { aesGcmOpen(key, iv, s); } catch { /* a wrong tag is refused; only its timing matters here */ } };
const [tGood, tFirst, tLast] = interleaved([open(good), open(badFirst), open(badLast)]);
table(["GCM open, 64 B", "ns/call", "vs correct tag"], [
  ["correct tag", tGood.toFixed(0), "1.000"],
  ["wrong first tag byte", tFirst.toFixed(0), (tFirst / tGood).toFixed(3)],
  ["wrong last tag byte", tLast.toFixed(0), (tLast / tGood).toFixed(3)],
]);
console.log();

const pt256 = randomBytes(256);
const keys: [string, Uint8Array][] = [
  ["all-zero", new Uint8Array(32)],
  ["all-ones", new Uint8Array(32).fill(0xff)],
  ["alternating", new Uint8Array(32).fill(0xaa)],
  ["random", randomBytes(32)],
];
const times = interleaved(keys.map(([, k]) => () => aesGcmSeal(k, iv, pt256)));
const min = Math.min(...times);
table(["GCM seal, 256 B, key", "ns/call", "vs fastest"], keys.map(([name], i) => [name, times[i].toFixed(0), (times[i] / min).toFixed(3)]));
