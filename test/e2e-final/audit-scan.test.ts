// The suite-wide secret scan, as a test of its own that runs after every other project
// (vitest.config.ts: this project is a later sequence group), so a leak fails `npm test`.
// Every account the suite created is flushed in every served region; every delivered log
// object is read (decrypted through the service where it is encrypted) and searched for every
// plaintext and data key the suite's clients sent or received, and for the test credentials.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { adminCall } from "../../src/cli/admin-client.js";
import { ENDPOINT_FILE, remembered } from "../e2e/secrets.js";
import { E2E_VARS } from "../e2e/setup.js";

/** The served regions, from wrangler.toml's [vars.REGIONS]. */
function servedRegions(): string[] {
  const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
  const section = toml.split("[vars.REGIONS]")[1]?.split(/\n\[/)[0] ?? "";
  return [...section.matchAll(/^"([a-z0-9-]+)"\s*=/gm)].map((m) => m[1]);
}

/** The shortest plaintext searched for as text. */
const MIN_TEXT_NEEDLE = 8;

interface Listed { Objects: { Key: string; Metadata: Record<string, string> }[]; Cursor?: string }

describe("the audit trail of the whole suite", () => {
  it("holds no plaintext, data key or credential the suite used, in any account or region", async () => {
    expect(existsSync(ENDPOINT_FILE), "the e2e server is not up: run the e2e project in the same vitest run").toBe(true);
    const endpoint = readFileSync(ENDPOINT_FILE, "utf8");
    const operator = (region: string) => ({ endpoint, region, accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY });
    const { Accounts: accounts } = await adminCall<{ Accounts: string[] }>(operator("us-east-1"), "ListAccounts");
    // The suite creates accounts (identities, grants): each must be flushed and scanned.
    expect(accounts.length).toBeGreaterThan(1);

    const secrets = remembered();
    const needles = [
      ...secrets.flatMap((s) => [s.toString("base64"), s.toString("hex")]),
      // As text too when it is printable and long enough not to be any word of a record
      // ("shared" is in "sharedEventID"); every plaintext is also searched as base64 and hex.
      ...secrets.filter((s) => s.length >= MIN_TEXT_NEEDLE && /^[\x20-\x7e]+$/.test(s.toString("latin1"))).map((s) => s.toString("latin1")),
      E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY,
      E2E_VARS.KMS_ROOT_SECRET,
    ];
    let records = 0;
    let objects = 0;
    const accountsWithRecords = new Set<string>();
    for (const region of servedRegions()) {
      for (const account of accounts) {
        await adminCall(operator(region), "AuditFlush", { Account: account });
        let cursor: string | undefined;
        do {
          const listed = await adminCall<Listed>(operator(region), "AuditList", { Account: account, Kind: "logs", ...(cursor ? { Cursor: cursor } : {}) });
          for (const o of listed.Objects) {
            const got = await adminCall<{ Body: string; Decrypted?: string }>(operator(region), "AuditGet", { Account: account, Key: o.Key });
            // Encrypted at rest: read it decrypted, as its account's operator would.
            const gz = Buffer.from(got.Decrypted ?? got.Body, "base64");
            const text = gunzipSync(gz).toString("utf8");
            const n = (JSON.parse(text) as { Records: unknown[] }).Records.length;
            records += n;
            objects += 1;
            if (n) accountsWithRecords.add(account);
            for (const needle of needles) {
              expect(text.includes(needle), `audit object ${o.Key} contains a secret the suite used (${needle.slice(0, 6)}…)`).toBe(false);
            }
          }
          cursor = listed.Cursor;
        } while (cursor);
      }
    }
    // A full run captures plaintexts from many tests and leaves records in several accounts:
    // none captured, or one account only, means the capture or the flush broke.
    expect(secrets.length, `secret scan captured no plaintexts across ${records} records`).toBeGreaterThan(10);
    expect(accountsWithRecords.size).toBeGreaterThan(1);
    console.log(`[audit scan] ${records} records in ${objects} objects of ${accountsWithRecords.size} accounts scanned for ${secrets.length} plaintexts/data keys: none found`);
  });
});
