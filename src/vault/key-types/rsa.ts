// RSA_2048 / RSA_3072 / RSA_4096: RSAES-OAEP encryption, or RSASSA-PSS and RSASSA-PKCS1-v1_5
// signatures (RFC 8017), as AWS KMS offers them
// (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-rsa).
// Material: the private key as DER PKCS#8, made and used by the runtime's WebCrypto.
// WebCrypto always hashes the message itself, so MessageType DIGEST goes another way: the
// runtime's RSA private-key operation (node:crypto, BoringSSL) over an encoded digest —
// PKCS#1 v1.5's DigestInfo, or EMSA-PSS encoding (RFC 8017 §9.1) with a salt as long as the
// hash. The tests check both ways against node:crypto and openssl (docs/crypto-core.md).
import { constants, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt } from "node:crypto";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { bytesEqual } from "../../crypto/compare.js";
import { isRsaEncryption, privateKeyInfo } from "./der.js";
import { fromBase64Url, grantSet, own, shaLength, webHash, type KeyType, type LoadedKey, type MessageType } from "./types.js";

const ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];
const SIGNING = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"];
const ENCRYPT_GRANTS = grantSet("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey");
const SIGN_GRANTS = grantSet("Sign", "Verify", "GetPublicKey");
const F4 = new Uint8Array([1, 0, 1]);

/** DigestInfo prefixes of PKCS#1 v1.5 signatures (RFC 8017 §9.2, note 1), by hash length. */
const DIGEST_INFO: Record<number, Uint8Array> = {
  32: new Uint8Array([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]),
  48: new Uint8Array([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]),
  64: new Uint8Array([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]),
};
const HASH: Record<number, (m: Uint8Array) => Uint8Array> = { 32: sha256, 48: sha384, 64: sha512 };

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

/** MGF1 (RFC 8017 §B.2.1) with the PSS hash. */
function mgf1(hash: (m: Uint8Array) => Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let counter = 0, off = 0; off < length; counter++) {
    const block = hash(concat(seed, new Uint8Array([counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff])));
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
    off += block.length;
  }
  return out;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of a digest, salt length = hash length, for a modulus of `modBits` (a multiple of 8). */
function pssEncode(digest: Uint8Array, modBits: number): Uint8Array {
  const hLen = digest.length, hash = HASH[hLen]!;
  const emLen = modBits / 8; // emBits = modBits − 1: the top bit of EM is cleared below
  const salt = crypto.getRandomValues(new Uint8Array(hLen));
  const h = hash(concat(new Uint8Array(8), digest, salt));
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - hLen - 1] = 0x01;
  db.set(salt, db.length - hLen);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0x7f;
  return concat(db, h, new Uint8Array([0xbc]));
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) of a digest against an encoded message (public data only). */
function pssVerify(digest: Uint8Array, em: Uint8Array): boolean {
  const hLen = digest.length, hash = HASH[hLen]!;
  if (em.length < 2 * hLen + 2 || em[em.length - 1] !== 0xbc || (em[0]! & 0x80) !== 0) return false;
  const masked = em.subarray(0, em.length - hLen - 1);
  const h = em.subarray(em.length - hLen - 1, em.length - 1);
  const mask = mgf1(hash, h, masked.length);
  const db = masked.map((b, i) => b ^ mask[i]!);
  db[0]! &= 0x7f;
  const ps = db.length - hLen - 1;
  for (let i = 0; i < ps; i++) if (db[i] !== 0) return false;
  if (db[ps] !== 0x01) return false;
  return bytesEqual(h, hash(concat(new Uint8Array(8), digest, db.subarray(ps + 1))));
}

/** The WebCrypto algorithm of a signing algorithm name. */
const signScheme = (algorithm: string) => (algorithm.startsWith("RSASSA_PSS") ? "RSA-PSS" : "RSASSA-PKCS1-v1_5");

function rsaType(spec: string, bits: number): KeyType {
  const bytes = bits / 8;
  const generatePair = async () => {
    const pair = (await crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: bits, publicExponent: F4, hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    return {
      privateKey: own((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
      publicKey: own((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
    };
  };
  return {
    spec,
    usages: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    algorithms: (usage) => (usage === "ENCRYPT_DECRYPT" ? { EncryptionAlgorithms: [...ENCRYPTION] } : { SigningAlgorithms: [...SIGNING] }),
    grantOperations: (usage) => (usage === "ENCRYPT_DECRYPT" ? ENCRYPT_GRANTS : SIGN_GRANTS),
    rotates: false,
    customerMasterKeySpec: true,
    async generate() {
      const pair = await generatePair();
      return { material: pair.privateKey, publicKey: pair.publicKey };
    },
    digestLength: shaLength,
    messageTypes: () => ["RAW", "DIGEST"],
    maxPlaintext: (algorithm) => bytes - 2 * (algorithm === "RSAES_OAEP_SHA_1" ? 20 : 32) - 2,
    dataKeyPair: generatePair,
    // DER PKCS#8 of an RSA key of this size; stored as WebCrypto exports it, with its public key.
    async importMaterial(material) {
      // PKCS#8 with rsaEncryption first: WebCrypto would also take a bare PKCS#1 RSAPrivateKey.
      const info = privateKeyInfo(material);
      if (!info || !isRsaEncryption(info.algorithm)) return { ok: false, reason: "the key material is not a DER PKCS#8 RSA private key" };
      let key: CryptoKey;
      try {
        key = await crypto.subtle.importKey("pkcs8", material, { name: "RSA-PSS", hash: "SHA-256" }, true, ["sign"]);
      } catch {
        return { ok: false, reason: "the key material is not a DER PKCS#8 RSA private key" };
      }
      const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
      // The modulus must be exactly `bits` long, not merely `bytes` long: AWS requires material
      // that matches the key spec, and EMSA-PSS encoding (pssEncode) is sized for a modulus whose
      // top bit is set (a 2047-bit one would make encoded messages above it).
      const n = fromBase64Url(jwk.n!);
      const modulusBits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
      if (modulusBits !== bits) return { ok: false, reason: `the RSA key has a ${modulusBits}-bit modulus; ${spec} needs ${bits}` };
      const pub = await crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e, ext: true }, { name: "RSA-PSS", hash: "SHA-256" }, true, ["verify"]);
      return {
        ok: true,
        value: { material: own((await crypto.subtle.exportKey("pkcs8", key)) as ArrayBuffer), publicKey: own((await crypto.subtle.exportKey("spki", pub)) as ArrayBuffer) },
      };
    },
    async load(material, _usage, publicKey) {
      const spki = publicKey!;
      // One imported key per WebCrypto algorithm and hash, made on first use.
      const imported = new Map<string, Promise<CryptoKey>>();
      const importOnce = (format: "pkcs8" | "spki", name: string, hash: string, use: "encrypt" | "decrypt" | "sign" | "verify"): Promise<CryptoKey> => {
        const id = `${format} ${name} ${hash}`;
        let k = imported.get(id);
        if (!k) imported.set(id, (k = crypto.subtle.importKey(format, format === "pkcs8" ? material : spki, { name, hash }, false, [use])));
        return k;
      };
      const oaepHash = (algorithm: string) => (algorithm === "RSAES_OAEP_SHA_1" ? "SHA-1" : "SHA-256");
      const raw = (type: "pkcs8" | "spki", padding: number) => ({ key: type === "pkcs8" ? material : spki, format: "der" as const, type, padding });
      const loaded: LoadedKey = {
        async encrypt(algorithm, plaintext) {
          return own(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, await importOnce("spki", "RSA-OAEP", oaepHash(algorithm), "encrypt"), plaintext));
        },
        async decrypt(algorithm, ciphertext) {
          if (ciphertext.length !== bytes) return { ok: false, reason: `ciphertext is ${ciphertext.length} bytes, not ${bytes}` };
          try {
            return { ok: true, value: own(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, await importOnce("pkcs8", "RSA-OAEP", oaepHash(algorithm), "decrypt"), ciphertext)) };
          } catch {
            return { ok: false, reason: `RSAES-OAEP decryption failed (${algorithm})` };
          }
        },
        async sign(algorithm, messageType: MessageType, message) {
          const hLen = shaLength(algorithm)!;
          const pss = algorithm.startsWith("RSASSA_PSS");
          if (messageType === "RAW") {
            const key = await importOnce("pkcs8", signScheme(algorithm), webHash(hLen), "sign");
            return own(await crypto.subtle.sign(pss ? { name: "RSA-PSS", saltLength: hLen } : { name: "RSASSA-PKCS1-v1_5" }, key, message));
          }
          return own(pss
            ? privateDecrypt(raw("pkcs8", constants.RSA_NO_PADDING), pssEncode(message, bits))
            : privateEncrypt(raw("pkcs8", constants.RSA_PKCS1_PADDING), concat(DIGEST_INFO[hLen]!, message)));
        },
        async verify(algorithm, messageType, message, signature) {
          if (signature.length !== bytes) return false;
          const hLen = shaLength(algorithm)!;
          const pss = algorithm.startsWith("RSASSA_PSS");
          try {
            if (messageType === "RAW") {
              const key = await importOnce("spki", signScheme(algorithm), webHash(hLen), "verify");
              return await crypto.subtle.verify(pss ? { name: "RSA-PSS", saltLength: hLen } : { name: "RSASSA-PKCS1-v1_5" }, key, signature, message);
            }
            if (pss) return pssVerify(message, own(publicEncrypt(raw("spki", constants.RSA_NO_PADDING), signature)));
            return bytesEqual(own(publicDecrypt(raw("spki", constants.RSA_PKCS1_PADDING), signature)), concat(DIGEST_INFO[hLen]!, message));
          } catch {
            // Not a signature of this key (a value ≥ the modulus, bad padding).
            return false;
          }
        },
      };
      return loaded;
    },
  };
}

export const RSA_TYPES: KeyType[] = [rsaType("RSA_2048", 2048), rsaType("RSA_3072", 3072), rsaType("RSA_4096", 4096)];
