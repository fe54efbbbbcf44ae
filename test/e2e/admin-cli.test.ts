// `npx edgekms admin …` against the e2e server, as docs/admin.md shows it: dates as ISO 8601, and
// the quota commands (get-account-quotas, put-account-quotas) for an account of the test's own,
// so that the quotas it sets throttle no other test.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2E } from "./client.js";
import { remember } from "./secrets.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

function admin(args: string[], credentials: { accessKeyId: string; secretAccessKey: string } = E2E): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "admin", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("edgekms admin CLI", () => {
  it("prints dates as ISO 8601", () => {
    const userName = `iso-dates-${Date.now()}`;
    expect(admin(["create-user", "--user-name", userName]).code).toBe(0);
    const listed = admin(["list-users"]);
    expect(listed.code, listed.stderr).toBe(0);
    const user = (JSON.parse(listed.stdout) as { Users: { UserName: string; CreateDate: string }[] }).Users.find((u) => u.UserName === userName)!;
    expect(user.CreateDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(user.CreateDate) - Date.now())).toBeLessThan(60_000);
  });

  it("get-account-quotas and put-account-quotas: set, shown, back to the default; the operator only", () => {
    const created = admin(["create-account"]);
    expect(created.code, created.stderr).toBe(0);
    const account = JSON.parse(created.stdout) as { AccountId: string; AccessKeyId: string; SecretAccessKey: string };
    remember(account.SecretAccessKey);

    const before = admin(["get-account-quotas", "--account", account.AccountId]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain(`account ${account.AccountId}, region us-east-1 (requests per second; none: no limit)`);
    expect(before.stdout).toMatch(/^QUOTA\s+VALUE\/S\s+DEFAULT\/S\s+SOURCE$/m);
    // The e2e server multiplies every default by its QUOTA_SCALE (1000).
    expect(before.stdout).toMatch(/^CreateKey\s+5000\s+5000\s+default$/m);
    expect(before.stdout).toMatch(/^CryptographicOperationsMlKem\s+none\s+none\s+default$/m);

    const put = admin(["put-account-quotas", "--account", account.AccountId, "--quota", "CreateKey=2", "--quota", "CryptographicOperationsRsa=0.5"]);
    expect(put.code, put.stderr).toBe(0);
    // Only the quotas it named, as now in force.
    expect(put.stdout.trim().split("\n")).toHaveLength(4);
    expect(put.stdout).toMatch(/^CreateKey\s+2\s+5000\s+set$/m);
    expect(put.stdout).toMatch(/^CryptographicOperationsRsa\s+0\.5\s+1000000\s+set$/m);

    const json = admin(["get-account-quotas", "--account", account.AccountId, "--json"]);
    const quotas = (JSON.parse(json.stdout) as { Quotas: { QuotaName: string; Value?: number; Adjusted: boolean }[] }).Quotas;
    expect(quotas.find((q) => q.QuotaName === "CreateKey")).toMatchObject({ Value: 2, Adjusted: true });

    const reset = admin(["put-account-quotas", "--account", account.AccountId, "--quota", "CreateKey="]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/^CreateKey\s+5000\s+5000\s+default$/m);
    expect(admin(["get-account-quotas", "--account", account.AccountId]).stdout).toMatch(/^CryptographicOperationsRsa\s+0\.5\s+1000000\s+set$/m);

    // An unknown quota and a malformed value are refused, naming them.
    const unknown = admin(["put-account-quotas", "--account", account.AccountId, "--quota", "NoSuchQuota=1"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("ValidationException");
    expect(unknown.stderr).toContain("'NoSuchQuota'");
    const malformed = admin(["put-account-quotas", "--account", account.AccountId, "--quota", "CreateKey=lots"]);
    expect(malformed.code).toBe(2); // usage errors exit 2 (docs/admin.md)
    expect(malformed.stderr).toContain("--quota 'CreateKey=lots': the value must be a number");
    const noQuota = admin(["put-account-quotas", "--account", account.AccountId]);
    expect(noQuota.code).toBe(2);
    expect(noQuota.stderr).toContain("put-account-quotas needs --quota NAME=VALUE");

    // The account's root may read its quotas, not raise them.
    const root = { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey };
    expect(admin(["get-account-quotas"], root).stdout).toMatch(/^CryptographicOperationsRsa\s+0\.5/m);
    const raised = admin(["put-account-quotas", "--quota", "CreateKey=100"], root);
    expect(raised.code).toBe(1);
    expect(raised.stderr).toContain("AccessDeniedException");
  });

  it("reads AWS profiles as encrypt does (AWS_PROFILE, --profile: keys, region, endpoint_url), refuses session tokens, and exits 2 on usage errors", () => {
    const home = mkdtempSync(join(tmpdir(), "edgekms-admin-profile-"));
    try {
      mkdirSync(join(home, ".aws"));
      writeFileSync(join(home, ".aws", "credentials"), `[edge]\naws_access_key_id = ${E2E.accessKeyId}\naws_secret_access_key = ${E2E.secretAccessKey}\n\n[nowhere]\naws_access_key_id = ${E2E.accessKeyId}\naws_secret_access_key = ${E2E.secretAccessKey}\n`);
      writeFileSync(join(home, ".aws", "config"), `[profile edge]\nregion = us-east-1\nendpoint_url = ${inject("kmsEndpoint")}\n\n[profile nowhere]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n\n[profile keyless]\nregion = us-east-1\n`);
      // Nothing in the environment but HOME (and AWS_PROFILE or flags): all from ~/.aws.
      const run = (args: string[], env: Record<string, string> = {}) => {
        const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: home, ...env } });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
      };
      const byEnv = run(["admin", "get-caller-identity"], { AWS_PROFILE: "edge" });
      expect(byEnv.code, byEnv.stderr).toBe(0);
      expect(JSON.parse(byEnv.stdout)).toMatchObject({ Account: E2E.account });
      const byFlag = run(["admin", "get-caller-identity", "--profile", "edge"]);
      expect(byFlag.code, byFlag.stderr).toBe(0);
      const tail = run(["audit", "tail", "--limit", "1", "--profile", "edge"]);
      expect(tail.code, tail.stderr).toBe(0);
      // The profile's endpoint_url is where the call goes: a closed port fails the call (exit 1).
      const nowhere = run(["admin", "get-caller-identity", "--profile", "nowhere"]);
      expect(nowhere.code).toBe(1);
      // --endpoint still wins over the profile's.
      expect(run(["admin", "get-caller-identity", "--profile", "nowhere", "--endpoint", inject("kmsEndpoint")]).code).toBe(0);
      // A named profile without keys, no credentials at all, an unknown option: usage errors, exit 2.
      const keyless = run(["admin", "list-users", "--profile", "keyless"]);
      expect([keyless.code, keyless.stderr]).toEqual([2, expect.stringContaining("profile 'keyless' has no aws_access_key_id")]);
      const none = run(["admin", "list-users"]);
      expect([none.code, none.stderr]).toEqual([2, expect.stringContaining("credentials missing")]);
      const unknown = run(["admin", "list-users", "--no-such-flag"], { AWS_PROFILE: "edge" });
      expect(unknown.code).toBe(2);
      // A session token is sent, not dropped: EdgeKMS refuses it, as it refuses encrypt's.
      const token = run(["admin", "get-caller-identity"], { AWS_PROFILE: "edge", AWS_ACCESS_KEY_ID: E2E.accessKeyId, AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey, AWS_SESSION_TOKEN: "from-sts" });
      expect(token.code).toBe(1);
      expect(token.stderr).toContain("UnrecognizedClientException");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
