// `edgekms audit <export|verify|tail|flush|encrypt|public-key>`: the operator's view of the audit trail.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { adminCall, kmsCall, type ClientConfig } from "./admin-client.js";
import { UsageError } from "./config.js";
import { normalizeFingerprint, publicKeyFingerprint, verifyTrail, type TrailObjects } from "./verify.js";

interface ListedObject { Key: string; Size: number; Uploaded: string; Metadata: Record<string, string> }
interface Listing { Bucket: string; Objects: ListedObject[]; Cursor?: string }
interface TailRecord {
  eventTime: string; eventName: string; eventID: string; requestID?: string; errorCode?: string; errorMessage?: string;
  userIdentity: { arn?: string; accessKeyId?: string }; resources?: { ARN: string }[];
  /** A batch entry's record names its batch and its index there (docs/batch.md, "Audit trail"). */
  additionalEventData?: { batchOperation?: unknown; batchIndex?: unknown };
}
interface TailEntry { Delivered: boolean; Record: TailRecord }

/** `tail`'s default --limit; the admin API takes at most MAX_TAIL_RECORDS (src/admin/handler.ts). */
const DEFAULT_TAIL_LIMIT = 50;
const MAX_TAIL_RECORDS = 10_000;
/** How often `tail --follow` asks again. */
const FOLLOW_INTERVAL_MS = 2000;

export interface AuditOptions {
  account?: string;
  out?: string;
  dir?: string;
  since?: string;
  until?: string;
  follow?: boolean;
  eventName?: string;
  key?: string;
  limit?: number;
  keyId?: string;
  disable?: boolean;
  allowPending?: boolean;
  principal?: string;
  json?: boolean;
  publicKeyFingerprint?: string;
}

/**
 * A --key given as an alias (alias/NAME, or an alias ARN) is resolved to its key's ARN through the
 * KMS API's DescribeKey, as the caller: records name keys, never aliases, and an alias may have
 * pointed elsewhere before. A key ID or key ARN is used as it is.
 */
async function resolveKey(cfg: ClientConfig, key: string): Promise<string> {
  if (!/^alias\/|^arn:[^:]+:kms:[^:]*:\d{12}:alias\//.test(key)) return key;
  const r = await kmsCall<{ KeyMetadata: { Arn: string } }>(cfg, "DescribeKey", { KeyId: key });
  return r.KeyMetadata.Arn;
}

/**
 * The entries of one batch request share its request id, operation, principal and often its key:
 * without this label their lines would be identical. After the request id, so that the columns
 * before it stay where scripts find them.
 */
function batchLabel(r: TailRecord): string {
  const d = r.additionalEventData;
  return typeof d?.batchOperation === "string" && Number.isInteger(d.batchIndex) ? ` [${d.batchOperation} #${d.batchIndex as number}]` : "";
}

/** One line per record: time, operation, outcome, principal, key, request id (and batch entry); the error message last. */
function tailLine(e: TailEntry): string {
  const r = e.Record;
  const who = r.userIdentity.arn ?? r.userIdentity.accessKeyId ?? "-";
  const message = r.errorMessage ? ` ${JSON.stringify(r.errorMessage)}` : "";
  return `${r.eventTime} ${r.eventName} ${r.errorCode ?? "OK"} ${who} ${r.resources?.[0]?.ARN ?? "-"} ${r.requestID ?? "-"}${batchLabel(r)}${e.Delivered ? "" : " (not yet delivered)"}${message}`;
}

/** The pinned fingerprint, checked against the public key the digests are verified with. */
function pinnedKeyProblem(o: AuditOptions, spki: string): string | undefined {
  if (o.publicKeyFingerprint === undefined) return undefined;
  const pinned = normalizeFingerprint(o.publicKeyFingerprint);
  if (!pinned) throw new UsageError(`--public-key-fingerprint '${o.publicKeyFingerprint}' is not a SHA-256 fingerprint (64 hex digits, as \`edgekms audit public-key\` prints it)`);
  const actual = publicKeyFingerprint(spki);
  return actual === pinned ? undefined : `the digest public key's fingerprint is SHA256:${actual}, not the pinned SHA256:${pinned}: these digests were not signed by the key you trust`;
}

/** Object names carry YYYYMMDDTHHmm(ss)Z; --since/--until compare against it. */
function inRange(key: string, o: AuditOptions): boolean {
  const m = /_(\d{8}T\d{4})(\d{2})?Z(?:_[0-9a-f]+)?\.json\.gz$/.exec(key);
  if (!m) return true;
  const t = Date.parse(`${m[1].slice(0, 4)}-${m[1].slice(4, 6)}-${m[1].slice(6, 8)}T${m[1].slice(9, 11)}:${m[1].slice(11, 13)}:${m[2] ?? "00"}Z`);
  return (!o.since || t >= Date.parse(o.since)) && (!o.until || t <= Date.parse(o.until));
}

async function listAll(cfg: ClientConfig, o: AuditOptions, kind: "logs" | "digests"): Promise<Listing> {
  const all: ListedObject[] = [];
  let cursor: string | undefined;
  let bucket = "";
  do {
    const page = await adminCall<Listing>(cfg, "AuditList", { Kind: kind, ...(o.account ? { Account: o.account } : {}), ...(cursor ? { Cursor: cursor } : {}) });
    bucket = page.Bucket;
    all.push(...page.Objects.filter((x) => inRange(x.Key, o)));
    cursor = page.Cursor;
  } while (cursor);
  return { Bucket: bucket, Objects: all };
}

async function fetchTrail(cfg: ClientConfig, o: AuditOptions): Promise<TrailObjects & { decrypted: Map<string, Uint8Array> }> {
  const logs = await listAll(cfg, o, "logs");
  const digests = await listAll(cfg, o, "digests");
  const get = async (k: string) => adminCall<{ Body: string; Decrypted?: string; Metadata: Record<string, string> }>(cfg, "AuditGet", { Key: k, ...(o.account ? { Account: o.account } : {}) });
  const trail: TrailObjects & { decrypted: Map<string, Uint8Array> } = { bucket: logs.Bucket || digests.Bucket, logs: new Map(), digests: new Map(), decrypted: new Map(), publicKeySpki: (await adminCall<{ PublicKey: string }>(cfg, "AuditPublicKey")).PublicKey };
  for (const x of logs.Objects) {
    const g = await get(x.Key);
    trail.logs.set(x.Key, Buffer.from(g.Body, "base64"));
    if (g.Decrypted) trail.decrypted.set(x.Key, Buffer.from(g.Decrypted, "base64"));
  }
  for (const x of digests.Objects) {
    const g = await get(x.Key);
    trail.digests.set(x.Key, { body: Buffer.from(g.Body, "base64"), signature: g.Metadata.signature ?? "" });
  }
  return trail;
}

const MANIFEST = "edgekms-audit-export.json";

/** An export directory: the objects under their keys, and a manifest with signatures and the public key. */
function readExport(dir: string): TrailObjects {
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as { bucket: string; publicKey: string; signatures: Record<string, string> };
  const trail: TrailObjects = { bucket: manifest.bucket, logs: new Map(), digests: new Map(), publicKeySpki: manifest.publicKey };
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".json.gz")) {
        const key = relative(dir, p).split("\\").join("/");
        if (key.includes("/CloudTrail-Digest/")) trail.digests.set(key, { body: readFileSync(p), signature: manifest.signatures[key] ?? "" });
        else trail.logs.set(key, readFileSync(p));
      }
    }
  };
  walk(dir);
  return trail;
}

export async function auditCommand(cmd: string, cfg: ClientConfig, o: AuditOptions): Promise<number> {
  switch (cmd) {
    case "flush": {
      const r = await adminCall<{ ForwardedFromVaults: number; ForwardedFromShards: number; Objects: string[]; Digest: string | null }>(cfg, "AuditFlush", o.account ? { Account: o.account } : {});
      console.log(`forwarded ${r.ForwardedFromVaults} record(s) from vaults and ${r.ForwardedFromShards} from ingest shards; delivered ${r.Objects.length} object(s)`);
      for (const k of r.Objects) console.log(`  ${k}`);
      if (r.Digest) console.log(`digest ${r.Digest}`);
      return 0;
    }
    case "encrypt": {
      const r = await adminCall<{ Enabled: boolean; KeyId?: string }>(cfg, "AuditSetEncryption", {
        ...(o.account ? { Account: o.account } : {}), ...(o.disable ? { Enabled: false } : {}), ...(o.keyId ? { KeyId: o.keyId } : {}),
      });
      console.log(r.Enabled ? `audit objects are now encrypted under ${r.KeyId}` : "audit objects are no longer encrypted");
      return 0;
    }
    case "export": {
      if (!o.out) throw new UsageError("export needs --out DIR");
      const trail = await fetchTrail(cfg, o);
      const signatures: Record<string, string> = {};
      for (const [k, v] of [...trail.logs, ...[...trail.digests].map(([k, d]) => [k, d.body] as const)]) {
        mkdirSync(dirname(join(o.out, k)), { recursive: true });
        writeFileSync(join(o.out, k), v);
      }
      for (const [k, d] of trail.digests) signatures[k] = d.signature;
      // Encrypted log objects are kept as stored (the digests hash those bytes), with the decrypted records beside them.
      for (const [k, plain] of trail.decrypted) writeFileSync(join(o.out, k.replace(/\.json\.gz$/, ".decrypted.json")), gunzipSync(plain));
      writeFileSync(join(o.out, MANIFEST), JSON.stringify({ bucket: trail.bucket, publicKey: trail.publicKeySpki, signatures }, null, 2));
      console.log(`exported ${trail.logs.size} log object(s) and ${trail.digests.size} digest(s) to ${o.out}`);
      return 0;
    }
    case "verify": {
      // The live trail is flushed first: everything recorded so far is delivered and listed in a
      // digest, so only an object that appears meanwhile can be pending.
      if (!o.dir) await adminCall(cfg, "AuditFlush", { ...(o.account ? { Account: o.account } : {}) });
      const trail = o.dir ? readExport(o.dir) : await fetchTrail(cfg, o);
      // A digest verifies under the public key that came with it: pinning that key's fingerprint
      // is what makes an export (or a bucket) that someone else re-signed fail.
      const wrongKey = pinnedKeyProblem(o, trail.publicKeySpki);
      if (wrongKey) {
        console.log(`BAD-PUBLIC-KEY ${o.dir ? join(o.dir, MANIFEST) : "AuditPublicKey"}: ${wrongKey}`);
        console.log("verification FAILED: 1 problem(s)");
        return 1;
      }
      const problems = verifyTrail(trail, { partial: Boolean(o.since || o.until), allowPending: o.allowPending });
      for (const p of problems) console.log(`${p.kind.toUpperCase()} ${p.object}: ${p.detail}`);
      const pinnedNote = o.publicKeyFingerprint ? ", public key as pinned" : "";
      console.log(problems.length ? `verification FAILED: ${problems.length} problem(s)` : `verified ${trail.logs.size} log object(s) against ${trail.digests.size} digest(s)${pinnedNote}: OK`);
      return problems.length ? 1 : 0;
    }
    case "public-key": {
      const k = await adminCall<{ PublicKey: string; Fingerprint: string; Algorithm: string }>(cfg, "AuditPublicKey");
      if (o.json) console.log(JSON.stringify(k));
      else {
        console.log(`region      ${cfg.region}`);
        console.log(`algorithm   ${k.Algorithm}`);
        console.log(`fingerprint SHA256:${k.Fingerprint}`);
        console.log(`public key  ${k.PublicKey}`);
      }
      return 0;
    }
    case "tail": {
      const limit = o.limit ?? DEFAULT_TAIL_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TAIL_RECORDS) throw new UsageError(`--limit must be a whole number from 1 to ${MAX_TAIL_RECORDS}`);
      const key = o.key === undefined ? undefined : await resolveKey(cfg, o.key);
      const seen = new Set<string>();
      for (let first = true; ; first = false) {
        const r = await adminCall<{ Entries: TailEntry[]; Truncated?: boolean }>(cfg, "AuditTail", {
          Limit: limit, ...(o.account ? { Account: o.account } : {}), ...(o.eventName ? { EventName: o.eventName } : {}), ...(key ? { KeyId: key } : {}),
          ...(o.principal ? { Principal: o.principal } : {}),
        });
        for (const e of r.Entries) {
          if (seen.has(e.Record.eventID)) continue;
          seen.add(e.Record.eventID);
          console.log(o.json ? JSON.stringify(e.Record) : tailLine(e));
        }
        // On stderr, so that --json output stays one record per line. Following, later polls
        // list what is new; only the first can leave older records out.
        if (first && !r.Entries.length) {
          const filters = [o.eventName && `--event-name ${o.eventName}`, o.key && `--key ${o.key}`, o.principal && `--principal ${o.principal}`].filter(Boolean);
          console.error(`edgekms: no matching records${filters.length ? ` (${filters.join(", ")})` : ""}${o.follow ? "; waiting for new ones" : ""}`);
        }
        if (first && r.Truncated) {
          // Fewer than the limit: the answer's size bound (8 Mi characters of records) cut it.
          console.error(r.Entries.length < limit
            ? `edgekms: more records match than one answer holds (it carries at most 8 Mi characters of records); these are the newest ${r.Entries.length}. Narrow with --event-name, --key or --principal, or read everything delivered with \`edgekms audit export\`.`
            : limit < MAX_TAIL_RECORDS
            ? `edgekms: more records match; these are the newest ${limit}. Show more with --limit N (at most ${MAX_TAIL_RECORDS}), narrow with --event-name, --key or --principal, or read everything delivered with \`edgekms audit export\`.`
            : `edgekms: more records match than the ${MAX_TAIL_RECORDS} the admin API returns at once; these are the newest. Narrow with --event-name, --key or --principal, or read everything delivered with \`edgekms audit export\`.`);
        }
        if (!o.follow) return 0;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
      }
    }
    default:
      throw new UsageError(`unknown audit command '${cmd}' (export, verify, tail, flush, encrypt, public-key)`);
  }
}
