// The key-type modules (src/vault/key-types) called directly in Node 22, checked against
// independent implementations: node:crypto (OpenSSL) for RSA, ECDSA, ECDH, Ed25519 and HMAC,
// RFC 8032's Ed25519ph test vector, and @noble/post-quantum for ML-DSA and ML-KEM.
import { describe, expect, it } from "vitest";
import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { shake256 } from "@noble/hashes/sha3.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem1024, ml_kem512, ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import type { KeyType, LoadedKey, MessageType } from "../../src/vault/key-types/types.js";
import { children, NIST_ALGORITHMS_OID, only, rawPublicKey } from "../support/der.js";

// The key-type modules are written against the Workers types (tsconfig.json checks them); they
// are loaded here through a specifier TypeScript does not follow, so the Node tsconfig does not
// check them against Node's DOM typings. vitest resolves it like any relative import.
const INDEX: string = "../../src/vault/key-types/index.js";
const { keyTypeOf, findKeyType } = (await import(INDEX)) as { keyTypeOf(spec: string): KeyType; findKeyType(spec: string): KeyType | undefined };

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const text = (s: string) => new TextEncoder().encode(s);
const msg = text("the message the key types sign, in Node");
const sha = (bits: 256 | 384 | 512, data: Uint8Array) => Uint8Array.from(createHash(`sha${bits}`).update(data).digest());
const hashBits = (alg: string): 256 | 384 | 512 => (alg.endsWith("256") ? 256 : alg.endsWith("384") ? 384 : 512);
const flip = (b: Uint8Array, i = b.length >> 1) => {
  const c = b.slice();
  c[i]! ^= 1;
  return c;
};
const spkiKey = (der: Uint8Array) => createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
const pkcs8Key = (der: Uint8Array) => createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
const spkiOf = (k: KeyObject) => Uint8Array.from((k.type === "private" ? createPublicKey(k) : k).export({ format: "der", type: "spki" }));


/** FIPS 204 §6.2 / Algorithm 2 with an empty context: μ = H(H(pk, 64) ‖ 0 ‖ 0 ‖ M, 64), H = SHAKE256. */
const externalMu = (publicKey: Uint8Array, m: Uint8Array) =>
  shake256(new Uint8Array([...shake256(publicKey, { dkLen: 64 }), 0, 0, ...m]), { dkLen: 64 });

async function generateAndLoad(spec: string, usage: string): Promise<{ material: Uint8Array; publicKey?: Uint8Array; key: LoadedKey }> {
  const t = keyTypeOf(spec);
  const { material, publicKey } = await t.generate(usage);
  return { material, publicKey, key: await t.load(material, usage, publicKey) };
}

describe("Ed25519ph against RFC 8032 §7.3", () => {
  // RFC 8032 §7.3, test "abc": https://www.rfc-editor.org/rfc/rfc8032#section-7.3
  const SECRET = hex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
  const PUBLIC = hex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
  const SIGNATURE = hex("98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406");
  const ABC = text("abc");
  // RFC 8410 framing of the same key, as the vault stores it (material PKCS#8, public key SPKI).
  const PKCS8 = new Uint8Array([...hex("302e020100300506032b657004220420"), ...SECRET]);
  const SPKI = new Uint8Array([...hex("302a300506032b6570032100"), ...PUBLIC]);
  const load = () => keyTypeOf("ECC_NIST_EDWARDS25519").load(PKCS8, "SIGN_VERIFY", SPKI);

  it("the RFC key's framing is the key's own", () => {
    expect(spkiOf(pkcs8Key(PKCS8))).toEqual(SPKI);
  });

  it("ED25519_PH_SHA_512 is Ed25519ph with the DIGEST input as its message: the RFC's signature of \"abc\"", async () => {
    // AWS: with ED25519_PH_SHA_512 the 64-byte input is hashed again (PH = SHA-512), so the key
    // type's input is Ed25519ph's message M. The vault enforces the 64 bytes; the key type does
    // not, which lets the RFC's 3-byte message through here.
    const key = await load();
    const sig = await key.sign!("ED25519_PH_SHA_512", "DIGEST", ABC);
    expect(Buffer.from(sig).toString("hex")).toBe(Buffer.from(SIGNATURE).toString("hex"));
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", ABC, SIGNATURE)).toBe(true);
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", ABC, flip(SIGNATURE))).toBe(false);
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", text("abd"), SIGNATURE)).toBe(false);
    // PH(M) is not M: the signature of SHA-512("abc") is another one.
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", sha(512, ABC), SIGNATURE)).toBe(false);
  });

  it("a 64-byte digest D signs as noble's ed25519ph of D, and pure Ed25519 differs", async () => {
    const key = await load();
    const d = sha(512, ABC);
    const ph = await key.sign!("ED25519_PH_SHA_512", "DIGEST", d);
    expect(ph).toEqual(ed25519ph.sign(d, SECRET)); // deterministic
    expect(ed25519ph.verify(ph, d, PUBLIC)).toBe(true);
    // RAW is pure Ed25519: deterministic, so node:crypto's signature is the same bytes.
    const raw = await key.sign!("ED25519_SHA_512", "RAW", ABC);
    expect(Buffer.from(raw)).toEqual(nodeSign(null, ABC, pkcs8Key(PKCS8)));
    expect(raw).not.toEqual(SIGNATURE);
    // A pure Ed25519 signature of the digest is not an Ed25519ph signature (dom2 differs), and back.
    const pure = Uint8Array.from(nodeSign(null, d, pkcs8Key(PKCS8)));
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", d, pure)).toBe(false);
    expect(await key.verify!("ED25519_SHA_512", "RAW", d, ph)).toBe(false);
  });
});

describe("signing key types: generate → load → sign, checked by node:crypto and noble", () => {
  const RSA_ALGORITHMS = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"];
  const rsaVerifyOpts = (alg: string, spki: Uint8Array) => {
    const pss = alg.startsWith("RSASSA_PSS");
    return { key: spkiKey(spki), ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hashBits(alg) / 8 } : { padding: constants.RSA_PKCS1_PADDING }) };
  };

  for (const [spec, bytes] of [["RSA_2048", 256], ["RSA_3072", 384], ["RSA_4096", 512]] as const) {
    it(`${spec}: RAW and DIGEST signatures of every algorithm verify with node:crypto over the message`, async () => {
      const { material, publicKey, key } = await generateAndLoad(spec, "SIGN_VERIFY");
      expect(spkiKey(publicKey!).asymmetricKeyDetails).toMatchObject({ modulusLength: bytes * 8, publicExponent: 65537n });
      expect(spkiOf(pkcs8Key(material))).toEqual(publicKey); // material and public key are one pair
      for (const alg of RSA_ALGORITHMS) {
        const bits = hashBits(alg);
        const nodeHash = `sha${bits}`;
        for (const type of ["RAW", "DIGEST"] as MessageType[]) {
          const input = type === "DIGEST" ? sha(bits, msg) : msg;
          const sig = await key.sign!(alg, type, input);
          expect(sig.length, `${alg} ${type}`).toBe(bytes);
          expect(nodeVerify(nodeHash, msg, rsaVerifyOpts(alg, publicKey!), sig), `${alg} ${type}`).toBe(true);
          expect(nodeVerify(nodeHash, text("another message"), rsaVerifyOpts(alg, publicKey!), sig), `${alg} ${type}`).toBe(false);
          expect(await key.verify!(alg, type, input, sig), `${alg} ${type}`).toBe(true);
        }
        // Signatures node:crypto makes with the same private key verify through the key type both ways.
        const opts = { ...rsaVerifyOpts(alg, publicKey!), key: pkcs8Key(material) };
        const theirs = Uint8Array.from(nodeSign(nodeHash, msg, opts));
        expect(await key.verify!(alg, "RAW", msg, theirs), alg).toBe(true);
        expect(await key.verify!(alg, "DIGEST", sha(bits, msg), theirs), alg).toBe(true);
        if (alg.startsWith("RSASSA_PKCS1")) {
          // PKCS#1 v1.5 is deterministic: the DIGEST path's DigestInfo encoding gives node's bytes.
          expect(Uint8Array.from(await key.sign!(alg, "DIGEST", sha(bits, msg)))).toEqual(theirs);
        }
      }
    });
  }

  it("RSA: tampered, truncated and wrong-key signatures are rejected by load().verify", async () => {
    const { key } = await generateAndLoad("RSA_2048", "SIGN_VERIFY");
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    for (const alg of ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_384"]) {
      const bits = hashBits(alg);
      for (const type of ["RAW", "DIGEST"] as MessageType[]) {
        const input = type === "DIGEST" ? sha(bits, msg) : msg;
        const sig = await key.sign!(alg, type, input);
        for (const i of [0, 100, sig.length - 1]) expect(await key.verify!(alg, type, input, flip(sig, i)), `${alg} ${type} byte ${i}`).toBe(false);
        expect(await key.verify!(alg, type, input, sig.subarray(1)), `${alg} ${type} short`).toBe(false);
        expect(await key.verify!(alg, type, input, new Uint8Array(256).fill(0xff)), `${alg} ${type} ≥ modulus`).toBe(false);
        expect(await key.verify!(alg, type, flip(input), sig), `${alg} ${type} other message`).toBe(false);
        const pss = alg.startsWith("RSASSA_PSS");
        const foreign = nodeSign(`sha${bits}`, msg, { key: other.privateKey, ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 } : {}) });
        expect(await key.verify!(alg, type, input, foreign), `${alg} ${type} other key`).toBe(false);
      }
    }
  });

  it("RSA PSS: a signature whose salt is not the hash length is rejected for RAW and DIGEST alike", async () => {
    // AWS KMS's RSASSA-PSS uses a salt as long as the hash; EMSA-PSS-VERIFY (RFC 8017 §9.1.2,
    // step 10) checks the salt length, so one signature is accepted or refused the same way
    // whichever MessageType presents it.
    const { material, key } = await generateAndLoad("RSA_2048", "SIGN_VERIFY");
    for (const saltLength of [0, 20]) {
      const sig = Uint8Array.from(nodeSign("sha256", msg, { key: pkcs8Key(material), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }));
      expect(await key.verify!("RSASSA_PSS_SHA_256", "RAW", msg, sig), `salt ${saltLength} RAW`).toBe(false);
      expect(await key.verify!("RSASSA_PSS_SHA_256", "DIGEST", sha(256, msg), sig), `salt ${saltLength} DIGEST`).toBe(false);
    }
  });

  for (const [spec, alg, bits, curve] of [
    ["ECC_NIST_P256", "ECDSA_SHA_256", 256, "prime256v1"],
    ["ECC_NIST_P384", "ECDSA_SHA_384", 384, "secp384r1"],
    ["ECC_NIST_P521", "ECDSA_SHA_512", 512, "secp521r1"],
    ["ECC_SECG_P256K1", "ECDSA_SHA_256", 256, "secp256k1"],
  ] as const) {
    it(`${spec}: DER ECDSA signatures, RAW and DIGEST, verify with node:crypto; node's verify through the key type`, async () => {
      const { material, publicKey, key } = await generateAndLoad(spec, "SIGN_VERIFY");
      const pub = spkiKey(publicKey!);
      expect(pub.asymmetricKeyDetails).toEqual({ namedCurve: curve });
      if (spec !== "ECC_SECG_P256K1") expect(spkiOf(pkcs8Key(material))).toEqual(publicKey);
      else expect(secp256k1.getPublicKey(material, false)).toEqual(ecPoint(pub));
      const nodeHash = `sha${bits}`;
      for (const type of ["RAW", "DIGEST"] as MessageType[]) {
        const input = type === "DIGEST" ? sha(bits, msg) : msg;
        const sig = await key.sign!(alg, type, input);
        expect(sig[0], "DER SEQUENCE").toBe(0x30);
        expect(nodeVerify(nodeHash, msg, { key: pub, dsaEncoding: "der" }, sig), type).toBe(true);
        expect(nodeVerify(nodeHash, text("x"), { key: pub, dsaEncoding: "der" }, sig), type).toBe(false);
        expect(await key.verify!(alg, type, input, sig), type).toBe(true);
        expect(await key.verify!(alg, type, flip(input), sig), type).toBe(false);
        expect(await key.verify!(alg, type, input, flip(sig, sig.length - 3)), type).toBe(false);
        // IEEE P1363 (r‖s) is not the DER encoding AWS uses: refused, not thrown.
        const p1363 = nodeSign(nodeHash, msg, { key: spec === "ECC_SECG_P256K1" ? secpPrivate(material, pub) : pkcs8Key(material), dsaEncoding: "ieee-p1363" });
        expect(await key.verify!(alg, type, input, p1363), type).toBe(false);
      }
      const theirs = nodeSign(nodeHash, msg, { key: spec === "ECC_SECG_P256K1" ? secpPrivate(material, pub) : pkcs8Key(material), dsaEncoding: "der" });
      expect(await key.verify!(alg, "RAW", msg, theirs)).toBe(true);
      expect(await key.verify!(alg, "DIGEST", sha(bits, msg), theirs)).toBe(true);
      const stranger = generateKeyPairSync("ec", { namedCurve: curve });
      expect(await key.verify!(alg, "RAW", msg, nodeSign(nodeHash, msg, { key: stranger.privateKey, dsaEncoding: "der" }))).toBe(false);
    });
  }

  it("ECC_NIST_EDWARDS25519: Ed25519 equals node:crypto's (deterministic); Ed25519ph of the digest equals @noble/curves' ed25519ph", async () => {
    const { material, publicKey, key } = await generateAndLoad("ECC_NIST_EDWARDS25519", "SIGN_VERIFY");
    expect(spkiOf(pkcs8Key(material))).toEqual(publicKey);
    const raw = await key.sign!("ED25519_SHA_512", "RAW", msg);
    expect(Buffer.from(raw)).toEqual(nodeSign(null, msg, pkcs8Key(material)));
    expect(nodeVerify(null, msg, spkiKey(publicKey!), raw)).toBe(true);
    expect(await key.verify!("ED25519_SHA_512", "RAW", msg, flip(raw))).toBe(false);
    const digest = sha(512, msg);
    const ph = await key.sign!("ED25519_PH_SHA_512", "DIGEST", digest);
    const point = publicKey!.subarray(publicKey!.length - 32);
    // Hashed twice, as AWS documents: Ed25519ph whose message is the digest.
    expect(ed25519ph.verify(ph, digest, point)).toBe(true);
    expect(ed25519ph.verify(ph, flip(digest), point)).toBe(false);
    // The same (deterministic) bytes as noble's Ed25519ph, from the PKCS#8 seed.
    const [, , inner] = children(only(material, 0x30)); // RFC 8410: PrivateKeyInfo { 0, Ed25519, OCTET STRING { OCTET STRING seed } }
    expect(ph).toEqual(ed25519ph.sign(digest, only(inner!.value, 0x04)));
    expect(ph).not.toEqual(raw);
    // Pure Ed25519 and Ed25519ph signatures are not interchangeable.
    expect(await key.verify!("ED25519_PH_SHA_512", "DIGEST", digest, raw)).toBe(false);
    expect(await key.verify!("ED25519_SHA_512", "RAW", msg, ph)).toBe(false);
  });

  for (const [spec, dsa, arc] of [["ML_DSA_44", ml_dsa44, 17], ["ML_DSA_65", ml_dsa65, 18], ["ML_DSA_87", ml_dsa87, 19]] as const) {
    it(`${spec}: RAW and EXTERNAL_MU signatures verify with @noble/post-quantum as pure ML-DSA of the message`, async () => {
      const { material, publicKey, key } = await generateAndLoad(spec, "SIGN_VERIFY");
      expect(material.length).toBe(32);
      const pk = rawPublicKey(publicKey!, [3, arc]);
      expect(pk).toEqual(dsa.keygen(material).publicKey);
      const raw = await key.sign!("ML_DSA_SHAKE_256", "RAW", msg);
      expect(raw.length).toBe(dsa.lengths.signature);
      expect(dsa.verify(raw, msg, pk)).toBe(true);
      expect(dsa.verify(raw, text("x"), pk)).toBe(false);
      const mu = externalMu(pk, msg);
      const viaMu = await key.sign!("ML_DSA_SHAKE_256", "EXTERNAL_MU", mu);
      expect(dsa.verify(viaMu, msg, pk)).toBe(true);
      expect(await key.verify!("ML_DSA_SHAKE_256", "RAW", msg, viaMu)).toBe(true);
      expect(await key.verify!("ML_DSA_SHAKE_256", "EXTERNAL_MU", mu, raw)).toBe(true);
      // A signature noble makes with the same seed verifies through the key type.
      const theirs = dsa.sign(msg, dsa.keygen(material).secretKey);
      expect(await key.verify!("ML_DSA_SHAKE_256", "RAW", msg, theirs)).toBe(true);
      expect(await key.verify!("ML_DSA_SHAKE_256", "RAW", msg, flip(raw))).toBe(false);
      expect(await key.verify!("ML_DSA_SHAKE_256", "EXTERNAL_MU", flip(mu), viaMu)).toBe(false);
      expect(await key.verify!("ML_DSA_SHAKE_256", "RAW", msg, raw.subarray(1))).toBe(false);
    });
  }
});

/** The uncompressed point of a node EC public key. */
function ecPoint(pub: KeyObject): Uint8Array {
  const jwk = pub.export({ format: "jwk" });
  return new Uint8Array([4, ...Buffer.from(jwk.x!, "base64url"), ...Buffer.from(jwk.y!, "base64url")]);
}
/** A node private key of a secp256k1 scalar (the key type stores the bare scalar). */
function secpPrivate(scalar: Uint8Array, pub: KeyObject): KeyObject {
  const jwk = pub.export({ format: "jwk" });
  return createPrivateKey({ key: { ...jwk, d: Buffer.from(scalar).toString("base64url") }, format: "jwk" });
}

describe("RSA encryption: both ways against node:crypto", () => {
  it("RSA_2048 OAEP SHA-1 and SHA-256", async () => {
    const { material, publicKey, key } = await generateAndLoad("RSA_2048", "ENCRYPT_DECRYPT");
    const t = keyTypeOf("RSA_2048");
    for (const [alg, oaepHash] of [["RSAES_OAEP_SHA_1", "sha1"], ["RSAES_OAEP_SHA_256", "sha256"]] as const) {
      const max = t.maxPlaintext!(alg);
      expect(max).toBe(alg === "RSAES_OAEP_SHA_1" ? 214 : 190);
      const plaintext = crypto.getRandomValues(new Uint8Array(max));
      const ours = await key.encrypt!(alg, plaintext);
      expect(privateDecrypt({ key: pkcs8Key(material), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ours)).toEqual(Buffer.from(plaintext));
      const theirs = publicEncrypt({ key: spkiKey(publicKey!), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
      expect(await key.decrypt!(alg, theirs)).toEqual({ ok: true, value: plaintext });
      // The other OAEP hash, a flipped byte, a short ciphertext: refused with a reason.
      const other = alg === "RSAES_OAEP_SHA_1" ? "RSAES_OAEP_SHA_256" : "RSAES_OAEP_SHA_1";
      expect((await key.decrypt!(other, theirs)).ok).toBe(false);
      expect((await key.decrypt!(alg, flip(theirs))).ok).toBe(false);
      expect((await key.decrypt!(alg, theirs.subarray(1))).ok).toBe(false);
    }
  });
});

describe("key agreement and KEM key types", () => {
  for (const [spec, curve, size] of [["ECC_NIST_P256", "prime256v1", 32], ["ECC_NIST_P384", "secp384r1", 48], ["ECC_NIST_P521", "secp521r1", 66]] as const) {
    it(`${spec} ECDH equals node:crypto's diffieHellman; other curves and garbage are refused`, async () => {
      const { material, publicKey, key } = await generateAndLoad(spec, "KEY_AGREEMENT");
      const peer = generateKeyPairSync("ec", { namedCurve: curve });
      const r = await key.deriveSharedSecret!(spkiOf(peer.publicKey));
      const expected = Uint8Array.from(diffieHellman({ privateKey: peer.privateKey, publicKey: spkiKey(publicKey!) }));
      expect(expected.length).toBe(size);
      expect(r).toEqual({ ok: true, value: expected });
      expect(Uint8Array.from(diffieHellman({ privateKey: pkcs8Key(material), publicKey: peer.publicKey }))).toEqual(expected);
      const wrongCurve = generateKeyPairSync("ec", { namedCurve: curve === "prime256v1" ? "secp384r1" : "prime256v1" }).publicKey;
      const x25519 = generateKeyPairSync("x25519").publicKey;
      for (const bad of [spkiOf(wrongCurve), spkiOf(x25519), spkiOf(peer.publicKey).subarray(0, 20), new Uint8Array([0x30, 0x00]), text("not DER")]) {
        expect((await key.deriveSharedSecret!(bad)).ok).toBe(false);
      }
    });
  }

  for (const [spec, kem, arc] of [["ML_KEM_512", ml_kem512, 1], ["ML_KEM_768", ml_kem768, 2], ["ML_KEM_1024", ml_kem1024, 3]] as const) {
    it(`${spec}: noble's encapsulation decapsulates through the key type, and the other way`, async () => {
      const { material, publicKey, key } = await generateAndLoad(spec, "ENCAPSULATE_DECAPSULATE");
      const pk = rawPublicKey(publicKey!, [4, arc]);
      expect(pk).toEqual(kem.keygen(material).publicKey);
      const theirs = kem.encapsulate(pk);
      expect(key.decapsulate!(theirs.cipherText)).toEqual({ ok: true, value: theirs.sharedSecret });
      const ours = key.encapsulate!();
      expect(ours.ciphertext.length).toBe(kem.lengths.cipherText);
      expect(kem.decapsulate(ours.ciphertext, kem.keygen(material).secretKey)).toEqual(ours.sharedSecret);
      // ML-KEM rejects implicitly: a changed ciphertext gives another secret, not an error.
      const changed = key.decapsulate!(flip(theirs.cipherText));
      expect(changed.ok).toBe(true);
      expect(changed.ok && changed.value).not.toEqual(theirs.sharedSecret);
      expect(key.decapsulate!(theirs.cipherText.subarray(1)).ok).toBe(false);
    });
  }
});

describe("HMAC key types equal node:crypto's createHmac", () => {
  for (const bits of [224, 256, 384, 512]) {
    it(`HMAC_${bits}`, async () => {
      const { material, key } = await generateAndLoad(`HMAC_${bits}`, "GENERATE_VERIFY_MAC");
      expect(material.length).toBe(bits / 8);
      const expected = Uint8Array.from(createHmac(`sha${bits}`, material).update(msg).digest());
      expect(await key.generateMac!(`HMAC_SHA_${bits}`, msg)).toEqual(expected);
      expect(await key.verifyMac!(`HMAC_SHA_${bits}`, msg, expected)).toBe(true);
      expect(await key.verifyMac!(`HMAC_SHA_${bits}`, msg, flip(expected))).toBe(false);
      expect(await key.verifyMac!(`HMAC_SHA_${bits}`, msg, expected.subarray(1))).toBe(false);
    });
  }
});

describe("data key pairs load in node:crypto and noble", () => {
  for (const spec of ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"]) {
    it(`${spec}: the PKCS#8 private key's public key is the SPKI`, async () => {
      const { privateKey, publicKey } = await keyTypeOf(spec).dataKeyPair!();
      const priv = pkcs8Key(privateKey);
      expect(spkiOf(priv)).toEqual(publicKey);
      // And the pair works: a node signature verifies with the public key alone.
      const sig = nodeSign(spec.startsWith("ECC_NIST_EDWARDS") ? null : "sha256", msg, priv);
      expect(nodeVerify(spec.startsWith("ECC_NIST_EDWARDS") ? null : "sha256", msg, spkiKey(publicKey), sig)).toBe(true);
    });
  }
  for (const [spec, kem, arc] of [["ML_KEM_512", ml_kem512, 1], ["ML_KEM_768", ml_kem768, 2], ["ML_KEM_1024", ml_kem1024, 3]] as const) {
    it(`${spec}: the PKCS#8 seed form expands to the SPKI's key`, async () => {
      const { privateKey, publicKey } = await keyTypeOf(spec).dataKeyPair!();
      const [version, alg, inner] = children(only(privateKey, 0x30));
      expect([version!.tag, Array.from(version!.value)]).toEqual([0x02, [0]]);
      expect(Array.from(only(alg!.value, 0x06))).toEqual([...NIST_ALGORITHMS_OID, 4, arc]);
      expect(inner!.tag).toBe(0x04);
      const seed = only(inner!.value, 0x80); // RFC 9935: seed [0] IMPLICIT OCTET STRING (SIZE (64))
      expect(seed.length).toBe(64);
      expect(kem.keygen(seed).publicKey).toEqual(rawPublicKey(publicKey, [4, arc]));
    });
  }
  it("only specs with data key pairs have dataKeyPair; SM2 is no key type", () => {
    expect(findKeyType("SM2")).toBeUndefined();
    for (const spec of ["SYMMETRIC_DEFAULT", "HMAC_256", "ML_DSA_44"]) expect(keyTypeOf(spec).dataKeyPair, spec).toBeUndefined();
  });
});
