// Where every `edgekms` subcommand (encrypt, decrypt, admin, audit, import-key-material) finds its
// endpoint, region and credentials, in one place so that they cannot disagree: flags, then the
// environment (AWS_ENDPOINT_URL_KMS, AWS_REGION, AWS_ACCESS_KEY_ID…, AWS_PROFILE), then the profile
// in ~/.aws/credentials and ~/.aws/config (AWS's order of precedence:
// https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html and
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html). Also the CLI's
// User-Agent, which the audit trail records (CloudTrail's userAgent), so that a record says which
// subcommand made the call.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** A mistake in the command line: the CLI says so and exits 2 (docs/admin.md). */
export class UsageError extends Error {}

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface AwsSettings { endpoint: string; region: string; credentials: Credentials }

/** What the command line gave; each undefined when the flag was not given. */
export interface AwsFlags {
  endpoint?: string;
  region?: string;
  profile?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

/** Where a client that is told nothing sends its calls: `npm start`'s server. */
export const DEFAULT_ENDPOINT = "http://localhost:8787";
export const DEFAULT_REGION = "us-east-1";

/** The sections of an AWS ini file: `[name]` (credentials) or `[profile name]` / `[default]` (config). */
export function readIni(path: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return out;
  }
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const h = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (h) {
      // A null-prototype section: a profile file's key names (e.g. __proto__) are user input.
      section = out.get(h[1]) ?? Object.create(null) as Record<string, string>;
      out.set(h[1], section);
      continue;
    }
    const eq = line.indexOf("=");
    if (section && eq > 0 && !/^\s/.test(raw)) section[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** A profile's keys, region and endpoint_url, from the credentials file and the config file. */
export function profileSettings(profile: string, env: NodeJS.ProcessEnv = process.env): { credentials?: Credentials; region?: string; endpoint?: string } {
  const home = env.HOME ?? homedir();
  const credFile = readIni(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials"));
  const confFile = readIni(env.AWS_CONFIG_FILE ?? join(home, ".aws", "config"));
  const conf = confFile.get(profile === "default" ? "default" : `profile ${profile}`) ?? (profile === "default" ? confFile.get("profile default") : undefined) ?? {};
  const cred = credFile.get(profile) ?? {};
  const id = cred.aws_access_key_id ?? conf.aws_access_key_id;
  const secret = cred.aws_secret_access_key ?? conf.aws_secret_access_key;
  const token = cred.aws_session_token ?? conf.aws_session_token;
  return {
    credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) } : undefined,
    region: conf.region,
    endpoint: conf.endpoint_url,
  };
}

/**
 * Endpoint, region and credentials: flags, then environment variables, then the profile
 * (`profileOverride`, e.g. a --wrapping-keys profile=P, else --profile, else AWS_PROFILE /
 * AWS_DEFAULT_PROFILE, else "default"). A profile named explicitly must have keys, and its keys win
 * over AWS_ACCESS_KEY_ID. A session token travels with its keys; EdgeKMS refuses it
 * (UnrecognizedClientException: it takes long-term access keys only), and so it is refused alike by
 * every subcommand rather than dropped by some.
 */
export function resolveAwsSettings(flags: AwsFlags, profileOverride?: string, env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const explicitProfile = profileOverride ?? flags.profile;
  const profile = explicitProfile ?? env.AWS_PROFILE ?? env.AWS_DEFAULT_PROFILE ?? "default";
  const p = profileSettings(profile, env);
  if (explicitProfile && !p.credentials && !flags.accessKeyId) throw new UsageError(`profile '${explicitProfile}' has no aws_access_key_id / aws_secret_access_key (credential_process, SSO and role profiles are not read)`);
  if (!!flags.accessKeyId !== !!flags.secretAccessKey) throw new UsageError("--access-key-id and --secret-access-key go together");
  const envCreds = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  const flagCreds = flags.accessKeyId && flags.secretAccessKey
    ? { accessKeyId: flags.accessKeyId, secretAccessKey: flags.secretAccessKey, ...(flags.sessionToken ? { sessionToken: flags.sessionToken } : {}) }
    : undefined;
  const credentials = flagCreds ?? (explicitProfile ? p.credentials : envCreds ?? p.credentials);
  if (!credentials) throw new UsageError("credentials missing (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, --access-key-id / --secret-access-key, or a profile in ~/.aws/credentials)");
  return {
    endpoint: flags.endpoint ?? env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL ?? p.endpoint ?? DEFAULT_ENDPOINT,
    region: flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? p.region ?? DEFAULT_REGION,
    credentials,
  };
}

/** This package's version, from package.json (two levels up from src/cli/ and from dist/cli/). */
export const CLI_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
})();

/** The User-Agent of every request the CLI sends: `edgekms-cli/<version> (<subcommand>)`. */
export const userAgent = (subcommand: string): string => `edgekms-cli/${CLI_VERSION} (${subcommand})`;

/**
 * `fetchFn` with a User-Agent header added. User-Agent is never signed (SigV4 leaves it out, as the
 * AWS SDKs do: src/cli/sign.ts), so adding it after signing keeps the signature valid.
 */
export function withUserAgent(fetchFn: typeof fetch, agent: string): typeof fetch {
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    fetchFn(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), "user-agent": agent } })) as typeof fetch;
}
