// The CLI's answers to the attack review of issue 13, end to end against the e2e server: output
// modes under a umask, no descriptor per look-ahead file (a run under a low RLIMIT_NOFILE), a name
// that is not UTF-8 skipped and reported while the other files are done, SIGQUIT removing partial
// outputs, untrusted text escaped on stderr, discovery-partition without accounts and a frame length
// over decrypt's limit refused as usage errors (docs/envelope.md, "The CLI").
import { beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cliEnv, edgekms, edgekmsMeasured, mkdirp, newKeyArn, pseudoRandom, tempDir, tree } from "./envelope-helpers.js";

let a: string;
beforeAll(async () => {
  a = await newKeyArn();
});

/** Runs the CLI through sh, with a shell prefix (umask, ulimit) applied first. */
function edgekmsUnder(prefix: string, args: string[]) {
  const quoted = [process.execPath, CLI, ...args].map((s) => `'${s.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("sh", ["-c", `${prefix}; exec ${quoted}`], { env: cliEnv(), maxBuffer: 16 << 20 });
  return { code: r.status ?? -1, stderr: r.stderr.toString("utf8") };
}

describe("outputs and file descriptors", () => {
  it("a 0777 ciphertext decrypts to a 0600 plaintext under umask 077 (0644 under 022); no output is executable or group/other-writable", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p"), pseudoRandom(500, 3));
    chmodSync(join(dir, "p"), 0o777);
    const enc = edgekmsUnder("umask 022", ["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "-q"]);
    expect(enc.code, enc.stderr).toBe(0);
    expect(statSync(join(dir, "p.enc")).mode & 0o777).toBe(0o644);
    chmodSync(join(dir, "p.enc"), 0o777);
    const strict = edgekmsUnder("umask 077", ["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "strict"), "-w", `key=${a}`, "-q"]);
    expect(strict.code, strict.stderr).toBe(0);
    expect(statSync(join(dir, "strict")).mode & 0o777).toBe(0o600);
    const usual = edgekmsUnder("umask 022", ["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "usual"), "-w", `key=${a}`, "-q"]);
    expect(usual.code, usual.stderr).toBe(0);
    expect(statSync(join(dir, "usual")).mode & 0o777).toBe(0o644);
    chmodSync(join(dir, "p.enc"), 0o600);
    const secret = edgekmsUnder("umask 000", ["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "secret"), "-w", `key=${a}`, "-q"]);
    expect(secret.code, secret.stderr).toBe(0);
    expect(statSync(join(dir, "secret")).mode & 0o777).toBe(0o600);
  });

  it("300 files round-trip with -r under ulimit -n 100: the look-ahead opens no output before its turn", () => {
    const dir = tempDir();
    const src = mkdirp(join(dir, "src"));
    for (let i = 0; i < 300; i++) writeFileSync(join(src, `f${String(i).padStart(3, "0")}`), pseudoRandom(64 + i, i));
    const enc = edgekmsUnder("ulimit -n 100", ["encrypt", "-i", src, "-o", join(dir, "enc"), "-r", "-w", `key=${a}`, "-q"]);
    expect(enc.code, enc.stderr.slice(0, 2000)).toBe(0);
    const dec = edgekmsUnder("ulimit -n 100", ["decrypt", "-i", join(dir, "enc"), "-o", join(dir, "dec"), "-r", "-w", `key=${a}`, "-q", "--suffix", ""]);
    expect(dec.code, dec.stderr.slice(0, 2000)).toBe(0);
    const back = tree(join(dir, "dec"));
    expect(back.length).toBe(300);
    for (const f of back) expect(readFileSync(join(dir, "dec", f)).equals(readFileSync(join(src, f.replace(/\.encrypted$/, ""))))).toBe(true);
  });

  it("a name that is not UTF-8 is skipped and reported; the other files are done; the exit status is 1", () => {
    const dir = tempDir();
    const src = mkdirp(join(dir, "src"));
    writeFileSync(join(src, "good"), "good");
    writeFileSync(Buffer.concat([Buffer.from(join(src, "bad")), Buffer.from([0xff, 0xfe])]), "bad");
    const r = edgekms(["encrypt", "-i", src, "-o", join(dir, "out"), "-r", "-w", `key=${a}`, "-q"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(src, "bad")}\\xff\\xfe: skipped: the name is not valid UTF-8`);
    expect(tree(join(dir, "out"))).toEqual(["good.encrypted"]);
  });

  for (const [signal, code] of [["SIGQUIT", 131], ["SIGHUP", 129]] as const) {
    it(`${signal} removes the partial output, as SIGINT and SIGTERM do, and exits ${code} (128 + its number)`, async () => {
      const dir = tempDir();
      const child = spawn(process.execPath, [CLI, "encrypt", "-i", "-", "-o", join(dir, "out.enc"), "-w", `key=${a}`], { env: cliEnv(), stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
      child.stdin.write(pseudoRandom(100_000, 4));
      while (!readdirSync(dir).some((n) => n.endsWith(".edgekms-partial"))) await new Promise((r) => setTimeout(r, 20));
      child.kill(signal);
      expect(await exited, stderr).toBe(code);
      expect(stderr).toMatch(new RegExp(`interrupted \\(${signal}\\); partial outputs removed`));
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});

describe("untrusted text and usage errors", () => {
  it("a message whose key ARN carries escape sequences is reported with them escaped", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p"), "x");
    expect(edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "-q"]).code).toBe(0);
    const m = readFileSync(join(dir, "p.enc"));
    const at = m.indexOf(a);
    const hostile = `\n\x1b[31mOK\x1b]0;t\x07`;
    Buffer.from(hostile).copy(m, at + a.length - hostile.length); // same length: the header still parses
    writeFileSync(join(dir, "h.enc"), m);
    const r = edgekms(["decrypt", "-i", join(dir, "h.enc"), "-o", join(dir, "h"), "-w", `key=${a}`, "-q"]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain("\\x0a\\x1b[31mOK\\x1b]0;t\\x07");
  });

  it("discovery-partition without discovery-account, and --frame-length over decrypt's 64 MiB limit, are usage errors", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p"), "x");
    expect(edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "-q"]).code).toBe(0);
    const partition = edgekms(["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "d"), "-w", "discovery=true", "discovery-partition=aws-cn", "-q"]);
    expect(partition.code).toBe(2);
    expect(partition.stderr).toMatch(/discovery-partition needs at least one discovery-account/);
    const frame = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "big.enc"), "-w", `key=${a}`, "--frame-length", String(64 * 1024 * 1024 + 1)]);
    expect(frame.code).toBe(2);
    expect(frame.stderr).toMatch(/--frame-length must be an integer from 1 to 67108864/);
    expect(readdirSync(dir).sort()).toEqual(["p", "p.enc"]);
  });

  it("a failure says what was written: '(nothing written to stdout)' when nothing was, and a commitment-policy refusal names --commitment-policy", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "empty"), "");
    const empty = edgekms(["decrypt", "-i", join(dir, "empty"), "-o", "-", "-w", `key=${a}`, "-q"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/\(nothing written to stdout\)$/m);
    expect(empty.stdout.length).toBe(0);
    writeFileSync(join(dir, "p"), "x");
    // What the library would refuse for every file is a usage error, before any KMS call.
    const v1 = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "--algorithm", "0x0378", "-q"]);
    expect(v1.code).toBe(2);
    expect(v1.stderr).toMatch(/requires a committing suite .*\(--commitment-policy sets the policy: forbid-encrypt-allow-decrypt encrypts/);
    const forbid = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "--commitment-policy", "forbid-encrypt-allow-decrypt", "--algorithm", "0x0478", "-q"]);
    expect(forbid.code).toBe(2);
    expect(forbid.stderr).toMatch(/forbids encrypting with the committing suite 0x0478/);
    const reserved = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "-c", "aws-crypto-public-key=x", "-q"]);
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toMatch(/the key aws-crypto-public-key is reserved/);
    const bare = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", a, "-q"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`expected attribute=value (a key is given as key=${a})`);
    expect(readdirSync(dir).sort()).toEqual(["empty", "p"]);
    // A version 1 suite with the policy that allows it still encrypts.
    expect(edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "--commitment-policy", "forbid-encrypt-allow-decrypt", "-q"]).code).toBe(0);
  });

  it("--metadata-output naming an input or an output is a usage error, and the file keeps its bytes (it destroyed the input)", () => {
    const dir = tempDir();
    const p = join(dir, "p"), sub = mkdirp(join(dir, "tree"));
    writeFileSync(p, "plaintext\n");
    writeFileSync(join(sub, "a"), "in a tree\n");
    expect(edgekms(["encrypt", "-i", p, "-o", join(dir, "p.enc"), "-w", `key=${a}`, "-q"]).code).toBe(0);
    const ct = readFileSync(join(dir, "p.enc"));
    const cases: Array<[string[], RegExp]> = [
      [["encrypt", "-i", p, "-o", join(dir, "x.enc"), "-w", `key=${a}`, "--metadata-output", p, "--overwrite-metadata"], /is an input/],
      [["encrypt", "-i", p, "-o", join(dir, "x.enc"), "-w", `key=${a}`, "--metadata-output", p], /is an input/],
      [["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "x"), "-w", `key=${a}`, "--metadata-output", join(dir, "p.enc"), "--overwrite-metadata"], /is an input/],
      [["encrypt", "-r", "-i", sub, "-o", join(dir, "tree.enc"), "-w", `key=${a}`, "--metadata-output", join(sub, "a")], /is an input/],
      [["encrypt", "-i", p, "-o", join(dir, "z.enc"), "-w", `key=${a}`, "--metadata-output", join(dir, "z.enc")], /is also an output/],
      [["decrypt", "-i", join(dir, "p.enc"), "-o", p, "-w", `key=${a}`, "--overwrite", "--metadata-output", p], /is also an output/],
    ];
    for (const [args, why] of cases) {
      const r = edgekms([...args, "-q"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    expect(readFileSync(p, "utf8")).toBe("plaintext\n");
    expect(readFileSync(join(sub, "a"), "utf8")).toBe("in a tree\n");
    expect(readFileSync(join(dir, "p.enc")).equals(ct)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["p", "p.enc", "tree"]);
  });
});

describe("encrypted data keys", () => {
  it("decrypt refuses a message of 11 wrapping keys by default, before any KMS call, and takes it with --max-encrypted-data-keys 11", async () => {
    const keys = [a, ...(await Promise.all(Array.from({ length: 10 }, () => newKeyArn())))];
    const dir = tempDir();
    writeFileSync(join(dir, "p"), "eleven");
    const enc = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", ...keys.map((k) => `key=${k}`), "-q"]);
    expect(enc.code, enc.stderr).toBe(0);
    const refused = edgekms(["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "no"), "-w", `key=${a}`, "-q"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/11 encrypted data keys, more than maxEncryptedDataKeys 10 \(--max-encrypted-data-keys N allows more\)/);
    const lifted = edgekms(["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "yes"), "-w", `key=${a}`, "-q", "--max-encrypted-data-keys", "11"]);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(readFileSync(join(dir, "yes"), "utf8")).toBe("eleven");
  });
});

describe("one large frame", () => {
  it("a 64 MiB frame decrypts in under 3.5× its size of resident memory (it took ~5×, 333 MB, before)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p"), pseudoRandom(70 * 1024 * 1024, 8));
    const enc = edgekms(["encrypt", "-i", join(dir, "p"), "-o", join(dir, "p.enc"), "-w", `key=${a}`, "--frame-length", String(64 * 1024 * 1024), "-q"]);
    expect(enc.code, enc.stderr).toBe(0);
    const dec = await edgekmsMeasured(["decrypt", "-i", join(dir, "p.enc"), "-o", join(dir, "p.dec"), "-w", `key=${a}`, "-q"]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(readFileSync(join(dir, "p.dec")).equals(readFileSync(join(dir, "p")))).toBe(true);
    expect(dec.maxRssBytes).toBeLessThan(3.5 * 64 * 1024 * 1024);
  });
});
