// Verification of an audit trail against its digest chain (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html): digest
// signatures, the previous-digest links, and the SHA-256 of every listed log object.
import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import { gunzipSync } from "node:zlib";

export interface TrailObjects {
  bucket: string;
  logs: Map<string, Uint8Array>; // object key → gzip bytes
  digests: Map<string, { body: Uint8Array; signature: string }>;
  publicKeySpki: string; // base64 DER
}

export interface Problem {
  kind: "missing" | "modified" | "extra" | "pending" | "out-of-order" | "bad-signature";
  object: string;
  detail: string;
}

interface Digest {
  digestEndTime: string;
  digestS3Object: string;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestSignature: string | null;
  logFiles: { s3Object: string; hashValue: string; encryptedWith?: string }[];
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * The digest public key's fingerprint as the admin API's AuditPublicKey gives it (and as CloudTrail
 * names a digest's key, digestPublicKeyFingerprint): the hex SHA-256 of the DER SubjectPublicKeyInfo.
 */
export const publicKeyFingerprint = (spkiBase64: string): string => sha256(Buffer.from(spkiBase64, "base64"));

/**
 * A fingerprint as a person may write it: hex, in either case, with or without "SHA256:" in front
 * and colons between bytes (as ssh-keygen and openssl print them). Undefined if it is not 32 bytes of hex.
 */
export function normalizeFingerprint(given: string): string | undefined {
  const hex = given.trim().replace(/^sha-?256:/i, "").replace(/:/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** Returns every problem found; an empty list means the trail verifies. */
/** How far past now an object's name may be stamped and still be pending (clocks differ a little). */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
const stampOf = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, "").slice(0, 13) + "Z";

export function verifyTrail(t: TrailObjects, opts: { partial?: boolean; allowPending?: boolean; now?: number } = {}): Problem[] {
  const problems: Problem[] = [];
  const key = createPublicKey({ key: Buffer.from(t.publicKeySpki, "base64"), format: "der", type: "spki" });
  const digests: { key: string; raw: Uint8Array; hash: string; signature: string; d: Digest }[] = [];
  for (const [k, v] of t.digests) {
    let raw: Uint8Array;
    let d: Digest;
    try {
      raw = gunzipSync(v.body);
      d = JSON.parse(Buffer.from(raw).toString("utf8"));
    } catch {
      problems.push({ kind: "modified", object: k, detail: "digest is not gzip'd JSON" });
      continue;
    }
    digests.push({ key: k, raw, hash: sha256(raw), signature: v.signature, d });
  }
  digests.sort((a, b) => a.d.digestEndTime.localeCompare(b.d.digestEndTime) || a.key.localeCompare(b.key));
  const listed = new Set<string>();
  for (const [i, g] of digests.entries()) {
    const signed = `${g.d.digestEndTime}\n${t.bucket}/${g.key}\n${g.hash}\n${g.d.previousDigestSignature ?? ""}`;
    const sigOk = /^[0-9a-f]+$/.test(g.signature) &&
      verifySignature("sha256", Buffer.from(signed), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(g.signature, "hex"));
    if (!sigOk || g.d.digestS3Object !== g.key) problems.push({ kind: "bad-signature", object: g.key, detail: "digest signature does not verify" });
    const prev = digests[i - 1];
    if (prev) {
      if (g.d.previousDigestS3Object !== prev.key || g.d.previousDigestHashValue !== prev.hash || g.d.previousDigestSignature !== prev.signature) {
        problems.push({ kind: "out-of-order", object: g.key, detail: `does not chain to ${prev.key} (previous link: ${g.d.previousDigestS3Object})` });
      }
    } else if (g.d.previousDigestS3Object !== null && !opts.partial) {
      problems.push({ kind: "missing", object: g.d.previousDigestS3Object, detail: `digest referenced by ${g.key} is missing` });
    }
    for (const f of g.d.logFiles) {
      listed.add(f.s3Object);
      const obj = t.logs.get(f.s3Object);
      if (!obj) {
        if (!opts.partial) problems.push({ kind: "missing", object: f.s3Object, detail: `listed in ${g.key}` });
        continue;
      }
      // An encrypted object is listed with the hash of its stored bytes: no decryption needed.
      let hash: string;
      try {
        hash = f.encryptedWith ? sha256(obj) : sha256(gunzipSync(obj));
      } catch {
        hash = "not gzip";
      }
      if (hash !== f.hashValue) problems.push({ kind: "modified", object: f.s3Object, detail: `SHA-256 ${hash} != ${f.hashValue} in ${g.key}` });
    }
  }
  // An object no digest lists is unverified. One named after the newest digest may be pending
  // (the next digest will list it): it fails verification too, since anyone who can write to the
  // bucket can give a forged object a current name, unless the caller accepts pending objects.
  // Object names carry their delivery minute.
  const newest = digests.length ? digests[digests.length - 1].d.digestEndTime.replace(/[-:]/g, "").slice(0, 13) + "Z" : "";
  for (const k of t.logs.keys()) {
    if (listed.has(k)) continue;
    const stamp = /_(\d{8}T\d{4}Z)_[0-9a-f]+\.json\.gz$/.exec(k)?.[1] ?? "";
    if (stamp && stamp > stampOf((opts.now ?? Date.now()) + MAX_CLOCK_AHEAD_MS)) {
      problems.push({ kind: "extra", object: k, detail: "named after the present: no delivery made it" });
      continue;
    }
    if (stamp && stamp >= newest) {
      if (!opts.allowPending) problems.push({ kind: "pending", object: k, detail: "not yet listed in a digest (run `edgekms audit flush` to write one, or pass --allow-pending)" });
      continue;
    }
    problems.push({ kind: "extra", object: k, detail: "not listed in any digest" });
  }
  return problems;
}
