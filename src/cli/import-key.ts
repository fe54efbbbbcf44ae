// edgekms import-key-material: the client side of importing key material
// (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html) in one command —
// GetParametersForImport, wrap the local key file with the chosen algorithm (node:crypto:
// RSAES-OAEP, and for RSA_AES_KEY_WRAP_* an ephemeral AES-256 key under AES key wrap with padding,
// RFC 5649), then ImportKeyMaterial — for people who would otherwise script openssl. The key
// material is read from a file, used in memory and zeroed; it is never printed.
import { constants, createCipheriv, createPrivateKey, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { signedHeaders, type ClientConfig } from "./admin-client.js";
import { resolveAwsSettings, UsageError, userAgent } from "./config.js";

export const IMPORT_USAGE = `usage: edgekms import-key-material --key-id K --key-material FILE [options]
  --key-id K                 key id or ARN of a key made with Origin EXTERNAL
  --key-material FILE        symmetric and HMAC keys: the raw key bytes; RSA and ECC keys: the private key,
                             PEM or DER (PKCS#8, or PKCS#1 / SEC 1, converted to PKCS#8 here)
  --wrapping-algorithm A     RSA_AES_KEY_WRAP_SHA_256 (default), RSA_AES_KEY_WRAP_SHA_1, RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1
  --wrapping-key-spec S      RSA_4096 (default), RSA_3072, RSA_2048
  --valid-to TIME            the material expires then (ISO 8601 or epoch seconds); without it, it does not expire
  --import-type T            EXISTING_KEY_MATERIAL (default) or NEW_KEY_MATERIAL (symmetric keys: material for RotateKeyOnDemand)
  --key-material-id ID       reimport this material version (64 hex; from ListKeyRotations)
  --description D            KeyMaterialDescription
  --allow-insecure-endpoint  allow a plain-HTTP endpoint other than localhost (the wrapping key could be swapped)
options: --endpoint URL (AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL / the profile's endpoint_url), --region R (AWS_REGION /
         AWS_DEFAULT_REGION / the profile's region), --profile P (AWS_PROFILE), --access-key-id, --secret-access-key,
         --session-token (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN)`;

const AIV_PADDED = Buffer.from("A65959A6", "hex"); // RFC 5649 §3

type Config = ClientConfig;

class KmsCallError extends Error {}

async function kms<T>(cfg: Config, operation: string, input: Record<string, unknown>): Promise<T> {
  const url = cfg.endpoint;
  const body = JSON.stringify(input);
  const headers = await signedHeaders(cfg, url, `TrentService.${operation}`, body);
  const res = await fetch(url, { method: "POST", headers, body });
  const json = (await res.json()) as T & { __type?: string; message?: string };
  if (!res.ok) throw new KmsCallError(`${operation}: ${(json.__type ?? `HTTP ${res.status}`).split("#").pop()}: ${json.message ?? ""}`);
  return json;
}

/** The key material to import, as AWS takes it for the key's spec (raw bytes, or DER PKCS#8). */
export function materialFor(keySpec: string, file: Buffer): Buffer {
  if (keySpec === "SYMMETRIC_DEFAULT" || keySpec.startsWith("HMAC_")) return file;
  const pem = file.subarray(0, 11).toString("latin1") === "-----BEGIN ";
  let key;
  try {
    key = pem ? createPrivateKey(file) : tryDer(file);
  } catch {
    throw new KmsCallError(`the key material file is not a private key (${pem ? "a PEM file, but not of a private key: a public key or certificate cannot be imported" : "neither PEM nor DER PKCS#8, PKCS#1 or SEC 1"}); ${keySpec} keys import the private key`);
  }
  return key.export({ type: "pkcs8", format: "der" });
}

function tryDer(file: Buffer) {
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      return createPrivateKey({ key: file, format: "der", type });
    } catch {
      /* next */
    }
  }
  throw new Error("not a DER private key");
}

/**
 * EncryptedKeyMaterial for ImportKeyMaterial: the material wrapped under the wrapping public key
 * (DER SPKI), which must be an RSA key of the size asked for (a server that answers with a
 * weaker key does not get the material wrapped under it).
 */
export function wrapMaterial(publicKey: Buffer, algorithm: string, material: Buffer, spec: string): Buffer {
  const key = createPublicKey({ key: publicKey, format: "der", type: "spki" });
  const bits = Number(/^RSA_(\d+)$/.exec(spec)?.[1]);
  if (key.asymmetricKeyType !== "rsa" || key.asymmetricKeyDetails?.modulusLength !== bits) {
    throw new KmsCallError(`GetParametersForImport returned a ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.modulusLength ?? "?"}-bit wrapping key, not the ${spec} asked for; nothing was imported`);
  }
  const oaep = (data: Buffer) =>
    publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm.endsWith("SHA_1") ? "sha1" : "sha256" }, data);
  if (algorithm.startsWith("RSAES_OAEP")) return oaep(material);
  const aes = randomBytes(32);
  try {
    const kwp = createCipheriv("id-aes256-wrap-pad", aes, AIV_PADDED);
    return Buffer.concat([oaep(aes), kwp.update(material), kwp.final()]);
  } finally {
    aes.fill(0);
  }
}

function parseTime(s: string): number {
  const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : Date.parse(s) / 1000;
  if (!Number.isFinite(n)) throw new Error(`--valid-to: not a time: ${s}`);
  return Math.floor(n);
}

export async function importKeyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "key-id": { type: "string" }, "key-material": { type: "string" }, "wrapping-algorithm": { type: "string" }, "wrapping-key-spec": { type: "string" },
      "valid-to": { type: "string" }, "import-type": { type: "string" }, "key-material-id": { type: "string" }, description: { type: "string" },
      endpoint: { type: "string" }, region: { type: "string" }, profile: { type: "string" }, "access-key-id": { type: "string" }, "secret-access-key": { type: "string" },
      "session-token": { type: "string" }, help: { type: "boolean" },
      "allow-insecure-endpoint": { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  if (!values["key-id"] || !values["key-material"]) {
    console.error(IMPORT_USAGE);
    return 2;
  }
  let cfg: Config;
  try {
    const s = resolveAwsSettings({
      endpoint: values.endpoint,
      // A key ARN names its region; the flag or the environment (or the profile) otherwise.
      region: values.region ?? /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(values["key-id"] ?? "")?.[1],
      profile: values.profile, accessKeyId: values["access-key-id"], secretAccessKey: values["secret-access-key"], sessionToken: values["session-token"],
    });
    cfg = { endpoint: s.endpoint, region: s.region, ...s.credentials, userAgent: userAgent("import-key-material") };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`edgekms: ${e.message}`);
    return 2;
  }
  // The wrapped material is only as safe as the wrapping key it gets: over plain HTTP, anyone on
  // the path could hand out their own. Loopback (npm start) is fine.
  const url = new URL(cfg.endpoint);
  if (url.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) && !values["allow-insecure-endpoint"]) {
    console.error(`edgekms: ${cfg.endpoint} is not HTTPS: the wrapping key could be swapped on the way. Use HTTPS, or --allow-insecure-endpoint if you trust the network.`);
    return 2;
  }
  const algorithm = values["wrapping-algorithm"] ?? "RSA_AES_KEY_WRAP_SHA_256";
  const spec = values["wrapping-key-spec"] ?? "RSA_4096";
  const file = readFileSync(values["key-material"]);
  let material: Buffer | undefined;
  try {
    const { KeyMetadata } = await kms<{ KeyMetadata: { KeyId: string; Arn: string; KeySpec: string; Origin: string } }>(cfg, "DescribeKey", { KeyId: values["key-id"] });
    if (KeyMetadata.Origin !== "EXTERNAL") throw new KmsCallError(`key ${KeyMetadata.KeyId} has origin ${KeyMetadata.Origin}; only keys made with Origin EXTERNAL take imported material`);
    material = materialFor(KeyMetadata.KeySpec, file);
    // The key as DescribeKey resolved it (an alias is not accepted by the import operations, as in AWS).
    const keyId = KeyMetadata.Arn;
    const params = await kms<{ ImportToken: string; PublicKey: string }>(cfg, "GetParametersForImport", { KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: spec });
    const wrapped = wrapMaterial(Buffer.from(params.PublicKey, "base64"), algorithm, material, spec);
    const out = await kms<{ KeyId: string; KeyMaterialId: string }>(cfg, "ImportKeyMaterial", {
      KeyId: keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: wrapped.toString("base64"),
      ...(values["valid-to"] ? { ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: parseTime(values["valid-to"]) } : { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }),
      ...(values["import-type"] ? { ImportType: values["import-type"] } : {}),
      ...(values["key-material-id"] ? { KeyMaterialId: values["key-material-id"] } : {}),
      ...(values.description !== undefined ? { KeyMaterialDescription: values.description } : {}),
    });
    console.log(JSON.stringify({ KeyId: out.KeyId, KeyMaterialId: out.KeyMaterialId }));
    return 0;
  } catch (e) {
    if (e instanceof KmsCallError) {
      console.error(`edgekms: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    material?.fill(0);
    file.fill(0);
  }
}
