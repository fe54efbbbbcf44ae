// The package's bin (`npx edgekms`, package.json "bin") must stay executable after a rebuild.
// npx sets the mode once, when it first links the bin into its cache; a later `tsc` that
// creates dist/ afresh writes the file 0644, and the cached link then fails with
// "Permission denied". `npm test` builds first, so this checks what that build left.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { bin: Record<string, string> };
const bin = `${root}${pkg.bin.edgekms}`;

describe("the edgekms bin", () => {
  it("is executable after the build", () => {
    expect(statSync(bin).mode & 0o111, `${bin} has mode ${(statSync(bin).mode & 0o777).toString(8)}`).toBe(0o111);
  });

  it("runs directly (through its #! line, not `node file`) and prints its usage", () => {
    const out = execFileSync(bin, ["--help"], { cwd: root, encoding: "utf8" });
    expect(out).toMatch(/^usage: edgekms audit <command>/);
  });
});
