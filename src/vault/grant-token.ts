// Grant tokens (docs/formats.md, "Grants"): base64url of "egt1:<key id>:<grant id>:<secret>".

export const b64url = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A grant token names the key and grant and carries a random secret; it is opaque to callers. */
export function grantToken(keyId: string, grantId: string, secret: string): string {
  return b64url(new TextEncoder().encode(`egt1:${keyId}:${grantId}:${secret}`));
}

export function parseGrantToken(token: string): { keyId: string; grantId: string; secret: string } | undefined {
  try {
    const m = /^egt1:([0-9a-z-]+):([0-9a-f]{64}):([A-Za-z0-9_-]{16,})$/.exec(atob(token.replace(/-/g, "+").replace(/_/g, "/")));
    return m ? { keyId: m[1], grantId: m[2], secret: m[3] } : undefined;
  } catch {
    return undefined;
  }
}
