// ECDSA signatures on node:crypto: the running hash is OpenSSL's (createSign/createVerify), several
// times faster than a JS SHA-384 on large messages. Used by the Node entry (node.ts).
import { KeyObject, createSign, createVerify } from "node:crypto";
import type { SignatureProvider } from "./signature.js";

const name = (hash: string) => hash.replace("-", "").toLowerCase(); // "SHA-384" -> "sha384"

export const nodeSignatures: SignatureProvider = {
  name: "node",
  async signer(_curve, hash, privateKey) {
    const key = KeyObject.from(privateKey);
    const s = createSign(name(hash));
    return {
      update: (b) => { s.update(b); },
      sign: async () => new Uint8Array(s.sign({ key, dsaEncoding: "der" })),
    };
  },
  async verifier(_curve, hash, publicKey) {
    const key = KeyObject.from(publicKey);
    const v = createVerify(name(hash));
    return {
      update: (b) => { v.update(b); },
      async verify(signature) {
        try {
          return v.verify({ key, dsaEncoding: "der" }, signature);
        } catch {
          return false;
        }
      },
    };
  },
};
