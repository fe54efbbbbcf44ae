// wrangler.toml's two deployments (docs/deploy.md): the top level (production) and [env.staging].
// Wrangler does not pass bindings or vars on to an environment, so staging repeats them: both
// must bundle (`wrangler deploy --dry-run`, with and without --env staging) and bind the same
// names, staging to buckets of its own.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The bindings table `wrangler deploy --dry-run` prints: binding name → resource. */
function dryRun(...envArgs: string[]): Map<string, string> {
  const out = mkdtempSync(join(tmpdir(), "edgekms-dry-run-"));
  try {
    const r = spawnSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, "deploy", "--dry-run", "--outdir", out, ...envArgs], {
      cwd: root, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const bindings = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^env\.(\w+) \((.*?)\)\s{2,}(.*?)\s*$/gm)) bindings.set(m[1], `${m[3]}: ${m[2]}`);
    return bindings;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe("wrangler.toml environments", () => {
  it("production and staging both bundle, with the same bindings; staging's buckets are its own", () => {
    const production = dryRun("--env", "");
    const staging = dryRun("--env", "staging");
    expect([...staging.keys()].sort()).toEqual([...production.keys()].sort());
    for (const name of ["KEY_VAULT", "CATALOG", "IDENTITY_STORE", "AUDIT_LOG", "AUDIT_SIGNER", "QUOTA_COUNTER"]) expect(staging.get(name)).toBe(production.get(name));
    expect(production.get("AUDIT_BUCKET")).toBe("R2 Bucket: edgekms-audit");
    expect(production.get("AUDIT_BUCKET_EU")).toBe("R2 Bucket: edgekms-audit-eu (eu)");
    expect(staging.get("AUDIT_BUCKET")).toBe("R2 Bucket: edgekms-staging-audit");
    expect(staging.get("AUDIT_BUCKET_EU")).toBe("R2 Bucket: edgekms-staging-audit-eu (eu)");
    expect(staging.get("AUDIT_BUCKET_NAME")).toBe('Environment Variable: "edgekms-staging-audit"');
    expect(staging.get("REGIONS")).toBe(production.get("REGIONS"));
  });
});
