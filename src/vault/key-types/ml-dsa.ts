// ML_DSA_44 / 65 / 87: ML-DSA signatures (FIPS 204) with ML_DSA_SHAKE_256, MessageType RAW
// (pure ML-DSA, empty context) or EXTERNAL_MU (the caller's 64-byte μ of FIPS 204 §6.2), as AWS
// KMS offers them (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-mldsa).
// The runtime has no ML-DSA: @noble/post-quantum makes and uses the key. Material: the 32-byte
// seed ξ of FIPS 204's ML-DSA.KeyGen; the public key is SubjectPublicKeyInfo (RFC 9881).
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { OIDS, spkiOf } from "./der.js";
import { grantSet, own, type KeyType } from "./types.js";

const GRANTS = grantSet("Sign", "Verify", "GetPublicKey");
/** Length of μ (MessageType EXTERNAL_MU). */
export const EXTERNAL_MU_LENGTH = 64;

function mlDsaType(spec: string, dsa: typeof ml_dsa44, algorithmOid: string): KeyType {
  return {
    spec,
    usages: ["SIGN_VERIFY"],
    algorithms: () => ({ SigningAlgorithms: ["ML_DSA_SHAKE_256"] }),
    grantOperations: () => GRANTS,
    rotates: false,
    customerMasterKeySpec: false,
    async generate() {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      return { material: seed, publicKey: spkiOf(algorithmOid, dsa.keygen(seed).publicKey) };
    },
    digestLength: () => undefined,
    messageTypes: () => ["RAW", "EXTERNAL_MU"],
    async load(material) {
      const { secretKey, publicKey } = dsa.keygen(material);
      return {
        async sign(_algorithm, messageType, message) {
          return own(messageType === "EXTERNAL_MU" ? dsa.internal.sign(message, secretKey, { externalMu: true }) : dsa.sign(message, secretKey));
        },
        async verify(_algorithm, messageType, message, signature) {
          try {
            return messageType === "EXTERNAL_MU" ? dsa.internal.verify(signature, message, publicKey, { externalMu: true }) : dsa.verify(signature, message, publicKey);
          } catch {
            return false;
          }
        },
      };
    },
  };
}

export const ML_DSA_TYPES: KeyType[] = [
  mlDsaType("ML_DSA_44", ml_dsa44, OIDS.mlDsa44),
  mlDsaType("ML_DSA_65", ml_dsa65, OIDS.mlDsa65),
  mlDsaType("ML_DSA_87", ml_dsa87, OIDS.mlDsa87),
];
