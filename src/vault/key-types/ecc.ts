// ECC_NIST_P256 / P384 / P521: ECDSA signatures (SIGN_VERIFY) or ECDH key agreement
// (KEY_AGREEMENT), as AWS KMS offers them
// (https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html#key-spec-ecc).
// Material: the private key as DER PKCS#8, made and used by the runtime's WebCrypto. Signatures
// are DER (RFC 3279 §2.2.3) as AWS returns them; WebCrypto speaks r‖s, which der.ts converts
// (strict DER on the way in). MessageType DIGEST signs and verifies with @noble/curves
// (WebCrypto always hashes).
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { bytesEqual } from "../../crypto/compare.js";
import { ecAlgorithm, ecdsaFromDer, ecdsaToDer, OIDS, privateKeyInfo } from "./der.js";
import { fromBase64Url, grantSet, own, type KeyType, type LoadedKey } from "./types.js";

const SIGN_GRANTS = grantSet("Sign", "Verify", "GetPublicKey");
const AGREE_GRANTS = grantSet("DeriveSharedSecret", "GetPublicKey");

type Curve = typeof p256;

function eccType(spec: string, namedCurve: string, curveOid: string, curve: Curve, algorithm: string, hashBytes: number, fieldBytes: number): KeyType {
  const generatePair = async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve }, true, ["sign", "verify"])) as CryptoKeyPair;
    return {
      privateKey: own((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
      publicKey: own((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer),
    };
  };
  const hash = `SHA-${hashBytes * 8}`;
  return {
    spec,
    usages: ["SIGN_VERIFY", "KEY_AGREEMENT"],
    algorithms: (usage) => (usage === "KEY_AGREEMENT" ? { KeyAgreementAlgorithms: ["ECDH"] } : { SigningAlgorithms: [algorithm] }),
    grantOperations: (usage) => (usage === "KEY_AGREEMENT" ? AGREE_GRANTS : SIGN_GRANTS),
    rotates: false,
    customerMasterKeySpec: true,
    async generate() {
      const pair = await generatePair();
      return { material: pair.privateKey, publicKey: pair.publicKey };
    },
    digestLength: () => hashBytes,
    messageTypes: () => ["RAW", "DIGEST"],
    dataKeyPair: generatePair,
    // DER PKCS#8 of a key on this curve (the public point may be left out: it is recomputed;
    // one it carries must be the scalar's, which WebCrypto checks).
    async importMaterial(material) {
      // PKCS#8 on this curve first: WebCrypto would also take a bare SEC1 ECPrivateKey.
      const info = privateKeyInfo(material);
      if (!info || !bytesEqual(info.algorithm, ecAlgorithm(curveOid))) return { ok: false, reason: `the key material is not a DER PKCS#8 private key on ${namedCurve}` };
      let key: CryptoKey;
      try {
        key = await crypto.subtle.importKey("pkcs8", material, { name: "ECDSA", namedCurve }, true, ["sign"]);
      } catch {
        return { ok: false, reason: `the key material is not a DER PKCS#8 private key on ${namedCurve}` };
      }
      const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
      const pub = await crypto.subtle.importKey("jwk", { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true }, { name: "ECDSA", namedCurve }, true, ["verify"]);
      return {
        ok: true,
        value: { material: own((await crypto.subtle.exportKey("pkcs8", key)) as ArrayBuffer), publicKey: own((await crypto.subtle.exportKey("spki", pub)) as ArrayBuffer) },
      };
    },
    async load(material, usage, publicKey) {
      if (usage === "KEY_AGREEMENT") {
        const privateKey = await crypto.subtle.importKey("pkcs8", material, { name: "ECDH", namedCurve }, false, ["deriveBits"]);
        return {
          async deriveSharedSecret(peer) {
            let peerKey: CryptoKey;
            try {
              peerKey = await crypto.subtle.importKey("spki", peer, { name: "ECDH", namedCurve }, false, []);
            } catch {
              return { ok: false, reason: `the public key is not a ${namedCurve} public key in DER SubjectPublicKeyInfo` };
            }
            return { ok: true, value: own(await crypto.subtle.deriveBits({ name: "ECDH", public: peerKey } as unknown as SubtleCryptoDeriveKeyAlgorithm, privateKey, fieldBytes * 8)) };
          },
        };
      }
      const privateKey = await crypto.subtle.importKey("pkcs8", material, { name: "ECDSA", namedCurve }, true, ["sign"]);
      const verifyKey = await crypto.subtle.importKey("spki", publicKey!, { name: "ECDSA", namedCurve }, true, ["verify"]);
      // The scalar and point @noble/curves takes for digests, read once from WebCrypto's JWK.
      const jwk = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
      const scalar = fromBase64Url(jwk.d!);
      const point = new Uint8Array([4, ...fromBase64Url(jwk.x!), ...fromBase64Url(jwk.y!)]);
      const loaded: LoadedKey = {
        async sign(_algorithm, messageType, message) {
          if (messageType === "DIGEST") return own(curve.sign(message, scalar, { prehash: false, lowS: false, format: "der" }));
          return ecdsaToDer(new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, privateKey, message)));
        },
        async verify(_algorithm, messageType, message, signature) {
          try {
            if (messageType === "DIGEST") return curve.verify(signature, message, point, { prehash: false, lowS: false, format: "der" });
            const rs = ecdsaFromDer(signature, fieldBytes);
            return rs !== undefined && (await crypto.subtle.verify({ name: "ECDSA", hash }, verifyKey, rs, message));
          } catch {
            return false; // not a DER ECDSA signature
          }
        },
      };
      return loaded;
    },
  };
}

export const ECC_NIST_TYPES: KeyType[] = [
  eccType("ECC_NIST_P256", "P-256", OIDS.p256, p256, "ECDSA_SHA_256", 32, 32),
  eccType("ECC_NIST_P384", "P-384", OIDS.p384, p384 as unknown as Curve, "ECDSA_SHA_384", 48, 48),
  eccType("ECC_NIST_P521", "P-521", OIDS.p521, p521 as unknown as Curve, "ECDSA_SHA_512", 64, 66),
];
