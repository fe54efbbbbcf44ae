// What a user's tool does with GetParametersForImport's public key (as AWS's docs do with
// openssl): RSAES-OAEP of the material, or of an ephemeral AES key followed by AES key wrap with
// padding (RFC 5649) of the material under it.
import { aesKeyWrapPad } from "../../src/crypto/index.js";
import { unb64 } from "./kms.js";

export async function wrapMaterial(publicKeyB64: string, algorithm: string, material: Uint8Array): Promise<Uint8Array> {
  const hash = algorithm.endsWith("SHA_1") ? "SHA-1" : "SHA-256";
  const pub = await crypto.subtle.importKey("spki", unb64(publicKeyB64), { name: "RSA-OAEP", hash }, false, ["encrypt"]);
  if (algorithm.startsWith("RSAES_OAEP")) return new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, material));
  const aes = crypto.getRandomValues(new Uint8Array(32));
  const rsaPart = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, aes));
  const kwp = aesKeyWrapPad(aes, material);
  const out = new Uint8Array(rsaPart.length + kwp.length);
  out.set(rsaPart);
  out.set(kwp, rsaPart.length);
  return out;
}
