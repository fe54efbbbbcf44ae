// The package export edgekms/envelope (built dist/): Node gets the node:crypto entry; the default
// entry (browsers, Workers) reaches no Node built-in through any of its imports.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every module the built file reaches through static and dynamic imports; bare specifiers collected apart. */
function graph(entry: string): { files: string[]; bare: Set<string> } {
  const files: string[] = [], bare = new Set<string>(), seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    files.push(file);
    const src = readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:import|export)\s*(?:[^"'`;]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare };
}

describe("package export edgekms/envelope", () => {
  it("runs in a separate Node process on node:crypto", () => {
    const script = `
      import { encrypt, decrypt, RawAesKeyring } from "edgekms/envelope";
      const { platform } = await import(${JSON.stringify(new URL("dist/envelope/platform.js", `file://${root}`).href)});
      const keyring = new RawAesKeyring({ keyNamespace: "pkg", keyName: "k", key: new Uint8Array(32).fill(9) });
      const { result } = await encrypt(new TextEncoder().encode("hello"), { keyring, suite: 0x0578 });
      const { plaintext } = await decrypt(result, { keyring });
      console.log(JSON.stringify({ back: new TextDecoder().decode(plaintext), aes: platform().aes.name, sig: platform().signatures.name }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ back: "hello", aes: "node+wasm", sig: "node" });
  });

  it("under the Node entry a KMS call goes over node:http and loads no undici (neither the global fetch nor its Headers)", () => {
    // undici is what the global fetch and Headers load on first use: ~30 ms before a process's first
    // KMS call and several MB of memory (src/envelope/fetch-node.ts, src/cli/sign.ts headerLookup).
    const script = `
      import "edgekms/envelope";
      import { KmsHttpClient } from "edgekms/envelope/kms";
      // Not an import of node:http: its ESM namespace has a WebSocket getter that loads undici.
      const { createServer } = process.getBuiltinModule("node:http");
      let seen;
      const server = createServer((req, res) => {
        seen = { target: req.headers["x-amz-target"], signed: /SignedHeaders=[a-z0-9;-]*x-amz-target, Signature=[0-9a-f]{64}$/.test(req.headers.authorization ?? "") };
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ __type: "NotFoundException", message: "no such key" }));
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const client = new KmsHttpClient({ region: "us-east-1", endpoint: "http://127.0.0.1:" + server.address().port, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s" } });
      const error = await client.decrypt({ CiphertextBlob: new Uint8Array(8) }).then(() => "none", (e) => e.code ?? e.name);
      server.close();
      console.log(JSON.stringify({ error, seen, undici: process.moduleLoadList.filter((m) => m.includes("undici")) }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ error: "NotFoundException", seen: { target: "TrentService.Decrypt", signed: true }, undici: [] });
  });

  it("the default entry imports no Node built-in, directly or through another module", () => {
    const entry = resolve(root, "dist/envelope/index.js");
    expect(existsSync(entry), "dist/envelope/index.js (npm run build)").toBe(true);
    const { files, bare } = graph(entry);
    expect(files.some((f) => f.endsWith("/envelope/stream.js"))).toBe(true);
    expect(files.filter((f) => /\/(node|aes-node|sign-node)\.js$/.test(f))).toEqual([]);
    for (const b of bare) expect(b, `${b} from the neutral entry`).toMatch(/^@noble\//);
    // The Node entry, by contrast, does reach node:crypto.
    expect([...graph(resolve(root, "dist/envelope/node.js")).bare]).toContain("node:crypto");
  });

  it("the KMS export (edgekms/envelope/kms) signs with the project's own SigV4 steps: no AWS SDK module, no Node built-in", () => {
    const { files, bare } = graph(resolve(root, "dist/envelope/kms-keyring.js"));
    expect(files.some((f) => f.endsWith("/cli/sign.js"))).toBe(true);
    expect(files.some((f) => f.endsWith("/protocol/sigv4.js"))).toBe(true);
    // @smithy/signature-v4 and @smithy/core were ~15 MB of every CLI process's memory (docs/envelope.md).
    expect([...bare]).toEqual([]);
  });
});
