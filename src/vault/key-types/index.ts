// Key types by KeySpec.
import { SYMMETRIC_DEFAULT } from "./symmetric.js";
import type { KeyType } from "./types.js";

const TYPES: ReadonlyMap<string, KeyType> = new Map([SYMMETRIC_DEFAULT].map((t) => [t.spec, t]));

/** The key type of a stored key's spec (only specs the vault created are stored). */
export function keyTypeOf(spec: string): KeyType {
  const t = TYPES.get(spec);
  if (!t) throw new Error(`no key type for ${spec}`);
  return t;
}

/** The key type of a spec a caller asks for, if EdgeKMS has it. */
export const findKeyType = (spec: string): KeyType | undefined => TYPES.get(spec);
