// AWS Signature Version 4 verification (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html): parse the Authorization header,
// rebuild the canonical request from the signed headers, derive (and cache) the signing
// key, and compare signatures in constant time.
import { clip, KmsError } from "./errors.js";
import { timingSafeEqual } from "../crypto/compare.js";
import { sha256Hex, toHex } from "../crypto/hex.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const SERVICE = "kms";

export interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface Credential {
  secretAccessKey: string;
}

const incomplete = (m: string) => new KmsError("IncompleteSignatureException", m);
const invalid = (m: string) => new KmsError("InvalidSignatureException", m);

/** The most characters of any header text an error repeats (it is unauthenticated input): a region, a pair, a date. */
export const MAX_SHOWN_REGION = 64;
/** The caller's text as an error repeats it: at most MAX_SHOWN_REGION characters. */
const shown = (text: string): string => clip(text, MAX_SHOWN_REGION);

/** The message for a credential scoped to a region not served: the caller's text repeated at most MAX_SHOWN_REGION characters. */
export function unservedRegion(region: string, served: ReadonlySet<string>): string {
  return `Credential should be scoped to a valid region, not '${shown(region)}'. This EdgeKMS serves ${[...served].join(", ")}.`;
}

/** Step 1: the Authorization header's three components. */
export function parseAuthorization(header: string | null): ParsedAuthorization {
  if (!header) throw new KmsError("MissingAuthenticationTokenException", "Missing Authentication Token");
  const space = header.indexOf(" ");
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${shown(algorithm)}'. Only ${ALGORITHM} is supported.`);
  }
  // Without a prototype, so that a pair named __proto__ or constructor is data like any other
  // and no inherited property can stand in for a missing component.
  const params: Record<string, string> = Object.create(null);
  for (const part of header.slice(space + 1).split(",")) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf("=");
    if (eq < 0) throw incomplete(`'${shown(p)}' not a valid key=value pair (missing equal-sign) in Authorization header: '${shown(header)}'.`);
    params[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const missing = ["Credential", "Signature", "SignedHeaders"].filter((k) => !params[k]);
  if (missing.length) throw incomplete(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(" "));
  const scope = params.Credential.split("/");
  if (scope.length !== 5 || scope.some((s) => s === "")) {
    throw incomplete(`Credential should be scoped to a valid region, not '${shown(scope[2] ?? "")}'. `);
  }
  if (!/^[0-9a-f]{64}$/.test(params.Signature)) throw invalid("Signature must be 64 lowercase hex characters.");
  if (scope[4] !== "aws4_request") throw invalid(`Credential should be scoped with a valid terminator: 'aws4_request', not '${shown(scope[4]!)}'.`);
  return {
    accessKeyId: scope[0],
    scopeDate: scope[1],
    region: scope[2],
    service: scope[3],
    signedHeaders: params.SignedHeaders.split(";"),
    signature: params.Signature,
  };
}

const pad2 = (n: number) => String(n).padStart(2, "0");
/** ISO 8601 basic format, as in X-Amz-Date. */
export function amzDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
}

function parseAmzDate(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  // Date.UTC rolls 32 hours into the next day: only a real instant is a date (it prints back the same).
  return Number.isNaN(t) || amzDate(t) !== v ? undefined : t;
}

/**
 * Steps 2–3: scope checks and the ±5 minute clock window. Returns the request time. `unserved`
 * words the error for a region not served (src/auth says more for an AWS Region).
 */
export function checkScope(
  auth: ParsedAuthorization,
  headers: Headers,
  servedRegions: ReadonlySet<string>,
  now: number,
  unserved: (region: string, served: ReadonlySet<string>) => string = unservedRegion,
): string {
  const xAmzDate = headers.get("x-amz-date");
  if (!xAmzDate) throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const t = parseAmzDate(xAmzDate);
  if (t === undefined) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${shown(xAmzDate)}'.`);
  if (auth.service !== SERVICE) throw invalid(`Credential should be scoped to correct service: '${SERVICE}'. `);
  if (!servedRegions.has(auth.region)) throw invalid(unserved(auth.region, servedRegions));
  if (auth.scopeDate !== xAmzDate.slice(0, 8)) {
    throw invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shown(auth.scopeDate)}' != '${shown(xAmzDate.slice(0, 8))}', from '${shown(xAmzDate)}'.`);
  }
  // "The host header must be included as a signed header … Any x-amz-* headers that you plan to
  // include in your request must also be added" (AWS docs, "Create a signed AWS API request",
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). X-Amz-Target
  // names the operation: left unsigned, one captured request could be replayed as any other
  // operation taking the same body (DescribeKey as DisableKey). A request without it runs nothing.
  if (!auth.signedHeaders.includes("host")) throw invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  if (!auth.signedHeaders.includes("x-amz-date")) throw invalid("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  if (headers.has("x-amz-target") && !auth.signedHeaders.includes("x-amz-target")) {
    throw invalid("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (t < now - MAX_CLOCK_SKEW_MS) {
    throw invalid(`Signature expired: ${xAmzDate} is now earlier than ${amzDate(now - MAX_CLOCK_SKEW_MS)} (${amzDate(now)} - 5 min.)`);
  }
  if (t > now + MAX_CLOCK_SKEW_MS) {
    throw invalid(`Signature not yet current: ${xAmzDate} is still later than ${amzDate(now + MAX_CLOCK_SKEW_MS)} (${amzDate(now)} + 5 min.)`);
  }
  return xAmzDate;
}

const enc = new TextEncoder();
// The `as BufferSource` casts: this module is also compiled with Node's DOM typings (the clients'
// signer, src/cli/sign.ts, shares its steps), which want views on an ArrayBuffer; these always are.
async function hmac(key: Uint8Array | CryptoKey, data: string): Promise<Uint8Array> {
  const k = key instanceof Uint8Array ? await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]) : key;
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}

// Signing keys per (access key, date, region, service), so the four-HMAC chain runs once a day.
const signingKeys = new Map<string, { secret: string; key: CryptoKey }>();
const MAX_CACHED_SIGNING_KEYS = 10_000;

/** Step 7: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export async function signingKey(accessKeyId: string, secret: string, date: string, region: string, service = SERVICE): Promise<CryptoKey> {
  const id = `${accessKeyId}/${date}/${region}/${service}`;
  const hit = signingKeys.get(id);
  if (hit && hit.secret === secret) return hit.key;
  const kDate = await hmac(enc.encode(`AWS4${secret}`), date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const kSigning = await hmac(kService, "aws4_request");
  const key = await crypto.subtle.importKey("raw", kSigning as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  if (signingKeys.size >= MAX_CACHED_SIGNING_KEYS) signingKeys.clear();
  signingKeys.set(id, { secret, key });
  return key;
}

function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Canonical URI (normalised, each segment URI-encoded) and canonical query string. */
function canonicalUriAndQuery(url: URL): [string, string] {
  const segments: string[] = [];
  for (const seg of url.pathname.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") segments.pop();
    else segments.push(uriEncode(decodeURIComponent(seg)));
  }
  const path = "/" + segments.join("/") + (url.pathname.length > 1 && url.pathname.endsWith("/") && segments.length ? "/" : "");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  return [path, query];
}

/** Step 5: the canonical request. */
export function canonicalRequest(method: string, url: URL, headers: Pick<Headers, "get">, signedHeaders: string[], payloadHash: string): string {
  const [path, query] = canonicalUriAndQuery(url);
  const lines = signedHeaders.map((name) => `${name}:${(headers.get(name) ?? "").trim().replace(/\s+/g, " ")}\n`);
  return [method, path, query, lines.join(""), signedHeaders.join(";"), payloadHash].join("\n");
}

/**
 * Steps 6–8: the string to sign of a canonical request and its signature (lowercase hex) under the
 * credential scope. One implementation for both sides: the verifier below and the clients' signer
 * (src/cli/sign.ts: the CLI, the envelope KMS client, the console, the tests).
 */
export async function signatureOf(
  canonical: string,
  xAmzDate: string,
  scope: { accessKeyId: string; scopeDate: string; region: string; service: string },
  secret: string,
): Promise<string> {
  const stringToSign = [ALGORITHM, xAmzDate, `${scope.scopeDate}/${scope.region}/${scope.service}/aws4_request`, await sha256Hex(canonical)].join("\n");
  const key = await signingKey(scope.accessKeyId, secret, scope.scopeDate, scope.region, scope.service);
  return toHex(await hmac(key, stringToSign));
}

/** Constant-time equality of two hex strings. */
export const hexEqual = timingSafeEqual;

/** Steps 5–8 after the scope checks: throws InvalidSignatureException on any mismatch. */
export async function verifySignature(
  method: string,
  url: URL,
  headers: Headers,
  body: Uint8Array,
  auth: ParsedAuthorization,
  xAmzDate: string,
  credential: Credential,
): Promise<void> {
  // The signature always covers the body's own SHA-256. UNSIGNED-PAYLOAD (an S3 option, AWS docs
  // "Authenticating Requests: Using the Authorization Header", https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html)
  // would leave the body free to change under a valid signature, so it is refused here, as is
  // any claimed hash that is not the body's.
  const payloadHash = await sha256Hex(body);
  const claimed = headers.get("x-amz-content-sha256");
  if (claimed === "UNSIGNED-PAYLOAD") {
    throw invalid("'x-amz-content-sha256: UNSIGNED-PAYLOAD' is not accepted: the signature must cover the SHA-256 of the request body.");
  }
  if (claimed !== null && !hexEqual(claimed.toLowerCase(), payloadHash)) {
    throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const canonical = canonicalRequest(method, url, headers, auth.signedHeaders, payloadHash);
  const expected = await signatureOf(canonical, xAmzDate, { ...auth, service: SERVICE }, credential.secretAccessKey);
  if (!hexEqual(expected, auth.signature)) {
    throw invalid("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
}
