// The suite-wide secret scan, as a test of its own that runs after every other project
// (vitest.config.ts: this project is a later sequence group), so a leak fails `npm test`.
// Every account the suite created is flushed in every served region; every delivered log
// object is read (decrypted through the service where it is encrypted) and searched for every
// plaintext and data key the suite's clients sent or received, and for the test credentials.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { adminCall } from "../../src/cli/admin-client.js";
import { ENDPOINT_FILE, remembered, scanTrail } from "../e2e/secrets.js";
import { E2E_VARS } from "../e2e/setup.js";

/** The served regions, from wrangler.toml's [vars.REGIONS]. */
function servedRegions(): string[] {
  const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
  const section = toml.split("[vars.REGIONS]")[1]?.split(/\n\[/)[0] ?? "";
  return [...section.matchAll(/^"([a-z0-9-]+)"\s*=/gm)].map((m) => m[1]);
}

describe("the audit trail of the whole suite", () => {
  it("holds no plaintext, data key or credential the suite used, in any account or region", async () => {
    expect(existsSync(ENDPOINT_FILE), "the e2e server is not up: run the e2e project in the same vitest run").toBe(true);
    const endpoint = readFileSync(ENDPOINT_FILE, "utf8");
    const operator = (region: string) => ({ endpoint, region, accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY });
    const { Accounts: accounts } = await adminCall<{ Accounts: string[] }>(operator("us-east-1"), "ListAccounts");
    // The suite creates accounts (identities, grants): each must be flushed and scanned.
    expect(accounts.length).toBeGreaterThan(1);

    const secrets = remembered();
    const { records, objects, accountsWithRecords } = await scanTrail(endpoint, E2E_VARS, accounts, servedRegions(), secrets);
    // A full run captures plaintexts from many tests and leaves records in several accounts:
    // none captured, or one account only, means the capture or the flush broke.
    expect(secrets.length, `secret scan captured no plaintexts across ${records} records`).toBeGreaterThan(10);
    expect(accountsWithRecords.size).toBeGreaterThan(1);
    console.log(`[audit scan] ${records} records in ${objects} objects of ${accountsWithRecords.size} accounts scanned for ${secrets.length} plaintexts/data keys: none found`);
  });
});
