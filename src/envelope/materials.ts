// The default materials manager (as the AWS Encryption SDK's default CMM: it makes the signing key
// pair of the signed suites and carries the public key in the encryption context) and the multi
// keyring (a generator plus children, each adding an encrypted data key).
import { EnvelopeError, fail } from "./errors.js";
import { checkDataKey } from "./kdf.js";
import { platform } from "./platform.js";
import { generateSigningKey, importVerificationKey } from "./signature.js";
import { ENCODED_SIGNER_KEY, hex16, suiteInfo } from "./suites.js";
import type {
  DecryptionMaterials, DecryptionRequest, EncryptedDataKey, EncryptionMaterials, EncryptionRequest, Keyring, MaterialsManager,
} from "./types.js";

function isKeyring(k: unknown): k is Keyring {
  return typeof (k as Keyring)?.onEncrypt === "function" && typeof (k as Keyring)?.onDecrypt === "function";
}

function describeEdks(edks: EncryptedDataKey[]): string {
  const counts = new Map<string, number>();
  for (const e of edks) counts.set(e.providerId, (counts.get(e.providerId) ?? 0) + 1);
  return [...counts].map(([id, n]) => (n > 1 ? `${n} × ${id}` : id)).join(", ");
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class DefaultMaterialsManager implements MaterialsManager {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    if (!isKeyring(keyring)) fail("INVALID_ARGUMENT", "DefaultMaterialsManager needs a keyring (onEncrypt and onDecrypt)");
    this.keyring = keyring;
  }

  async getEncryptionMaterials(request: EncryptionRequest): Promise<EncryptionMaterials> {
    const suite = suiteInfo(request.suite);
    const ec = { ...request.encryptionContext };
    if (Object.prototype.hasOwnProperty.call(ec, ENCODED_SIGNER_KEY)) {
      fail("ENCRYPTION_CONTEXT", `the encryption context key ${ENCODED_SIGNER_KEY} is reserved (it carries the signed suites' public key)`);
    }
    let signingKey: CryptoKey | undefined;
    if (suite.signature) {
      const k = await generateSigningKey(suite);
      signingKey = k.privateKey;
      ec[ENCODED_SIGNER_KEY] = k.encodedPublicKey;
    }
    const m = await this.keyring.onEncrypt({ suite: suite.id, encryptionContext: ec, encryptedDataKeys: [], signingKey });
    checkDataKey(suite, m?.dataKey, "the keyring");
    if (!m.encryptedDataKeys?.length) fail("NO_DATA_KEY", "the keyring added no encrypted data keys: the message could never be decrypted");
    if (m.suite !== suite.id) fail("KEYRING", `the keyring changed the suite to ${hex16(m.suite)}`);
    return { ...m, signingKey };
  }

  async decryptMaterials(request: DecryptionRequest): Promise<DecryptionMaterials> {
    const suite = suiteInfo(request.suite);
    const ec = request.encryptionContext;
    const encoded = Object.prototype.hasOwnProperty.call(ec, ENCODED_SIGNER_KEY) ? ec[ENCODED_SIGNER_KEY] : undefined;
    let verificationKey: CryptoKey | undefined;
    if (suite.signature) {
      if (encoded === undefined) fail("ENCRYPTION_CONTEXT", `suite ${hex16(suite.id)} is signed but the encryption context lacks ${ENCODED_SIGNER_KEY}`);
      verificationKey = await importVerificationKey(suite, encoded, platform().signatures);
    } else if (encoded !== undefined) {
      fail("ENCRYPTION_CONTEXT", `the encryption context carries ${ENCODED_SIGNER_KEY} but suite ${hex16(suite.id)} is not signed`);
    }
    const edks = request.encryptedDataKeys;
    let m: DecryptionMaterials;
    try {
      m = await this.keyring.onDecrypt({ suite: suite.id, encryptionContext: { ...ec }, verificationKey }, edks.slice());
    } catch (e) {
      if (e instanceof EnvelopeError) throw e;
      return fail("NO_DATA_KEY", `could not decrypt a data key (${describeEdks(edks)}): ${message(e)}`, e);
    }
    if (!m?.dataKey) {
      fail("NO_DATA_KEY", `no keyring could decrypt any of the message's ${edks.length} encrypted data key${edks.length === 1 ? "" : "s"} (${describeEdks(edks)})`);
    }
    checkDataKey(suite, m.dataKey, "the keyring");
    return { ...m, suite: suite.id, verificationKey };
  }
}

/**
 * Several keyrings as one. On encrypt the generator makes the data key and its encrypted copy, then
 * each child adds its own; on decrypt the keyrings are tried in order (generator first) until one
 * yields the data key. Errors of the ones that fail are reported together if none succeeds.
 */
export class MultiKeyring implements Keyring {
  readonly generator?: Keyring;
  readonly children: readonly Keyring[];
  constructor(o: { generator?: Keyring; children?: Keyring[] }) {
    if (o?.generator !== undefined && !isKeyring(o.generator)) fail("INVALID_ARGUMENT", "MultiKeyring generator must be a keyring");
    const children = o?.children ?? [];
    if (!Array.isArray(children) || !children.every(isKeyring)) fail("INVALID_ARGUMENT", "MultiKeyring children must be keyrings");
    if (!o.generator && children.length === 0) fail("INVALID_ARGUMENT", "MultiKeyring needs a generator or at least one child");
    this.generator = o.generator;
    this.children = [...children];
  }

  async onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials> {
    let m = materials;
    if (this.generator) {
      m = await this.generator.onEncrypt(m);
      if (!m?.dataKey) fail("NO_DATA_KEY", "the MultiKeyring's generator produced no data key");
    } else if (!m.dataKey) {
      fail("NO_DATA_KEY", "a MultiKeyring without a generator cannot make a data key (give it a generator)");
    }
    for (const child of this.children) m = await child.onEncrypt(m);
    return m;
  }

  async onDecrypt(materials: DecryptionMaterials, edks: EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (materials.dataKey) return materials;
    const errors: string[] = [];
    for (const k of [...(this.generator ? [this.generator] : []), ...this.children]) {
      try {
        const m = await k.onDecrypt(materials, edks);
        if (m?.dataKey) return m;
      } catch (e) {
        errors.push(message(e));
      }
    }
    if (errors.length) fail("NO_DATA_KEY", `no keyring could decrypt a data key: ${errors.join("; ")}`);
    return materials;
  }
}
