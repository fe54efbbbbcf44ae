// Grant tokens, format v2 (docs/formats.md, "Grant tokens"): base64url of
//   "egt2:" key id ":" grant id ":" base64url(grantee principal) ":" base64url(MAC)
// MAC = HMAC-SHA256(K, "egt2\n" region "\n" key id "\n" grant id "\n" grantee), K = HKDF(KMS_ROOT_SECRET,
// "grant-tokens/<region>"). Only the service can make one, and it names its grantee, so a token is
// checked at the boundary (a forged or foreign token is InvalidGrantTokenException) without a vault call.
import { deriveRootKey, type RootSecrets } from "./root-key.js";

const PREFIX = "egt2";
const enc = new TextEncoder();
const dec = new TextDecoder();

export const b64url = (b: Uint8Array): string => btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function unb64url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  try {
    return Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

// One HMAC key per root secret and region, per isolate.
const keys = new Map<string, Promise<CryptoKey>>();
function tokenKey(rootSecret: string, region: string): Promise<CryptoKey> {
  const id = `${region}\n${rootSecret}`;
  let k = keys.get(id);
  if (!k) {
    k = deriveRootKey(rootSecret, "grant-tokens", region).then((raw) => crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
    keys.set(id, k);
  }
  return k;
}

export interface GrantTokenClaims { keyId: string; grantId: string; grantee: string }

const macInput = (region: string, c: GrantTokenClaims): Uint8Array => enc.encode(`${PREFIX}\n${region}\n${c.keyId}\n${c.grantId}\n${c.grantee}`);

export async function issueGrantToken(rootSecret: string, region: string, claims: GrantTokenClaims): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await tokenKey(rootSecret, region), macInput(region, claims)));
  return b64url(enc.encode(`${PREFIX}:${claims.keyId}:${claims.grantId}:${b64url(enc.encode(claims.grantee))}:${b64url(mac)}`));
}

/**
 * The claims of a genuine token made in this region, or undefined for anything else. During a
 * rotation of KMS_ROOT_SECRET a token made under the previous secret is still genuine.
 */
export async function verifyGrantToken(secrets: RootSecrets, region: string, token: string): Promise<GrantTokenClaims | undefined> {
  for (const secret of [secrets.current, secrets.previous]) {
    if (secret === undefined) continue;
    const claims = await verifyUnder(secret, region, token);
    if (claims) return claims;
  }
  return undefined;
}

async function verifyUnder(rootSecret: string, region: string, token: string): Promise<GrantTokenClaims | undefined> {
  const raw = unb64url(token);
  if (!raw) return undefined;
  const m = /^egt2:([0-9a-z-]{1,64}):([0-9a-f]{64}):([A-Za-z0-9_-]{1,512}):([A-Za-z0-9_-]{43})$/.exec(dec.decode(raw));
  if (!m) return undefined;
  const grantee = unb64url(m[3]);
  const mac = unb64url(m[4]);
  if (!grantee || !mac) return undefined;
  const claims = { keyId: m[1], grantId: m[2], grantee: dec.decode(grantee) };
  // crypto.subtle.verify compares in constant time.
  const genuine = await crypto.subtle.verify("HMAC", await tokenKey(rootSecret, region), mac, macInput(region, claims));
  return genuine ? claims : undefined;
}
