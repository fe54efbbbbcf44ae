// Key types by KeySpec: one module per family, all behind the KeyType interface (types.ts).
import { ECC_NIST_TYPES } from "./ecc.js";
import { ECC_NIST_EDWARDS25519 } from "./ed25519.js";
import { HMAC_TYPES } from "./hmac.js";
import { ML_DSA_TYPES } from "./ml-dsa.js";
import { ML_KEM_TYPES } from "./ml-kem.js";
import { RSA_TYPES } from "./rsa.js";
import { ECC_SECG_P256K1 } from "./secp256k1.js";
import { SYMMETRIC_DEFAULT } from "./symmetric.js";
import type { KeyType } from "./types.js";

const ALL: KeyType[] = [SYMMETRIC_DEFAULT, ...RSA_TYPES, ...ECC_NIST_TYPES, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, ...HMAC_TYPES, ...ML_DSA_TYPES, ...ML_KEM_TYPES];
const TYPES: ReadonlyMap<string, KeyType> = new Map(ALL.map((t) => [t.spec, t]));

/** The key type of a stored key's spec (only specs the vault created are stored). */
export function keyTypeOf(spec: string): KeyType {
  const t = TYPES.get(spec);
  if (!t) throw new Error(`no key type for ${spec}`);
  return t;
}

/** The key type of a spec a caller asks for, if EdgeKMS has it. */
export const findKeyType = (spec: string): KeyType | undefined => TYPES.get(spec);

/** Every KeySpec EdgeKMS makes keys of. */
export const KEY_SPECS_SUPPORTED: readonly string[] = ALL.map((t) => t.spec);
