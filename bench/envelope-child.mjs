// One run of bench/envelope.ts in its own process (plain JavaScript: running a .ts file would load
// Node's TypeScript stripper, whose memory would count in the peak RSS): a streamed encrypt or decrypt,
// file to file: the library fed and drained as the CLI does (src/cli/envelope.ts), or the AWS
// Encryption SDK's own node streams piped between a file read stream and a file write stream. Prints {"seconds","bytes","maxRssKB"}.
// An output that exists is written in place (see inPlace below).
//   node bench/envelope-child.mjs ours|wasm|esdk|sha384 encrypt|decrypt SUITE FRAME URL KEY_ARN INPUT OUTPUT
// Credentials: BENCH_ACCESS_KEY_ID / BENCH_SECRET_ACCESS_KEY.
import { createReadStream, createWriteStream, existsSync, statSync, truncateSync } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";

const [impl, op, suiteArg, frameArg, url, keyArn, input, output] = process.argv.slice(2);
const suite = Number(suiteArg);
const frameLength = Number(frameArg);
// An output file that exists is written over in place and cut to what was written (bench/envelope.ts
// makes it beforehand, so that no run pays for new pages: docs/benchmarks.md, "Output written in place").
const inPlace = existsSync(output);
const credentials = { accessKeyId: process.env.BENCH_ACCESS_KEY_ID, secretAccessKey: process.env.BENCH_SECRET_ACCESS_KEY };

function report(t) {
  const seconds = (performance.now() - t) / 1000;
  const bytes = statSync(op === "encrypt" ? input : output).size;
  process.stdout.write(JSON.stringify({ seconds, bytes, maxRssKB: process.resourceUsage().maxRSS }) + "\n");
}

if (impl === "sha384") {
  // The bound of any signed (0x0578) message: every byte of it goes through one SHA-384, in order,
  // which no implementation can split between threads. The input hashed in frame-sized updates on
  // one thread, timed inside the updates only (reading excluded), so this is a ceiling.
  const { createHash } = await import("node:crypto");
  const fh = await open(input, "r");
  const buf = new Uint8Array(1 << 20);
  const h = createHash("sha384");
  let hashing = 0, bytes = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    const t = performance.now();
    for (let o = 0; o < bytesRead; o += frameLength) h.update(buf.subarray(o, Math.min(bytesRead, o + frameLength)));
    hashing += performance.now() - t;
    bytes += bytesRead;
  }
  h.digest();
  await fh.close();
  process.stdout.write(JSON.stringify({ seconds: hashing / 1000, bytes, maxRssKB: process.resourceUsage().maxRSS }) + "\n");
} else if (impl === "esdk") {
  const { buildClient, CommitmentPolicy, KmsKeyringNode } = await import("@aws-crypto/client-node");
  const { KMS } = await import("@aws-sdk/client-kms");
  const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const clientProvider = (region) => new KMS({ endpoint: url, region, credentials });
  const t = performance.now();
  const stream = op === "encrypt"
    ? client.encryptStream(new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider }), { suiteId: suite, frameLength })
    : client.decryptStream(new KmsKeyringNode({ keyIds: [keyArn], clientProvider }));
  const sink = createWriteStream(output, { highWaterMark: 1 << 20, flags: inPlace ? "r+" : "w" });
  await pipeline(createReadStream(input, { highWaterMark: 1 << 20 }), stream, sink);
  if (inPlace) truncateSync(output, sink.bytesWritten);
  report(t);
} else {
  const lib = await import("../dist/envelope/node.js");
  const { KmsKeyring } = await import("../dist/envelope/kms-keyring.js");
  const { kmsClientProvider } = await import("../dist/envelope/kms-client.js");
  const client = kmsClientProvider({ endpoint: url, credentials });
  const aes = impl === "wasm" ? { aes: lib.wasmAesGcm } : {};
  const t = performance.now();
  // As the CLI does for a signed file of 64 MiB or more in frames of 16 KiB or more: the signature
  // hash's worker thread started beside the KMS call, and waited for before the body is read.
  const worker = suite === 0x0578 && frameLength >= 16384 && statSync(input).size >= 64 * 1024 * 1024 ? lib.startSignatureWorker() : undefined;
  const pair = op === "encrypt"
    ? lib.encryptStream({ keyring: new KmsKeyring({ generatorKeyId: keyArn, client }), suite, frameLength, plaintextLength: statSync(input).size, ...aes })
    : lib.decryptStream({ keyring: new KmsKeyring({ keyIds: [keyArn], client }), ...aes });
  pair.header.catch(() => undefined);
  // The pump of the CLI (src/cli/envelope.ts): the input read into two 1 MiB buffers (512 KiB while the
  // worker hashes) used in turn, a decrypted file's header first; the
  // output's large chunks (a 1 MiB slice's frames) written as they are, one write at a time while the
  // next is made, small ones coalesced into 1 MiB blocks; each chunk freed (detached) once written or copied.
  const writer = pair.writable.getWriter();
  const feeding = (async () => {
    const fh = await open(input, "r");
    let offset = 0;
    if (op === "decrypt") {
      // As the CLI: the header alone first, so that the KMS Decrypt call runs while the worker starts.
      const head = new Uint8Array(64 * 1024);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      const parsed = lib.parseHeader(head.subarray(0, bytesRead));
      if (parsed) {
        offset = parsed.header.headerLength;
        await writer.write(head.slice(0, offset));
      }
    }
    // The CLI reads 512 KiB at a time while the worker hashes (src/cli/envelope.ts WORKER_READ_CHUNK), 1 MiB otherwise.
    const chunk = worker && (await worker) ? 512 * 1024 : 1 << 20;
    const bufs = [new Uint8Array(chunk), new Uint8Array(chunk)];
    let pending;
    for (let i = 0; ; i ^= 1) {
      const { bytesRead } = await fh.read(bufs[i], 0, bufs[i].length, offset);
      offset += bytesRead;
      if (pending) await pending;
      if (bytesRead === 0) break;
      pending = writer.write(bufs[i].subarray(0, bytesRead));
    }
    await fh.close();
    await writer.close();
  })();
  const out = await open(output, inPlace ? "r+" : "w");
  let written = 0;
  const BLOCK = 1 << 20;
  const blocks = [];
  let cur = 0, used = 0, inflight;
  const free = (c) => { if (c.byteOffset === 0 && c.byteLength >= 16384) c.buffer.transfer(0); };
  const writeOut = async (b, done) => {
    if (inflight) await inflight;
    written += b.length;
    inflight = out.write(b, 0, b.length).then(() => done?.());
  };
  const rotate = async () => {
    await writeOut(blocks[cur].subarray(0, used));
    cur ^= 1;
    used = 0;
  };
  const reader = pair.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.length >= BLOCK / 2) {
      if (used) await rotate();
      await writeOut(value, () => free(value));
      continue;
    }
    for (let off = 0; off < value.length; ) {
      const n = Math.min(value.length - off, BLOCK - used);
      (blocks[cur] ??= new Uint8Array(BLOCK)).set(value.subarray(off, off + n), used);
      used += n;
      off += n;
      if (used === BLOCK) await rotate();
    }
    free(value);
  }
  await feeding;
  if (used) await rotate();
  if (inflight) await inflight;
  if (inPlace) await out.truncate(written);
  await out.close();
  report(t);
}
