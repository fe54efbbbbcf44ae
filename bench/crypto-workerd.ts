// Part of npm run bench:crypto — the core vs workerd's own WebCrypto (pre-imported key,
// await each call) inside one workerd started through miniflare's API. Timers inside a
// Worker only advance on I/O, so each request runs N operations and is timed from
// outside; the time of the same request with N = 0 is subtracted.
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { fmtOps, fmtMBs, fmtSize, table } from "./harness.ts";

const SIZES = [32, 256, 1024, 4096, 16384, 65536, 1 << 20];

const WORKER = `
import coreModule from "./edgekms-core.wasm";
import { setCoreModule, aesGcmSeal } from "./api.js";
setCoreModule(coreModule);
const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
const iv = new Uint8Array(12).map((_, i) => i);
let subtleKey;
const inputs = new Map();
export default {
  async fetch(req) {
    subtleKey ??= crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
    const u = new URL(req.url);
    const size = Number(u.searchParams.get("size")), n = Number(u.searchParams.get("n"));
    if (!inputs.has(size)) inputs.set(size, new Uint8Array(size).map((_, i) => (i * 31) & 255));
    const pt = inputs.get(size);
    let sink = 0;
    if (u.pathname === "/core") {
      for (let i = 0; i < n; i++) sink ^= aesGcmSeal(key, iv, pt)[0];
    } else {
      const k = await subtleKey;
      for (let i = 0; i < n; i++) sink ^= new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, pt))[0];
    }
    return new Response(String(sink));
  },
};`;

const dist = new URL("../dist/crypto/", import.meta.url);
const mf = new Miniflare({
  modules: [
    { type: "ESModule", path: "worker.js", contents: WORKER },
    { type: "ESModule", path: "api.js", contents: readFileSync(new URL("api.js", dist), "utf8") },
    { type: "ESModule", path: "errors.js", contents: readFileSync(new URL("errors.js", dist), "utf8") },
    { type: "CompiledWasm", path: "edgekms-core.wasm", contents: readFileSync(new URL("edgekms-core.wasm", dist)) },
  ],
  compatibilityDate: "2026-07-01",
});

async function timeRequest(path: string, size: number, n: number): Promise<number> {
  const t0 = performance.now();
  const res = await mf.dispatchFetch(`http://bench${path}?size=${size}&n=${n}`);
  await res.text();
  return performance.now() - t0;
}

/** Median ops/s over 7 requests of N operations each, N chosen for about 120 ms. */
async function opsPerSec(path: string, size: number): Promise<number> {
  const warm = performance.now();
  while (performance.now() - warm < 300) await timeRequest(path, size, 64);
  let n = 64;
  for (;;) {
    const dt = await timeRequest(path, size, n);
    if (dt > 30) { n = Math.max(1, Math.round((n * 120) / dt)); break; }
    n *= 2;
  }
  await timeRequest(path, size, n);
  const rates: number[] = [];
  for (let r = 0; r < 7; r++) {
    const base = await timeRequest(path, size, 0);
    const dt = (await timeRequest(path, size, n)) - base;
    rates.push((n * 1000) / dt);
  }
  rates.sort((a, b) => a - b);
  return rates[3];
}

try {
  await mf.ready;
  console.log(`\nAES-256-GCM seal inside workerd (miniflare API), timed from outside the runtime\n`);
  const rows: string[][] = [];
  let crossover: string | undefined;
  for (const size of SIZES) {
    const core = await opsPerSec("/core", size);
    const web = await opsPerSec("/webcrypto", size);
    if (!crossover && web > core) crossover = fmtSize(size);
    rows.push([fmtSize(size), `${fmtOps(core)} ops/s · ${fmtMBs(core, size)} MB/s`, `${fmtOps(web)} ops/s · ${fmtMBs(web, size)} MB/s`, `${(core / web).toFixed(2)}×`]);
  }
  table(["size", "core", "workerd WebCrypto", "core / WebCrypto"], rows);
  console.log(`\nWebCrypto overtakes the core at: ${crossover ?? "no size measured"}`);
} finally {
  await mf.dispose();
}
