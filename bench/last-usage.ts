// npm run bench:last-usage — (1) Encrypt throughput with GetKeyLastUsage tracking on and off
// (issue 14's target: within 3%), and (2) the latency of the key-management calls of imported
// and multi-Region keys: GetParametersForImport (an RSA wrapping key made in the vault),
// ImportKeyMaterial, and ReplicateKey.
//
// (1): two servers (npm run serve's startServer, state on disk), one with KEY_LAST_USAGE=off,
// side by side (bench/paired.ts); wrk replays pre-signed Encrypts against both at the same moment
// (or in turn, BENCH_MODE=alternating), for BENCH_ROUNDS rounds, so that the drift of a shared VM
// hits both alike. Prints each configuration's median req/s and workerd CPU µs per request, and
// the median of the rounds' ratios.
// (2): sequential calls through the JS SDK; median and p90 of BENCH_SAMPLES calls.
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import * as K from "@aws-sdk/client-kms";
import { median, table } from "./harness.ts";
import { BENCH_VARS as VARS, ensureWrk, signKms } from "./wrk.ts";
import { alternatingRounds, serversSideBySide, simultaneousRounds, type Server } from "./paired.ts";

const SECONDS = process.env.BENCH_SECONDS ?? "4";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "4");
const CONNS = (process.env.BENCH_CONNS ?? "1,16").split(",").map(Number);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? "15");
/** Both servers driven at the same moment (default), or in turn (BENCH_MODE=alternating). */
const SIMULTANEOUS = process.env.BENCH_MODE !== "alternating";

const wrk = ensureWrk();
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const clientOf = (s: Server) => new K.KMSClient({ endpoint: s.url, region: "us-east-1", credentials: { accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY } });

const pair = await serversSideBySide({ on: VARS, off: { ...VARS, KEY_LAST_USAGE: "off" } });
try {
  const keys = new Map<string, string[]>();
  for (const s of pair.servers) {
    const kms = clientOf(s);
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push((await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!);
    keys.set(s.name, ids);
  }
  const pt = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
  console.log(`\nEncrypt 32 B with GetKeyLastUsage tracking on and off: two workerds side by side, state on disk, wrk ${SECONDS} s per run, ${ROUNDS} rounds, ${SIMULTANEOUS ? "both at the same moment" : "in turn"}\n`);
  const rows: string[][] = [];
  for (const c of CONNS) {
    for (const nKeys of [1, 16]) {
      const requests = (s: Server) => Promise.all(keys.get(s.name)!.slice(0, nKeys).map((KeyId) => signKms(s.url, "Encrypt", { KeyId, Plaintext: pt })));
      const r = await (SIMULTANEOUS ? simultaneousRounds : alternatingRounds)(wrk, pair.servers, requests, c, SECONDS, ROUNDS);
      const ratios = r.on.rps.map((x, i) => x / r.off.rps[i]!);
      rows.push([String(nKeys), String(c), median(r.off.rps).toFixed(0), median(r.on.rps).toFixed(0), `${(100 * median(ratios)).toFixed(1)}%`,
        median(r.off.cpuUsPerReq).toFixed(0), median(r.on.cpuUsPerReq).toFixed(0), `${(100 * median(r.on.cpuUsPerReq) / median(r.off.cpuUsPerReq)).toFixed(1)}%`,
        ratios.map((x) => `${(100 * x).toFixed(0)}%`).join(" ")]);
    }
  }
  table(["keys", "connections", "req/s off", "req/s on", "on ÷ off (median of rounds)", "CPU µs/req off", "CPU µs/req on", "CPU on ÷ off", "each round on ÷ off"], rows);

  // (2) latency of the key-management calls.
  const kms = clientOf(pair.servers[0]!);
  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const lat: Record<string, number[]> = {};
  const note = (name: string, ms: number) => (lat[name] ??= []).push(ms);
  for (let i = 0; i < SAMPLES; i++) {
    const key = (await kms.send(new K.CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata!.KeyId!;
    for (const spec of ["RSA_2048", "RSA_4096"] as const) {
      let p: K.GetParametersForImportCommandOutput | undefined;
      note(`GetParametersForImport (${spec} wrapping key)`, await time(async () => {
        p = await kms.send(new K.GetParametersForImportCommand({ KeyId: key, WrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec: spec }));
      }));
      if (spec === "RSA_4096") continue;
      const aes = randomBytes(32);
      const kwp = createCipheriv("id-aes256-wrap-pad", aes, Buffer.from("A65959A6", "hex"));
      const rsa = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p!.PublicKey!), format: "der", type: "spki" }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, aes);
      const wrapped = Buffer.concat([rsa, kwp.update(randomBytes(32)), kwp.final()]);
      note("ImportKeyMaterial (symmetric, RSA_AES_KEY_WRAP_SHA_256, RSA_2048)", await time(() =>
        kms.send(new K.ImportKeyMaterialCommand({ KeyId: key, ImportToken: p!.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }))));
    }
    const ReplicateKey = (K as unknown as Record<string, (new (i: object) => K.CreateKeyCommand) | undefined>).ReplicateKeyCommand;
    if (ReplicateKey) {
      const mrk = (await kms.send(new K.CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
      const ms = await time(() => kms.send(new ReplicateKey({ KeyId: mrk, ReplicaRegion: "us-west-2" })).catch((e: Error) => {
        throw new Error(`ReplicateKey: ${e.name}: ${e.message}`);
      }));
      note("ReplicateKey (symmetric, us-east-1 → us-west-2)", ms);
    }
    note("CreateKey (symmetric, for comparison)", await time(() => kms.send(new K.CreateKeyCommand({}))));
  }
  console.log(`\nKey-management latency through the JS SDK (loopback, one workerd, state on disk), ${SAMPLES} calls each\n`);
  table(["call", "median ms", "p90 ms"], Object.entries(lat).map(([name, xs]) => [name, median(xs).toFixed(1), pct(xs, 0.9).toFixed(1)]));
} finally {
  await pair.dispose();
}
