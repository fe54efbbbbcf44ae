// Root keys derive from the KMS_ROOT_SECRET secret with HKDF-SHA256 (RFC 5869):
// salt "edgekms-root-v1", info "<purpose>/<scope>" (e.g. "key-material/us-east-1").

const enc = new TextEncoder();

function decodeSecret(b64: string, name: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new Error(`${name} is not valid base64: set it to 32 or more random bytes, base64 (openssl rand -base64 32).`);
  }
  if (bin.length < 32) throw new Error(`${name} must hold at least 32 bytes (it holds ${bin.length}).`);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function deriveRootKey(rootSecretB64: string, purpose: string, scope: string, name = "KMS_ROOT_SECRET"): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey("raw", decodeSecret(rootSecretB64 ?? "", name), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: enc.encode("edgekms-root-v1"), info: enc.encode(`${purpose}/${scope}`) },
    ikm,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * The root secrets in force: the current one, and during a rotation the previous one, which
 * still opens what it sealed until everything is rewrapped (docs/operations.md).
 */
export interface RootSecrets { current: string; previous?: string }
export function rootSecrets(env: { KMS_ROOT_SECRET: string; KMS_ROOT_SECRET_PREVIOUS?: string }): RootSecrets {
  // Checked here, so a malformed value is named (which variable, what is wrong) wherever it is used.
  decodeSecret(env.KMS_ROOT_SECRET ?? "", "KMS_ROOT_SECRET");
  if (env.KMS_ROOT_SECRET_PREVIOUS) decodeSecret(env.KMS_ROOT_SECRET_PREVIOUS, "KMS_ROOT_SECRET_PREVIOUS");
  return env.KMS_ROOT_SECRET_PREVIOUS ? { current: env.KMS_ROOT_SECRET, previous: env.KMS_ROOT_SECRET_PREVIOUS } : { current: env.KMS_ROOT_SECRET };
}

export const ROOT_SECRET_MISMATCH =
  "This EdgeKMS state was sealed under a different KMS_ROOT_SECRET: restore the secret it was created with, or, to rotate it, give that one as KMS_ROOT_SECRET_PREVIOUS (docs/operations.md).";

/** Sealed state that neither the current nor the previous root secret opens. */
export class RootSecretMismatch extends Error {
  constructor() {
    super(ROOT_SECRET_MISMATCH);
    this.name = "RootSecretMismatch";
  }
}

/**
 * The check value of a root secret for a scope (a region, or "global"): HMAC-SHA256 of a fixed
 * label under a key derived for it. Stored with what the secret seals, it tells at once whether
 * the secret in force is the one the state was sealed under, without trying to open anything.
 */
export async function rootCheck(secret: string, scope: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", await deriveRootKey(secret, "root-check", scope), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode("edgekms-root-check-v1")));
  return Array.from(mac, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Which of the secrets a stored check value belongs to, if any. */
export async function whichRootSecret(secrets: RootSecrets, scope: string, stored: string): Promise<"current" | "previous" | undefined> {
  if ((await rootCheck(secrets.current, scope)) === stored) return "current";
  if (secrets.previous !== undefined && (await rootCheck(secrets.previous, scope)) === stored) return "previous";
  return undefined;
}
