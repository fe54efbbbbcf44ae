// `edgekms import-key-material` against a server that is not EdgeKMS: a swapped (weaker)
// wrapping key is refused before any material is wrapped under it, and plain HTTP to anything
// but loopback is refused unless allowed (attack review of issue 14).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "edgekms-import-cli-"));
const keyFile = join(dir, "key.bin");
writeFileSync(keyFile, Buffer.alloc(32, 7));

let server: Server;
let port = 0;
/** What the fake server answered GetParametersForImport with, and whether ImportKeyMaterial reached it. */
let wrappingBits = 1024;
let imported = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"]);
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (target.endsWith("DescribeKey")) return res.end(JSON.stringify({ KeyMetadata: { KeyId: "k", KeySpec: "SYMMETRIC_DEFAULT", Origin: "EXTERNAL" } }));
      if (target.endsWith("GetParametersForImport")) {
        const { publicKey } = generateKeyPairSync("rsa", { modulusLength: wrappingBits });
        return res.end(JSON.stringify({ ImportToken: "AA==", PublicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64") }));
      }
      imported = true;
      res.end(JSON.stringify({ KeyId: "k", KeyMaterialId: "0".repeat(64) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "import-key-material", "--key-id", "k", "--key-material", keyFile, ...args], {
      env: { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000000", AWS_SECRET_ACCESS_KEY: "x".repeat(40), AWS_REGION: "us-east-1" },
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("edgekms import-key-material against a server that is not EdgeKMS", () => {
  it("a wrapping key weaker than the spec asked for is refused; nothing is sent", async () => {
    wrappingBits = 1024;
    imported = false;
    const r = await run("--endpoint", `http://127.0.0.1:${port}`, "--wrapping-key-spec", "RSA_4096");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("1024-bit wrapping key, not the RSA_4096 asked for");
    expect(imported).toBe(false);
  });

  it("the right size is used", async () => {
    wrappingBits = 2048;
    imported = false;
    const r = await run("--endpoint", `http://127.0.0.1:${port}`, "--wrapping-key-spec", "RSA_2048", "--wrapping-algorithm", "RSAES_OAEP_SHA_256");
    expect(r.code, r.stderr).toBe(0);
    expect(imported).toBe(true);
  });

  it("plain HTTP to a host other than loopback is refused unless allowed", async () => {
    const r = await run("--endpoint", "http://kms.example.invalid:8787");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not HTTPS");
  });
});
