// Global setup of the e2e project: one server (npm run serve's startServer) on a free
// loopback port, with test-only credentials and in-memory state.
import { createServer } from "node:net";
import type { TestProject } from "vitest/node";
import { rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { adminCall } from "../../src/cli/admin-client.js";
import { SECRETS_FILE, remembered } from "./secrets.js";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../../scripts/serve.mjs";

export const E2E_VARS = {
  BOOTSTRAP_ACCOUNT_ID: "444455556666",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSE2ETEST01",
  BOOTSTRAP_SECRET_ACCESS_KEY: "e2e-test-secret-access-key-not-for-production-use",
  KMS_ROOT_SECRET: "ZTJlLXRlc3Qtcm9vdC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9uLXVzZSEhIQ==",
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

declare module "vitest" {
  export interface ProvidedContext {
    kmsEndpoint: string;
  }
}

/**
 * After the suite: deliver every account's records in every region used, then scan every
 * audit record the suite produced for any plaintext or data key it used, and for credentials.
 */
async function scanAuditTrail(mf: { getR2Bucket(name: string): Promise<R2BucketLike> }, url: string): Promise<void> {
  const cfg = { endpoint: url, accessKeyId: E2E_VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
  for (const region of ["us-east-1", "eu-west-1"]) await adminCall({ ...cfg, region }, "AuditFlush");
  const secrets = remembered();
  const needles = [
    ...secrets.flatMap((s) => [s.toString("base64"), s.toString("hex")]),
    ...secrets.filter((s) => /^[\x20-\x7e]+$/.test(s.toString("latin1"))).map((s) => s.toString("latin1")),
    E2E_VARS.BOOTSTRAP_SECRET_ACCESS_KEY,
    E2E_VARS.KMS_ROOT_SECRET,
  ];
  let records = 0;
  for (const binding of ["AUDIT_BUCKET", "AUDIT_BUCKET_EU"]) {
    const bucket = await mf.getR2Bucket(binding);
    let cursor: string | undefined;
    do {
      const listed = await bucket.list({ prefix: "AWSLogs/", cursor });
      for (const o of listed.objects) {
        if (o.key.includes("CloudTrail-Digest")) continue;
        const obj = (await bucket.get(o.key))!;
        let gz = Buffer.from(await obj.arrayBuffer());
        if (obj.customMetadata?.["edgekms-sse-kms-key"]) {
          // encrypted at rest: read it decrypted, as its account's operator would
          const account = o.key.split("/")[1], region = o.key.split("/")[3];
          const got = await adminCall<{ Decrypted: string }>({ ...cfg, region }, "AuditGet", { Key: o.key, Account: account });
          gz = Buffer.from(got.Decrypted, "base64");
        }
        const text = gunzipSync(gz).toString("utf8");
        records += JSON.parse(text).Records.length;
        for (const n of needles) if (text.includes(n)) throw new Error(`audit object ${o.key} contains a secret the suite used (${n.slice(0, 6)}…)`);
      }
      cursor = listed.truncated ? listed.cursor : undefined;
    } while (cursor);
  }
  // A full run captures plaintexts from many tests; many records with none captured means the capture broke.
  if (records >= 50 && secrets.length === 0) throw new Error(`secret scan captured no plaintexts across ${records} records`);
  console.log(`[audit scan] ${records} records scanned for ${secrets.length} plaintexts/data keys used by the suite: none found`);
}

interface R2BucketLike {
  list(o: { prefix: string; cursor?: string }): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; customMetadata?: Record<string, string> } | null>;
}

export default async function setup(project: TestProject) {
  rmSync(SECRETS_FILE, { force: true });
  const { url, mf } = await startServer({ port: await freePort(), persist: false, vars: E2E_VARS });
  project.provide("kmsEndpoint", url);
  return async () => {
    try {
      await scanAuditTrail(mf, url);
    } finally {
      await mf.dispose();
    }
  };
}
