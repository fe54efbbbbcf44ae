// ECC_SECG_P256K1: ECDSA over secp256k1 with SHA-256 (blockchain signing), as AWS KMS offers it
// (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-ecc).
// The runtime's WebCrypto has no secp256k1, so @noble/curves makes and uses the key.
// Material: the 32-byte private scalar. Signatures are DER; like AWS KMS, EdgeKMS does not
// normalise s to the low half (verifiers that insist, such as Ethereum's, normalise it themselves).
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ecPkcs8, ecPrivateKey, ecSpki, OIDS } from "./der.js";
import { bytesEqual } from "../../crypto/compare.js";
import { grantSet, own, type KeyType } from "./types.js";

const GRANTS = grantSet("Sign", "Verify", "GetPublicKey");

function pair() {
  const scalar = secp256k1.utils.randomSecretKey();
  const point = secp256k1.getPublicKey(scalar, false);
  return { scalar, point };
}

export const ECC_SECG_P256K1: KeyType = {
  spec: "ECC_SECG_P256K1",
  usages: ["SIGN_VERIFY"],
  algorithms: () => ({ SigningAlgorithms: ["ECDSA_SHA_256"] }),
  grantOperations: () => GRANTS,
  rotates: false,
  customerMasterKeySpec: true,
  async generate() {
    const { scalar, point } = pair();
    return { material: own(scalar), publicKey: ecSpki(OIDS.secp256k1, point) };
  },
  digestLength: () => 32,
  messageTypes: () => ["RAW", "DIGEST"],
  async dataKeyPair() {
    const { scalar, point } = pair();
    const privateKey = ecPkcs8(OIDS.secp256k1, scalar, point);
    scalar.fill(0);
    return { privateKey, publicKey: ecSpki(OIDS.secp256k1, point) };
  },
  // DER PKCS#8 (RFC 5208) around an ECPrivateKey (RFC 5915) on secp256k1; stored as its scalar.
  // A public point in it must be the scalar's (compressed or not), as WebCrypto requires of the
  // NIST curves: material whose two halves disagree is not one key.
  async importMaterial(material) {
    const key = ecPrivateKey(material, OIDS.secp256k1);
    const scalar = key?.scalar;
    if (!scalar || scalar.length !== 32 || !secp256k1.utils.isValidSecretKey(scalar)) {
      return { ok: false, reason: "the key material is not a DER PKCS#8 private key on secp256k1" };
    }
    const point = secp256k1.getPublicKey(scalar, false);
    if (key.point && !bytesEqual(key.point, key.point.length === 33 ? secp256k1.getPublicKey(scalar, true) : point)) {
      return { ok: false, reason: "the public key in the PKCS#8 is not the private key's" };
    }
    return { ok: true, value: { material: own(scalar), publicKey: ecSpki(OIDS.secp256k1, point) } };
  },
  async load(material) {
    const scalar = material;
    const point = secp256k1.getPublicKey(scalar, false);
    return {
      async sign(_algorithm, messageType, message) {
        return own(secp256k1.sign(message, scalar, { prehash: messageType === "RAW", lowS: false, format: "der" }));
      },
      async verify(_algorithm, messageType, message, signature) {
        try {
          return secp256k1.verify(signature, message, point, { prehash: messageType === "RAW", lowS: false, format: "der" });
        } catch {
          return false; // not a DER signature
        }
      },
    };
  },
};
