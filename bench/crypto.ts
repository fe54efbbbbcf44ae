// npm run bench:crypto — AES-256-GCM seal and AES-KWP wrap in one Node process:
// this core vs node:crypto, WebCrypto (pre-imported key, await each call) and @noble/ciphers.
import { createCipheriv, randomBytes, webcrypto } from "node:crypto";
import { gcm, aeskwp } from "@noble/ciphers/aes.js";
import { aesGcmSeal, aesKeyWrapPad } from "edgekms/crypto";
import { measure, fmtOps, fmtMBs, fmtSize, table } from "./harness.ts";

const SIZES = [32, 256, 1024, 4096, 65536, 1 << 20];
const key = randomBytes(32), iv = randomBytes(12);
const subtleKey = await webcrypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);

const impls: [string, (pt: Uint8Array) => unknown, boolean][] = [
  ["core", (pt) => aesGcmSeal(key, iv, pt), false],
  ["node:crypto", (pt) => {
    const c = createCipheriv("aes-256-gcm", key, iv);
    const out = Buffer.concat([c.update(pt), c.final()]);
    return [out, c.getAuthTag()];
  }, false],
  ["WebCrypto", (pt) => webcrypto.subtle.encrypt({ name: "AES-GCM", iv }, subtleKey, pt), true],
  ["@noble/ciphers", (pt) => gcm(key, iv).encrypt(pt), false],
];

console.log(`AES-256-GCM seal, Node ${process.version}, ${new Date().toISOString()}\n`);
const rows: string[][] = [];
const ratioRows: string[][] = [];
for (const size of SIZES) {
  const pt = randomBytes(size);
  const ops: number[] = [];
  for (const [, f, isAsync] of impls) ops.push(await measure(() => f(pt), { async: isAsync, ms: size >= 65536 ? 300 : 150 }));
  rows.push([fmtSize(size), ...ops.map((o) => `${fmtOps(o)} ops/s · ${fmtMBs(o, size)} MB/s`)]);
  ratioRows.push([fmtSize(size), ...ops.slice(1).map((o) => `${(ops[0] / o).toFixed(2)}×`)]);
}
table(["size", ...impls.map(([n]) => n)], rows);
console.log("\nRatio of this core's throughput to each peer (higher is better for the core):\n");
table(["size", ...impls.slice(1).map(([n]) => `core / ${n}`)], ratioRows);

console.log("\nAES-KWP (RFC 5649) wrap of a 32-byte key under a 256-bit KEK:\n");
const dataKey = randomBytes(32);
const kwp: [string, () => unknown][] = [
  ["core", () => aesKeyWrapPad(key, dataKey)],
  ["node:crypto", () => {
    const c = createCipheriv("id-aes256-wrap-pad", key, Buffer.from("a65959a6", "hex"));
    return Buffer.concat([c.update(dataKey), c.final()]);
  }],
  ["@noble/ciphers", () => aeskwp(key).encrypt(dataKey)],
];
const kwpOps: number[] = [];
for (const [, f] of kwp) kwpOps.push(await measure(f));
table(["impl", "ops/s", "µs/op", "core / impl"], kwp.map(([n], i) => [n, fmtOps(kwpOps[i]), (1e6 / kwpOps[i]).toFixed(2), `${(kwpOps[0] / kwpOps[i]).toFixed(2)}×`]));
