// Every plaintext and data key the e2e suite sends or receives is remembered here, so that the
// global teardown can scan every audit record the suite produced for any of them.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SECRETS_FILE = join(tmpdir(), `edgekms-e2e-secrets-${process.env.EDGEKMS_E2E_RUN ?? "local"}.txt`);

export function remember(secret: Uint8Array | string): void {
  const bytes = typeof secret === "string" ? Buffer.from(secret) : Buffer.from(secret);
  if (bytes.length >= 4) appendFileSync(SECRETS_FILE, bytes.toString("base64") + "\n");
}

export function remembered(): Buffer[] {
  if (!existsSync(SECRETS_FILE)) return [];
  return readFileSync(SECRETS_FILE, "utf8").split("\n").filter(Boolean).map((s) => Buffer.from(s, "base64"));
}
