// ML_KEM_512 / 768 / 1024: ML-KEM key encapsulation (FIPS 203), Encapsulate and Decapsulate, as
// AWS KMS offers them (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html).
// The runtime has no ML-KEM: @noble/post-quantum makes and uses the key. Material: the 64-byte
// seed (d ‖ z) of FIPS 203's ML-KEM.KeyGen; the public key is SubjectPublicKeyInfo and a data
// key pair's private key is PKCS#8 in seed form (RFC 9935).
import { ml_kem1024, ml_kem512, ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { OIDS, pkcs8Of, spkiOf, tlv } from "./der.js";
import { grantSet, own, type KeyType } from "./types.js";

const GRANTS = grantSet("Encapsulate", "Decapsulate", "GetPublicKey");

function mlKemType(spec: string, kem: typeof ml_kem512, algorithmOid: string): KeyType {
  const pair = () => {
    const seed = crypto.getRandomValues(new Uint8Array(64));
    return { seed, publicKey: spkiOf(algorithmOid, kem.keygen(seed).publicKey) };
  };
  return {
    spec,
    usages: ["ENCAPSULATE_DECAPSULATE"],
    algorithms: () => ({ EncapsulationAlgorithms: ["ML_KEM"] }),
    grantOperations: () => GRANTS,
    rotates: false,
    customerMasterKeySpec: false,
    async generate() {
      const { seed, publicKey } = pair();
      return { material: seed, publicKey };
    },
    async dataKeyPair() {
      const { seed, publicKey } = pair();
      const privateKey = pkcs8Of(algorithmOid, tlv(0x80, seed));
      seed.fill(0);
      return { privateKey, publicKey };
    },
    async load(material) {
      const { secretKey, publicKey } = kem.keygen(material);
      return {
        encapsulate() {
          const { cipherText, sharedSecret } = kem.encapsulate(publicKey);
          return { ciphertext: own(cipherText), sharedSecret: own(sharedSecret) };
        },
        decapsulate(ciphertext) {
          if (ciphertext.length !== kem.lengths.cipherText) return { ok: false, reason: `ciphertext is ${ciphertext.length} bytes, not ${kem.lengths.cipherText}` };
          return { ok: true, value: own(kem.decapsulate(ciphertext, secretKey)) };
        },
      };
    },
  };
}

export const ML_KEM_TYPES: KeyType[] = [
  mlKemType("ML_KEM_512", ml_kem512, OIDS.mlKem512),
  mlKemType("ML_KEM_768", ml_kem768, OIDS.mlKem768),
  mlKemType("ML_KEM_1024", ml_kem1024, OIDS.mlKem1024),
];
