// Authentication of a request: SigV4 against the credential of its access key.
import type { Env } from "../env.js";
import { KmsError } from "../protocol/errors.js";
import { checkScope, parseAuthorization, verifySignature } from "../protocol/sigv4.js";
import type { Principal } from "../vault/identity-store.js";
import { lookupCredential } from "./credentials.js";

export interface Authenticated {
  principal: Principal;
  region: string;
}

/** Returns the caller and the region of its credential scope, or throws the AWS auth error. */
export async function authenticate(env: Env, request: Request, url: URL, body: Uint8Array, now: number): Promise<Authenticated> {
  const auth = parseAuthorization(request.headers.get("authorization"));
  const xAmzDate = checkScope(auth, request.headers, new Set(Object.keys(env.REGIONS)), now);
  if (request.headers.has("x-amz-security-token")) {
    throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  const credential = await lookupCredential(env, auth.accessKeyId, now);
  if (!credential) throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  await verifySignature(request.method, url, request.headers, body, auth, xAmzDate, credential);
  const { secretAccessKey: _secret, ...principal } = credential;
  return { principal, region: auth.region };
}
