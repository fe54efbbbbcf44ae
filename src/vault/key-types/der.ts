// The few DER structures key types write themselves: SubjectPublicKeyInfo (RFC 5280 §4.1.2.7)
// and PKCS#8 PrivateKeyInfo (RFC 5208) for keys the runtime's WebCrypto cannot export
// (secp256k1, ML-DSA, ML-KEM). Imported PKCS#8 is read: its outline for every key type
// (privateKeyInfo), a secp256k1 one in full (ecPrivateKey). Formats in docs/formats.md
// ("Key material of asymmetric and HMAC keys").

const length = (n: number): number[] => {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
};

/** One DER TLV. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const head = [tag, ...length(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const body: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes: number[] = [];
    let v = arc;
    do {
      bytes.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < bytes.length - 1; i++) bytes[i]! |= 0x80;
    body.push(...bytes);
  }
  return tlv(0x06, new Uint8Array(body));
}

export const sequence = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
export const octetString = (b: Uint8Array) => tlv(0x04, b);
export const bitString = (b: Uint8Array) => tlv(0x03, new Uint8Array([0]), b);
const INTEGER_0 = new Uint8Array([0x02, 0x01, 0x00]);
const INTEGER_1 = new Uint8Array([0x02, 0x01, 0x01]);

export const OIDS = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  secp256k1: "1.3.132.0.10",
  mlDsa44: "2.16.840.1.101.3.4.3.17",
  mlDsa65: "2.16.840.1.101.3.4.3.18",
  mlDsa87: "2.16.840.1.101.3.4.3.19",
  mlKem512: "2.16.840.1.101.3.4.4.1",
  mlKem768: "2.16.840.1.101.3.4.4.2",
  mlKem1024: "2.16.840.1.101.3.4.4.3",
} as const;

/** SubjectPublicKeyInfo of an algorithm identified by an OID alone (ML-DSA, ML-KEM: RFC 9881, RFC 9935). */
export const spkiOf = (algorithm: string, publicKey: Uint8Array): Uint8Array =>
  sequence(sequence(oid(algorithm)), bitString(publicKey));

/** PrivateKeyInfo (version 0) of an algorithm identified by an OID alone, around its private key bytes. */
export const pkcs8Of = (algorithm: string, privateKey: Uint8Array): Uint8Array =>
  sequence(INTEGER_0, sequence(oid(algorithm)), octetString(privateKey));

/** SubjectPublicKeyInfo of an EC key on a named curve (RFC 5480), public point uncompressed. */
export const ecSpki = (curve: string, point: Uint8Array): Uint8Array =>
  sequence(sequence(oid(OIDS.ecPublicKey), oid(curve)), bitString(point));

/** PrivateKeyInfo of an EC key on a named curve, its ECPrivateKey (RFC 5915) with the public point. */
export const ecPkcs8 = (curve: string, scalar: Uint8Array, point: Uint8Array): Uint8Array =>
  sequence(INTEGER_0, sequence(oid(OIDS.ecPublicKey), oid(curve)), octetString(sequence(INTEGER_1, octetString(scalar), tlv(0xa1, bitString(point)))));

/**
 * An ECDSA signature r ‖ s (each half, as WebCrypto gives it) as DER Ecdsa-Sig-Value
 * (RFC 3279 §2.2.3): two minimal positive INTEGERs in a SEQUENCE, written into one buffer
 * (this runs once per Sign, on a 16 µs primitive).
 */
export function ecdsaToDer(rs: Uint8Array): Uint8Array {
  const half = rs.length / 2;
  // Each integer: its bytes without leading zeros, and a 0x00 before a high first bit.
  const bounds = [0, half].map((start) => {
    let i = start;
    while (i < start + half - 1 && rs[i] === 0) i++;
    return { from: i, to: start + half, pad: rs[i]! & 0x80 ? 1 : 0 };
  });
  const body = bounds.reduce((n, b) => n + 2 + b.pad + (b.to - b.from), 0);
  const long = body >= 0x80; // P-521: the SEQUENCE needs the 0x81 length form
  const out = new Uint8Array(2 + (long ? 1 : 0) + body);
  let o = 0;
  out[o++] = 0x30;
  if (long) out[o++] = 0x81;
  out[o++] = body;
  for (const b of bounds) {
    out[o++] = 0x02;
    out[o++] = b.pad + (b.to - b.from);
    if (b.pad) out[o++] = 0;
    out.set(rs.subarray(b.from, b.to), o);
    o += b.to - b.from;
  }
  return out;
}

/**
 * A DER Ecdsa-Sig-Value as r ‖ s of `size` bytes each, or undefined unless it is strict DER:
 * one SEQUENCE of two positive, minimally encoded INTEGERs that fit in `size` bytes, nothing after.
 */
export function ecdsaFromDer(der: Uint8Array, size: number): Uint8Array | undefined {
  let off = 0;
  const readLength = (): number | undefined => {
    const first = der[off++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined; // no signature here needs more than one length byte
    const n = der[off++];
    return n !== undefined && n >= 0x80 ? n : undefined;
  };
  if (der[off++] !== 0x30) return undefined;
  const seqLength = readLength();
  if (seqLength === undefined || off + seqLength !== der.length) return undefined;
  const out = new Uint8Array(2 * size);
  for (const at of [0, size]) {
    if (der[off++] !== 0x02) return undefined;
    const len = readLength();
    if (len === undefined || len === 0 || off + len > der.length) return undefined;
    let v = der.subarray(off, off + len);
    off += len;
    if (v[0]! & 0x80) return undefined; // negative
    if (v[0] === 0 && len > 1) {
      if (!(v[1]! & 0x80)) return undefined; // not minimal
      v = v.subarray(1);
    }
    if (v.length > size) return undefined;
    out.set(v, at + size - v.length);
  }
  return off === der.length ? out : undefined;
}

/** One DER element at `at`: its tag and where its contents start and end (undefined if malformed). */
function element(der: Uint8Array, at: number): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > der.length) return undefined;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > der.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return start + len <= der.length ? { tag, start, end: start + len } : undefined;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The AlgorithmIdentifier (the whole element) and the privateKey OCTET STRING's contents of a
 * DER PKCS#8 PrivateKeyInfo (RFC 5208: version 0, optional [0] attributes, nothing after), or
 * undefined for anything else. AWS takes asymmetric material as PrivateKeyInfo, and the runtime's
 * WebCrypto importKey("pkcs8") also takes a bare SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey, so
 * this is checked before it is asked. A version 1 OneAsymmetricKey (RFC 5958) is refused, as
 * WebCrypto refuses it for the NIST curves.
 */
export function privateKeyInfo(der: Uint8Array): { algorithm: Uint8Array; privateKey: Uint8Array } | undefined {
  const outer = element(der, 0);
  if (outer?.tag !== 0x30 || outer.end !== der.length) return undefined;
  const version = element(der, outer.start);
  if (version?.tag !== 0x02 || version.end - version.start !== 1 || der[version.start] !== 0) return undefined;
  const algorithm = element(der, version.end);
  if (algorithm?.tag !== 0x30) return undefined;
  const privateKey = element(der, algorithm.end);
  if (privateKey?.tag !== 0x04) return undefined;
  const attributes = privateKey.end < outer.end ? element(der, privateKey.end) : undefined;
  if ((attributes?.tag === 0xa0 ? attributes.end : privateKey.end) !== outer.end) return undefined;
  return { algorithm: der.subarray(version.end, algorithm.end), privateKey: der.subarray(privateKey.start, privateKey.end) };
}

/** The AlgorithmIdentifier of an EC key on a named curve (RFC 5480). */
export const ecAlgorithm = (curve: string): Uint8Array => sequence(oid(OIDS.ecPublicKey), oid(curve));

/** Whether an AlgorithmIdentifier is rsaEncryption, its parameters NULL (RFC 8017 §A.1) or, as some encoders write it, absent. */
export const isRsaEncryption = (algorithm: Uint8Array): boolean =>
  sameBytes(algorithm, sequence(oid(OIDS.rsaEncryption), new Uint8Array([0x05, 0x00]))) || sameBytes(algorithm, sequence(oid(OIDS.rsaEncryption)));

/**
 * The private scalar of a PKCS#8 (privateKeyInfo) holding an ECPrivateKey (RFC 5915) on the
 * named curve `curve`, and the public point the ECPrivateKey carries if it has one (as encoded:
 * the caller checks it against the scalar); undefined for anything else, including parameters
 * naming another curve. Used for imported material only.
 */
export function ecPrivateKey(pkcs8: Uint8Array, curve: string): { scalar: Uint8Array; point?: Uint8Array } | undefined {
  const info = privateKeyInfo(pkcs8);
  if (!info || !sameBytes(info.algorithm, ecAlgorithm(curve))) return undefined;
  const inner = info.privateKey;
  const ecKey = element(inner, 0);
  if (ecKey?.tag !== 0x30 || ecKey.end !== inner.length) return undefined;
  const ecVersion = element(inner, ecKey.start);
  if (ecVersion?.tag !== 0x02 || ecVersion.end - ecVersion.start !== 1 || inner[ecVersion.start] !== 1) return undefined;
  const scalar = element(inner, ecVersion.end);
  if (scalar?.tag !== 0x04) return undefined;
  let at = scalar.end;
  // [0] EXPLICIT parameters (optional): the same named curve.
  const parameters = at < ecKey.end ? element(inner, at) : undefined;
  if (parameters?.tag === 0xa0) {
    if (!sameBytes(inner.subarray(parameters.start, parameters.end), oid(curve))) return undefined;
    at = parameters.end;
  }
  // [1] EXPLICIT publicKey BIT STRING (optional), no unused bits.
  let point: Uint8Array | undefined;
  const publicKey = at < ecKey.end ? element(inner, at) : undefined;
  if (publicKey?.tag === 0xa1) {
    const bits = element(inner, publicKey.start);
    if (bits?.tag !== 0x03 || bits.end !== publicKey.end || bits.end - bits.start < 2 || inner[bits.start] !== 0) return undefined;
    point = inner.slice(bits.start + 1, bits.end);
    at = publicKey.end;
  }
  if (at !== ecKey.end) return undefined;
  return { scalar: inner.slice(scalar.start, scalar.end), ...(point ? { point } : {}) };
}
