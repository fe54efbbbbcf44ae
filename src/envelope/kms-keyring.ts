// The AWS KMS keyring, as the AWS Encryption SDK's (KmsKeyringNode / KmsKeyringBrowser): encrypted
// data keys with provider id "aws-kms" and provider info the KMS key ARN that KMS answered.
//   encrypt: GenerateDataKey with the generator (when no other keyring made the data key yet), then
//            Encrypt of the data key under every other key, in order, each adding one EDK;
//   decrypt: Decrypt (KeyId = the EDK's provider info, the full encryption context) of each EDK in
//            turn that this keyring may use, until one answers: in strict mode only EDKs whose ARN
//            is one of the configured ones, in discovery mode any "aws-kms" EDK, optionally only
//            those of a partition and accounts. Each key's region comes from its ARN; `client`
//            returns the KMS client of that region.
import { EnvelopeError, type EnvelopeErrorCode } from "./errors.js";
import type { KmsClientLike } from "./kms-client.js";
import { suiteInfo } from "./suites.js";
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, Keyring } from "./types.js";

// One import for KMS users: the keyring and the client it needs (package export edgekms/envelope/kms).
export { KmsHttpClient, KmsError, kmsClientProvider, defaultKmsEndpoint } from "./kms-client.js";
export type { KmsClientLike, KmsHttpClientOptions, KmsClientProviderOptions, Credentials } from "./kms-client.js";

export const KMS_PROVIDER_ID = "aws-kms";
/**
 * KMS Decrypt calls that may fail for one message before the keyring gives up (maxDecryptFailures
 * overrides it). A message chooses its encrypted data keys: without a bound, one of thousands (in
 * discovery mode, or naming a configured key many times) made as many sequential calls (attack review).
 */
export const DEFAULT_MAX_DECRYPT_FAILURES = 5;
/** Failures quoted in an error: the rest are counted (a message must not make error lines unbounded). */
const ERRORS_SHOWN = 3;
/** Key ARNs quoted when saying which keys a message has. */
const KEYS_SHOWN = 5;

/** The first `n` items, then "and N more". */
function listSome(items: string[], n: number, sep: string): string {
  return items.length <= n ? items.join(sep) : `${items.slice(0, n).join(sep)}${sep}and ${items.length - n} more`;
}

/** An error's text as quoted: KMS (or whatever answers in its place) chooses its length. */
const ERROR_TEXT_SHOWN = 300;
const clip = (t: string) => (t.length > ERROR_TEXT_SHOWN ? `${t.slice(0, ERROR_TEXT_SHOWN)}…` : t);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface KmsKeyringOptions {
  /** Makes the data key (GenerateDataKey) when no other keyring did; encrypts it otherwise. */
  generatorKeyId?: string;
  /** More wrapping keys: each Encrypts the data key, adding an EDK. On decrypt, the ARNs allowed (strict mode). */
  keyIds?: string[];
  /** Decrypt-only: try any "aws-kms" EDK of the message (never encrypts). */
  discovery?: boolean;
  /** With discovery: only keys of this partition and these accounts. */
  discoveryFilter?: { partition: string; accountIds: string[] };
  /** The KMS client of a region ("" when the key identifier carries no region, e.g. an alias name). */
  client: (region: string) => KmsClientLike;
  grantTokens?: string[];
  /** Failed KMS Decrypt calls per message before giving up (default DEFAULT_MAX_DECRYPT_FAILURES). */
  maxDecryptFailures?: number;
}

export interface KmsArn { partition: string; region: string; accountId: string; resourceType: "key" | "alias"; resourceId: string }

/** Parses `arn:<partition>:kms:<region>:<account>:key/<id>` or `…:alias/<name>`; undefined if it is not one. */
const PARTITION = /^aws(-[a-z]+)*$/;
/** AWS region names (https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html: ^([a-z]+-){2,3}\d+$). */
export const REGION = /^([a-z]+-){2,3}\d+$/;
const ACCOUNT = /^\d{12}$/;
const RESOURCE_ID = /^[a-zA-Z0-9:/_-]+$/;

export function parseKmsArn(arn: string): KmsArn | undefined {
  const parts = arn.split(":");
  if (parts.length !== 6) return undefined;
  const [lit, partition, service, region, accountId, resource] = parts;
  const slash = resource.indexOf("/");
  const type = resource.slice(0, slash);
  const id = resource.slice(slash + 1);
  if (lit !== "arn" || service !== "kms" || slash < 0 || (type !== "key" && type !== "alias")) return undefined;
  // Every part checked: the region picks the KMS endpoint a request (and its credentials) goes
  // to, and a message names its keys, so "x@attacker.invalid#" must never become a host.
  if (!PARTITION.test(partition!) || !REGION.test(region!) || !ACCOUNT.test(accountId!) || !RESOURCE_ID.test(id)) return undefined;
  return { partition, region, accountId, resourceType: type, resourceId: id };
}

/** A key ARN, alias ARN, key id or alias name (as KMS accepts for KeyId). */
function validKeyIdentifier(id: string): boolean {
  if (typeof id !== "string" || !id) return false;
  if (id.includes(":")) return parseKmsArn(id) !== undefined;
  return id.startsWith("alias/") ? id.length > 6 : !id.includes("/");
}

/**
 * Whether `answered` (the KeyId of a GenerateDataKey or Encrypt answer) can be the key `requested`
 * names: KMS answers with the key's ARN. A key ARN must come back as itself; a key id as an ARN of
 * that id; an alias (ARN or name) as a key ARN, of the alias's region and account when it names
 * them. An answer for another key (a batch answer matched to the wrong entry, an endpoint that
 * lies) would write an encrypted data key labelled with a key it was not made under (attack review).
 */
export function answersFor(requested: string, answered: string): boolean {
  const got = parseKmsArn(answered);
  if (!got || got.resourceType !== "key") return false;
  const asked = parseKmsArn(requested);
  if (asked?.resourceType === "key") return answered === requested;
  if (asked) return asked.partition === got.partition && asked.region === got.region && asked.accountId === got.accountId;
  if (requested.startsWith("alias/")) return true;
  return got.resourceId === requested;
}

function fail(code: EnvelopeErrorCode, message: string): never {
  throw new EnvelopeError(code, message);
}

export class KmsKeyring implements Keyring {
  readonly generatorKeyId?: string;
  readonly keyIds: readonly string[];
  readonly discovery: boolean;
  readonly discoveryFilter?: { readonly partition: string; readonly accountIds: readonly string[] };
  private readonly client: (region: string) => KmsClientLike;
  private readonly grantTokens?: string[];
  private readonly maxDecryptFailures: number;

  constructor(o: KmsKeyringOptions) {
    const keyIds = o.keyIds ?? [];
    if (!o.discovery && !o.generatorKeyId && !keyIds.length) fail("INVALID_ARGUMENT", "a KMS keyring needs a generator key, key ids, or discovery");
    if (o.discovery && (o.generatorKeyId || keyIds.length)) fail("INVALID_ARGUMENT", "a discovery KMS keyring takes no key ids");
    if (o.discoveryFilter && !o.discovery) fail("INVALID_ARGUMENT", "a discovery filter needs discovery mode");
    if (o.discoveryFilter && (!o.discoveryFilter.partition || !o.discoveryFilter.accountIds?.length || !o.discoveryFilter.accountIds.every((a) => typeof a === "string" && a))) {
      fail("INVALID_ARGUMENT", "a discovery filter needs a partition and at least one account id");
    }
    for (const id of [...(o.generatorKeyId ? [o.generatorKeyId] : []), ...keyIds]) {
      if (!validKeyIdentifier(id)) fail("INVALID_ARGUMENT", `not a KMS key identifier: '${id}'`);
    }
    if (typeof o.client !== "function") fail("INVALID_ARGUMENT", "a KMS keyring needs a client function (region => KMS client)");
    this.generatorKeyId = o.generatorKeyId;
    this.keyIds = Object.freeze(keyIds.slice());
    this.discovery = !!o.discovery;
    this.discoveryFilter = o.discoveryFilter ? Object.freeze({ partition: o.discoveryFilter.partition, accountIds: Object.freeze(o.discoveryFilter.accountIds.slice()) }) : undefined;
    this.client = o.client;
    this.grantTokens = o.grantTokens?.length ? o.grantTokens.slice() : undefined;
    const maxFailures = o.maxDecryptFailures ?? DEFAULT_MAX_DECRYPT_FAILURES;
    if (!Number.isInteger(maxFailures) || maxFailures < 1) fail("INVALID_ARGUMENT", "maxDecryptFailures must be a positive integer");
    this.maxDecryptFailures = maxFailures;
  }

  private clientFor(keyId: string): KmsClientLike {
    return this.client(parseKmsArn(keyId)?.region ?? "");
  }

  async onEncrypt(m: EncryptionMaterials): Promise<EncryptionMaterials> {
    if (this.discovery) return m;
    const length = suiteInfo(m.suite).keyLength;
    const edks: EncryptedDataKey[] = [];
    const others = this.keyIds.slice();
    let dataKey = m.dataKey;
    if (!dataKey) {
      if (!this.generatorKeyId) fail("NO_DATA_KEY", "no data key to encrypt: this KMS keyring has no generator key and no other keyring made one");
      const r = await this.clientFor(this.generatorKeyId).generateDataKey({
        KeyId: this.generatorKeyId, NumberOfBytes: length, EncryptionContext: m.encryptionContext, GrantTokens: this.grantTokens,
      });
      if (typeof r.KeyId !== "string" || !(r.Plaintext instanceof Uint8Array) || !(r.CiphertextBlob instanceof Uint8Array)) {
        fail("KEYRING", `GenerateDataKey with ${this.generatorKeyId}: KMS answered without KeyId, Plaintext or CiphertextBlob`);
      }
      if (!answersFor(this.generatorKeyId, r.KeyId)) {
        r.Plaintext.fill(0);
        fail("KEYRING", `GenerateDataKey with ${this.generatorKeyId}: KMS answered for another key (${r.KeyId.slice(0, 200)})`);
      }
      if (r.Plaintext.length !== length) fail("KEYRING", `GenerateDataKey with ${this.generatorKeyId}: ${r.Plaintext.length}-byte data key, the suite needs ${length}`);
      dataKey = Uint8Array.from(r.Plaintext);
      r.Plaintext.fill(0);
      edks.push({ providerId: KMS_PROVIDER_ID, providerInfo: r.KeyId, ciphertext: r.CiphertextBlob });
    } else if (this.generatorKeyId) {
      others.unshift(this.generatorKeyId);
    }
    if (dataKey.length !== length) fail("KEYRING", `the data key has ${dataKey.length} bytes, the suite needs ${length}`);
    for (const keyId of others) {
      const r = await this.clientFor(keyId).encrypt({ KeyId: keyId, Plaintext: dataKey, EncryptionContext: m.encryptionContext, GrantTokens: this.grantTokens });
      if (typeof r.KeyId !== "string" || !(r.CiphertextBlob instanceof Uint8Array)) fail("KEYRING", `Encrypt with ${keyId}: KMS answered without KeyId or CiphertextBlob`);
      if (!answersFor(keyId, r.KeyId)) fail("KEYRING", `Encrypt with ${keyId}: KMS answered for another key (${r.KeyId.slice(0, 200)})`);
      edks.push({ providerId: KMS_PROVIDER_ID, providerInfo: r.KeyId, ciphertext: r.CiphertextBlob });
    }
    return { ...m, dataKey, encryptedDataKeys: [...m.encryptedDataKeys, ...edks] };
  }

  /** Whether this keyring may try an EDK (strict: its ARN is configured; discovery: the filter matches). */
  mayDecrypt(edk: EncryptedDataKey): boolean {
    if (edk.providerId !== KMS_PROVIDER_ID) return false;
    if (!this.discovery) return edk.providerInfo === this.generatorKeyId || this.keyIds.includes(edk.providerInfo);
    const arn = parseKmsArn(edk.providerInfo);
    if (!arn || arn.resourceType !== "key") return false;
    return !this.discoveryFilter || (arn.partition === this.discoveryFilter.partition && this.discoveryFilter.accountIds.includes(arn.accountId));
  }

  async onDecrypt(m: DecryptionMaterials, edks: EncryptedDataKey[]): Promise<DecryptionMaterials> {
    if (m.dataKey) return m;
    const length = suiteInfo(m.suite).keyLength;
    const errors: string[] = [];
    // The same (provider id, key, ciphertext) twice would only repeat a call that failed: tried once.
    const candidates: EncryptedDataKey[] = [];
    for (const e of edks) {
      if (!this.mayDecrypt(e)) continue;
      if (candidates.some((c) => c.providerInfo === e.providerInfo && sameBytes(c.ciphertext, e.ciphertext))) continue;
      candidates.push(e);
    }
    let skipped = 0;
    for (const [i, edk] of candidates.entries()) {
      if (errors.length >= this.maxDecryptFailures) {
        skipped = candidates.length - i;
        break;
      }
      let r;
      try {
        r = await this.clientFor(edk.providerInfo).decrypt({
          KeyId: edk.providerInfo, CiphertextBlob: edk.ciphertext, EncryptionContext: m.encryptionContext, GrantTokens: this.grantTokens,
        });
      } catch (e) {
        errors.push(`${edk.providerInfo}: ${clip((e as Error).message)}`);
        continue;
      }
      if (r.KeyId !== edk.providerInfo) {
        errors.push(`${edk.providerInfo}: KMS decrypted with another key (${r.KeyId ?? "none"})`);
        continue;
      }
      if (!(r.Plaintext instanceof Uint8Array) || r.Plaintext.length !== length) {
        errors.push(`${edk.providerInfo}: KMS answered a ${r.Plaintext?.length ?? 0}-byte data key, the suite needs ${length}`);
        continue;
      }
      const dataKey = Uint8Array.from(r.Plaintext);
      r.Plaintext.fill(0);
      return { ...m, dataKey };
    }
    const kms = [...new Set(edks.filter((e) => e.providerId === KMS_PROVIDER_ID).map((e) => e.providerInfo))];
    if (errors.length) {
      const gaveUp = skipped ? ` (gave up after ${errors.length} failed KMS calls; ${skipped} more not tried: maxDecryptFailures)` : "";
      fail("NO_DATA_KEY", `no encrypted data key could be decrypted: ${listSome(errors, ERRORS_SHOWN, "; ")}${gaveUp}`);
    }
    const mine = this.discovery
      ? `discovery${this.discoveryFilter ? ` limited to partition ${this.discoveryFilter.partition}, accounts ${this.discoveryFilter.accountIds.join(", ")}` : ""}`
      : `strict: ${[...(this.generatorKeyId ? [this.generatorKeyId] : []), ...this.keyIds].join(", ")}`;
    return fail(
      "NO_DATA_KEY",
      kms.length
        ? `none of the message's KMS wrapping keys (${listSome(kms, KEYS_SHOWN, ", ")}) is one this keyring may use (${mine})`
        : `the message has no AWS KMS encrypted data key (providers: ${listSome([...new Set(edks.map((e) => e.providerId))], KEYS_SHOWN, ", ") || "none"})`,
    );
  }
}
