// Every plaintext and data key the e2e suite sends or receives is remembered here, so that the
// audit scan (test/e2e-final/audit-scan.test.ts, run after every other project) can look for
// any of them in every audit record the suite produced. Files are per run (vitest.config.ts sets
// EDGEKMS_E2E_RUN), so two runs on one machine do not share them.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { adminCall } from "../../src/cli/admin-client.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUN = process.env.EDGEKMS_E2E_RUN ?? "local";
export const SECRETS_FILE = join(tmpdir(), `edgekms-e2e-secrets-${RUN}.txt`);
/** The e2e server's URL, for the projects that run after the e2e project. */
export const ENDPOINT_FILE = join(tmpdir(), `edgekms-e2e-endpoint-${RUN}.txt`);

export function remember(secret: Uint8Array | string): void {
  const bytes = typeof secret === "string" ? Buffer.from(secret) : Buffer.from(secret);
  if (bytes.length >= 4) appendFileSync(SECRETS_FILE, bytes.toString("base64") + "\n");
}

export function remembered(): Buffer[] {
  if (!existsSync(SECRETS_FILE)) return [];
  return readFileSync(SECRETS_FILE, "utf8").split("\n").filter(Boolean).map((s) => Buffer.from(s, "base64"));
}

/** The shortest secret searched for as text: a shorter one could be any word of a record ("shared" is in "sharedEventID"). */
const MIN_TEXT_NEEDLE = 8;

/**
 * Flushes every given account in every given region as the operator, reads every delivered
 * log object (decrypted through the service where it is encrypted) and fails naming the object
 * if one holds any of `secrets`: as base64 and hex, and as text when printable and long enough.
 */
export async function scanTrail(
  endpoint: string,
  operator: { BOOTSTRAP_ACCESS_KEY_ID: string; BOOTSTRAP_SECRET_ACCESS_KEY: string; KMS_ROOT_SECRET: string },
  accounts: string[],
  regions: string[],
  secrets: Buffer[],
): Promise<{ records: number; objects: number; accountsWithRecords: Set<string> }> {
  const cfg = (region: string) => ({ endpoint, region, accessKeyId: operator.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: operator.BOOTSTRAP_SECRET_ACCESS_KEY });
  const needles = [
    ...secrets.flatMap((x) => [x.toString("base64"), x.toString("hex")]),
    ...secrets.filter((x) => x.length >= MIN_TEXT_NEEDLE && /^[\x20-\x7e]+$/.test(x.toString("latin1"))).map((x) => x.toString("latin1")),
    operator.BOOTSTRAP_SECRET_ACCESS_KEY,
    operator.KMS_ROOT_SECRET,
  ];
  let records = 0;
  let objects = 0;
  const accountsWithRecords = new Set<string>();
  for (const region of regions) {
    for (const account of accounts) {
      await adminCall(cfg(region), "AuditFlush", { Account: account });
      let cursor: string | undefined;
      do {
        const listed = await adminCall<{ Objects: { Key: string }[]; Cursor?: string }>(cfg(region), "AuditList", { Account: account, Kind: "logs", ...(cursor ? { Cursor: cursor } : {}) });
        for (const o of listed.Objects) {
          const got = await adminCall<{ Body: string; Decrypted?: string }>(cfg(region), "AuditGet", { Account: account, Key: o.Key });
          const text = gunzipSync(Buffer.from(got.Decrypted ?? got.Body, "base64")).toString("utf8");
          const n = (JSON.parse(text) as { Records: unknown[] }).Records.length;
          records += n;
          objects += 1;
          if (n) accountsWithRecords.add(account);
          for (const needle of needles) {
            if (text.includes(needle)) throw new Error(`audit object ${o.Key} contains a secret the suite used (${needle.slice(0, 6)}…)`);
          }
        }
        cursor = listed.Cursor;
      } while (cursor);
    }
  }
  return { records, objects, accountsWithRecords };
}
