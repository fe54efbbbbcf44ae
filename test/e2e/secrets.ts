// Every plaintext and data key the e2e suite sends or receives is remembered here, so that the
// audit scan (test/e2e-final/audit-scan.test.ts, run after every other project) can look for
// any of them in every audit record the suite produced. Files are per run (vitest.config.ts sets
// EDGEKMS_E2E_RUN), so two runs on one machine do not share them.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
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
