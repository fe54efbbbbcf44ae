// `npx edgekms audit …` against the e2e server: flush, tail, export, and verify — which
// passes on an untouched trail and fails, naming the object, when one is modified, deleted
// or a foreign one is added.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
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
  });
});
