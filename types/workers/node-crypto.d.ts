// The part of node:crypto that Workers provide (nodejs_compat) and the vault uses: raw RSA for
// signing and verifying message digests (src/vault/key-types/rsa.ts), and a primality test the
// workers tests use to make RSA keys of odd sizes (test/workers/import.test.ts). The Node.js tsconfig
// takes these from @types/node instead.
declare module "node:crypto" {
  interface RsaKeyInput {
    key: Uint8Array;
    format: "der";
    type: "pkcs8" | "spki";
    padding: number;
  }
  export function privateEncrypt(key: RsaKeyInput, data: Uint8Array): Uint8Array;
  export function privateDecrypt(key: RsaKeyInput, data: Uint8Array): Uint8Array;
  export function publicEncrypt(key: RsaKeyInput, data: Uint8Array): Uint8Array;
  export function publicDecrypt(key: RsaKeyInput, data: Uint8Array): Uint8Array;
  export function checkPrimeSync(candidate: bigint): boolean;
  export const constants: { RSA_PKCS1_PADDING: number; RSA_NO_PADDING: number };
}
