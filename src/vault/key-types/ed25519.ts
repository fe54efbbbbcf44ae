// ECC_NIST_EDWARDS25519: Ed25519 (ED25519_SHA_512, MessageType RAW) and Ed25519ph
// (ED25519_PH_SHA_512, MessageType DIGEST), as AWS KMS offers them
// (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-ecc).
// With ED25519_PH_SHA_512 the caller sends a 64-byte digest and KMS "still performs the SHA-512
// prehash ... the input is hashed twice" (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-MessageType):
// the signature is the Ed25519ph signature (RFC 8032 §5.1) whose message is those 64 bytes.
// Material: DER PKCS#8 (RFC 8410), made and used by the runtime's WebCrypto for Ed25519.
// WebCrypto has no Ed25519ph: @noble/curves' ed25519ph signs and verifies it.
import { ed25519ph } from "@noble/curves/ed25519.js";
import { fromBase64Url, grantSet, own, type KeyType } from "./types.js";

const GRANTS = grantSet("Sign", "Verify", "GetPublicKey");

async function generatePair() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    privateKey: own((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
    publicKey: own((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
  };
}

export const ECC_NIST_EDWARDS25519: KeyType = {
  spec: "ECC_NIST_EDWARDS25519",
  usages: ["SIGN_VERIFY"],
  algorithms: () => ({ SigningAlgorithms: ["ED25519_SHA_512", "ED25519_PH_SHA_512"] }),
  grantOperations: () => GRANTS,
  rotates: false,
  customerMasterKeySpec: false,
  async generate() {
    const pair = await generatePair();
    return { material: pair.privateKey, publicKey: pair.publicKey };
  },
  digestLength: (algorithm) => (algorithm === "ED25519_PH_SHA_512" ? 64 : undefined),
  messageTypes: (algorithm) => (algorithm === "ED25519_PH_SHA_512" ? ["DIGEST"] : ["RAW"]),
  dataKeyPair: generatePair,
  async load(material, _usage, publicKey) {
    const privateKey = await crypto.subtle.importKey("pkcs8", material, { name: "Ed25519" }, true, ["sign"]);
    const verifyKey = await crypto.subtle.importKey("spki", publicKey!, { name: "Ed25519" }, true, ["verify"]);
    const jwk = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
    const seed = fromBase64Url(jwk.d!);
    const point = fromBase64Url(((await crypto.subtle.exportKey("jwk", verifyKey)) as JsonWebKey).x!);
    return {
      async sign(_algorithm, messageType, message) {
        if (messageType === "DIGEST") return own(ed25519ph.sign(message, seed));
        return own(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
      },
      async verify(_algorithm, messageType, message, signature) {
        try {
          if (messageType === "DIGEST") return ed25519ph.verify(signature, message, point, { zip215: false });
          return await crypto.subtle.verify({ name: "Ed25519" }, verifyKey, signature, message);
        } catch {
          return false;
        }
      },
    };
  },
};
