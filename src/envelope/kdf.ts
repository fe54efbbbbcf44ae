// Frame key derivation and key commitment (algorithms-reference.html, "Key derivation"):
// version 2 suites: HKDF-SHA512 with the message id as salt, info = suite id || "DERIVEKEY" for the
// key and "COMMITKEY" for the 32-byte commitment; version 1 HKDF suites: no salt, info = suite id ||
// message id; the NO_KDF suites use the data key itself. WebCrypto's HKDF, so it runs everywhere.
import { ab } from "./bytes.js";
import { fail } from "./errors.js";
import { utf8 } from "./format.js";
import { hex16, type SuiteInfo } from "./suites.js";

const DERIVEKEY = utf8("DERIVEKEY");
const COMMITKEY = utf8("COMMITKEY");

async function hkdf(hash: string, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ab(ikm), "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash, salt: ab(salt), info: ab(info) }, key, length * 8));
}

export function checkDataKey(suite: SuiteInfo, dataKey: unknown, who: string): Uint8Array {
  if (!(dataKey instanceof Uint8Array)) fail("NO_DATA_KEY", `${who} produced no data key`);
  if (dataKey.length !== suite.keyLength) {
    fail("KEYRING", `${who} produced a ${dataKey.length}-byte data key; suite ${hex16(suite.id)} needs ${suite.keyLength} bytes`);
  }
  return dataKey;
}

/** The frame key (a fresh copy the caller must zero) and, for committing suites, the commitment. */
export async function deriveKeys(suite: SuiteInfo, dataKey: Uint8Array, messageId: Uint8Array): Promise<{ key: Uint8Array; commitment?: Uint8Array }> {
  if (!suite.kdfHash) return { key: dataKey.slice() };
  const id = new Uint8Array([suite.id >> 8, suite.id & 0xff]);
  if (!suite.committing) {
    const info = new Uint8Array(2 + messageId.length);
    info.set(id);
    info.set(messageId, 2);
    return { key: await hkdf(suite.kdfHash, dataKey, new Uint8Array(0), info, suite.keyLength) };
  }
  const keyInfo = new Uint8Array(2 + DERIVEKEY.length);
  keyInfo.set(id);
  keyInfo.set(DERIVEKEY, 2);
  const [key, commitment] = await Promise.all([
    hkdf(suite.kdfHash, dataKey, messageId, keyInfo, suite.keyLength),
    hkdf(suite.kdfHash, dataKey, messageId, COMMITKEY, 32),
  ]);
  return { key, commitment };
}
