// `npx edgekms audit …` against the e2e server: flush, tail, export, and verify — which
// passes on an untouched trail and fails, naming the object, when a log object is modified,
// deleted or a foreign one is added (also one named as if just delivered), and when a digest's
// signature is forged or a digest is deleted or put in another's place.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import * as K from "@aws-sdk/client-kms";
import { E2E, kmsClient } from "./client.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

function edgekms(...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [CLI, "audit", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: E2E.accessKeyId, AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
  walk(dir);
  return out;
}

describe("edgekms audit CLI", () => {
  it("flush, tail, export and verify; verify names a modified, deleted or foreign object", async () => {
    const kms = kmsClient();
    const key = (await kms.send(new K.CreateKeyCommand({ Description: "audited" }))).KeyMetadata!;
    for (let i = 0; i < 3; i++) await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(`m${i}`) }));

    const tail = edgekms("tail", "--limit", "200", "--key", key.KeyId!);
    expect(tail.code, tail.out).toBe(0);
    expect(tail.out).toMatch(/Encrypt OK arn:aws:iam::444455556666:root .* \(not yet delivered\)/);

    const flush = edgekms("flush");
    expect(flush.code, flush.out).toBe(0);
    expect(flush.out).toMatch(/digest AWSLogs\/444455556666\/CloudTrail-Digest\/us-east-1\//);

    // More digests, so that the chain has links to break.
    await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode("after the first digest") }));
    const flush2 = edgekms("flush");
    expect(flush2.code, flush2.out).toBe(0);
    await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode("after the second digest") }));
    const flush3 = edgekms("flush");
    expect(flush3.code, flush3.out).toBe(0);

    const remote = edgekms("verify");
    expect(remote.code, remote.out).toBe(0);
    expect(remote.out).toMatch(/: OK$/m);

    const dir = mkdtempSync(join(tmpdir(), "edgekms-export-"));
    const exp = edgekms("export", "--out", dir);
    expect(exp.code, exp.out).toBe(0);
    const logs = files(dir).filter((f) => f.includes("/CloudTrail/") && f.endsWith(".json.gz"));
    expect(logs.length).toBeGreaterThan(0);
    expect(edgekms("verify", "--dir", dir).code).toBe(0);

    const copy = () => { const d = mkdtempSync(join(tmpdir(), "edgekms-tamper-")); cpSync(dir, d, { recursive: true }); return d; };
    const rel = logs[0].slice(dir.length + 1);

    const modified = copy();
    writeFileSync(join(modified, rel), gzipSync(Buffer.from('{"Records":[]}')));
    const m = edgekms("verify", "--dir", modified);
    expect(m.code).toBe(1);
    expect(m.out).toContain(`MODIFIED ${rel}`);

    const deleted = copy();
    rmSync(join(deleted, rel));
    const d = edgekms("verify", "--dir", deleted);
    expect(d.code).toBe(1);
    expect(d.out).toContain(`MISSING ${rel}`);

    const foreign = copy();
    const foreignKey = `AWSLogs/444455556666/CloudTrail/us-east-1/2020/01/01/444455556666_CloudTrail_us-east-1_20200101T0000Z_0123456789abcdef.json.gz`;
    cpSync(logs[0], join(foreign, foreignKey), { recursive: true });
    const f = edgekms("verify", "--dir", foreign);
    expect(f.code).toBe(1);
    expect(f.out).toContain(`EXTRA ${foreignKey}`);

    // A foreign object named as if delivered this minute: not in any digest, so not verified.
    const fresh = copy();
    const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 13);
    const freshKey = `AWSLogs/444455556666/CloudTrail/us-east-1/2099/01/01/444455556666_CloudTrail_us-east-1_${stamp}Z_fedcba9876543210.json.gz`;
    cpSync(logs[0], join(fresh, freshKey), { recursive: true });
    const p = edgekms("verify", "--dir", fresh);
    expect(p.code, p.out).toBe(1);
    expect(p.out).toContain(`PENDING ${freshKey}`);
    expect(edgekms("verify", "--dir", fresh, "--allow-pending").code).toBe(0);

    const digests = files(dir).filter((x) => x.includes("/CloudTrail-Digest/")).map((x) => x.slice(dir.length + 1)).sort();
    expect(digests.length).toBeGreaterThanOrEqual(3);
    const manifestOf = (d: string) => JSON.parse(readFileSync(join(d, "edgekms-audit-export.json"), "utf8")) as { signatures: Record<string, string> };

    const forged = copy();
    const m1 = manifestOf(forged);
    const sig = m1.signatures[digests[0]];
    m1.signatures[digests[0]] = (sig[0] === "0" ? "1" : "0") + sig.slice(1);
    writeFileSync(join(forged, "edgekms-audit-export.json"), JSON.stringify(m1));
    const g = edgekms("verify", "--dir", forged);
    expect(g.code).toBe(1);
    expect(g.out).toContain(`BAD-SIGNATURE ${digests[0]}`);

    // The oldest digest deleted: the chain names a digest that is not there.
    const gone = copy();
    rmSync(join(gone, digests[0]));
    const gd = edgekms("verify", "--dir", gone);
    expect(gd.code).toBe(1);
    expect(gd.out).toContain(`MISSING ${digests[0]}`);

    // A digest in the middle deleted with the log objects only it lists: the next one no longer chains.
    const cut = copy();
    const middle = digests[digests.length - 2];
    const listedIn = (d: string) => (JSON.parse(gunzipSync(readFileSync(join(cut, d))).toString()) as { logFiles: { s3Object: string }[] }).logFiles.map((f) => f.s3Object);
    const elsewhere = new Set(digests.filter((d) => d !== middle).flatMap(listedIn));
    for (const f of listedIn(middle)) if (!elsewhere.has(f)) rmSync(join(cut, f), { force: true });
    rmSync(join(cut, middle));
    const c = edgekms("verify", "--dir", cut);
    expect(c.code).toBe(1);
    expect(c.out).toContain(`OUT-OF-ORDER ${digests[digests.length - 1]}`);

    // Two digests in each other's place (bodies and signatures swapped).
    const swapped = copy();
    const [a, b] = [digests[digests.length - 2], digests[digests.length - 1]];
    const [bodyA, bodyB] = [readFileSync(join(swapped, a)), readFileSync(join(swapped, b))];
    writeFileSync(join(swapped, a), bodyB);
    writeFileSync(join(swapped, b), bodyA);
    const m2 = manifestOf(swapped);
    [m2.signatures[a], m2.signatures[b]] = [m2.signatures[b], m2.signatures[a]];
    writeFileSync(join(swapped, "edgekms-audit-export.json"), JSON.stringify(m2));
    const sw = edgekms("verify", "--dir", swapped);
    expect(sw.code).toBe(1);
    expect(sw.out).toMatch(/BAD-SIGNATURE|OUT-OF-ORDER/);
  });
});
