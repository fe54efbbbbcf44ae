// Reader for NIST CAVP response files as shipped by Debian's python3-cryptography-vectors
// (source: NIST CAVP, gcmtestvectors.zip and kwtestvectors.zip, via pyca/cryptography).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const CAVP_ROOT = "/usr/lib/python3/dist-packages/cryptography_vectors";
/** Set to 1 to run without the vectors (their tests are then skipped, and say so); otherwise their absence fails. */
export const SKIP_ENV = "EDGEKMS_SKIP_CAVP";
export const cavpOptedOut = (): boolean => process.env[SKIP_ENV] === "1";

export type CavpRecord = Record<string, string> & { fail?: string };

/**
 * Parses "[Header = v]" sections and "Name = value" records separated by blank lines. A missing
 * file is an error that says how to get it: a machine without the vectors must not pass by
 * skipping them.
 */
export function readCavp(relPath: string): CavpRecord[] {
  const path = join(CAVP_ROOT, relPath);
  if (!existsSync(path)) {
    throw new Error(`NIST CAVP vector file ${path} is missing: install Debian's python3-cryptography-vectors (npm test does, as root, through scripts/test-setup.sh), or set ${SKIP_ENV}=1 to skip these tests knowingly.`);
  }
  const out: CavpRecord[] = [];
  let header: Record<string, string> = {};
  let cur: CavpRecord | undefined;
  for (const raw of readFileSync(path, "utf8").split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    const sec = /^\[(.+?)\s*=\s*(.*)\]$/.exec(line);
    if (sec) {
      if (cur) { out.push(cur); cur = undefined; }
      header = { ...header, [sec[1]]: sec[2] };
      continue;
    }
    if (!line) {
      if (cur) { out.push(cur); cur = undefined; }
      continue;
    }
    cur ??= { ...header } as CavpRecord;
    if (line === "FAIL") cur.fail = "1";
    const kv = /^(\w+)\s*=\s*(.*)$/.exec(line);
    if (kv) cur[kv[1]] = kv[2];
  }
  if (cur) out.push(cur);
  return out.filter((r) => "Count" in r || "COUNT" in r);
}
