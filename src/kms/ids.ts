// Key and alias identifiers: key IDs, key ARNs, alias names, alias ARNs (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id).

export const KEY_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MRK_ID_RE = /^mrk-[0-9a-f]{32}$/;
export const ALIAS_NAME_RE = /^alias\/[a-zA-Z0-9:/_-]+$/;
// Only the aws partition's: EdgeKMS's keys have no ARN in another partition (aws-cn, aws-us-gov…),
// so such an ARN names none of them (an outsider's review found one resolved to the aws key).
const ARN_RE = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export const isKeyId = (s: string): boolean => KEY_ID_RE.test(s) || MRK_ID_RE.test(s);

export const keyArn = (region: string, account: string, keyId: string): string => `arn:aws:kms:${region}:${account}:key/${keyId}`;
export const aliasArn = (region: string, account: string, aliasName: string): string => `arn:aws:kms:${region}:${account}:${aliasName}`;

export type KeyRef =
  | { kind: "key"; keyId: string; region?: string; account?: string }
  | { kind: "alias"; aliasName: string; region?: string; account?: string }
  | { kind: "invalid" };

/** Classifies a KeyId parameter; ARNs carry the region and account they name. */
export function parseKeyRef(value: string): KeyRef {
  if (isKeyId(value)) return { kind: "key", keyId: value };
  if (value.startsWith("alias/")) return { kind: "alias", aliasName: value };
  const m = ARN_RE.exec(value);
  if (!m) return { kind: "invalid" };
  const [, region, account, type, rest] = m;
  if (type === "key") return isKeyId(rest) ? { kind: "key", keyId: rest, region, account } : { kind: "invalid" };
  return { kind: "alias", aliasName: `alias/${rest}`, region, account };
}

/** A random key ID: a UUID v4, or "mrk-" + 32 hex digits for multi-Region keys. */
export function newKeyId(multiRegion = false): string {
  if (!multiRegion) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "mrk-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
