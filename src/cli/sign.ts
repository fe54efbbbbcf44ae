// SigV4 signing of a KMS JSON 1.1 request (POST, a string body) on WebCrypto alone, so that it runs
// in Node (the CLI, the envelope KMS client, benchmarks), browsers (the console) and workerd (tests).
// The algorithm is AWS's (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
// and its steps are the server's own: the canonical request, the signing key and the signature come
// from src/protocol/sigv4.ts, which verifies them, so the two sides cannot drift apart. It replaces
// @smithy/signature-v4, whose modules (with @smithy/core's) added ~15 MB to the resident memory of
// every CLI process; test/node/sign.test.ts checks that both give the same Authorization header.
import { ALGORITHM, amzDate, canonicalRequest, signatureOf } from "../protocol/sigv4.js";
import { sha256Hex } from "../crypto/hex.js";

export interface SignOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service?: string;
  date?: Date;
  /** Also sign x-amz-content-sha256, as the JS SDK v3 does. */
  contentSha256?: boolean;
  extraHeaders?: Record<string, string>;
  /** Headers sent but left out of SignedHeaders (lowercase names; tests of the verifier use it). */
  unsignableHeaders?: Set<string>;
}

/**
 * Headers never signed, as the AWS SDKs leave them out (proxies may change them): the same list as
 * @smithy/signature-v4's, so that a header a caller adds is signed (or not) as the SDK would.
 */
const UNSIGNABLE = new Set([
  "authorization", "cache-control", "connection", "expect", "from", "keep-alive", "max-forwards", "pragma", "referer", "te", "trailer",
  "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
]);

/**
 * The headers as canonicalRequest reads them, as a Headers object would give them: by lower-case
 * name, each value without its leading and trailing whitespace, the values of names that differ
 * only in case joined with ", ". Not a Headers object: in Node the global Headers is undici's, and
 * its first use loads undici (10-25 ms and several MB on a process's first request, Node 22.23).
 */
export function headerLookup(headers: Record<string, string>): Pick<Headers, "get"> {
  const byName = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase(), v = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    const before = byName.get(n);
    byName.set(n, before === undefined ? v : `${before}, ${v}`);
  }
  return { get: (name) => byName.get(name.toLowerCase()) ?? null };
}

/**
 * Headers that would be signed as one thing and sent as another are refused: a name given twice in
 * different cases (fetch joins the two values, node:http sends the last: fetch-node.ts) and values
 * outside printable ASCII and tab (node:http sends them as UTF-8 bytes, which the server's Headers reads one character per byte).
 */
function refuseAmbiguous(headers: Record<string, string>): void {
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new TypeError(`header '${name}' is given twice (header names are not case-sensitive)`);
    seen.add(lower);
    if (!/^[\t\x20-\x7e]*$/.test(value)) throw new TypeError(`the value of header '${name}' has characters other than printable ASCII`);
  }
}

/** The headers of a signed POST of `body` to `url` with X-Amz-Target `target` (TrentService. unless it has a prefix). */
export async function signRequest(url: string, target: string, body: string, o: SignOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const xAmzDate = amzDate((o.date ?? new Date()).getTime());
  const scope = { accessKeyId: o.accessKeyId, scopeDate: xAmzDate.slice(0, 8), region: o.region, service: o.service ?? "kms" };
  const headers: Record<string, string> = {
    host: u.host,
    "content-type": "application/x-amz-json-1.1",
    "x-amz-target": target.includes(".") ? target : `TrentService.${target}`,
    ...(o.extraHeaders ?? {}),
    "x-amz-date": xAmzDate,
  };
  refuseAmbiguous(headers);
  const given = Object.keys(headers).find((k) => k.toLowerCase() === "x-amz-content-sha256");
  // A given x-amz-content-sha256 is what the canonical request carries as the payload hash (the
  // SigV4 rule; the server then refuses one that is not the body's hash, or UNSIGNED-PAYLOAD).
  const payloadHash = given ? headers[given]! : await sha256Hex(body);
  if (o.contentSha256 && !given) headers["x-amz-content-sha256"] = payloadHash;
  const signed = Object.keys(headers)
    .map((k) => k.toLowerCase())
    .filter((k) => !UNSIGNABLE.has(k) && !o.unsignableHeaders?.has(k))
    .sort();
  const canonical = canonicalRequest("POST", u, headerLookup(headers), signed, payloadHash);
  const signature = await signatureOf(canonical, xAmzDate, scope, o.secretAccessKey);
  headers.authorization = `${ALGORITHM} Credential=${scope.accessKeyId}/${scope.scopeDate}/${scope.region}/${scope.service}/aws4_request, SignedHeaders=${signed.join(";")}, Signature=${signature}`;
  return headers;
}
