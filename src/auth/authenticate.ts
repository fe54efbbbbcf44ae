// Authentication of a request: SigV4 against the credential of its access key.
import { placementOf, type Env } from "../env.js";
import { KmsError } from "../protocol/errors.js";
import { checkScope, parseAuthorization, unservedRegion, verifySignature } from "../protocol/sigv4.js";
import { AWS_REGIONS } from "../kms/aws-regions.js";
import type { Principal } from "../vault/identity-store.js";
import type { Caller } from "./caller.js";
import { lookupCredential } from "./credentials.js";

/** The message for a request with X-Amz-Security-Token. */
export const SESSION_TOKEN_REFUSED =
  "The security token included in the request is invalid: EdgeKMS does not support temporary credentials (session tokens from STS, SSO or an assumed role). Sign with a long-term access key: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN unset.";

/**
 * The error for a credential scoped to a region not served. An AWS Region there is a client
 * still set up for AWS (AWS_REGION, a profile's region): it is told which regions are served and
 * where to set one. Anything else gets SigV4's bounded words.
 */
export function unservedAwsRegion(region: string, served: ReadonlySet<string>): string {
  if (!AWS_REGIONS.has(region)) return unservedRegion(region, served);
  return `Credential should be scoped to a valid region, not '${region}'. ${region} is an AWS Region this EdgeKMS does not serve; it serves ${[...served].join(", ")}. Set the client's region to one of them (AWS_REGION and AWS_DEFAULT_REGION, --region, or region_name=).`;
}

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
  if (placementOf(env, auth.region)) observed.region = auth.region;
  const xAmzDate = checkScope(auth, request.headers, new Set(Object.keys(env.REGIONS)), now, unservedAwsRegion);
  // Temporary credentials (STS, SSO, an assumed role) carry a session token. EdgeKMS has none to
  // check it against, so it refuses them with AWS's error for a bad token, and says why: a client
  // still holding an AWS session (AWS_SESSION_TOKEN left in the shell) gets this first.
  if (request.headers.has("x-amz-security-token")) throw new KmsError("UnrecognizedClientException", SESSION_TOKEN_REFUSED);
  const credential = await lookupCredential(env, auth.accessKeyId, now);
  if (!credential) throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  await verifySignature(request.method, url, request.headers, body, auth, xAmzDate, credential);
  // Named only now: before the signature is verified, the caller has shown no more than that it
  // knows an access key id, and its records must not speak for that key's principal.
  const { secretAccessKey: _secret, ...principal } = credential;
  observed.principal = principal;
  return { principal, region: auth.region };
}
