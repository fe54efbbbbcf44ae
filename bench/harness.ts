// Timing helpers shared by the benchmark scripts: warm up, repeat, report medians.
import { readFileSync, readdirSync } from "node:fs";

export interface Sample {
  opsPerSec: number;
}

/** Runs f in batches for about `ms` per repetition; returns the median ops/s over `reps`. */
export async function measure(f: () => unknown, opts: { ms?: number; reps?: number; async?: boolean } = {}): Promise<number> {
  const ms = opts.ms ?? 150, reps = opts.reps ?? 7;
  const run = async (n: number) => {
    if (opts.async) for (let i = 0; i < n; i++) await f();
    else for (let i = 0; i < n; i++) f();
  };
  // warm-up, and calibrate a batch size that takes about `ms`
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    await run(n);
    const dt = performance.now() - t0;
    if (dt > ms / 4) { n = Math.max(1, Math.round((n * ms) / dt)); break; }
    n *= 2;
  }
  await run(n);
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await run(n);
    rates.push((n * 1000) / (performance.now() - t0));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1];
}

export const fmtOps = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(1));
export const fmtMBs = (ops: number, size: number): string => ((ops * size) / 1e6).toFixed(1);
export const fmtSize = (n: number): string => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);

/** Prints a Markdown table. */
/** The median: the middle value, or the mean of the two middle ones when there are an even number. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The median of rounds' values and, when there are several, their range: "12.3× (10.1–14.0)". */
export function spread(xs: readonly number[], digits = 1, unit = ""): string {
  if (xs.length === 1) return `${xs[0]!.toFixed(digits)}${unit}`;
  return `${median(xs).toFixed(digits)}${unit} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
}

export function table(head: string[], rows: string[][]): void {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

/** A process's CPU time in ns (workerd's, by its pid): the sum over its threads of schedstat's time on CPU. */
export function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* a thread that just ended */
    }
  }
  return ns;
}

/**
 * The machine's CPU time so far, from /proc/stat's first line (Linux; undefined elsewhere): all
 * of it, and the part the hypervisor gave to other guests ("steal"). On this VM req/s and MB/s
 * follow how much of its CPU the host takes, so runs report that share beside their figures.
 */
export function cpuTimes(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((x) => !Number.isFinite(x))) return undefined;
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7]! };
  } catch {
    return undefined;
  }
}

/** The share of CPU time the host took between two cpuTimes() readings, in percent ("–" when unknown). */
export function stealPercent(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>): string {
  if (!before || !after || after.total <= before.total) return "–";
  return `${((100 * (after.steal - before.steal)) / (after.total - before.total)).toFixed(0)}%`;
}
