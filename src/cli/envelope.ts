// `edgekms encrypt` and `edgekms decrypt`: envelope encryption of files, directories and stdin in the
// AWS Encryption SDK message format, with KMS wrapping keys (docs/envelope.md, "The CLI"). The flags
// follow the AWS Encryption CLI's (aws-encryption-cli), except that an existing output is never
// replaced without --overwrite. Every output is written to a temporary file beside it and renamed
// only after the whole message was processed (for decrypt: every frame and the signature verified),
// so a failure or an interrupt leaves nothing under the output name.
import { randomBytes } from "node:crypto";
import { closeSync, constants as fsConstants, existsSync, fstatSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import {
  CachingMaterialsManager, decryptStream, DEFAULT_FRAME_LENGTH, DEFAULT_MAX_DECRYPT_EDKS, DEFAULT_MAX_FRAME, encryptStream, EnvelopeError, MultiKeyring, parseHeader, SUITES, startSignatureWorker,
  type CommitmentPolicy, type DecryptOptions, type EncryptOptions, type Keyring, type MaterialsManager, type MessageHeader, type SuiteId,
} from "../envelope/node.js";
import { KmsKeyring, parseKmsArn } from "../envelope/kms-keyring.js";
import { checkEncryptSuite, DEFAULT_COMMITMENT_POLICY, ENCODED_SIGNER_KEY, encryptSuite, suiteInfo } from "../envelope/suites.js";
import { kmsClientProvider } from "../envelope/kms-client.js";
import { nodeFetch } from "../envelope/fetch-node.js";
import { resolveAwsSettings, UsageError, userAgent, withUserAgent, type AwsSettings } from "./config.js";

export const ENVELOPE_USAGE = `usage: edgekms encrypt|decrypt --input PATH|- --output PATH|- --wrapping-keys key=ARN... [options]
  -i, --input PATH|-                    a file, a directory (with --recursive) or - for stdin
  -o, --output PATH|-                   a file, a directory (made if missing), or - for stdout
  -w, --wrapping-keys ATTR=V...         key=ARN|alias|id (repeatable; the first key of the first group generates
                                        the data key, each other key adds an encrypted data key), region=R (for
                                        keys without a region), profile=P; decrypt: key=ARN (strict: only these
                                        keys), or discovery=true [discovery-account=ID...] [discovery-partition=aws]
  -c, --encryption-context K=V...       encrypt: stored in the header; decrypt: pairs (K=V) or keys (K) the
                                        message must have
  --algorithm ID                        0x0478 (default) | 0x0578 (adds an ECDSA P-384 signature) | a suite name;
                                        version 1 suites only with --commitment-policy forbid-encrypt-allow-decrypt
  --frame-length N                      plaintext bytes per frame (default 4096, at most 67108864: decrypt's limit)
  --max-encrypted-data-keys N           encrypt: at most N wrapping keys; decrypt: refuse messages with more
                                        (decrypt's default: ${DEFAULT_MAX_DECRYPT_EDKS})
  --commitment-policy P                 require-encrypt-require-decrypt (default) | require-encrypt-allow-decrypt |
                                        forbid-encrypt-allow-decrypt
  --caching max-age=S[,max-messages=N][,max-bytes=N][,capacity=N]   reuse data keys (encrypt and decrypt)
  -r, -R, --recursive                   encrypt or decrypt every file under the input directory
  --suffix S                            added to names made in an output directory (default .encrypted / .decrypted)
  --overwrite                           replace existing outputs (never done without it)
  --metadata-output FILE|-              one JSON line per file (mode, input, output, header, wrapping keys);
                                        appended to FILE unless --overwrite-metadata
  -S, --suppress-metadata               no metadata (the default without --metadata-output)
  --decrypt-unsigned                    decrypt: refuse signed messages (0x0578, 0x0378, 0x0346, 0x0214)
  -b, --buffer                          decrypt to stdout: release no plaintext before the whole message verified
                                        (held in memory); files are always renamed into place only after that
  -q, --quiet                           no progress bar (shown on stderr when it is a terminal)
  --no-batch                            one KMS request per call (by default the KMS calls of many files go
                                        together as EdgeKMS batch requests; other KMS endpoints get single calls)
  --endpoint URL|aws                    AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL / the profile's endpoint_url
                                        (default http://localhost:8787); "aws" = each region's public AWS endpoint;
                                        {region} in URL is replaced by the key's region
  --region R, --profile P, --access-key-id, --secret-access-key, --session-token
                                        else AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                                        AWS_SESSION_TOKEN, then ~/.aws/credentials and ~/.aws/config`;

type Mode = "encrypt" | "decrypt";

/**
 * Text from outside (a message's provider ids and info, KMS's error messages, file names) as printed
 * on stderr: control characters (C0, DEL, C1), line and paragraph separators and the bidirectional
 * overrides written as escapes, so that a hostile file or endpoint cannot move the cursor, set the
 * terminal's title, colour the output or forge lines of its own (attack review).
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}


// ---------------------------------------------------------------------------------------------
// Arguments

interface FlagSpec { kind: "string" | "boolean" | "multi"; short?: string[]; only?: Mode }
const FLAGS: Record<string, FlagSpec> = {
  input: { kind: "string", short: ["i"] },
  output: { kind: "string", short: ["o"] },
  "wrapping-keys": { kind: "multi", short: ["w"] },
  "encryption-context": { kind: "multi", short: ["c"] },
  algorithm: { kind: "string", only: "encrypt" },
  "frame-length": { kind: "string", only: "encrypt" },
  "max-encrypted-data-keys": { kind: "string" },
  "commitment-policy": { kind: "string" },
  caching: { kind: "multi" },
  recursive: { kind: "boolean", short: ["r", "R"] },
  suffix: { kind: "string" },
  overwrite: { kind: "boolean" },
  "metadata-output": { kind: "string" },
  "overwrite-metadata": { kind: "boolean" },
  "suppress-metadata": { kind: "boolean", short: ["S"] },
  "decrypt-unsigned": { kind: "boolean", only: "decrypt" },
  buffer: { kind: "boolean", short: ["b"], only: "decrypt" },
  quiet: { kind: "boolean", short: ["q"] },
  "no-batch": { kind: "boolean" },
  endpoint: { kind: "string" },
  region: { kind: "string" },
  profile: { kind: "string" },
  "access-key-id": { kind: "string" },
  "secret-access-key": { kind: "string" },
  "session-token": { kind: "string" },
  help: { kind: "boolean", short: ["h"] },
};
const SHORT = new Map(Object.entries(FLAGS).flatMap(([name, f]) => (f.short ?? []).map((s) => [s, name] as const)));

interface Args { strings: Map<string, string>; booleans: Set<string>; multi: Map<string, string[][]> }

export function parseEnvelopeArgs(mode: Mode, argv: string[]): Args {
  const a: Args = { strings: new Map(), booleans: new Set(), multi: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    let name: string | undefined;
    let inline: string | undefined;
    if (tok.startsWith("--")) {
      const eq = tok.indexOf("=");
      name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      inline = eq < 0 ? undefined : tok.slice(eq + 1);
    } else if (tok.startsWith("-") && tok.length === 2) {
      name = SHORT.get(tok[1]);
      if (!name) throw new UsageError(`unknown option ${tok}`);
    } else {
      throw new UsageError(`unexpected argument '${tok}' (values of --wrapping-keys, --encryption-context and --caching follow the flag)`);
    }
    const spec = FLAGS[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.only && spec.only !== mode) throw new UsageError(`--${name} is an option of ${spec.only}, not ${mode}`);
    if (spec.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      a.booleans.add(name);
    } else if (spec.kind === "string") {
      const v = inline ?? argv[++i];
      if (v === undefined || (v.startsWith("-") && v !== "-" && inline === undefined && !/^-\d/.test(v))) throw new UsageError(`--${name} needs a value`);
      if (a.strings.has(name)) throw new UsageError(`--${name} given twice`);
      a.strings.set(name, v);
    } else {
      const values: string[] = inline !== undefined ? [inline] : [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) values.push(argv[++i]);
      if (!values.length) throw new UsageError(`--${name} needs at least one value`);
      const groups = a.multi.get(name) ?? [];
      groups.push(values);
      a.multi.set(name, groups);
    }
  }
  return a;
}

/** "k=v" into [k, v]; the first "=" splits (values may hold "="). */
function splitAttr(s: string): [string, string | undefined] {
  const eq = s.indexOf("=");
  return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

function integer(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${v}'`);
  return Number(v);
}

const hex = (id: number) => "0x" + id.toString(16).padStart(4, "0");

export function parseSuite(v: string): SuiteId {
  const byName = Object.values(SUITES).find((s) => s.name === v.toUpperCase());
  if (byName) return byName.id;
  const m = /^(?:0x)?([0-9a-f]{1,4})$/i.exec(v);
  const id = m ? parseInt(m[1], 16) : NaN;
  if (!Object.prototype.hasOwnProperty.call(SUITES, id)) {
    throw new UsageError(`unknown --algorithm '${v}' (${Object.values(SUITES).map((s) => `${hex(s.id)} ${s.name}`).join(", ")})`);
  }
  return id as SuiteId;
}

export function parseCommitmentPolicy(v: string): CommitmentPolicy {
  const p = v.toUpperCase().replace(/-/g, "_");
  if (p !== "REQUIRE_ENCRYPT_REQUIRE_DECRYPT" && p !== "REQUIRE_ENCRYPT_ALLOW_DECRYPT" && p !== "FORBID_ENCRYPT_ALLOW_DECRYPT") {
    throw new UsageError(`--commitment-policy must be require-encrypt-require-decrypt, require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt, got '${v}'`);
  }
  return p;
}

export interface CachingSettings { maxAgeMs: number; maxMessages?: number; maxBytes?: number; capacity?: number }

/** `max-age=S,max-messages=N,max-bytes=N,capacity=N` (also the AWS Encryption CLI's max_age, max_messages_encrypted, max_bytes_encrypted). */
export function parseCaching(groups: string[][] | undefined): CachingSettings | undefined {
  if (!groups) return undefined;
  const o: Partial<CachingSettings> = {};
  for (const item of groups.flat().flatMap((x) => x.split(",")).filter(Boolean)) {
    const [k, v] = splitAttr(item);
    const key = k.toLowerCase().replace(/_/g, "-");
    const num = (min: number) => {
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || Number(v) < min) throw new UsageError(`--caching ${k} needs a number ≥ ${min}, got '${v ?? ""}'`);
      return Number(v);
    };
    if (key === "max-age") o.maxAgeMs = Math.round(num(0) * 1000);
    else if (key === "max-messages" || key === "max-messages-encrypted") o.maxMessages = Math.floor(num(1));
    else if (key === "max-bytes" || key === "max-bytes-encrypted") o.maxBytes = Math.floor(num(0));
    else if (key === "capacity") o.capacity = Math.floor(num(1));
    else throw new UsageError(`unknown --caching attribute '${k}' (max-age, max-messages, max-bytes, capacity)`);
  }
  if (!o.maxAgeMs) throw new UsageError("--caching needs max-age=SECONDS (> 0)");
  return o as CachingSettings;
}

export interface ContextSettings { pairs: Record<string, string>; keys: string[] }

export function parseContext(mode: Mode, groups: string[][] | undefined): ContextSettings {
  // No prototype: "__proto__" is an ordinary key (-c __proto__=x must be stored and required).
  const c: ContextSettings = { pairs: Object.create(null) as Record<string, string>, keys: [] };
  for (const item of (groups ?? []).flat()) {
    const [k, v] = splitAttr(item);
    if (!k) throw new UsageError(`--encryption-context '${item}': empty key`);
    if (v === undefined) {
      if (mode === "encrypt") throw new UsageError(`--encryption-context '${item}': encrypt needs key=value`);
      c.keys.push(k);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(c.pairs, k) && c.pairs[k] !== v) throw new UsageError(`--encryption-context key '${k}' given twice`);
    c.pairs[k] = v;
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// AWS settings: flags, then environment variables, then ~/.aws/credentials and ~/.aws/config

/** The one resolver of every edgekms subcommand (src/cli/config.ts), with this command's flags. */
function awsSettings(a: Args, profileOverride?: string): AwsSettings {
  return resolveAwsSettings({
    endpoint: a.strings.get("endpoint"), region: a.strings.get("region"), profile: a.strings.get("profile"),
    accessKeyId: a.strings.get("access-key-id"), secretAccessKey: a.strings.get("secret-access-key"), sessionToken: a.strings.get("session-token"),
  }, profileOverride);
}

function clientFunction(s: AwsSettings, defaultRegion: string, batch: boolean, mode: Mode) {
  const endpoint = s.endpoint === "aws" ? undefined : s.endpoint.includes("{region}") ? (r: string) => s.endpoint.replace(/\{region\}/g, r) : s.endpoint;
  return kmsClientProvider({ endpoint, credentials: s.credentials, defaultRegion, fetch: withUserAgent(nodeFetch, userAgent(mode)), ...(batch ? { batch: true } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Keyrings from --wrapping-keys

interface KeyringSetup { keyring: Keyring; description: string[] }

/** batch: the clients send concurrent calls as EdgeKMS batch requests (kms-client.ts). */
export function buildKeyring(mode: Mode, a: Args, batch = false): KeyringSetup {
  const groups = a.multi.get("wrapping-keys");
  if (!groups?.length) {
    throw new UsageError(mode === "encrypt" ? "--wrapping-keys key=ARN is required" : "--wrapping-keys is required: key=ARN (strict) or discovery=true");
  }
  const rings: KmsKeyring[] = [];
  const description: string[] = [];
  for (const group of groups) {
    const keys: string[] = [];
    const accounts: string[] = [];
    let region: string | undefined, profile: string | undefined, discovery: boolean | undefined, partition: string | undefined;
    for (const item of group) {
      const [k, v] = splitAttr(item);
      if (v === undefined || v === "") {
        const key = /^(arn:|alias\/|mrk-|[0-9a-f]{8}-)/.test(item) ? ` (a key is given as key=${item})` : "";
        throw new UsageError(`--wrapping-keys '${item}': expected attribute=value${key}`);
      }
      switch (k) {
        case "key": keys.push(v); break;
        case "region": region = v; break;
        case "profile": profile = v; break;
        case "discovery":
          if (v !== "true" && v !== "false") throw new UsageError(`--wrapping-keys discovery must be true or false, got '${v}'`);
          discovery = v === "true";
          break;
        case "discovery-account":
          if (!/^\d{12}$/.test(v)) throw new UsageError(`--wrapping-keys discovery-account=${v}: an account ID is 12 digits`);
          accounts.push(v);
          break;
        case "discovery-partition": partition = v; break;
        default: throw new UsageError(`unknown --wrapping-keys attribute '${k}' (key, region, profile${mode === "decrypt" ? ", discovery, discovery-account, discovery-partition" : ""})`);
      }
    }
    if (mode === "encrypt" && (discovery !== undefined || accounts.length || partition)) throw new UsageError("discovery attributes of --wrapping-keys are for decrypt");
    if (discovery && keys.length) throw new UsageError("--wrapping-keys: discovery=true takes no key= (one group is either strict or discovery)");
    if (!discovery && (accounts.length || partition)) throw new UsageError("--wrapping-keys: discovery-account and discovery-partition need discovery=true");
    // A partition alone would filter nothing (the filter is a partition and its accounts): refused,
    // as the AWS Encryption CLI does, rather than silently trusting every partition.
    if (partition !== undefined && !accounts.length) throw new UsageError("--wrapping-keys: discovery-partition needs at least one discovery-account (the filter is a partition and accounts)");
    if (!discovery && !keys.length) throw new UsageError(`--wrapping-keys '${group.join(" ")}': no key= ${mode === "decrypt" ? "and no discovery=true" : ""}`);
    if (mode === "decrypt") {
      for (const k of keys) {
        const arn = parseKmsArn(k);
        if (!arn || arn.resourceType !== "key") throw new UsageError(`decrypt in strict mode needs key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID), as a message names its keys by ARN; got '${k}'`);
      }
    }
    const s = awsSettings(a, profile);
    const client = clientFunction(s, region ?? s.region, batch, mode);
    if (discovery) {
      rings.push(new KmsKeyring({ discovery: true, client, ...(accounts.length ? { discoveryFilter: { partition: partition ?? "aws", accountIds: accounts } } : {}) }));
      description.push(accounts.length ? `discovery (${partition ?? "aws"}: ${accounts.join(", ")})` : "discovery");
    } else {
      const [first, ...rest] = keys;
      rings.push(mode === "encrypt" && rings.length === 0 ? new KmsKeyring({ generatorKeyId: first, keyIds: rest, client }) : new KmsKeyring({ keyIds: keys, client }));
      description.push(...keys);
    }
  }
  if (mode === "decrypt" && rings.some((r) => r.discovery) && rings.some((r) => !r.discovery)) {
    throw new UsageError("--wrapping-keys: use either strict keys (key=ARN) or discovery=true, not both");
  }
  const keyring = rings.length === 1 ? rings[0] : mode === "encrypt" ? new MultiKeyring({ generator: rings[0], children: rings.slice(1) }) : new MultiKeyring({ children: rings });
  return { keyring, description };
}

// ---------------------------------------------------------------------------------------------
// Jobs: (input, output) pairs

/**
 * A file to encrypt or decrypt. `seen`: the file found when the job was planned (its device and
 * inode), which is the file opened, or the job fails (an entry swapped meanwhile). `follow`: a
 * file named on the command line may be a symbolic link (to the file then seen); a directory's
 * walk follows none.
 */
interface Job { input: string; output: string; size?: number; mode?: number; seen?: FileId; follow?: boolean }
interface FileId { dev: number; ino: number }
type Walked = { path: string; size: number; mode: number; seen: FileId };

/**
 * Opens a job's input for reading. A walked file is opened without following a symbolic link,
 * and must still be the file the walk saw: the walk read the tree long before (a window of files
 * is made ready ahead), and an entry, or a directory above it, replaced meanwhile by a link to a
 * file elsewhere (one only the user may read) must not be read, nor given the walked file's mode.
 * A file named on the command line is held to the file it was when planned in the same way.
 */
export function openInputSync(job: Job): number {
  let fd: number;
  try {
    fd = openSync(job.input, job.seen && !job.follow ? fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW : "r");
  } catch (e) {
    throw replaced(job, e);
  }
  try {
    if (job.seen) checkSame(job, fstatSync(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

async function openInput(job: Job): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(job.input, job.seen && !job.follow ? fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW : "r");
  } catch (e) {
    throw replaced(job, e);
  }
  try {
    if (job.seen) checkSame(job, await fh.stat());
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/**
 * Opens --metadata-output for appending (or replacing, with --overwrite-metadata). A symbolic link
 * there is followed unless another user made it in a directory anyone may write to and only owners
 * may delete from (sticky and world-writable, as /tmp): Linux's fs.protected_symlinks rule, which
 * not every system turns on. Otherwise a link planted at a name the user will give (in /tmp) aims
 * the user's metadata lines at a file of the user's. Inside such a directory no one else can swap the
 * user's own link between the check and the open (the sticky bit), and outside one the rule allows it.
 */
export function openMetadataOutput(path: string, overwrite: boolean, jobs: readonly Job[] = []): number {
  // An output's path is refused before anything is made (the run would then rename over it).
  const target = resolve(path);
  for (const j of jobs) if (j.output !== "-" && resolve(j.output) === target) throw new UsageError(`--metadata-output ${path} is also an output`);
  // Never truncated on opening: whether the file is one of the inputs (or outputs) is known only once open.
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | (overwrite ? 0 : fsConstants.O_APPEND);
  const fd = openNoPlantedLink(path, flags);
  try {
    const st = fstatSync(fd);
    for (const j of jobs) {
      for (const [file, what] of [[j.input, "an input"], [j.output, "an output"]] as const) {
        if (file === "-") continue;
        const other = what === "an input" && j.seen ? j.seen : statOrNothing(file);
        // Written over or appended to, an input would be destroyed before it is read (an outsider's review).
        if (other && other.dev === st.dev && other.ino === st.ino) throw new UsageError(`--metadata-output ${path} is ${what} (${j[what === "an input" ? "input" : "output"]})`);
      }
    }
    if (overwrite) ftruncateSync(fd, 0);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** A file's identity, or undefined if it cannot be looked at (missing, or a directory without permission: that run fails later, where it says why). */
function statOrNothing(file: string): { dev: number; ino: number } | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Opens the metadata file, following a symbolic link unless another user planted it in a shared directory. */
function openNoPlantedLink(path: string, flags: number): number {
  try {
    return openSync(path, flags | fsConstants.O_NOFOLLOW, 0o644);
  } catch (e) {
    // ELOOP: a link. Linux answers EACCES instead for another user's link in a sticky directory.
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== "ELOOP" && code !== "EACCES") || !lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw e;
  }
  const link = lstatSync(path);
  const dir = statSync(dirname(resolve(path)));
  const me = process.geteuid?.();
  const shared = (dir.mode & 0o1002) === 0o1002; // sticky, and others may write
  if (me !== undefined && shared && link.uid !== me && link.uid !== dir.uid) {
    throw new UsageError(`--metadata-output ${path} is a symbolic link another user made in a shared directory: not followed`);
  }
  return openSync(path, flags, 0o644);
}

function checkSame(job: Job, st: { dev: number; ino: number; isFile(): boolean }): void {
  if (!st.isFile() || st.dev !== job.seen!.dev || st.ino !== job.seen!.ino) throw notPlanned(job);
}

const notPlanned = (job: Job) => new Error(`${job.input} is not the file ${job.follow ? "it was when the run began" : "the directory's walk found"} (replaced meanwhile): not read`);
/** O_NOFOLLOW's refusal of a walked entry that is now a symbolic link (ELOOP), said as what it is. */
const replaced = (job: Job, e: unknown): unknown => (job.seen && (e as NodeJS.ErrnoException).code === "ELOOP" ? notPlanned(job) : e);

const TMP_TAG = ".edgekms-partial";

/** Why an entry of the input tree was skipped (printed, and the run exits 1). */
export interface Skipped { path: string; reason: string }

/**
 * Every regular file under dir, in name order. An entry that cannot be read (a name that is not
 * UTF-8, which Node's string paths cannot name; a file deleted meanwhile; a directory without
 * permission) is reported in `skipped` and the walk goes on: one bad name must not stop the run.
 */
function walk(dir: string, skip: string | undefined, out: Walked[], skipped: Skipped[]): void {
  let names: Buffer[];
  try {
    names = readdirSync(dir, { encoding: "buffer" });
  } catch (e) {
    skipped.push({ path: dir, reason: `cannot read the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    return;
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decoded: string[] = [];
  for (const raw of names) {
    try {
      decoded.push(decoder.decode(raw));
    } catch {
      // Shown byte for byte: printable ASCII as is, any other byte as \xNN.
      const shown = Array.from(raw, (c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`)).join("");
      skipped.push({ path: join(dir, shown), reason: "the name is not valid UTF-8 (not supported: rename the file)" });
    }
  }
  for (const name of decoded.sort()) {
    const p = join(dir, name);
    if (skip && (p === skip || p.startsWith(skip + sep))) continue;
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      skipped.push({ path: p, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      continue;
    }
    if (st.isDirectory()) walk(p, skip, out, skipped);
    else if (st.isFile() && !name.endsWith(TMP_TAG)) out.push({ path: p, size: st.size, mode: st.mode & 0o777, seen: { dev: st.dev, ino: st.ino } });
  }
}

export function planJobs(mode: Mode, a: Args, skipped: Skipped[] = []): Job[] {
  const input = a.strings.get("input");
  const output = a.strings.get("output");
  if (!input) throw new UsageError("--input is required (a file, a directory with --recursive, or - for stdin)");
  if (!output) throw new UsageError("--output is required (a file, a directory, or - for stdout)");
  const suffix = a.strings.get("suffix") ?? (mode === "encrypt" ? ".encrypted" : ".decrypted");
  if (input === "-") {
    if (output !== "-" && existsSync(output) && statSync(output).isDirectory()) throw new UsageError("with --input -, --output must be a file or -, not a directory");
    return [{ input, output }];
  }
  if (!existsSync(input)) throw new UsageError(`input not found: ${input}`);
  const st = statSync(input);
  if (st.isDirectory()) {
    if (!a.booleans.has("recursive")) throw new UsageError(`${input} is a directory: add --recursive`);
    if (output === "-") throw new UsageError("a directory input needs a directory --output, not -");
    if (existsSync(output) && !statSync(output).isDirectory()) throw new UsageError(`--output ${output} is a file; a directory input needs a directory`);
    const inAbs = realpathSync(input);
    const outAbs = existsSync(output) ? realpathSync(output) : resolve(output);
    // Every output would be its input, each replaced in place (as a single file's is refused).
    if (outAbs === inAbs && suffix === "") throw new UsageError(`--output ${output} is the input directory and --suffix is empty: each output would be its input`);
    const files: Walked[] = [];
    walk(inAbs, outAbs === inAbs ? undefined : outAbs, files, skipped);
    return files.map((f) => ({ input: f.path, output: join(outAbs, relative(inAbs, f.path) + suffix), size: f.size, mode: f.mode, seen: f.seen }));
  }
  if (!st.isFile()) throw new UsageError(`input is not a regular file: ${input}`);
  // An output ending in "/" names a directory: made if missing (as the docs say), before any KMS call.
  if (output !== "-" && /[\\/]$/.test(output) && !existsSync(output)) mkdirSync(output, { recursive: true });
  const job: Job = { input, output, size: st.size, mode: st.mode & 0o777, seen: { dev: st.dev, ino: st.ino }, follow: true };
  if (output !== "-" && existsSync(output) && statSync(output).isDirectory()) job.output = join(output, basename(input) + suffix);
  if (job.output !== "-" && existsSync(job.output) && realpathSync(job.output) === realpathSync(input)) throw new UsageError(`the output ${job.output} is the input`);
  return [job];
}

// ---------------------------------------------------------------------------------------------
// Output: a temporary file beside the output, renamed (or linked, so as not to replace) at the end

const partials = new Set<string>();

/** The process's umask, read once (process.umask() without an argument only reads it). */
const UMASK = process.umask();

/**
 * An output's permission bits: the owner may read and write; group and others get read access only
 * where the input gave it (a 0600 secret stays 0600); never a write or execute bit from the input
 * (a 0777 ciphertext must not make a world-writable, executable plaintext); and the umask applies,
 * as to any file the user creates. stdin's output: 0666 & ~umask, as any new file.
 */
export function outputMode(inputMode: number | undefined, umask = UMASK): number {
  const bits = inputMode === undefined ? 0o666 : 0o600 | (inputMode & 0o044);
  return bits & ~umask & 0o777;
}
let signalsHooked = false;

function removePartials(): void {
  for (const p of partials) {
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
  partials.clear();
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  // SIGQUIT (Ctrl-backslash) too: its default action would end the process and leave the partial outputs.
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129], ["SIGQUIT", 131]] as const) {
    process.on(sig, () => {
      removePartials();
      process.stderr.write(`\nedgekms: interrupted (${sig}); partial outputs removed\n`);
      process.exit(code);
    });
  }
  // Any other way out (an unexpected error ends the process): with look-ahead, up to BATCH_WINDOW
  // outputs are open at once, and none may be left behind.
  process.on("exit", removePartials);
}

/** write(chunk, done): done() is called once the sink no longer needs chunk (copied or written). */
interface Sink { write(chunk: Uint8Array, done: () => void): Promise<void>; finish(): Promise<void>; discard(): Promise<void> }

const SINK_BUFFER = 1 << 20;

/**
 * Coalesces the stream's small chunks into 1 MiB blocks, and writes large ones (a 1 MiB slice's frames
 * each, the usual case) as they are, one write at a time while the next chunk is made: the output's
 * I/O overlaps the cryptography, and large chunks are not copied once more.
 */
class BlockWriter {
  /** Made on first use (a message of large chunks never needs them). */
  private readonly bufs: Uint8Array[] = [];
  private cur = 0;
  private used = 0;
  private inflight: Promise<void> | undefined;
  constructor(private readonly flushFn: (b: Uint8Array) => Promise<void>) {}
  /** Writes chunk; done() is called once chunk is no longer needed (copied, or written out). */
  async write(chunk: Uint8Array, done?: () => void): Promise<void> {
    if (chunk.length >= SINK_BUFFER / 2) {
      if (this.used) await this.rotate();
      await this.settle();
      const p = this.flushFn(chunk).finally(() => done?.());
      p.catch(() => undefined); // awaited by the next write, flush() or wipe()
      this.inflight = p;
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, SINK_BUFFER - this.used);
      (this.bufs[this.cur] ??= new Uint8Array(SINK_BUFFER)).set(chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === SINK_BUFFER) await this.rotate();
    }
    done?.();
  }
  /** Starts writing the current block once the previous write finished (its buffer is the next one). */
  private async rotate(): Promise<void> {
    const block = this.bufs[this.cur]!.subarray(0, this.used);
    await this.settle();
    const p = this.flushFn(block);
    p.catch(() => undefined); // awaited by the next rotate() or flush()
    this.inflight = p;
    this.cur ^= 1;
    this.used = 0;
  }
  private async settle(): Promise<void> {
    const p = this.inflight;
    this.inflight = undefined;
    if (p) await p;
  }
  /** Writes what is buffered and waits for every write. */
  async flush(): Promise<void> {
    if (this.used) await this.rotate();
    await this.settle();
  }
  /** Zeroes the blocks (they held plaintext on decrypt), after any write in flight. */
  async wipe(): Promise<void> {
    await this.settle().catch(() => undefined);
    for (const b of this.bufs) b.fill(0);
    this.used = 0;
  }
}

/**
 * A file output is flushed to disk (fdatasync) every this many bytes as it is written, in the
 * background, rather than all at the end: finish() must sync before the output takes its name (so
 * that a crash never leaves a partly written file under it), and a 1 GiB output synced at once
 * took ~0.7 s here after the last byte was made, while the disk was idle before.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

class FileSink implements Sink {
  private written = 0;
  private syncedAt = 0;
  private syncing: Promise<void> | undefined;
  private syncError: unknown;
  private constructor(private fh: FileHandle | undefined, private readonly tmp: string, private readonly target: string, private readonly overwrite: boolean, private readonly mode: number, private readonly block: BlockWriter) {}

  /** After a write: starts a background fdatasync once SYNC_EVERY_BYTES more were written (one at a time). */
  private wrote(n: number): void {
    this.written += n;
    if (this.syncing || this.written - this.syncedAt < SYNC_EVERY_BYTES || !this.fh) return;
    this.syncedAt = this.written;
    this.syncing = this.fh.datasync().then(
      () => { this.syncing = undefined; },
      (e: unknown) => { this.syncError ??= e; this.syncing = undefined; },
    );
  }

  static async create(target: string, overwrite: boolean, mode: number): Promise<FileSink> {
    const dir = dirname(resolve(target));
    const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString("hex")}${TMP_TAG}`);
    hookSignals();
    partials.add(tmp);
    const fh = await open(tmp, "wx", 0o600);
    let sink: FileSink | undefined = undefined;
    const block = new BlockWriter(async (b) => {
      let off = 0;
      while (off < b.length) off += (await sink!.fh!.write(b, off, b.length - off)).bytesWritten;
      sink!.wrote(b.length);
    });
    sink = new FileSink(fh, tmp, target, overwrite, mode, block);
    return sink;
  }

  write(chunk: Uint8Array, done: () => void): Promise<void> {
    return this.block.write(chunk, done);
  }

  async finish(): Promise<void> {
    await this.block.flush();
    await this.block.wipe();
    await this.syncing;
    if (this.syncError !== undefined) throw this.syncError;
    await this.fh!.sync();
    await this.fh!.chmod(this.mode);
    await this.fh!.close();
    this.fh = undefined;
    if (this.overwrite) {
      renameSync(this.tmp, this.target);
    } else {
      // link() fails if the name exists: an output that appeared meanwhile is not replaced either.
      try {
        linkSync(this.tmp, this.target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw new Error(`output exists: ${this.target} (add --overwrite to replace it)`);
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw e;
        if (existsSync(this.target)) throw new Error(`output exists: ${this.target} (add --overwrite to replace it)`);
        renameSync(this.tmp, this.target);
      }
      if (existsSync(this.tmp)) unlinkSync(this.tmp);
    }
    partials.delete(this.tmp);
  }

  async discard(): Promise<void> {
    await this.block.wipe();
    await this.syncing;
    if (this.fh) await this.fh.close().catch(() => undefined);
    this.fh = undefined;
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never made or already gone */
    }
    partials.delete(this.tmp);
  }
}

/** Writes to stdout with back-pressure; with `hold`, keeps everything until finish(). */
const COMMITMENT_HINT = " (--commitment-policy sets the policy: forbid-encrypt-allow-decrypt encrypts and decrypts version 1 suites, require-encrypt-allow-decrypt decrypts them)";

/**
 * What the library would refuse for every file of an encrypt run, refused as a usage error (exit 2)
 * before anything is read or asked of KMS: a suite the commitment policy forbids, the reserved
 * encryption context key (a newcomer's trial: these exited 1 after the KMS call).
 */
function refuseBeforeEncrypting(suite: SuiteId | undefined, policy: CommitmentPolicy | undefined, ctx: ContextSettings): void {
  const p = policy ?? DEFAULT_COMMITMENT_POLICY;
  try {
    checkEncryptSuite(p, suiteInfo(encryptSuite(suite, p)));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}${COMMITMENT_HINT}`);
  }
  if (ctx.pairs && Object.hasOwn(ctx.pairs, ENCODED_SIGNER_KEY)) {
    throw new UsageError(`--encryption-context: the key ${ENCODED_SIGNER_KEY} is reserved (it carries the signed suites' public key)`);
  }
}

/** Bytes the run wrote to stdout (a failure's message says whether part of an output reached it). */
let stdoutBytes = 0;

class StdoutSink implements Sink {
  private held: Uint8Array[] = [];
  private readonly block = new BlockWriter((b) => new Promise<void>((resolveWrite, reject) => {
    stdoutBytes += b.length;
    process.stdout.write(b, (err) => (err ? reject(err) : resolveWrite()));
  }));
  constructor(private readonly hold: boolean) {}
  async write(chunk: Uint8Array, done: () => void): Promise<void> {
    if (!this.hold) return this.block.write(chunk, done);
    this.held.push(Uint8Array.from(chunk));
    done();
  }
  async finish(): Promise<void> {
    if (this.hold) {
      for (const c of this.held) await this.block.write(c, () => c.fill(0));
      this.held = [];
    }
    await this.block.flush();
    await this.block.wipe();
  }
  async discard(): Promise<void> {
    for (const c of this.held) c.fill(0);
    this.held = [];
    await this.block.wipe();
  }
}

// ---------------------------------------------------------------------------------------------
// Progress on stderr (a terminal only)

class Progress {
  private done = 0;
  private last = 0;
  private readonly start = Date.now();
  constructor(private readonly label: string, private readonly total: number | undefined, private readonly on: boolean) {}
  /** Counts bytes done before the bar's first draw (a header read ahead of the file's turn). */
  preset(n: number): void {
    this.done += n;
  }
  add(n: number): void {
    this.done += n;
    const now = Date.now();
    if (this.on && now - this.last >= 100) {
      this.last = now;
      this.draw();
    }
  }
  private draw(): void {
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const secs = Math.max(0.001, (Date.now() - this.start) / 1000);
    const rate = `${mib(this.done / secs)} MiB/s`;
    const cols = process.stderr.columns || 80;
    let line: string;
    if (this.total) {
      const frac = Math.min(1, this.done / this.total);
      const tail = ` ${(frac * 100).toFixed(0).padStart(3)}% ${mib(this.done)}/${mib(this.total)} MiB ${rate}`;
      const name = this.label.length > 30 ? "…" + this.label.slice(-29) : this.label;
      const width = Math.max(10, cols - name.length - tail.length - 4);
      const fill = Math.round(frac * width);
      line = `${name} [${"#".repeat(fill)}${"-".repeat(width - fill)}]${tail}`;
    } else {
      line = `${this.label} ${mib(this.done)} MiB ${rate}`;
    }
    process.stderr.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
  }
  end(): void {
    if (this.on && this.last) process.stderr.write("\r\x1b[K");
  }
}

// ---------------------------------------------------------------------------------------------
// One message

interface Options {
  mode: Mode;
  /** Look ahead over the files (BATCH_WINDOW) and batch their KMS calls. */
  batch: boolean;
  materials: MaterialsManager | undefined;
  keyring: Keyring;
  encrypt: Pick<EncryptOptions, "suite" | "frameLength" | "maxEncryptedDataKeys" | "commitmentPolicy" | "encryptionContext">;
  decrypt: Pick<DecryptOptions, "maxEncryptedDataKeys" | "commitmentPolicy" | "requiredEncryptionContext" | "requiredEncryptionContextKeys">;
  decryptUnsigned: boolean;
  overwrite: boolean;
  buffer: boolean;
  progress: boolean;
}

/**
 * Read size: 1 MiB, so that large frames get the library's 1 MiB slices (with 256 KiB reads and
 * slices a 64 KiB-frame file ran at ~60% of the speed; docs/envelope.md, "Throughput and threads").
 */
const READ_CHUNK = 1 << 20;
/**
 * Read size while the signature is hashed on the worker thread: the library then slices by 512 KiB
 * (sign-node.ts WORKER_SLICE), the worker's SHA-384 bounds the speed, and the smaller buffers keep
 * such a file (whose worker adds ~12 MB) further below 100 MB.
 */
const WORKER_READ_CHUNK = 512 * 1024;

/**
 * A signed file at least this large, in frames at least this long, has its signature hashed on a
 * worker thread (src/envelope/sign-node.ts): there SHA-384 on the main thread bounds the throughput.
 * In shorter frames the per-frame work bounds it instead, and one thread already runs well ahead of
 * the AWS Encryption SDK (docs/benchmarks.md), so the worker's ~14 MB of memory is not spent.
 */
const SIGNATURE_WORKER_BYTES = 64 * 1024 * 1024;
const SIGNATURE_WORKER_FRAME = 16 * 1024;

/**
 * Files prepared ahead of their turn when batching (see Prepared): their data keys are asked for,
 * or decrypted, together — a few batch requests per window instead of a request per file and key.
 * Each holds an open temporary file and a begun message (a few kB, no input buffers), so the
 * window bounds memory and descriptors whatever the number of files. Refilled at half.
 */
const BATCH_WINDOW = 256;

/** The first bytes of a message file: its header (decrypt reads it ahead; the worker decision uses it). */
interface Head { bytes: Uint8Array; header: MessageHeader }

/** Bytes of a file read to find its header: headers are a few hundred bytes (one per wrapping key and context). */
const HEAD_READ = 64 * 1024;
/** One buffer for every header read (synchronous, so never two at once); ciphertext only. */
const headScratch = new Uint8Array(HEAD_READ);

/** A message file's header, if its first HEAD_READ bytes hold one (undefined: longer, or not a message: decryption says so). */
function readHead(job: Job): Head | undefined {
  try {
    const fd = openInputSync(job);
    let n: number;
    try {
      n = readSync(fd, headScratch, 0, HEAD_READ, 0);
    } finally {
      closeSync(fd);
    }
    const h = parseHeader(headScratch.subarray(0, n))?.header;
    return h ? { bytes: headScratch.slice(0, h.headerLength), header: h } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the job's message is signed with long frames: the options (encrypt) or the file's header (decrypt). */
function signedLongFrames(o: Options, head: Head | undefined): boolean {
  if (o.mode === "encrypt") {
    const suite = encryptSuite(o.encrypt.suite, o.encrypt.commitmentPolicy);
    return !!SUITES[suite]?.signature && (o.encrypt.frameLength ?? DEFAULT_FRAME_LENGTH) >= SIGNATURE_WORKER_FRAME;
  }
  return !!head && !!SUITES[head.header.suite]?.signature && head.header.frameLength >= SIGNATURE_WORKER_FRAME;
}

/**
 * Frees a chunk the stream handed over, once the sink copied or wrote it: zeroed first when it is plaintext,
 * then its ArrayBuffer detached (transfer(0)), which releases the memory at once instead of at the
 * next full garbage collection — chunks that waited in the stream's queue were promoted to the old
 * generation, and ~40 MB of them would otherwise accumulate between collections. A chunk read from
 * a stream belongs to the reader; only the large ones (batches of frames, each in a buffer of its
 * own that it starts) are detached.
 */
function release(chunk: Uint8Array, plaintext: boolean): void {
  if (plaintext) chunk.fill(0);
  const buf = chunk.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  if (chunk.byteOffset === 0 && chunk.byteLength >= 16384 && typeof buf.transfer === "function" && !(buf instanceof SharedArrayBuffer)) buf.transfer(0);
}

/** The object without its undefined properties (options left out take the library's defaults). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Feeds the input to the writer. A file is read into two buffers used in turn (the next read
 * overlaps the processing of the previous chunk, and a buffer is reused only after the stream has
 * consumed it), so that streaming makes no garbage per chunk: freed buffers would otherwise pile up
 * until the next full garbage collection and inflate the resident memory.
 */
async function feed(job: Job, writer: WritableStreamDefaultWriter<Uint8Array>, stop: () => boolean, count: (n: number) => void, chunk = READ_CHUNK, from = 0): Promise<void> {
  if (job.input === "-") {
    for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
      if (stop()) return;
      await writer.ready;
      count(chunk.length);
      writer.write(chunk).catch(() => undefined); // a failure surfaces through ready/close and the readable
    }
    return;
  }
  const fh = await openInput(job);
  try {
    const bufs = [new Uint8Array(chunk), new Uint8Array(chunk)];
    let pending: Promise<void> | undefined;
    let position = from;
    for (let i = 0; ; i ^= 1) {
      const { bytesRead } = await fh.read(bufs[i], 0, chunk, position);
      position += bytesRead;
      if (pending) await pending; // the other buffer is free again
      pending = undefined;
      if (bytesRead === 0 || stop()) return;
      count(bytesRead);
      pending = writer.write(bufs[i].subarray(0, bytesRead));
      pending.catch(() => undefined); // awaited after the next read; not an unhandled rejection meanwhile
    }
  } finally {
    await fh.close();
  }
}

/**
 * A job made ready ahead of its turn: its output opened, its message begun — the data key asked for
 * (encrypt), or the header written and its data key being decrypted (decrypt) — with no input read
 * beyond the header. The CLI keeps a window of these (BATCH_WINDOW) so that the KMS calls of many
 * files go out together, as batch requests (kms-client.ts).
 */
interface Prepared {
  job: Job;
  /** Opens the output when the file's turn comes: the window holds no descriptor (RLIMIT_NOFILE may be 256 or less). */
  openSink: () => Promise<Sink>;
  stream: ReturnType<typeof encryptStream>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The hash worker's start, for a large signed file in long frames. */
  worker?: Promise<boolean>;
  /** Decrypt: the header, written already; the input is fed from its end. */
  headerWrite?: Promise<void>;
  offset: number;
}

/** Prepares a job once the job before it (`before`) has begun its message: the messages begin in file order. */
async function prepare(job: Job, o: Options, before: Promise<unknown>): Promise<Prepared> {
  try {
    if (job.output !== "-" && !o.overwrite && existsSync(job.output)) throw new Error(`output exists: ${job.output} (add --overwrite to replace it)`);
    // The output's directory first: no KMS call is made for an output whose directory cannot be made.
    if (job.output !== "-") mkdirSync(dirname(resolve(job.output)), { recursive: true });
  } finally {
    // In file order (a caching manager's entries are used in that order, as without look-ahead);
    // the outputs were opened meanwhile, all at once.
    await before;
  }
  const head = o.mode === "decrypt" && job.input !== "-" ? readHead(job) : undefined;
  // A large signed file in long frames: the signature's hash runs on a worker thread (sign-node.ts),
  // started now (~50 ms, beside the KMS call) and waited for before the input is read, so that the
  // message finds it running and uses it from its first bytes.
  const worker = job.input !== "-" && (job.size ?? 0) >= SIGNATURE_WORKER_BYTES && signedLongFrames(o, head) ? startSignatureWorker() : undefined;
  const keys = o.materials ? { materials: o.materials } : { keyring: o.keyring };
  const stream = o.mode === "encrypt"
    ? encryptStream(defined({ ...keys, ...o.encrypt, plaintextLength: job.size }))
    : decryptStream(defined({ ...keys, ...o.decrypt }));
  // The temporary output is opened in run(), at the file's turn: only the KMS calls run ahead, so
  // a window of 256 files never holds 256 descriptors (EMFILE under ulimit -n 200: attack review).
  const openSink = (): Promise<Sink> => (job.output === "-" ? Promise.resolve(new StdoutSink(o.buffer)) : FileSink.create(job.output, o.overwrite, outputMode(job.mode)));
  stream.header.catch(() => undefined); // observed by run(); never an unhandled rejection
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let headerWrite: Promise<void> | undefined;
  if (head) {
    // The header alone: the decryptor checks it and decrypts the data key now (with other files'
    // Decrypt calls, when batched), the body waits for this file's turn.
    headerWrite = writer.write(head.bytes);
    headerWrite.catch(() => undefined); // observed by run()
  }
  return { job, openSink, stream, writer, reader, worker, headerWrite, offset: head ? head.bytes.length : 0 };
}

async function run(p: Prepared, o: Options): Promise<{ header: MessageHeader; bytesIn: number; bytesOut: number }> {
  const { job, stream, writer, reader } = p;
  let sink: Sink;
  try {
    sink = await p.openSink();
  } catch (e) {
    reader.cancel(e).catch(() => undefined);
    writer.abort(e).catch(() => undefined);
    throw e;
  }
  const progress = new Progress(printable(job.input === "-" ? "stdin" : relative(process.cwd(), job.input) || job.input), job.size, o.progress);
  let firstError: unknown;
  let bytesIn = p.offset, bytesOut = 0;
  progress.preset(p.offset);
  const failWith = (e: unknown) => {
    if (firstError === undefined) firstError = e;
    reader.cancel(e).catch(() => undefined);
    writer.abort(e).catch(() => undefined);
  };
  const writing = (async () => {
    if (p.headerWrite) await p.headerWrite;
    const hashing = p.worker ? await p.worker : false;
    await feed(job, writer, () => firstError !== undefined, (n) => {
      bytesIn += n;
      progress.add(n);
    }, hashing ? WORKER_READ_CHUNK : READ_CHUNK, p.offset);
    if (firstError === undefined) await writer.close();
  })();
  const reading = (async () => {
    const header = await stream.header;
    if (o.mode === "decrypt" && o.decryptUnsigned && SUITES[header.suite].signature) {
      throw new EnvelopeError("INVALID_ARGUMENT", `--decrypt-unsigned: the message is signed (suite ${hex(header.suite)} ${SUITES[header.suite].name})`);
    }
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytesOut += value.length;
      await sink.write(value, () => release(value, o.mode === "decrypt"));
    }
    return header;
  })();
  const [, header] = await Promise.all([writing.catch(failWith), reading.catch(failWith)]);
  progress.end();
  if (firstError !== undefined) {
    await sink.discard();
    throw firstError;
  }
  try {
    await sink.finish();
  } catch (e) {
    await sink.discard();
    throw e;
  }
  return { header: header as MessageHeader, bytesIn, bytesOut };
}

function metadataLine(mode: Mode, job: Job, header: MessageHeader, bytesIn: number, bytesOut: number): string {
  const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
  const suite = SUITES[header.suite];
  return JSON.stringify({
    mode,
    input: job.input === "-" ? "-" : resolve(job.input),
    output: job.output === "-" ? "-" : resolve(job.output),
    header: {
      version: header.version,
      algorithm: suite.name,
      algorithm_id: hex(header.suite),
      message_id: b64(header.messageId),
      encryption_context: header.encryptionContext,
      encrypted_data_keys: header.encryptedDataKeys.map((k) => ({ key_provider: { provider_id: k.providerId, key_info: k.providerInfo }, encrypted_data_key: b64(k.ciphertext) })),
      content_type: header.contentType,
      frame_length: header.frameLength,
    },
    wrapping_keys: header.encryptedDataKeys.filter((k) => k.providerId === "aws-kms").map((k) => k.providerInfo),
    bytes_in: bytesIn,
    bytes_out: bytesOut,
  }) + "\n";
}

export async function envelopeCommand(mode: Mode, argv: string[]): Promise<number> {
  let a: Args;
  let jobs: Job[];
  let opts: Options;
  let metaFd: number | "stdout" | undefined;
  const problems: Skipped[] = [];
  try {
    a = parseEnvelopeArgs(mode, argv);
    if (a.booleans.has("help")) {
      console.log(ENVELOPE_USAGE);
      return 0;
    }
    jobs = planJobs(mode, a, problems);
    const policy = a.strings.has("commitment-policy") ? parseCommitmentPolicy(a.strings.get("commitment-policy")!) : undefined;
    const ctx = parseContext(mode, a.multi.get("encryption-context"));
    const maxEdks = integer("max-encrypted-data-keys", a.strings.get("max-encrypted-data-keys"), 1, 65535);
    // Batch calls where they help: a run of several files, unless --no-batch.
    const batch = jobs.length > 1 && !a.booleans.has("no-batch");
    const { keyring } = buildKeyring(mode, a, batch);
    const caching = parseCaching(a.multi.get("caching"));
    const suite = a.strings.has("algorithm") ? parseSuite(a.strings.get("algorithm")!) : undefined;
    if (mode === "encrypt") refuseBeforeEncrypting(suite, policy, ctx);
    const meta = a.strings.get("metadata-output");
    if (meta && a.booleans.has("suppress-metadata")) throw new UsageError("--metadata-output and --suppress-metadata exclude each other");
    if (meta === "-" && jobs.some((j) => j.output === "-")) throw new UsageError("--metadata-output - and --output - would both write to stdout");
    opts = {
      mode,
      batch,
      keyring,
      materials: caching ? new CachingMaterialsManager({ keyring, ...caching }) : undefined,
      encrypt: {
        suite,
        // At most what decrypt accepts by default: a longer frame makes a message no default decryptor
        // (ours, the CLI's) would read, and one frame is held whole in memory on decrypt.
        frameLength: integer("frame-length", a.strings.get("frame-length"), 1, DEFAULT_MAX_FRAME),
        maxEncryptedDataKeys: maxEdks,
        commitmentPolicy: policy,
        encryptionContext: ctx.pairs,
      },
      decrypt: {
        maxEncryptedDataKeys: maxEdks,
        commitmentPolicy: policy,
        requiredEncryptionContext: ctx.pairs,
        requiredEncryptionContextKeys: ctx.keys,
      },
      decryptUnsigned: a.booleans.has("decrypt-unsigned"),
      overwrite: a.booleans.has("overwrite"),
      buffer: a.booleans.has("buffer"),
      progress: !a.booleans.has("quiet") && !!process.stderr.isTTY,
    };
    if (opts.buffer && !jobs.some((j) => j.output === "-")) throw new UsageError("--buffer is for decrypting to stdout (files are renamed into place only after the whole message verified)");
    if (meta === "-") metaFd = "stdout";
    else if (meta) {
      mkdirSync(dirname(resolve(meta)), { recursive: true });
      metaFd = openMetadataOutput(meta, a.booleans.has("overwrite-metadata"), jobs);
    }
    if (!opts.overwrite) {
      const existing = jobs.filter((j) => j.output !== "-" && existsSync(j.output)).map((j) => j.output);
      if (existing.length) throw new UsageError(`output exists: ${existing.slice(0, 5).join(", ")}${existing.length > 5 ? ` and ${existing.length - 5} more` : ""} (add --overwrite to replace)`);
    }
    if (!jobs.length && !problems.length) process.stderr.write(`edgekms: no files under ${printable(a.strings.get("input")!)}\n`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof EnvelopeError) {
      console.error(`edgekms ${mode}: ${printable(e.message)}`);
      if (e instanceof UsageError) console.error(`(edgekms ${mode} --help lists the options)`);
      return 2;
    }
    throw e;
  }
  let failures = 0;
  for (const p of problems) {
    failures++;
    process.stderr.write(`edgekms ${mode}: ${printable(p.path)}: skipped: ${p.reason}\n`);
  }
  // Look-ahead: up to BATCH_WINDOW files prepared (their KMS calls under way, batched) while the
  // first of them streams; refilled, in file order, once half of them are done. Without batching
  // (one file, or --no-batch) a file is prepared when its turn comes, as the single calls need.
  const window = opts.batch ? BATCH_WINDOW : 1;
  const ahead: Array<Promise<Prepared>> = [];
  let next = 0;
  let begun: Promise<unknown> = Promise.resolve();
  const fill = () => {
    if (ahead.length > window >> 1) return;
    while (next < jobs.length && ahead.length < window) {
      // All at once: their KMS calls are made within a moment, and go out as a few batch requests.
      const p = prepare(jobs[next++], opts, begun);
      p.catch(() => undefined); // observed in its turn
      begun = p.catch(() => undefined);
      ahead.push(p);
    }
  };
  try {
    for (const job of jobs) {
      fill();
      const prepared = ahead.shift()!;
      try {
        const r = await run(await prepared, opts);
        if (metaFd !== undefined) {
          const line = metadataLine(mode, job, r.header, r.bytesIn, r.bytesOut);
          if (metaFd === "stdout") process.stdout.write(line);
          else writeSync(metaFd, line);
        }
      } catch (e) {
        failures++;
        const err = e as Error & { code?: string };
        const where = job.input === "-" ? "stdin" : job.input;
        const hint = err.code === "TOO_MANY_DATA_KEYS" && mode === "decrypt" ? " (--max-encrypted-data-keys N allows more)"
          : err.code === "COMMITMENT_POLICY" ? COMMITMENT_HINT
          : "";
        const output = job.output !== "-" ? " (no output written)" : stdoutBytes > 0 ? " (output incomplete)" : " (nothing written to stdout)";
        process.stderr.write(`edgekms ${mode}: ${printable(where)}: ${printable(err.message)}${hint}${output}\n`);
      }
    }
  } finally {
    if (typeof metaFd === "number") closeSync(metaFd);
  }
  return failures ? 1 : 0;
}
