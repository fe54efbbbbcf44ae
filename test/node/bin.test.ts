// The package's bin (`npx edgekms`, package.json "bin": bin/edgekms.js, which runs the built CLI
// dist/cli/edgekms.js): executable, quiet under npx (no engine warnings), and the CLI on the
// clone's Node 22 even where an older node is first on PATH (Debian's Node 20).
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as Record<string, unknown> & { bin: Record<string, string> };
const bin = `${root}${pkg.bin.edgekms}`;

/** A node older than the CLI needs, where the machine has one (/usr/bin/node is 20 on Debian 12). */
const OLD_NODE = ["/usr/bin/node", "/usr/local/bin/node"].find((n) => {
  const r = spawnSync(n, ["-p", "process.versions.node"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const [major, minor] = r.stdout.trim().split(".").map(Number);
  return major < 22 || (major === 22 && minor < 12);
});

describe("the edgekms bin", () => {
  it("is executable and runs directly (through its #! line, not `node file`), printing its usage", () => {
    expect(statSync(bin).mode & 0o111, `${bin} has mode ${(statSync(bin).mode & 0o777).toString(8)}`).toBe(0o111);
    const out = execFileSync(bin, ["--help"], { cwd: root, encoding: "utf8" });
    expect(out).toMatch(/^usage: edgekms audit <command>/);
  });

  it.skipIf(!OLD_NODE)(`under an older node (${OLD_NODE}) runs the CLI on the clone's Node 22, passing its output and status through`, () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-bin-"));
    try {
      // Every node process of the run says which node it is, on stderr.
      const preload = join(dir, "which-node.cjs");
      writeFileSync(preload, 'process.stderr.write(`[node ${process.versions.node} ${require("path").basename(process.argv[1] ?? "")}]\\n`);');
      const run = (args: string[]) =>
        spawnSync(OLD_NODE!, [bin, ...args], { cwd: dir, encoding: "utf8", env: { PATH: "/usr/bin:/bin", HOME: dir, NODE_OPTIONS: `--require ${preload}` } });
      const help = run(["--help"]);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^usage: edgekms/);
      const nodes = help.stderr.split("\n").filter((l) => l.startsWith("[node"));
      expect(nodes[0]).toMatch(/^\[node 2[01]\.\d+\.\d+ edgekms\.js\]$/); // the launcher, on the old node
      expect(nodes[1]).toMatch(/^\[node 22\.\d+\.\d+ edgekms\.js\]$/); // the CLI, on the clone's node
      expect(help.stderr).not.toMatch(/EBADENGINE|Unsupported engine/);
      // A usage error's status and output come back as they are.
      const wrong = run(["no-such-command"]);
      expect([wrong.status, wrong.stdout]).toEqual([2, expect.stringMatching(/^usage: edgekms/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`npx edgekms` prints no engine warning, also on the first call in a clone (when npx links the package)", () => {
    const cache = mkdtempSync(join(tmpdir(), "edgekms-npx-cache-"));
    try {
      // A fresh npm cache makes this npx's first call, which installs the local package into it.
      // ignore_scripts: that install would otherwise run the package's prepare (the whole build).
      const r = spawnSync("npx", ["edgekms", "--help"], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, PATH: `/usr/bin:/bin:${process.env.PATH}`, npm_config_cache: cache, npm_config_ignore_scripts: "true", npm_config_update_notifier: "false" },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: edgekms/);
      expect(r.stderr).not.toMatch(/EBADENGINE|EBADDEVENGINES|Unsupported engine/);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("package-lock.json's root entry is package.json's own, so that `npm install` on a fresh clone leaves it unchanged", () => {
    const lock = JSON.parse(readFileSync(`${root}package-lock.json`, "utf8")) as { name: string; version: string; packages: Record<string, Record<string, unknown>> };
    const entry = lock.packages[""];
    expect([lock.name, lock.version]).toEqual([pkg.name, pkg.version]);
    // The members npm copies from package.json into the lock's root entry.
    for (const member of ["name", "version", "license", "bin", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "engines", "os", "cpu"]) {
      expect(entry[member], member).toEqual(pkg[member]);
    }
  });
});
