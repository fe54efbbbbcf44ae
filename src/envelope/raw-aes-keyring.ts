// A raw AES keyring compatible with the AWS Encryption SDK's (RawAesKeyringNode, the raw AES keyring
// of the other languages): the data key is AES-GCM-encrypted under a wrapping key the caller holds.
//   providerId   = key namespace
//   providerInfo = key name (UTF-8) || tag length in bits (uint32 BE, 128) || IV length (uint32 BE, 12) || IV
//   ciphertext   = encrypted data key || 16-byte tag
//   AAD          = the serialized encryption context (count and sorted pairs; empty for none)
// The encryption context is sorted by UTF-8 key bytes (the specification). The JavaScript SDK's raw
// keyrings sort with String.localeCompare unless built with utf8Sorting: true; on decrypt this
// keyring tries that order as well when it differs, so their messages always decrypt here.
import { ab, randomBytes, startsWith } from "./bytes.js";
import { fail } from "./errors.js";
import { serializeEncryptionContext, utf8 } from "./format.js";
import { suiteInfo } from "./suites.js";
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Keyring } from "./types.js";

const TAG_BITS = 128;
const IV_LEN = 12;
const lenient = new TextDecoder("utf-8");

export class RawAesKeyring implements Keyring {
  readonly keyNamespace: string;
  readonly keyName: string;
  private readonly name: Uint8Array;
  private readonly key: Promise<CryptoKey>;
  private readonly order: "utf8" | "locale";

  constructor(o: { keyNamespace: string; keyName: string; key: Uint8Array; encryptionContextOrder?: "utf8" | "locale" }) {
    if (typeof o?.keyNamespace !== "string" || !o.keyNamespace) fail("INVALID_ARGUMENT", "RawAesKeyring needs a keyNamespace");
    if (typeof o.keyName !== "string" || !o.keyName) fail("INVALID_ARGUMENT", "RawAesKeyring needs a keyName");
    if (o.keyNamespace === "aws-kms") fail("INVALID_ARGUMENT", "the key namespace aws-kms is reserved for KMS keyrings");
    if (!(o.key instanceof Uint8Array) || ![16, 24, 32].includes(o.key.length)) {
      fail("INVALID_ARGUMENT", `RawAesKeyring key must be 16, 24 or 32 bytes, got ${o.key instanceof Uint8Array ? o.key.length : typeof o.key}`);
    }
    this.keyNamespace = o.keyNamespace;
    this.keyName = o.keyName;
    this.name = utf8(o.keyName);
    this.order = o.encryptionContextOrder ?? "utf8";
    const raw = new Uint8Array(o.key);
    this.key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]).finally(() => raw.fill(0));
    this.key.catch(() => undefined);
  }

  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    const suite = suiteInfo(materials.suite);
    const dataKey = materials.dataKey ?? randomBytes(suite.keyLength);
    const iv = randomBytes(IV_LEN);
    const aad = serializeEncryptionContext(materials.encryptionContext, this.order);
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ab(aad), tagLength: TAG_BITS }, await this.key, ab(dataKey)));
    const rawInfo = new Uint8Array(this.name.length + 8 + IV_LEN);
    rawInfo.set(this.name);
    const dv = new DataView(rawInfo.buffer);
    dv.setUint32(this.name.length, TAG_BITS);
    dv.setUint32(this.name.length + 4, IV_LEN);
    rawInfo.set(iv, this.name.length + 8);
    const edk: EncryptedDataKey = { providerId: this.keyNamespace, providerInfo: lenient.decode(rawInfo), rawInfo, ciphertext: sealed };
    return { ...materials, dataKey, encryptedDataKeys: [...materials.encryptedDataKeys, edk] };
  }

  /** Whether edk is one of this keyring's: namespace, name prefix and the fixed tag and IV lengths. */
  private iv(edk: EncryptedDataKey, keyLength: number): Uint8Array | undefined {
    if (edk.providerId !== this.keyNamespace) return undefined;
    const info = edk.rawInfo ?? utf8(edk.providerInfo);
    if (info.length !== this.name.length + 8 + IV_LEN || !startsWith(info, this.name)) return undefined;
    const dv = new DataView(info.buffer, info.byteOffset, info.byteLength);
    if (dv.getUint32(this.name.length) !== TAG_BITS || dv.getUint32(this.name.length + 4) !== IV_LEN) return undefined;
    if (edk.ciphertext.length !== keyLength + TAG_BITS / 8) return undefined;
    return info.slice(this.name.length + 8);
  }

  async onDecrypt(materials: DecryptionMaterials, edks: EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.dataKey) return materials;
    const suite = suiteInfo(materials.suite);
    const mine = edks.map((e) => [e, this.iv(e, suite.keyLength)] as const).filter(([, iv]) => iv);
    if (mine.length === 0) return materials;
    const aads = [serializeEncryptionContext(materials.encryptionContext, "utf8")];
    const locale = serializeEncryptionContext(materials.encryptionContext, "locale");
    if (!aads.some((a) => a.length === locale.length && a.every((x, i) => x === locale[i]))) aads.push(locale);
    const key = await this.key;
    for (const [edk, iv] of mine) {
      for (const aad of aads) {
        try {
          const dataKey = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: ab(iv!), additionalData: ab(aad), tagLength: TAG_BITS }, key, ab(edk.ciphertext)));
          return { ...materials, dataKey };
        } catch {
          // the tag does not verify under this AAD: try the other order, then the next key
        }
      }
    }
    return fail("NO_DATA_KEY", `raw AES keyring ${this.keyNamespace}/${this.keyName}: ${mine.length === 1 ? "its encrypted data key does" : `none of its ${mine.length} encrypted data keys do`} not decrypt ` +
      "(a different wrapping key, or the encryption context or encrypted data key was modified)");
  }
}
