// Authentication of a request: SigV4 against the credential of its access key.
import type { Env } from "../env.js";
import { KmsError } from "../protocol/errors.js";
import { checkScope, parseAuthorization, verifySignature } from "../protocol/sigv4.js";
import type { Principal } from "../vault/identity-store.js";
import type { Caller } from "./caller.js";
import { lookupCredential } from "./credentials.js";

export interface Authenticated {
  principal: Caller;
  region: string;
}

/**
 * What authentication saw, filled in as it goes, so that even a rejected request can be
 * attributed in its audit record: the access key id and region it claimed, and the principal
 * once (and only once) its signature is verified.
 */
export interface Observed {
  accessKeyId?: string;
  region?: string;
  principal?: Principal;
}

/** Returns the caller and the region of its credential scope, or throws the AWS auth error. */
export async function authenticate(env: Env, request: Request, url: URL, body: Uint8Array, now: number, observed: Observed = {}): Promise<Authenticated> {
  const auth = parseAuthorization(request.headers.get("authorization"));
  observed.accessKeyId = auth.accessKeyId;
  if (env.REGIONS[auth.region]) observed.region = auth.region;
  const xAmzDate = checkScope(auth, request.headers, new Set(Object.keys(env.REGIONS)), now);
  if (request.headers.has("x-amz-security-token")) {
    throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  const credential = await lookupCredential(env, auth.accessKeyId, now);
  if (!credential) throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  await verifySignature(request.method, url, request.headers, body, auth, xAmzDate, credential);
  // Named only now: before the signature is verified, the caller has shown no more than that it
  // knows an access key id, and its records must not speak for that key's principal.
  const { secretAccessKey: _secret, ...principal } = credential;
  observed.principal = principal;
  return { principal, region: auth.region };
}
