// Authentication of a request: SigV4 against the credential of its access key.
import type { Env } from "../env.js";
import { KmsError } from "../protocol/errors.js";
import { checkScope, parseAuthorization, verifySignature } from "../protocol/sigv4.js";
import type { Principal } from "../vault/identity-store.js";
import type { Caller } from "./identity-policy.js";
import { lookupCredential } from "./credentials.js";

export interface Authenticated {
  principal: Caller;
  region: string;
}

/** What authentication saw, filled in as it goes, so that even a rejected request can be attributed in its audit record. */
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
  const { secretAccessKey: _secret, ...principal } = credential;
  observed.principal = principal;
  await verifySignature(request.method, url, request.headers, body, auth, xAmzDate, credential);
  return { principal, region: auth.region };
}
