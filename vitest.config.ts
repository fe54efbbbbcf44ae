import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// One id per run for the files the e2e projects share (test/e2e/secrets.ts); workers inherit it.
process.env.EDGEKMS_E2E_RUN ??= String(process.pid);

export default defineConfig({
  test: {
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
        },
      },
    ],
  },
});
