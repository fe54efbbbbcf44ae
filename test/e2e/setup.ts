// Global setup of the e2e project: one server (npm run serve's startServer) on a free
// loopback port, with test-only credentials and in-memory state, for the e2e project and the
// audit scan that runs after it (test/e2e-final).
import { createServer } from "node:net";
import type { TestProject } from "vitest/node";
import { rmSync, writeFileSync } from "node:fs";
import { ENDPOINT_FILE, SECRETS_FILE } from "./secrets.js";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../../scripts/serve.mjs";

export const E2E_VARS = {
  BOOTSTRAP_ACCOUNT_ID: "444455556666",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSE2ETEST01",
  BOOTSTRAP_SECRET_ACCESS_KEY: "e2e-test-secret-access-key-not-for-production-use",
  KMS_ROOT_SECRET: "ZTJlLXRlc3Qtcm9vdC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9uLXVzZSEhIQ==",
  // The e2e files run at once as one account: AWS's default request-rate quotas (CreateKey 5 per
  // second…) would throttle them. test/e2e/quotas.test.ts sets its own (docs/quotas.md).
  QUOTA_SCALE: "1000",
};

export function freePort(): Promise<number> {
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
 * Starts the server for the run. It stays up until every project is done (vitest tears global
 * setups down last), so the audit scan (test/e2e-final, a later group) finds it through
 * ENDPOINT_FILE.
 */
export default async function setup(project: TestProject) {
  rmSync(SECRETS_FILE, { force: true });
  const { url, mf } = await startServer({ port: await freePort(), persist: false, vars: E2E_VARS });
  project.provide("kmsEndpoint", url);
  writeFileSync(ENDPOINT_FILE, url);
  return async () => {
    rmSync(ENDPOINT_FILE, { force: true });
    rmSync(SECRETS_FILE, { force: true });
    await mf.dispose();
  };
}
