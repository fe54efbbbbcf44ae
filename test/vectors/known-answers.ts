// Known-answer vectors typed in from their published sources. Every entry names
// its source; the same list runs against the WASM core, node:crypto and the
// readable reference (test/reference/aes-reference.ts).

export interface GcmVector {
  source: string;
  key: string;
  iv: string;
  pt: string;
  aad: string;
  ct: string;
  tag: string;
}

export interface WrapVector {
  source: string;
  kek: string;
  key: string;
  wrapped: string;
}

const GCM_SPEC = "McGrew & Viega, The Galois/Counter Mode of Operation (GCM), rev. 2005, Appendix B";
const K3 = "feffe9928665731c6d6a8f9467308308";
const P3 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const P4 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const A4 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const IV6 = "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b";

export const GCM_VECTORS: GcmVector[] = [
  { source: `${GCM_SPEC}, Test Case 1`, key: "00000000000000000000000000000000", iv: "000000000000000000000000", pt: "", aad: "", ct: "", tag: "58e2fccefa7e3061367f1d57a4e7455a" },
  { source: `${GCM_SPEC}, Test Case 2`, key: "00000000000000000000000000000000", iv: "000000000000000000000000", pt: "00000000000000000000000000000000", aad: "", ct: "0388dace60b6a392f328c2b971b2fe78", tag: "ab6e47d42cec13bdf53a67b21257bddf" },
  { source: `${GCM_SPEC}, Test Case 3`, key: K3, iv: "cafebabefacedbaddecaf888", pt: P3, aad: "", ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985", tag: "4d5c2af327cd64a62cf35abd2ba6fab4" },
  { source: `${GCM_SPEC}, Test Case 4`, key: K3, iv: "cafebabefacedbaddecaf888", pt: P4, aad: A4, ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091", tag: "5bc94fbc3221a5db94fae95ae7121a47" },
  { source: `${GCM_SPEC}, Test Case 5 (64-bit IV)`, key: K3, iv: "cafebabefacedbad", pt: P4, aad: A4, ct: "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598", tag: "3612d2e79e3b0785561be14aaca2fccb" },
  { source: `${GCM_SPEC}, Test Case 6 (480-bit IV)`, key: K3, iv: IV6, pt: P4, aad: A4, ct: "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca701e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5", tag: "619cc5aefffe0bfa462af43c1699d050" },
  { source: `${GCM_SPEC}, Test Case 13`, key: "0000000000000000000000000000000000000000000000000000000000000000", iv: "000000000000000000000000", pt: "", aad: "", ct: "", tag: "530f8afbc74536b9a963b4f1c4cb738b" },
  { source: `${GCM_SPEC}, Test Case 14`, key: "0000000000000000000000000000000000000000000000000000000000000000", iv: "000000000000000000000000", pt: "00000000000000000000000000000000", aad: "", ct: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919" },
  { source: `${GCM_SPEC}, Test Case 15`, key: K3 + K3, iv: "cafebabefacedbaddecaf888", pt: P3, aad: "", ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad", tag: "b094dac5d93471bdec1a502270e3cc6c" },
  { source: `${GCM_SPEC}, Test Case 16`, key: K3 + K3, iv: "cafebabefacedbaddecaf888", pt: P4, aad: A4, ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662", tag: "76fc6ece0f4e1768cddf8853bb2d551b" },
  { source: `${GCM_SPEC}, Test Case 17 (64-bit IV)`, key: K3 + K3, iv: "cafebabefacedbad", pt: P4, aad: A4, ct: "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f", tag: "3a337dbf46a792c45e454913fe2ea8f2" },
  { source: `${GCM_SPEC}, Test Case 18 (480-bit IV)`, key: K3 + K3, iv: IV6, pt: P4, aad: A4, ct: "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f", tag: "a44a8266ee1c8eb0c8b5d4cf5ae9f19a" },
];

const KEK128 = "000102030405060708090a0b0c0d0e0f";
const KEK192 = "000102030405060708090a0b0c0d0e0f1011121314151617";
const KEK256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC3394 = "RFC 3394 §4";

export const KW_VECTORS: WrapVector[] = [
  { source: `${RFC3394}.1 (128-bit data, 128-bit KEK)`, kek: KEK128, key: "00112233445566778899aabbccddeeff", wrapped: "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5" },
  { source: `${RFC3394}.2 (128-bit data, 192-bit KEK)`, kek: KEK192, key: "00112233445566778899aabbccddeeff", wrapped: "96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d" },
  { source: `${RFC3394}.3 (128-bit data, 256-bit KEK)`, kek: KEK256, key: "00112233445566778899aabbccddeeff", wrapped: "64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7" },
  { source: `${RFC3394}.4 (192-bit data, 192-bit KEK)`, kek: KEK192, key: "00112233445566778899aabbccddeeff0001020304050607", wrapped: "031d33264e15d33268f24ec260743edce1c6c7ddee725a936ba814915c6762d2" },
  { source: `${RFC3394}.5 (192-bit data, 256-bit KEK)`, kek: KEK256, key: "00112233445566778899aabbccddeeff0001020304050607", wrapped: "a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1" },
  { source: `${RFC3394}.6 (256-bit data, 256-bit KEK)`, kek: KEK256, key: "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f", wrapped: "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21" },
];

const RFC5649_KEK = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";
export const KWP_VECTORS: WrapVector[] = [
  { source: "RFC 5649 §6 (20-octet key)", kek: RFC5649_KEK, key: "c37b7e6492584340bed12207808941155068f738", wrapped: "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a" },
  { source: "RFC 5649 §6 (7-octet key)", kek: RFC5649_KEK, key: "466f7250617369", wrapped: "afbeb0f07dfbf5419200f2ccb50bb24f" },
];

export function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
