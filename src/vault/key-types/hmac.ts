// HMAC_224 / 256 / 384 / 512: GenerateMac and VerifyMac (RFC 2104), as AWS KMS offers them
// (https://docs.aws.amazon.com/kms/latest/developerguide/hmac.html). Material: a random secret
// as long as the hash output. The runtime's WebCrypto makes SHA-256/384/512 MACs; it has no
// SHA-224, so @noble/hashes makes HMAC_SHA_224. VerifyMac compares in constant time.
import { hmac } from "@noble/hashes/hmac.js";
import { sha224 } from "@noble/hashes/sha2.js";
import { bytesEqual } from "../../crypto/compare.js";
import { grantSet, own, type KeyType } from "./types.js";

const GRANTS = grantSet("GenerateMac", "VerifyMac");

/** Lengths of imported HMAC key material, bytes (at least the hash output, at most its block size). */
const IMPORT_LENGTHS: Record<number, [number, number]> = { 224: [28, 64], 256: [32, 64], 384: [48, 128], 512: [64, 128] };

function hmacType(bits: 224 | 256 | 384 | 512): KeyType {
  const algorithm = `HMAC_SHA_${bits}`;
  const [min, max] = IMPORT_LENGTHS[bits]!;
  return {
    spec: `HMAC_${bits}`,
    usages: ["GENERATE_VERIFY_MAC"],
    algorithms: () => ({ MacAlgorithms: [algorithm] }),
    grantOperations: () => GRANTS,
    rotates: false,
    customerMasterKeySpec: true,
    generate: async () => ({ material: crypto.getRandomValues(new Uint8Array(bits / 8)) }),
    importMaterial: async (material) =>
      material.length >= min && material.length <= max
        ? { ok: true, value: { material: own(material) } }
        : { ok: false, reason: `HMAC_${bits} key material must be ${min} to ${max} bytes, not ${material.length}` },
    async load(material) {
      const mac = bits === 224
        ? async (message: Uint8Array) => own(hmac(sha224, material, message))
        : await (async () => {
          const key = await crypto.subtle.importKey("raw", material, { name: "HMAC", hash: `SHA-${bits}` }, false, ["sign"]);
          return async (message: Uint8Array) => own(await crypto.subtle.sign("HMAC", key, message));
        })();
      return {
        generateMac: (_algorithm, message) => mac(message),
        async verifyMac(_algorithm, message, tag) {
          return bytesEqual(await mac(message), tag);
        },
      };
    },
  };
}

export const HMAC_TYPES: KeyType[] = [hmacType(224), hmacType(256), hmacType(384), hmacType(512)];
