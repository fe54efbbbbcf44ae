#!/usr/bin/env node
// edgekms audit <export|verify|tail|flush> [options]
// edgekms admin <create-account|create-user|create-access-key|…> [options]
// edgekms encrypt|decrypt --input PATH|- --output PATH|- --wrapping-keys key=ARN… [options]
// edgekms import-key-material --key-id K --key-material FILE [options]
// (`edgekms` is the shell function `eval "$(node scripts/dev-vars.mjs --env)"` defines, or
// `npx --no-install edgekms` inside the clone; README.md says why never plain `npx edgekms`.)
// Endpoint, region and credentials: flags, the usual AWS environment variables, then the AWS
// profile, the same for every subcommand (src/cli/config.ts). A usage error exits 2.
//
// Each subcommand's module is imported only in its own branch: `edgekms encrypt` never loads the
// audit, admin or import modules (each module a process loads stays in its resident memory, and
// the envelope commands must stream any file in under 100 MB; docs/envelope.md).
import { parseArgs } from "node:util";
import { resolveAwsSettings, UsageError, userAgent } from "./config.js";

const USAGE = `usage: edgekms audit <command> [options] | edgekms admin <command> [options] | edgekms encrypt|decrypt [options]
encrypt|decrypt -i PATH|- -o PATH|- -w key=ARN… [-c K=V…] [--algorithm 0x0478|0x0578] [--recursive] [--overwrite] …
                                        envelope encryption in the AWS Encryption SDK format (edgekms encrypt --help)
import-key-material --key-id K --key-material FILE [--valid-to T] [--wrapping-algorithm A] …
                                        import your own key material into an EXTERNAL key (edgekms import-key-material --help)
audit commands:
  flush                                 deliver buffered records to R2 now, and write a digest
  export --out DIR [--since T] [--until T]   download log and digest objects
  verify [--dir DIR] [--since T] [--allow-pending] [--public-key-fingerprint SHA256:HEX]   check log objects against the digest chain (exit 1 on failure;
                                        objects newer than the last digest fail unless --allow-pending)
  tail [--follow] [--event-name X] [--key K|alias] [--principal ARN|access-key-id|user-name] [--limit N] [--json]
                                        recent records, also those not yet delivered (--json: one CloudTrail record a line)
  public-key [--json]                   the region's digest-signing public key and its fingerprint (for verify)
  encrypt [--key-id K | --disable]      encrypt delivered objects under alias/aws/cloudtrail (default) or key K
admin commands (operator; an account root for its own account; an IAM user where its policies allow iam:<Action>):
  create-account [--account-id ID]      a new account and its root access key (secret shown once)
  create-user --user-name N             an IAM user in the account
  create-access-key [--user-name N]     an access key for the user (without it: for the caller itself)
  delete-access-key --access-key K
  put-user-policy --user-name N --policy-name P --policy-document JSON|file://PATH
  get-user-policy --user-name N --policy-name P
  delete-user-policy --user-name N --policy-name P
  get-caller-identity
  list-users
  list-accounts                         every account's id (operator only)
  rewrap-root-secret                    after rotating KMS_ROOT_SECRET: rewrap everything under the new one (operator only)
  get-account-quotas [--json]           the account's request-rate quotas in the region (root or operator)
  put-account-quotas --quota NAME=VALUE… [--quota NAME=]   set quotas, or back to the default (operator only)
  init-secrets [--env production|staging] [--account-id ID] [--json]   fresh secrets for a deployment, as wrangler secret put lines (no server)
options: --endpoint URL (AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL / the profile's endpoint_url), --region R (AWS_REGION /
         AWS_DEFAULT_REGION / the profile's region), --profile P (AWS_PROFILE; ~/.aws/credentials and ~/.aws/config),
         --access-key-id, --secret-access-key, --session-token (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
         AWS_SESSION_TOKEN; EdgeKMS refuses session tokens), --account ID. A usage error exits 2.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "encrypt" || argv[0] === "decrypt") return (await import("./envelope.js")).envelopeCommand(argv[0], argv.slice(1));
  if (argv[0] === "import-key-material") return (await import("./import-key.js")).importKeyCommand(argv.slice(1));
  if (argv[0] === "admin" && argv[1] === "init-secrets") return (await import("./init-secrets.js")).initSecretsCommand(argv.slice(2));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        endpoint: { type: "string" }, region: { type: "string" }, profile: { type: "string" }, "access-key-id": { type: "string" }, "secret-access-key": { type: "string" }, "session-token": { type: "string" },
        account: { type: "string" }, out: { type: "string" }, dir: { type: "string" }, since: { type: "string" }, until: { type: "string" },
        follow: { type: "boolean" }, "allow-pending": { type: "boolean" }, "event-name": { type: "string" }, key: { type: "string" }, limit: { type: "string" }, help: { type: "boolean" },
        "account-id": { type: "string" }, "key-id": { type: "string" }, disable: { type: "boolean" }, "user-name": { type: "string" }, "access-key": { type: "string" }, "policy-name": { type: "string" }, "policy-document": { type: "string" },
        principal: { type: "string" }, json: { type: "boolean" }, "public-key-fingerprint": { type: "string" }, quota: { type: "string", multiple: true },
      },
    });
  } catch (e) {
    // parseArgs' own errors (an unknown option, a missing value) are usage errors.
    console.error(`edgekms: ${(e as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [group, cmd] = positionals;
  if (values.help || (group !== "audit" && group !== "admin") || !cmd) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const s = resolveAwsSettings({
    endpoint: values.endpoint, region: values.region, profile: values.profile,
    accessKeyId: values["access-key-id"], secretAccessKey: values["secret-access-key"], sessionToken: values["session-token"],
  });
  const cfg = { endpoint: s.endpoint, region: s.region, ...s.credentials, userAgent: userAgent(`${group} ${cmd}`) };
  if (group === "admin") {
    const { adminCommand } = await import("./admin.js");
    return adminCommand(cmd, cfg, {
      account: values.account, accountId: values["account-id"], userName: values["user-name"], accessKeyId: values["access-key"],
      policyName: values["policy-name"], policyDocument: values["policy-document"], quota: values.quota, json: values.json,
    });
  }
  const { auditCommand } = await import("./audit.js");
  return auditCommand(cmd, cfg, {
    account: values.account, out: values.out, dir: values.dir, since: values.since, until: values.until,
    follow: values.follow, eventName: values["event-name"], key: values.key, limit: values.limit ? Number(values.limit) : undefined,
    keyId: values["key-id"], disable: values.disable, allowPending: values["allow-pending"],
    principal: values.principal, json: values.json, publicKeyFingerprint: values["public-key-fingerprint"],
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`edgekms: ${err.message}`);
    // A usage error (ours, or parseArgs' in a subcommand's own parsing) exits 2, as docs/admin.md says.
    const usage = err instanceof UsageError || String((err as Error & { code?: string }).code ?? "").startsWith("ERR_PARSE_ARGS");
    process.exit(usage ? 2 : 1);
  },
);
