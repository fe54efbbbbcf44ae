// Root keys derive from the KMS_ROOT_SECRET secret with HKDF-SHA256 (RFC 5869):
// salt "edgekms-root-v1", info "<purpose>/<scope>" (e.g. "key-material/us-east-1").

const enc = new TextEncoder();

function decodeSecret(b64: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new Error("KMS_ROOT_SECRET is not valid base64");
  }
  if (bin.length < 32) throw new Error("KMS_ROOT_SECRET must hold at least 32 bytes");
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function deriveRootKey(rootSecretB64: string, purpose: string, scope: string): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey("raw", decodeSecret(rootSecretB64), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: enc.encode("edgekms-root-v1"), info: enc.encode(`${purpose}/${scope}`) },
    ikm,
    256,
  );
  return new Uint8Array(bits);
}
