// The behaviours of `edgekms encrypt | decrypt` (issue 13) against the e2e server: files and output
// directories, --recursive, stdin/stdout, --metadata-output, --overwrite, nothing left under the
// output name on failure (tampering, truncation, KMS errors), strict and discovery mode with an
// account filter, the maximum of encrypted data keys, required encryption context, data key
// caching, the progress bar on a terminal, profiles, and clear errors for bad flags.
import { beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";
import { CLI, cliEnv, edgekms, metadata, mkdirp, newKeyArn, pseudoRandom, tempDir, tree } from "./envelope-helpers.js";

let a: string, b: string, c: string, west: string;

beforeAll(async () => {
  [a, b, c] = [await newKeyArn(), await newKeyArn(), await newKeyArn()];
  west = await newKeyArn("us-west-2");
});

/** A file of `n` bytes in a fresh directory; its path. */
function plainFile(n: number, seed = 1, name = "plain.bin"): string {
  const dir = tempDir();
  writeFileSync(join(dir, name), pseudoRandom(n, seed));
  return join(dir, name);
}

function encryptTo(input: string, output: string, ...extra: string[]) {
  const r = edgekms(["encrypt", "-i", input, "-o", output, "-w", `key=${a}`, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** No file of the directory is a partial output (our temporary files end in .edgekms-partial). */
function noPartials(dir: string): void {
  expect(readdirSync(dir).filter((n) => n.includes("edgekms-partial"))).toEqual([]);
}

describe("edgekms encrypt / decrypt: files and directories", () => {
  it("a file of a --recursive walk replaced meanwhile by a link to another file is not read: that file fails, nothing of the linked one is written", async () => {
    const src = tempDir();
    const out = join(tempDir(), "out");
    // A first file long enough that the run is still on it when the second is swapped.
    writeFileSync(join(src, "a-long.bin"), pseudoRandom(96 << 20, 7));
    writeFileSync(join(src, "z-planted.bin"), "planted by another user of the directory", { mode: 0o644 });
    const secret = join(tempDir(), "secret.txt");
    writeFileSync(secret, "only the user may read this", { mode: 0o600 });
    const child = spawn(process.execPath, [CLI, "encrypt", "-r", "-i", src, "-o", out, "-w", `key=${a}`], { env: cliEnv(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
    const closed = new Promise<number | null>((r) => child.on("close", r));
    // Once the first file's partial output exists (the walk is done), the planted entry becomes a link to the secret.
    for (let i = 0; i < 1000 && !(existsSync(out) && readdirSync(out).some((n) => n.includes("edgekms-partial"))); i++) await new Promise((r) => setTimeout(r, 10));
    symlinkSync(secret, join(src, "z-link"));
    renameSync(join(src, "z-link"), join(src, "z-planted.bin"));
    expect(await closed, stderr).toBe(1);
    expect(stderr).toContain("is not the file the directory's walk found");
    expect(readdirSync(out)).toEqual(["a-long.bin.encrypted"]);
  });

  it("a file into an output directory gets the suffix; a file path is used as given; --suffix", () => {
    const input = plainFile(5000);
    const out = mkdirp(join(tempDir(), "out"));
    encryptTo(input, out);
    expect(readdirSync(out)).toEqual(["plain.bin.encrypted"]);
    const back = mkdirp(join(tempDir(), "back"));
    const d = edgekms(["decrypt", "-i", join(out, "plain.bin.encrypted"), "-o", back, "-w", `key=${a}`]);
    expect(d.code, d.stderr).toBe(0);
    expect(readdirSync(back)).toEqual(["plain.bin.encrypted.decrypted"]);
    expect(readFileSync(join(back, "plain.bin.encrypted.decrypted")).equals(readFileSync(input))).toBe(true);
    const named = join(tempDir(), "exact-name.enc");
    encryptTo(input, named);
    expect(existsSync(named)).toBe(true);
    const suffixed = mkdirp(join(tempDir(), "s"));
    encryptTo(input, suffixed, "--suffix", ".edk");
    expect(readdirSync(suffixed)).toEqual(["plain.bin.edk"]);
  });

  it("an output ending in / that does not exist yet is a directory, made before any KMS call; a bad discovery account is a usage error", () => {
    const input = plainFile(3000);
    const out = join(tempDir(), "not-yet", "out") + "/";
    const r = edgekms(["encrypt", "-i", input, "-o", out, "-w", `key=${a}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(["plain.bin.encrypted"]);
    const bad = edgekms(["decrypt", "-i", join(out, "plain.bin.encrypted"), "-o", join(tempDir(), "x"), "-w", "discovery=true", "discovery-account=92881935597"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("12 digits");
    expect(bad.stderr).toContain("edgekms decrypt --help");
  });

  it("--recursive mirrors a tree (empty files and nested directories too), and back; a directory needs --recursive", () => {
    const src = tempDir();
    mkdirp(join(src, "sub", "deeper"));
    writeFileSync(join(src, "top.txt"), "top level");
    writeFileSync(join(src, "empty"), "");
    writeFileSync(join(src, "sub", "mid.bin"), pseudoRandom(20_000, 5));
    writeFileSync(join(src, "sub", "deeper", "low.bin"), pseudoRandom(4096, 6));
    const enc = join(tempDir(), "enc");
    const no = edgekms(["encrypt", "-i", src, "-o", enc, "-w", `key=${a}`]);
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/is a directory: add --recursive/);
    const meta = join(tempDir(), "meta.jsonl");
    const r = edgekms(["encrypt", "-i", src, "-o", enc, "-w", `key=${a}`, "--recursive", "--metadata-output", meta]);
    expect(r.code, r.stderr).toBe(0);
    expect(tree(enc)).toEqual(["empty.encrypted", "sub/deeper/low.bin.encrypted", "sub/mid.bin.encrypted", "top.txt.encrypted"]);
    expect(metadata(readFileSync(meta, "utf8")).map((m) => m.input)).toEqual(["empty", "sub/deeper/low.bin", "sub/mid.bin", "top.txt"].map((f) => join(src, f)));
    const dec = join(tempDir(), "dec");
    const d = edgekms(["decrypt", "-R", "-i", enc, "-o", dec, "-w", `key=${a}`, "--suffix", ""]);
    expect(d.code, d.stderr).toBe(0);
    expect(tree(dec)).toEqual(["empty.encrypted", "sub/deeper/low.bin.encrypted", "sub/mid.bin.encrypted", "top.txt.encrypted"]);
    for (const f of ["empty", "top.txt", "sub/mid.bin", "sub/deeper/low.bin"]) {
      expect(readFileSync(join(dec, f + ".encrypted")).equals(readFileSync(join(src, f))), f).toBe(true);
    }
  });

  it("an output directory inside the input directory is not encrypted again", () => {
    const src = tempDir();
    writeFileSync(join(src, "a.txt"), "a");
    const r = edgekms(["encrypt", "-r", "-i", src, "-o", join(src, "out"), "-w", `key=${a}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(tree(src)).toEqual(["a.txt", "out/a.txt.encrypted"]);
    const again = edgekms(["encrypt", "-r", "-i", src, "-o", join(src, "out"), "-w", `key=${a}`, "--overwrite"]);
    expect(again.code, again.stderr).toBe(0);
    expect(tree(src)).toEqual(["a.txt", "out/a.txt.encrypted"]);
  });

  it("stdin to stdout, both ways; --buffer holds plaintext until the message verified", () => {
    const plaintext = pseudoRandom(100_000, 9);
    const e = edgekms(["encrypt", "-i", "-", "-o", "-", "-w", `key=${a}`, "--algorithm", "0x0578"], { input: plaintext });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout.length).toBeGreaterThan(plaintext.length);
    const d = edgekms(["decrypt", "-i", "-", "-o", "-", "-w", `key=${a}`], { input: e.stdout });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.equals(plaintext)).toBe(true);
    const tampered = Buffer.from(e.stdout);
    tampered[tampered.length - 5] ^= 1; // in the signature
    const held = edgekms(["decrypt", "-i", "-", "-o", "-", "-w", `key=${a}`, "--buffer"], { input: tampered });
    expect(held.code).toBe(1);
    expect(held.stdout.length).toBe(0);
    expect(held.stderr).toMatch(/signature/i);
    // A file from stdin, and stdin into a file path.
    const out = join(tempDir(), "from-stdin.enc");
    expect(edgekms(["encrypt", "-i", "-", "-o", out, "-w", `key=${a}`], { input: plaintext }).code).toBe(0);
    const back = edgekms(["decrypt", "-i", out, "-o", "-", "-w", `key=${a}`]);
    expect(back.stdout.equals(plaintext)).toBe(true);
  });

  it("--metadata-output: one JSON line per file, appended (or replaced with --overwrite-metadata), or to stdout with -", () => {
    const input = plainFile(3000);
    const dir = tempDir();
    const meta = join(dir, "meta.jsonl");
    encryptTo(input, join(dir, "one.enc"), "--metadata-output", meta, "-c", "app=demo");
    encryptTo(input, join(dir, "two.enc"), "--metadata-output", meta);
    const lines = metadata(readFileSync(meta, "utf8"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      mode: "encrypt", input, output: join(dir, "one.enc"), wrapping_keys: [a], bytes_in: 3000, bytes_out: statSync(join(dir, "one.enc")).size,
      header: { version: 2, algorithm: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", algorithm_id: "0x0478", frame_length: 4096, content_type: 2, encryption_context: { app: "demo" } },
    });
    expect(lines[0].header.encrypted_data_keys).toEqual([{ key_provider: { provider_id: "aws-kms", key_info: a }, encrypted_data_key: expect.any(String) }]);
    expect(Buffer.from(lines[0].header.message_id, "base64")).toHaveLength(32);
    expect(lines[0].header.message_id).not.toBe(lines[1].header.message_id);
    encryptTo(input, join(dir, "three.enc"), "--metadata-output", meta, "--overwrite-metadata");
    expect(metadata(readFileSync(meta, "utf8")).map((m) => m.output)).toEqual([join(dir, "three.enc")]);
    const d = edgekms(["decrypt", "-i", join(dir, "three.enc"), "-o", join(dir, "three.out"), "-w", `key=${a}`, "--metadata-output", "-"]);
    expect(d.code, d.stderr).toBe(0);
    expect(metadata(d.stdout.toString())).toMatchObject([{ mode: "decrypt", input: join(dir, "three.enc"), output: join(dir, "three.out"), bytes_out: 3000 }]);
    const both = edgekms(["decrypt", "-i", join(dir, "three.enc"), "-o", "-", "-w", `key=${a}`, "--metadata-output", "-"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/both write to stdout/);
  });
});

describe("never overwrite, never leave partial output", () => {
  it("an existing output is kept without --overwrite, replaced with it", () => {
    const input = plainFile(2000);
    const out = join(tempDir(), "exists.enc");
    writeFileSync(out, "precious");
    const r = edgekms(["encrypt", "-i", input, "-o", out, "-w", `key=${a}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output exists: .*exists\.enc \(add --overwrite/);
    expect(readFileSync(out, "utf8")).toBe("precious");
    encryptTo(input, out, "--overwrite");
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x02, 0x04])); // version 2, suite 0x0478
    // In a directory, one existing output stops the whole run before anything is written.
    const src = tempDir();
    writeFileSync(join(src, "x"), "x");
    writeFileSync(join(src, "y"), "y");
    const outDir = mkdirp(join(tempDir(), "o"));
    writeFileSync(join(outDir, "y.encrypted"), "keep me");
    const d = edgekms(["encrypt", "-r", "-i", src, "-o", outDir, "-w", `key=${a}`]);
    expect(d.code).toBe(2);
    expect(readdirSync(outDir)).toEqual(["y.encrypted"]);
    expect(readFileSync(join(outDir, "y.encrypted"), "utf8")).toBe("keep me");
  });

  for (const suite of ["0x0478", "0x0578"]) {
    it(`${suite}: a tampered frame, tag or signature, and a truncated message, fail with a clear error and leave no output`, () => {
      const input = plainFile(3 * 4096 + 100, 21);
      const dir = tempDir();
      const enc = join(dir, "m.enc");
      encryptTo(input, enc, "--algorithm", suite);
      const message = readFileSync(enc);
      // From the end: the footer (0x0578: 2-byte length and a DER signature), the final frame
      // (4 + 4 + 12 + 4 + 100 + 16 = 140 bytes), then whole frames of 4 + 12 + 4096 + 16 bytes.
      const footer = suite === "0x0578" ? footerLength(message) : 0;
      const finalStart = message.length - footer - 140;
      const cases: Array<[string, Buffer, RegExp]> = [
        ["a frame's ciphertext", flip(message, finalStart - 2000), /tag|frame 3/i],
        ["a frame's sequence number", flip(message, finalStart - 4128 + 3), /sequence|frame/i],
        ["the final frame's tag", flip(message, finalStart + 139), /tag|final frame/i],
        ["the header", flip(message, 30), /header|commit/i],
        ["an encrypted data key", flip(message, lastEdkByte(message, a)), /InvalidCiphertextException/],
        ["the missing final frame", message.subarray(0, finalStart), /truncat|final frame|end/i],
        ["half the message", message.subarray(0, message.length >> 1), /truncat|end/i],
        ...(suite === "0x0578" ? [["the signature", flip(message, message.length - 1), /signature/i] as [string, Buffer, RegExp]] : []),
      ];
      for (const [name, bytes, msg] of cases) {
        const f = join(dir, `${name.replace(/ /g, "-")}.enc`);
        writeFileSync(f, bytes);
        const out = join(dir, `${name.replace(/ /g, "-")}.out`);
        const r = edgekms(["decrypt", "-i", f, "-o", out, "-w", `key=${a}`]);
        expect(r.code, name).toBe(1);
        expect(r.stderr, name).toMatch(msg);
        expect(r.stderr, name).toMatch(/no output written/);
        expect(existsSync(out), name).toBe(false);
      }
      noPartials(dir);
    });
  }

  it("a KMS failure (a disabled wrapping key) leaves no output; so does a failing file of a directory, while the others are written", async () => {
    const disabled = await newKeyArn();
    await kmsClient().send(new K.DisableKeyCommand({ KeyId: disabled }));
    const input = plainFile(1000);
    const dir = tempDir();
    const r = edgekms(["encrypt", "-i", input, "-o", join(dir, "x.enc"), "-w", `key=${a}`, `key=${disabled}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DisabledException/);
    expect(readdirSync(dir)).toEqual([]);
    // Three messages in a directory, the middle one damaged: two outputs, exit 1.
    const src = tempDir();
    for (const n of ["1", "2", "3"]) encryptTo(plainFile(100, Number(n)), join(src, `${n}.enc`));
    const two = readFileSync(join(src, "2.enc"));
    writeFileSync(join(src, "2.enc"), two.subarray(0, two.length - 10));
    const out = join(tempDir(), "out");
    const d = edgekms(["decrypt", "-r", "-i", src, "-o", out, "-w", `key=${a}`]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/2\.enc: .*\(no output written\)/);
    expect(tree(out)).toEqual(["1.enc.decrypted", "3.enc.decrypted"]);
    noPartials(out);
  });

  it("an interrupted run (SIGTERM, SIGINT) removes its partial output", async () => {
    for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
      const dir = tempDir();
      const child = spawn(process.execPath, [CLI, "encrypt", "-i", "-", "-o", join(dir, "out.enc"), "-w", `key=${a}`], { env: cliEnv(), stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
      child.stdin.write(pseudoRandom(100_000, 4)); // stdin stays open: the run is mid-message
      while (!readdirSync(dir).some((n) => n.endsWith(".edgekms-partial"))) await new Promise((r) => setTimeout(r, 20));
      child.kill(signal);
      expect(await exited, stderr).toBe(code);
      expect(stderr).toMatch(/interrupted .*partial outputs removed/);
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});

/** The offset of the last byte of the encrypted data key that follows the provider info `arn`. */
function lastEdkByte(m: Buffer, arn: string): number {
  const at = m.indexOf(arn) + arn.length;
  return at + 2 + m.readUInt16BE(at) - 1;
}

/** The footer of a signed message: a 2-byte length then that many bytes of DER signature. */
function footerLength(m: Buffer): number {
  for (let n = 110; n >= 96; n--) if (m.readUInt16BE(m.length - n - 2) === n && m[m.length - n] === 0x30) return n + 2;
  throw new Error("no footer found");
}

function flip(b: Buffer, i: number): Buffer {
  const c = Buffer.from(b);
  c[i] ^= 0x01;
  return c;
}

describe("keys: strict and discovery mode, maximum of encrypted data keys, required encryption context", () => {
  it("strict mode decrypts only with a listed key ARN; discovery with any, filtered by account and partition", () => {
    const dir = tempDir();
    const enc = join(dir, "m.enc");
    encryptTo(plainFile(700), enc, "-w", `key=${west}`);
    const dec = (name: string, ...w: string[]) => edgekms(["decrypt", "-i", enc, "-o", join(dir, name), "-w", ...w]);
    const other = dec("other", `key=${c}`);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`none of the message's KMS wrapping keys (${a}, ${west}) is one this keyring may use (strict: ${c})`);
    expect(dec("west", `key=${west}`).code).toBe(0);
    expect(dec("either", `key=${c}`, `key=${west}`).code).toBe(0);
    const alias = dec("alias", "key=alias/whatever");
    expect(alias.code).toBe(2);
    expect(alias.stderr).toMatch(/strict mode needs key ARNs/);
    expect(dec("discovery", "discovery=true").code).toBe(0);
    expect(dec("mine", "discovery=true", `discovery-account=${E2E.account}`, "discovery-partition=aws").code).toBe(0);
    const foreign = dec("foreign", "discovery=true", "discovery-account=111122223333");
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/discovery limited to partition aws, accounts 111122223333/);
    expect(dec("cn", "discovery=true", `discovery-account=${E2E.account}`, "discovery-partition=aws-cn").code).toBe(1);
    const mixed = dec("mixed", "discovery=true", `key=${a}`);
    expect(mixed.code).toBe(2);
    expect(existsSync(join(dir, "other")) || existsSync(join(dir, "foreign")) || existsSync(join(dir, "cn"))).toBe(false);
  });

  it("--max-encrypted-data-keys on encrypt and on decrypt", () => {
    const dir = tempDir();
    const input = plainFile(100);
    const three = ["-w", `key=${a}`, `key=${b}`, `key=${c}`];
    const tooMany = edgekms(["encrypt", "-i", input, "-o", join(dir, "no.enc"), ...three, "--max-encrypted-data-keys", "2"]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/encrypted data keys/i);
    expect(existsSync(join(dir, "no.enc"))).toBe(false);
    const ok = edgekms(["encrypt", "-i", input, "-o", join(dir, "m.enc"), ...three, "--max-encrypted-data-keys", "3"]);
    expect(ok.code, ok.stderr).toBe(0);
    const refused = edgekms(["decrypt", "-i", join(dir, "m.enc"), "-o", join(dir, "refused"), "-w", `key=${c}`, "--max-encrypted-data-keys", "2"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/3 .*encrypted data keys|encrypted data keys.*3/i);
    expect(edgekms(["decrypt", "-i", join(dir, "m.enc"), "-o", join(dir, "out"), "-w", `key=${c}`, "--max-encrypted-data-keys", "3"]).code).toBe(0);
  });

  it("required encryption context on decrypt: pairs and bare keys", () => {
    const dir = tempDir();
    const enc = join(dir, "m.enc");
    encryptTo(plainFile(100), enc, "-c", "dept=research", "stage=prod", "eq=a=b");
    const dec = (name: string, ...ctx: string[]) => edgekms(["decrypt", "-i", enc, "-o", join(dir, name), "-w", `key=${a}`, "-c", ...ctx]);
    expect(dec("1", "dept=research", "eq=a=b").code).toBe(0);
    expect(dec("2", "stage").code).toBe(0);
    const wrong = dec("3", "dept=sales");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/dept/);
    const missing = dec("4", "owner");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/owner/);
    expect(existsSync(join(dir, "3")) || existsSync(join(dir, "4"))).toBe(false);
    const reserved = edgekms(["encrypt", "-i", enc, "-o", join(dir, "r"), "-w", `key=${a}`, "-c", "aws-crypto-public-key=x"]);
    expect(reserved.code).not.toBe(0);
    expect(reserved.stderr).toMatch(/aws-crypto/);
  });
});

describe("data key caching", () => {
  it("--caching reuses a data key for max-messages files; without it every file has its own", () => {
    const src = tempDir();
    for (const n of ["1", "2", "3", "4", "5"]) writeFileSync(join(src, n), pseudoRandom(1000, Number(n)));
    const edksOf = (...extra: string[]) => {
      const meta = join(tempDir(), "meta.jsonl");
      const r = edgekms(["encrypt", "-r", "-i", src, "-o", join(tempDir(), "out"), "-w", `key=${a}`, "--metadata-output", meta, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return metadata(readFileSync(meta, "utf8")).map((m) => m.header.encrypted_data_keys[0].encrypted_data_key);
    };
    const plain = edksOf();
    expect(new Set(plain).size).toBe(5);
    const cached = edksOf("--caching", "max-age=60,max-messages=2");
    expect(cached[0]).toBe(cached[1]);
    expect(cached[2]).toBe(cached[3]);
    expect(new Set(cached).size).toBe(3);
    const byBytes = edksOf("--caching", "max-age=60", "max-bytes=2500");
    expect(byBytes[0]).toBe(byBytes[1]);
    expect(byBytes[2]).not.toBe(byBytes[1]);
    // Decrypting with caching gives the same plaintext.
    const out = join(tempDir(), "c");
    expect(edgekms(["encrypt", "-r", "-i", src, "-o", out, "-w", `key=${a}`, "--caching", "max-age=60"]).code).toBe(0);
    const back = join(tempDir(), "d");
    const d = edgekms(["decrypt", "-r", "-i", out, "-o", back, "-w", `key=${a}`, "--caching", "max-age=60", "--suffix", ".plain"]);
    expect(d.code, d.stderr).toBe(0);
    for (const n of ["1", "2", "3", "4", "5"]) expect(readFileSync(join(back, `${n}.encrypted.plain`)).equals(readFileSync(join(src, n)))).toBe(true);
    const bad = edgekms(["encrypt", "-i", join(src, "1"), "-o", join(tempDir(), "x"), "-w", `key=${a}`, "--caching", "max-messages=2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/max-age/);
  });
});

describe("terminal, profiles and bad flags", () => {
  it("draws a progress bar on stderr only when it is a terminal", () => {
    const input = plainFile(300_000);
    const out = join(tempDir(), "p.enc");
    const piped = edgekms(["encrypt", "-i", input, "-o", out, "-w", `key=${a}`]);
    expect(piped.stderr).toBe("");
    const cmd = [process.execPath, CLI, "encrypt", "-i", input, "-o", out, "--overwrite", "-w", `key=${a}`].map((s) => `'${s}'`).join(" ");
    const tty = spawnSync("/usr/bin/script", ["-qec", cmd, "/dev/null"], { env: cliEnv(), encoding: "utf8" });
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/plain\.bin \[#+-*\] +\d+% [\d.]+\/0\.3 MiB [\d.]+ MiB\/s/);
    const quiet = spawnSync("/usr/bin/script", ["-qec", `${cmd} -q`, "/dev/null"], { env: cliEnv(), encoding: "utf8" });
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).not.toMatch(/MiB/);
  });

  it("credentials and region from ~/.aws profiles, --profile, and flags", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "credentials"), `[default]\naws_access_key_id = ${E2E.accessKeyId}\naws_secret_access_key = ${E2E.secretAccessKey}\n\n[bad]\naws_access_key_id = AKIAUNKNOWNUNKNOWN00\naws_secret_access_key = nope\n`);
    writeFileSync(join(dir, "config"), "[default]\nregion = us-west-2\n\n[profile bad]\nregion = us-east-1\n");
    const files = { AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"), AWS_CONFIG_FILE: join(dir, "config"), AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_REGION: undefined };
    const input = plainFile(100);
    // An alias name carries no region: it is looked up in the profile's region (us-west-2).
    const alias = `alias/envelope-west-${west.split("/").pop()!.slice(0, 8)}`;
    await kmsClient("us-west-2").send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: west }));
    const r = edgekms(["encrypt", "-i", input, "-o", join(dir, "m.enc"), "-w", `key=${alias}`, "--metadata-output", "-"], { env: files });
    expect(r.code, r.stderr).toBe(0);
    expect(metadata(r.stdout.toString())[0].wrapping_keys).toEqual([west]);
    const byId = edgekms(["encrypt", "-i", input, "-o", join(dir, "id.enc"), "-w", `key=${west.split("/").pop()}`, "--metadata-output", "-"], { env: files });
    expect(byId.code, byId.stderr).toBe(0);
    expect(metadata(byId.stdout.toString())[0].wrapping_keys).toEqual([west]);
    const bad = edgekms(["decrypt", "-i", join(dir, "m.enc"), "-o", join(dir, "bad"), "-w", `key=${west}`, "--profile", "bad"], { env: files });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/UnrecognizedClientException/);
    const flags = edgekms(["decrypt", "-i", join(dir, "m.enc"), "-o", join(dir, "ok"), "-w", `key=${west}`, "--profile", "bad", "--access-key-id", E2E.accessKeyId, "--secret-access-key", E2E.secretAccessKey], { env: files });
    expect(flags.code, flags.stderr).toBe(0);
    const none = edgekms(["decrypt", "-i", join(dir, "m.enc"), "-o", join(dir, "none"), "-w", `key=${west}`], { env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/credentials missing/);
  });

  it("bad flags and inputs answer exit 2 and say what is wrong", () => {
    const input = plainFile(10);
    const out = join(tempDir(), "x");
    const cases: Array<[string[], RegExp]> = [
      [["encrypt", "-i", input, "-o", out], /--wrapping-keys key=ARN is required/],
      [["encrypt", "-o", out, "-w", `key=${a}`], /--input is required/],
      [["encrypt", "-i", input, "-w", `key=${a}`], /--output is required/],
      [["encrypt", "-i", "/nonexistent/file", "-o", out, "-w", `key=${a}`], /input not found/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--algorithm", "0x9999"], /unknown --algorithm '0x9999'/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--frame-length", "0"], /--frame-length must be an integer/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--commitment-policy", "lax"], /--commitment-policy must be/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "-c", "novalue"], /encrypt needs key=value/],
      [["encrypt", "-i", input, "-o", out, "-w", "key=arn:aws:kms:nowhere"], /not a KMS key identifier/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "discovery=true"], /discovery attributes .* are for decrypt/],
      [["encrypt", "-i", input, "-o", out, "-w", `color=${a}`], /unknown --wrapping-keys attribute 'color'/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--bogus"], /unknown option --bogus/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--buffer"], /--buffer is an option of decrypt/],
      [["decrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--algorithm", "0x0478"], /--algorithm is an option of encrypt/],
      [["decrypt", "-i", input, "-o", out, "-w", "discovery-account=111122223333"], /need discovery=true/],
      [["encrypt", "-i", input, "-o", input, "-w", `key=${a}`, "--overwrite"], /is the input/],
      [["encrypt", "-r", "-i", dirname(input), "-o", dirname(input), "--suffix", "", "-w", `key=${a}`, "--overwrite"], /is the input directory and --suffix is empty/],
      [["encrypt", "-i", input, "-o", out, "-w", `key=${a}`, "--caching", "max-age=1,size=2"], /unknown --caching attribute 'size'/],
    ];
    for (const [args, msg] of cases) {
      const r = edgekms(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
    const notMessage = edgekms(["decrypt", "-i", input, "-o", out, "-w", `key=${a}`]);
    expect(notMessage.code).toBe(1);
    expect(notMessage.stderr).toMatch(/header|version|truncat/i);
    expect(edgekms(["encrypt", "--help"]).stdout.toString()).toMatch(/--wrapping-keys/);
    const signed = join(tempDir(), "s.enc");
    encryptTo(input, signed, "--algorithm", "0x0578");
    const unsigned = edgekms(["decrypt", "-i", signed, "-o", out, "-w", `key=${a}`, "--decrypt-unsigned"]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/--decrypt-unsigned: the message is signed/);
    expect(existsSync(out)).toBe(false);
  });
});
