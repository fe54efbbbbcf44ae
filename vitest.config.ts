import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// One id per run for the files the e2e projects share (test/e2e/secrets.ts); workers inherit it.
process.env.EDGEKMS_E2E_RUN ??= String(process.pid);

/**
 * The one unhandled error a run may ignore: vitest closing a finished workers test file's channel
 * while that file's isolate was still loading a module through it. Durable Objects keep running
 * after their test file ends (alarms the code under test set: audit delivery, shard forwarding,
 * quota reports), and the pool loads the Worker's module for each object it starts; if vitest
 * tears the file down meanwhile, it rejects that load with this error (either of its two messages), which is no test's failure
 * (a fresh-clone run of every test passed and exited 1 on it). Any other unhandled error fails the run.
 */
const TEARDOWN_WHILE_LOADING = /^\[vitest-worker\]: Closing rpc while "(resolve|fetch)" was pending$|^Cannot load '[^']*' imported from .* after the environment was torn down\./;

export default defineConfig({
  test: {
    onUnhandledError: (error) => !(error.name === "EnvironmentTeardownError" && TEARDOWN_WHILE_LOADING.test(error.message)),
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          sequence: { groupOrder: 0 },
          environment: "node",
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/setup.ts"],
          sequence: { groupOrder: 0 },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // After every other project (a later group), while the e2e server is still up: the
        // suite-wide audit scan fails the run if any record holds a secret.
        test: {
          name: "audit-scan",
          include: ["test/e2e-final/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Test-only identities and root secret (never used outside the test runtime).
            miniflare: {
              bindings: {
                BOOTSTRAP_ACCOUNT_ID: "111122223333",
                BOOTSTRAP_ACCESS_KEY_ID: "AKIAEDGEKMSTEST00001",
                BOOTSTRAP_SECRET_ACCESS_KEY: "test-secret-access-key-for-the-workers-tests/0001",
                KMS_ROOT_SECRET: "ZWRnZWttcy10ZXN0LXJvb3Qtc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbiE=",
                // wrangler.toml has one AuditLog per account-region; these tests run four ingest
                // shards, so shard forwarding is exercised as well as shard 0 (docs/audit.md).
                AUDIT_SHARDS: "4",
                // Many tests run at once as one account: AWS's default request-rate quotas (CreateKey 5
                // per second…) would throttle them. test/workers/quotas.test.ts sets its own (docs/quotas.md).
                QUOTA_SCALE: "1000",
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          sequence: { groupOrder: 0 },
          testTimeout: 60_000,
          // Fixtures made in beforeAll (keys of every kind and state) outlast the default 10 s on a slow machine.
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
