// ECDSA for the signed suites (0x0578, 0x0378, 0x0346: P-384/SHA-384; 0x0214: P-256/SHA-256).
// The signature covers the header and the body, so it is computed over a running hash: the
// providers take bytes as they stream past. Keys are WebCrypto CryptoKeys (the public key travels
// compressed, base64, in the encryption context under aws-crypto-public-key). This module's
// provider is environment-neutral (@noble/hashes + @noble/curves on the digest); the Node entry
// swaps in node:crypto's createSign/createVerify (sign-node.ts). @noble is imported on first use
// only: the Node entry never needs it (imported alone into Node, it takes ~12 MB of memory).
import { ab, fromBase64, fromBase64Url, toBase64 } from "./bytes.js";
import { EnvelopeError, fail } from "./errors.js";
import { ENCODED_SIGNER_KEY, type SuiteInfo } from "./suites.js";

export type Curve = "P-256" | "P-384";
export type Hash = "SHA-256" | "SHA-384";

/**
 * The running hash of a signed message. update() takes bytes as they stream past; it never keeps a
 * reference to them (the caller may reuse the buffer at once). A provider that hashes off the
 * calling thread (sign-node.ts) may lag behind: ready() then returns a promise that resolves once
 * the backlog is small again, and the engine waits for it before taking more input, so the backlog
 * stays bounded. dispose() releases what a message abandoned before sign()/verify() holds.
 */
export interface StreamSigner {
  update(bytes: Uint8Array): void;
  /** DER signature over everything updated. */
  sign(): Promise<Uint8Array>;
  ready?(): Promise<void> | undefined;
  /** The largest input slice the engine should take at a time (a provider that copies what it hashes off-thread buffers two), if it has a limit. */
  maxSlice?(): number | undefined;
  dispose?(): void;
}
export interface StreamVerifier {
  update(bytes: Uint8Array): void;
  verify(signature: Uint8Array): Promise<boolean>;
  ready?(): Promise<void> | undefined;
  maxSlice?(): number | undefined;
  dispose?(): void;
}
export interface SignatureProvider {
  readonly name: string;
  signer(curve: Curve, hash: Hash, privateKey: CryptoKey): Promise<StreamSigner>;
  verifier(curve: Curve, hash: Hash, publicKey: CryptoKey): Promise<StreamVerifier>;
  /**
   * The uncompressed point (0x04, x, y) of a compressed public key; throws if it is not a point of
   * the curve. Without it, @noble/curves does it.
   */
  decompress?(curve: Curve, compressed: Uint8Array): Uint8Array;
}

type Noble = {
  curves: Record<Curve, typeof import("@noble/curves/nist.js").p256>;
  hashes: Record<Hash, typeof import("@noble/hashes/sha2.js").sha256>;
};
let nobleModules: Promise<Noble> | undefined;

function noble(): Promise<Noble> {
  nobleModules ??= Promise.all([import("@noble/curves/nist.js"), import("@noble/hashes/sha2.js")]).then(([c, h]) => ({
    curves: { "P-256": c.p256, "P-384": c.p384 as unknown as typeof c.p256 },
    hashes: { "SHA-256": h.sha256, "SHA-384": h.sha384 as unknown as typeof h.sha256 },
  }));
  return nobleModules;
}

export const nobleSignatures: SignatureProvider = {
  name: "noble",
  async signer(curve, hash, privateKey) {
    const { curves: CURVES, hashes: HASHES } = await noble();
    const jwk = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
    if (!jwk.d) fail("INVALID_ARGUMENT", "the signing key is not an extractable ECDSA private key");
    const scalar = fromBase64Url(jwk.d);
    const h = HASHES[hash].create();
    return {
      update: (b) => { h.update(b); },
      async sign() {
        try {
          return CURVES[curve].sign(h.digest(), scalar, { prehash: false, lowS: false, format: "der" });
        } finally {
          scalar.fill(0);
        }
      },
    };
  },
  async verifier(curve, hash, publicKey) {
    const { curves: CURVES, hashes: HASHES } = await noble();
    const point = new Uint8Array((await crypto.subtle.exportKey("raw", publicKey)) as ArrayBuffer);
    const h = HASHES[hash].create();
    return {
      update: (b) => { h.update(b); },
      async verify(signature) {
        try {
          return CURVES[curve].verify(signature, h.digest(), point, { prehash: false, lowS: false, format: "der" });
        } catch {
          return false; // not a DER signature
        }
      },
    };
  },
};

function compress(raw: Uint8Array): Uint8Array {
  const n = (raw.length - 1) / 2;
  const out = new Uint8Array(1 + n);
  out[0] = (raw[raw.length - 1]! & 1) === 1 ? 3 : 2;
  out.set(raw.subarray(1, 1 + n), 1);
  return out;
}

/** A fresh key pair: the private key (extractable, for the providers) and the encoded public key. */
export async function generateSigningKey(suite: SuiteInfo): Promise<{ privateKey: CryptoKey; encodedPublicKey: string }> {
  const curve = suite.signature!.curve;
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { privateKey: pair.privateKey, encodedPublicKey: toBase64(compress(raw)) };
}

/**
 * The verification key from the encryption context's aws-crypto-public-key (a compressed point,
 * base64), decompressed by the provider's decompress() when it has one, else by @noble/curves.
 */
export async function importVerificationKey(suite: SuiteInfo, encoded: string, provider?: Pick<SignatureProvider, "decompress">): Promise<CryptoKey> {
  const curve = suite.signature!.curve;
  const bad = () => fail("ENCRYPTION_CONTEXT", `the encryption context's ${ENCODED_SIGNER_KEY} is not a compressed ${curve} point in base64`);
  let point: Uint8Array;
  try {
    const compressed = fromBase64(encoded);
    point = provider?.decompress ? provider.decompress(curve, compressed) : (await noble()).curves[curve].Point.fromBytes(compressed).toBytes(false);
  } catch (e) {
    if (e instanceof EnvelopeError) throw e;
    return bad();
  }
  const n = curve === "P-256" ? 32 : 48;
  if (point.length !== 1 + 2 * n || point[0] !== 4) return bad();
  try {
    return await crypto.subtle.importKey("raw", ab(point), { name: "ECDSA", namedCurve: curve }, true, ["verify"]);
  } catch {
    return bad();
  }
}
