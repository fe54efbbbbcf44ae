// The policy language as a pure function: a table of cases covering every operator, the
// IfExists suffix, ForAnyValue/ForAllValues, principals, actions, resources and effects.
import { describe, expect, it } from "vitest";
import { parsePolicy, PolicyError, type PolicyKind } from "../../src/policy/document.js";
import { evaluatePolicy, type Decision, type PolicyRequest } from "../../src/policy/evaluate.js";
import { MATCH_STEPS_PER_BATCH_GROUP, PolicyCostExceeded, wildcardMatch, withMatchBudget, type MatchBudget, type RequestContext } from "../../src/policy/conditions.js";

const ACCT = "111122223333";
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;

function req(over: Partial<PolicyRequest> & { ctx?: RequestContext } = {}): PolicyRequest {
  return {
    action: over.action ?? "kms:Encrypt",
    resource: over.resource ?? KEY,
    principal: over.principal ?? { arn: ALICE, accountId: ACCT },
    context: Object.fromEntries(Object.entries(over.ctx ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

const stmt = (s: Record<string, unknown>) => ({ Effect: "Allow", Principal: { AWS: ACCT }, Action: "kms:*", Resource: "*", ...s });
const policy = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const cond = (c: Record<string, unknown>) => policy(stmt({ Condition: c }));

type Case = [name: string, policy: string, request: PolicyRequest, expected: Decision];
const NOW = "2026-11-28T12:00:00Z";

const CASES: Case[] = [
  // principals
  ["Principal * matches anyone", policy(stmt({ Principal: "*" })), req({ principal: { arn: "arn:aws:iam::999988887777:root", accountId: "999988887777" } }), "Allow"],
  ["Principal AWS * matches anyone", policy(stmt({ Principal: { AWS: "*" } })), req(), "Allow"],
  ["account id names every principal of the account", policy(stmt({ Principal: { AWS: ACCT } })), req(), "Allow"],
  ["account root ARN names the account", policy(stmt({ Principal: { AWS: `arn:aws:iam::${ACCT}:root` } })), req(), "Allow"],
  ["user ARN matches that user", policy(stmt({ Principal: { AWS: ALICE } })), req(), "Allow"],
  ["user ARN does not match another user", policy(stmt({ Principal: { AWS: `arn:aws:iam::${ACCT}:user/bob` } })), req(), "NoMatch"],
  ["another account does not match", policy(stmt({ Principal: { AWS: "999988887777" } })), req(), "NoMatch"],
  ["list of principals: any one", policy(stmt({ Principal: { AWS: ["999988887777", ALICE] } })), req(), "Allow"],
  ["service principal matches the service", policy(stmt({ Principal: { Service: "cloudtrail.amazonaws.com" } })), req({ principal: { arn: "", accountId: ACCT, service: "cloudtrail.amazonaws.com" } }), "Allow"],
  ["service principal does not match a user", policy(stmt({ Principal: { Service: "cloudtrail.amazonaws.com" } })), req(), "NoMatch"],
  ["NotPrincipal excludes the named user", policy(stmt({ Effect: "Deny", Principal: undefined, NotPrincipal: { AWS: ALICE } })), req(), "NoMatch"],
  ["NotPrincipal applies to others", policy(stmt({ Effect: "Deny", Principal: undefined, NotPrincipal: { AWS: `arn:aws:iam::${ACCT}:user/bob` } })), req(), "Deny"],
  // actions
  ["exact action", policy(stmt({ Action: "kms:Encrypt" })), req(), "Allow"],
  ["actions are case-insensitive", policy(stmt({ Action: "KMS:encrypt" })), req(), "Allow"],
  ["kms:* matches every KMS action", policy(stmt({ Action: "kms:*" })), req({ action: "kms:ScheduleKeyDeletion" }), "Allow"],
  ["kms:Generate* matches GenerateDataKey", policy(stmt({ Action: "kms:Generate*" })), req({ action: "kms:GenerateDataKey" }), "Allow"],
  ["kms:Generate* does not match Encrypt", policy(stmt({ Action: "kms:Generate*" })), req(), "NoMatch"],
  ["kms:ReEncrypt* matches ReEncryptFrom", policy(stmt({ Action: "kms:ReEncrypt*" })), req({ action: "kms:ReEncryptFrom" }), "Allow"],
  ["list of actions", policy(stmt({ Action: ["kms:Decrypt", "kms:Encrypt"] })), req(), "Allow"],
  ["action of another service", policy(stmt({ Action: "s3:*" })), req(), "NoMatch"],
  ["* action", policy(stmt({ Action: "*" })), req(), "Allow"],
  ["NotAction excludes the action", policy(stmt({ Action: undefined, NotAction: "kms:Encrypt" })), req(), "NoMatch"],
  ["NotAction allows other actions", policy(stmt({ Action: undefined, NotAction: "kms:Decrypt" })), req(), "Allow"],
  ["? matches one character", policy(stmt({ Action: "kms:?ncrypt" })), req(), "Allow"],
  // resources
  ["Resource *", policy(stmt({ Resource: "*" })), req(), "Allow"],
  ["exact key ARN", policy(stmt({ Resource: KEY })), req(), "Allow"],
  ["key ARN wildcard", policy(stmt({ Resource: `arn:aws:kms:us-east-1:${ACCT}:key/*` })), req(), "Allow"],
  ["another key", policy(stmt({ Resource: `arn:aws:kms:us-east-1:${ACCT}:key/other` })), req(), "NoMatch"],
  ["another region", policy(stmt({ Resource: `arn:aws:kms:eu-west-1:${ACCT}:key/*` })), req(), "NoMatch"],
  ["NotResource excludes", policy(stmt({ Resource: undefined, NotResource: KEY })), req(), "NoMatch"],
  ["NotResource includes others", policy(stmt({ Resource: undefined, NotResource: `arn:aws:kms:us-east-1:${ACCT}:key/other` })), req(), "Allow"],
  // effects
  ["explicit Deny wins over Allow", policy(stmt({}), stmt({ Effect: "Deny", Action: "kms:Encrypt" })), req(), "Deny"],
  ["Deny first, Allow later: still Deny", policy(stmt({ Effect: "Deny" }), stmt({})), req(), "Deny"],
  ["Deny of another action does not apply", policy(stmt({}), stmt({ Effect: "Deny", Action: "kms:Decrypt" })), req(), "Allow"],
  ["Deny whose condition fails does not apply", policy(stmt({}), stmt({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })), req({ ctx: { "aws:SecureTransport": "true" } }), "Allow"],
  ["no applicable statement", policy(stmt({ Action: "kms:Decrypt" })), req(), "NoMatch"],
  ["two allows", policy(stmt({ Action: "kms:Decrypt" }), stmt({ Action: "kms:Encrypt" })), req(), "Allow"],
  // StringEquals family
  ["StringEquals match", cond({ StringEquals: { "kms:CallerAccount": ACCT } }), req({ ctx: { "kms:CallerAccount": ACCT } }), "Allow"],
  ["StringEquals mismatch", cond({ StringEquals: { "kms:CallerAccount": ACCT } }), req({ ctx: { "kms:CallerAccount": "999988887777" } }), "NoMatch"],
  ["StringEquals missing key", cond({ StringEquals: { "kms:CallerAccount": ACCT } }), req(), "NoMatch"],
  ["StringEquals is case-sensitive", cond({ StringEquals: { "kms:EncryptionContext:purpose": "Test" } }), req({ ctx: { "kms:EncryptionContext:purpose": "test" } }), "NoMatch"],
  ["StringEquals values OR", cond({ StringEquals: { "kms:EncryptionContext:purpose": ["a", "b"] } }), req({ ctx: { "kms:EncryptionContext:purpose": "b" } }), "Allow"],
  ["condition key names are case-insensitive", cond({ StringEquals: { "KMS:CALLERACCOUNT": ACCT } }), req({ ctx: { "kms:CallerAccount": ACCT } }), "Allow"],
  ["StringNotEquals different value", cond({ StringNotEquals: { "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:EncryptionContext:tenant": "t2" } }), "Allow"],
  ["StringNotEquals equal value", cond({ StringNotEquals: { "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:EncryptionContext:tenant": "t1" } }), "NoMatch"],
  ["StringNotEquals is NOR over values", cond({ StringNotEquals: { "kms:EncryptionContext:tenant": ["t1", "t2"] } }), req({ ctx: { "kms:EncryptionContext:tenant": "t2" } }), "NoMatch"],
  ["StringNotEquals missing key holds", cond({ StringNotEquals: { "kms:EncryptionContext:tenant": "t1" } }), req(), "Allow"],
  ["StringEqualsIgnoreCase match", cond({ StringEqualsIgnoreCase: { "kms:EncryptionContext:purpose": "TEST" } }), req({ ctx: { "kms:EncryptionContext:purpose": "test" } }), "Allow"],
  ["StringEqualsIgnoreCase mismatch", cond({ StringEqualsIgnoreCase: { "kms:EncryptionContext:purpose": "prod" } }), req({ ctx: { "kms:EncryptionContext:purpose": "test" } }), "NoMatch"],
  ["StringNotEqualsIgnoreCase equal ignoring case", cond({ StringNotEqualsIgnoreCase: { "kms:EncryptionContext:purpose": "TEST" } }), req({ ctx: { "kms:EncryptionContext:purpose": "test" } }), "NoMatch"],
  ["StringNotEqualsIgnoreCase different", cond({ StringNotEqualsIgnoreCase: { "kms:EncryptionContext:purpose": "prod" } }), req({ ctx: { "kms:EncryptionContext:purpose": "test" } }), "Allow"],
  ["StringLike *", cond({ StringLike: { "kms:RequestAlias": "alias/app-*" } }), req({ ctx: { "kms:RequestAlias": "alias/app-prod" } }), "Allow"],
  ["StringLike ?", cond({ StringLike: { "kms:RequestAlias": "alias/app-?" } }), req({ ctx: { "kms:RequestAlias": "alias/app-1" } }), "Allow"],
  ["StringLike no match", cond({ StringLike: { "kms:RequestAlias": "alias/app-*" } }), req({ ctx: { "kms:RequestAlias": "alias/other" } }), "NoMatch"],
  ["StringLike is case-sensitive", cond({ StringLike: { "kms:RequestAlias": "alias/APP-*" } }), req({ ctx: { "kms:RequestAlias": "alias/app-1" } }), "NoMatch"],
  ["StringNotLike excludes", cond({ StringNotLike: { "aws:PrincipalArn": "*:user/admin*" } }), req({ ctx: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/admin1` } }), "NoMatch"],
  ["StringNotLike includes others", cond({ StringNotLike: { "aws:PrincipalArn": "*:user/admin*" } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "Allow"],
  // Numeric
  ["NumericEquals", cond({ NumericEquals: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), "Allow"],
  ["NumericEquals mismatch", cond({ NumericEquals: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "7" } }), "NoMatch"],
  ["NumericNotEquals", cond({ NumericNotEquals: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "7" } }), "Allow"],
  ["NumericLessThan true", cond({ NumericLessThan: { "kms:RotationPeriodInDays": "365" } }), req({ ctx: { "kms:RotationPeriodInDays": "90" } }), "Allow"],
  ["NumericLessThan boundary false", cond({ NumericLessThan: { "kms:RotationPeriodInDays": "365" } }), req({ ctx: { "kms:RotationPeriodInDays": "365" } }), "NoMatch"],
  ["NumericLessThanEquals boundary", cond({ NumericLessThanEquals: { "kms:RotationPeriodInDays": "365" } }), req({ ctx: { "kms:RotationPeriodInDays": "365" } }), "Allow"],
  ["NumericGreaterThan true", cond({ NumericGreaterThan: { "kms:ScheduleKeyDeletionPendingWindowInDays": "14" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), "Allow"],
  ["NumericGreaterThan boundary false", cond({ NumericGreaterThan: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), "NoMatch"],
  ["NumericGreaterThanEquals boundary", cond({ NumericGreaterThanEquals: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), req({ ctx: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } }), "Allow"],
  ["Numeric missing key", cond({ NumericLessThan: { "kms:RotationPeriodInDays": "365" } }), req(), "NoMatch"],
  ["Numeric with a non-number", cond({ NumericLessThan: { "kms:RotationPeriodInDays": "365" } }), req({ ctx: { "kms:RotationPeriodInDays": "soon" } }), "NoMatch"],
  // Date
  ["DateLessThan true", cond({ DateLessThan: { "aws:CurrentTime": "2027-01-01T00:00:00Z" } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  ["DateLessThan false", cond({ DateLessThan: { "aws:CurrentTime": "2026-01-01T00:00:00Z" } }), req({ ctx: { "aws:CurrentTime": NOW } }), "NoMatch"],
  ["DateGreaterThan true", cond({ DateGreaterThan: { "aws:CurrentTime": "2026-01-01T00:00:00Z" } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  ["DateGreaterThanEquals boundary", cond({ DateGreaterThanEquals: { "aws:CurrentTime": NOW } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  ["DateLessThanEquals boundary", cond({ DateLessThanEquals: { "aws:CurrentTime": NOW } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  ["DateEquals with epoch seconds", cond({ DateEquals: { "aws:CurrentTime": String(Date.parse(NOW) / 1000) } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  ["DateNotEquals", cond({ DateNotEquals: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } }), req({ ctx: { "aws:CurrentTime": NOW } }), "Allow"],
  // Bool, Null
  ["Bool true", cond({ Bool: { "kms:GrantIsForAWSResource": "true" } }), req({ ctx: { "kms:GrantIsForAWSResource": "true" } }), "Allow"],
  ["Bool false vs true", cond({ Bool: { "kms:GrantIsForAWSResource": "true" } }), req({ ctx: { "kms:GrantIsForAWSResource": "false" } }), "NoMatch"],
  ["Bool missing key", cond({ Bool: { "kms:GrantIsForAWSResource": "true" } }), req(), "NoMatch"],
  ["Bool is case-insensitive", cond({ Bool: { "aws:SecureTransport": "TRUE" } }), req({ ctx: { "aws:SecureTransport": "true" } }), "Allow"],
  ["Null true: key absent", cond({ Null: { "kms:EncryptionContextKeys": "true" } }), req(), "Allow"],
  ["Null true: key present", cond({ Null: { "kms:EncryptionContextKeys": "true" } }), req({ ctx: { "kms:EncryptionContextKeys": ["a"] } }), "NoMatch"],
  ["Null false: key present", cond({ Null: { "kms:EncryptionContextKeys": "false" } }), req({ ctx: { "kms:EncryptionContextKeys": ["a"] } }), "Allow"],
  ["Null false: key absent", cond({ Null: { "kms:EncryptionContextKeys": "false" } }), req(), "NoMatch"],
  ["Null false: empty list counts as absent", cond({ Null: { "kms:EncryptionContextKeys": "false" } }), req({ ctx: { "kms:EncryptionContextKeys": [] } }), "NoMatch"],
  // IpAddress
  ["IpAddress in IPv4 CIDR", cond({ IpAddress: { "aws:SourceIp": "203.0.113.0/24" } }), req({ ctx: { "aws:SourceIp": "203.0.113.7" } }), "Allow"],
  ["IpAddress outside CIDR", cond({ IpAddress: { "aws:SourceIp": "203.0.113.0/24" } }), req({ ctx: { "aws:SourceIp": "198.51.100.7" } }), "NoMatch"],
  ["IpAddress single address", cond({ IpAddress: { "aws:SourceIp": "198.51.100.7" } }), req({ ctx: { "aws:SourceIp": "198.51.100.7" } }), "Allow"],
  ["IpAddress IPv6 CIDR", cond({ IpAddress: { "aws:SourceIp": "2001:db8::/32" } }), req({ ctx: { "aws:SourceIp": "2001:db8:1234::1" } }), "Allow"],
  ["IpAddress IPv6 outside", cond({ IpAddress: { "aws:SourceIp": "2001:db8::/32" } }), req({ ctx: { "aws:SourceIp": "2001:db9::1" } }), "NoMatch"],
  ["IpAddress v4 address vs v6 range", cond({ IpAddress: { "aws:SourceIp": "2001:db8::/32" } }), req({ ctx: { "aws:SourceIp": "10.0.0.1" } }), "NoMatch"],
  ["NotIpAddress outside holds", cond({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "aws:SourceIp": "203.0.113.7" } }), "Allow"],
  // Prefixes that end inside a byte, bytes compared whole (ipInCidr), and values that are not addresses.
  ["IpAddress /15 holds the next /16", cond({ IpAddress: { "aws:SourceIp": "10.2.0.0/15" } }), req({ ctx: { "aws:SourceIp": "10.3.255.1" } }), "Allow"],
  ["IpAddress /15 excludes the one after", cond({ IpAddress: { "aws:SourceIp": "10.2.0.0/15" } }), req({ ctx: { "aws:SourceIp": "10.4.0.1" } }), "NoMatch"],
  ["IpAddress /0 holds any v4", cond({ IpAddress: { "aws:SourceIp": "0.0.0.0/0" } }), req({ ctx: { "aws:SourceIp": "198.51.100.7" } }), "Allow"],
  ["IpAddress IPv6 /61 boundary", cond({ IpAddress: { "aws:SourceIp": "2001:db8:0:8::/61" } }), req({ ctx: { "aws:SourceIp": "2001:db8:0:f::1" } }), "Allow"],
  ["IpAddress IPv6 /61 outside", cond({ IpAddress: { "aws:SourceIp": "2001:db8:0:8::/61" } }), req({ ctx: { "aws:SourceIp": "2001:db8:0:10::1" } }), "NoMatch"],
  ["IpAddress a request value with a prefix is not an address", cond({ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "aws:SourceIp": "10.0.0.1/32" } }), "NoMatch"],
  ["IpAddress a prefix past the address's bits", cond({ IpAddress: { "aws:SourceIp": "10.0.0.0/33" } }), req({ ctx: { "aws:SourceIp": "10.0.0.1" } }), "NoMatch"],
  ["IpAddress a long value", cond({ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "aws:SourceIp": `10.0.0.1${" ".repeat(100)}` } }), "NoMatch"],
  ["NotIpAddress inside fails", cond({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "aws:SourceIp": "10.1.2.3" } }), "NoMatch"],
  // Arn
  ["ArnEquals exact", cond({ ArnEquals: { "aws:PrincipalArn": ALICE } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "Allow"],
  ["ArnLike wildcard in resource part", cond({ ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/*` } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "Allow"],
  ["ArnLike wildcard account", cond({ ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:user/alice" } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "Allow"],
  ["ArnLike different account", cond({ ArnLike: { "aws:PrincipalArn": "arn:aws:iam::999988887777:user/*" } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "NoMatch"],
  ["ArnLike on a non-ARN", cond({ ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:user/*" } }), req({ ctx: { "aws:PrincipalArn": "alice" } }), "NoMatch"],
  ["ArnNotEquals different", cond({ ArnNotEquals: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/bob` } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "Allow"],
  ["ArnNotLike matching fails", cond({ ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/*` } }), req({ ctx: { "aws:PrincipalArn": ALICE } }), "NoMatch"],
  // IfExists
  ["StringEqualsIfExists missing key holds", cond({ StringEqualsIfExists: { "kms:EncryptionContext:tenant": "t1" } }), req(), "Allow"],
  ["StringEqualsIfExists present mismatch", cond({ StringEqualsIfExists: { "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:EncryptionContext:tenant": "t2" } }), "NoMatch"],
  ["StringEqualsIfExists present match", cond({ StringEqualsIfExists: { "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:EncryptionContext:tenant": "t1" } }), "Allow"],
  ["NumericLessThanIfExists missing holds", cond({ NumericLessThanIfExists: { "kms:RotationPeriodInDays": "100" } }), req(), "Allow"],
  ["IpAddressIfExists missing holds", cond({ IpAddressIfExists: { "aws:SourceIp": "10.0.0.0/8" } }), req(), "Allow"],
  ["BoolIfExists present false", cond({ BoolIfExists: { "kms:GrantIsForAWSResource": "true" } }), req({ ctx: { "kms:GrantIsForAWSResource": "false" } }), "NoMatch"],
  // set operators
  ["ForAnyValue one match", cond({ "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": ["tenant", "app"] } }), req({ ctx: { "kms:EncryptionContextKeys": ["x", "app"] } }), "Allow"],
  ["ForAnyValue no match", cond({ "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }), req({ ctx: { "kms:EncryptionContextKeys": ["x", "y"] } }), "NoMatch"],
  ["ForAnyValue empty set is false", cond({ "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }), req({ ctx: { "kms:EncryptionContextKeys": [] } }), "NoMatch"],
  ["ForAnyValue missing key is false", cond({ "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }), req(), "NoMatch"],
  ["ForAllValues all match", cond({ "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["tenant", "app"] } }), req({ ctx: { "kms:EncryptionContextKeys": ["tenant", "app"] } }), "Allow"],
  ["ForAllValues one outside", cond({ "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["tenant", "app"] } }), req({ ctx: { "kms:EncryptionContextKeys": ["tenant", "other"] } }), "NoMatch"],
  ["ForAllValues empty set is true", cond({ "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }), req({ ctx: { "kms:EncryptionContextKeys": [] } }), "Allow"],
  ["ForAllValues missing key is true", cond({ "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }), req(), "Allow"],
  ["ForAllValues:StringLike", cond({ "ForAllValues:StringLike": { "kms:GrantOperations": ["Encrypt", "Decrypt", "GenerateDataKey*"] } }), req({ ctx: { "kms:GrantOperations": ["Decrypt", "GenerateDataKeyWithoutPlaintext"] } }), "Allow"],
  ["ForAnyValue:StringNotEquals", cond({ "ForAnyValue:StringNotEquals": { "kms:GrantOperations": ["Decrypt"] } }), req({ ctx: { "kms:GrantOperations": ["Decrypt", "Encrypt"] } }), "Allow"],
  ["single-valued operator on a list: any value", cond({ StringEquals: { "aws:TagKeys": "team" } }), req({ ctx: { "aws:TagKeys": ["env", "team"] } }), "Allow"],
  // combining
  ["two keys in one operator: AND", cond({ StringEquals: { "kms:CallerAccount": ACCT, "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:CallerAccount": ACCT, "kms:EncryptionContext:tenant": "t2" } }), "NoMatch"],
  ["two keys in one operator: both hold", cond({ StringEquals: { "kms:CallerAccount": ACCT, "kms:EncryptionContext:tenant": "t1" } }), req({ ctx: { "kms:CallerAccount": ACCT, "kms:EncryptionContext:tenant": "t1" } }), "Allow"],
  ["two operators: AND", cond({ StringEquals: { "kms:CallerAccount": ACCT }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "kms:CallerAccount": ACCT, "aws:SourceIp": "192.0.2.1" } }), "NoMatch"],
  ["two operators: both hold", cond({ StringEquals: { "kms:CallerAccount": ACCT }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), req({ ctx: { "kms:CallerAccount": ACCT, "aws:SourceIp": "10.9.9.9" } }), "Allow"],
  ["kms:ViaService", cond({ StringEquals: { "kms:ViaService": "cloudtrail.us-east-1.amazonaws.com" } }), req({ ctx: { "kms:ViaService": "cloudtrail.us-east-1.amazonaws.com" } }), "Allow"],
  ["kms:ViaService absent for direct calls", cond({ StringEquals: { "kms:ViaService": "cloudtrail.us-east-1.amazonaws.com" } }), req(), "NoMatch"],
  ["aws:ResourceTag", cond({ StringEquals: { "aws:ResourceTag/team": "edge" } }), req({ ctx: { "aws:ResourceTag/team": "edge" } }), "Allow"],
  ["aws:RequestTag mismatch", cond({ StringEquals: { "aws:RequestTag/env": "prod" } }), req({ ctx: { "aws:RequestTag/env": "dev" } }), "NoMatch"],
  ["kms:KeySpec / kms:KeyUsage / kms:KeyOrigin", cond({ StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS" } }), req({ ctx: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS" } }), "Allow"],
  ["kms:EncryptionAlgorithm", cond({ StringEquals: { "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT" } }), req({ ctx: { "kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256" } }), "NoMatch"],
  ["kms:GrantConstraintType", cond({ StringEquals: { "kms:GrantConstraintType": "EncryptionContextEquals" } }), req({ ctx: { "kms:GrantConstraintType": "EncryptionContextEquals" } }), "Allow"],
  ["kms:RetiringPrincipal", cond({ StringEquals: { "kms:RetiringPrincipal": ALICE } }), req({ ctx: { "kms:RetiringPrincipal": ALICE } }), "Allow"],
  ["kms:ResourceAliases with ForAnyValue:StringLike", cond({ "ForAnyValue:StringLike": { "kms:ResourceAliases": "alias/finance-*" } }), req({ ctx: { "kms:ResourceAliases": ["alias/x", "alias/finance-key"] } }), "Allow"],
  ["aws:PrincipalAccount", cond({ StringEquals: { "aws:PrincipalAccount": ACCT } }), req({ ctx: { "aws:PrincipalAccount": ACCT } }), "Allow"],
];

describe("policy evaluation table", () => {
  it.each(CASES)("%s", (_name, text, request, expected) => {
    expect(evaluatePolicy(parsePolicy(text, "key"), request, true)).toBe(expected);
  });

  it("identity policies apply without a Principal element", () => {
    const identity = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: KEY }] });
    expect(evaluatePolicy(parsePolicy(identity, "identity"), req(), false)).toBe("Allow");
    expect(evaluatePolicy(parsePolicy(identity, "identity"), req(), true)).toBe("NoMatch");
  });
});

// Condition keys that are also names of Object.prototype members: a lookup must see only the
// context's own keys, whatever the context's prototype ("constructor" and "__proto__" stay the
// same when lower-cased, so a plain object would answer them from Object.prototype).
describe("policy variables (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)", () => {
  const owner = (value: string, op = "StringEquals", version = "2012-10-17") =>
    JSON.stringify({ ...(version ? { Version: version } : {}), Statement: [stmt({ Condition: { [op]: { "kms:EncryptionContext:owner": value } } })] });
  const as = (user: string | undefined, ownerValue: string | undefined, more: RequestContext = {}) =>
    req({ ctx: { ...(user !== undefined ? { "aws:username": user } : {}), ...(ownerValue !== undefined ? { "kms:encryptioncontext:owner": ownerValue } : {}), ...more } });
  const VARIABLE_CASES: Case[] = [
    ["${aws:username} is the caller's name", owner("${aws:username}"), as("alice", "alice"), "Allow"],
    ["…not another's", owner("${aws:username}"), as("alice", "bob"), "NoMatch"],
    ["…nor the literal text", owner("${aws:username}"), as("alice", "${aws:username}"), "NoMatch"],
    // "Effectively null. There is no equal or like value"; "inverted condition operators … do match against a null value".
    ["a key the request lacks: equal to nothing", owner("${aws:username}"), as(undefined, "${aws:username}"), "NoMatch"],
    ["…and its negated operator holds", owner("${aws:username}", "StringNotEquals"), as(undefined, "anything"), "Allow"],
    ["a default where the request has none", owner("${aws:username, 'nobody'}"), as(undefined, "nobody"), "Allow"],
    ["…not where it has one", owner("${aws:username, 'nobody'}"), as("alice", "nobody"), "NoMatch"],
    ["a quote in a default is doubled", owner("${aws:username, 'o''brien'}"), as(undefined, "o'brien"), "Allow"],
    ["key names ignore case", owner("${AWS:UserName}"), as("alice", "alice"), "Allow"],
    ["inside a longer value", owner("team-${aws:username}-data"), as("alice", "team-alice-data"), "Allow"],
    ["a value is never a wildcard (StringLike)", owner("${aws:username}", "StringLike"), as("*", "anything"), "NoMatch"],
    ["…it matches itself", owner("${aws:username}", "StringLike"), as("*", "*"), "Allow"],
    ["the pattern's own wildcards still are", owner("${aws:username}-*", "StringLike"), as("alice", "alice-x"), "Allow"],
    ["${*} is a literal asterisk", owner("x${*}", "StringLike"), as("alice", "x*"), "Allow"],
    ["…that matches nothing else", owner("x${*}", "StringLike"), as("alice", "xy"), "NoMatch"],
    ["${?} is a literal question mark", owner("x${?}", "StringLike"), as("alice", "xy"), "NoMatch"],
    ["${$} is a dollar sign, and one pass only", owner("${$}{aws:username}"), as("alice", "${aws:username}"), "Allow"],
    ["a multi-valued key is no variable", owner("${kms:EncryptionContextKeys}"), as("alice", "owner", { "kms:encryptioncontextkeys": ["owner"] }), "NoMatch"],
    // Substituted in String, ARN and Bool conditions only (reference_policies_elements_condition_operators.html).
    ["NotIpAddress keeps ${…} as text: not a CIDR, so a Deny on it applies whatever the context", policy(stmt({}), stmt({ Effect: "Deny", Condition: { NotIpAddress: { "aws:SourceIp": "${kms:EncryptionContext:net}" } } })), req({ ctx: { "aws:sourceip": "203.0.113.9", "kms:encryptioncontext:net": "0.0.0.0/0" } }), "Deny"],
    ["Numeric keeps ${…} as text", owner("${aws:username}", "NumericEquals"), as("7", "7"), "NoMatch"],
    ["Bool substitutes", policy(stmt({ Condition: { Bool: { "aws:SecureTransport": "${kms:EncryptionContext:tls}" } } })), req({ ctx: { "aws:securetransport": "true", "kms:encryptioncontext:tls": "true" } }), "Allow"],
    ["Version 2008-10-17 has no variables", owner("${aws:username}", "StringEquals", "2008-10-17"), as("alice", "${aws:username}"), "Allow"],
    ["…nor a policy without a Version", owner("${aws:username}", "StringEquals", ""), as("alice", "alice"), "NoMatch"],
    ["ArnLike with a variable", policy(stmt({ Condition: { ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/\${aws:username}` } } })), req({ ctx: { "aws:username": "alice", "aws:principalarn": ALICE } }), "Allow"],
    ["ArnLike: a value is never a wildcard", policy(stmt({ Condition: { ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCT}:user/\${aws:username}` } } })), req({ ctx: { "aws:username": "*", "aws:principalarn": ALICE } }), "NoMatch"],
    ["Resource with a variable", policy(stmt({ Resource: `arn:aws:kms:*:${ACCT}:alias/\${aws:username}-*` })), req({ resource: `arn:aws:kms:us-east-1:${ACCT}:alias/alice-keys`, ctx: { "aws:username": "alice" } }), "Allow"],
    ["…another user's alias", policy(stmt({ Resource: `arn:aws:kms:*:${ACCT}:alias/\${aws:username}-*` })), req({ resource: `arn:aws:kms:us-east-1:${ACCT}:alias/bob-keys`, ctx: { "aws:username": "alice" } }), "NoMatch"],
    ["…no user name, no match", policy(stmt({ Resource: `arn:aws:kms:*:${ACCT}:alias/\${aws:username}-*` })), req({ resource: `arn:aws:kms:us-east-1:${ACCT}:alias/-keys` }), "NoMatch"],
    ["NotResource with a variable", policy(stmt({ Resource: undefined, NotResource: `arn:aws:kms:*:${ACCT}:alias/\${aws:username}-*` })), req({ resource: `arn:aws:kms:us-east-1:${ACCT}:alias/alice-keys`, ctx: { "aws:username": "alice" } }), "NoMatch"],
    ["…the caller's name missing: NotResource matches no resource", policy(stmt({ Resource: undefined, NotResource: `arn:aws:kms:*:${ACCT}:alias/\${aws:username}-*` })), req({ resource: `arn:aws:kms:us-east-1:${ACCT}:alias/bob-keys` }), "Allow"],
    ["a Deny on a negated operator applies to a caller the key has no value for (AWS's example: no value, denied)", policy(stmt({}), stmt({ Effect: "Deny", Condition: { StringNotEquals: { "kms:EncryptionContext:owner": "${aws:username}" } } })), as(undefined, "bob"), "Deny"],
    ["…and a caller cannot switch it off by leaving a context key out", policy(stmt({}), stmt({ Effect: "Deny", Condition: { StringNotLike: { "kms:EncryptionContext:path": "/tenants/${kms:EncryptionContext:tenant}/*" } } })), req({ ctx: { "kms:encryptioncontext:path": "/tenants/b/x" } }), "Deny"],
  ];
  it.each(VARIABLE_CASES)("%s", (_name, text, request, expected) => {
    expect(evaluatePolicy(parsePolicy(text, "key"), request, true)).toBe(expected);
  });

  it("a new policy's variables must be readable; a stored one's that is not never applies", () => {
    for (const bad of ["${}", "${aws:user name}", "${aws:username,'x}", "${aws:username", "a${b}c${", "${ , 'x'}"]) {
      expect(() => parsePolicy(owner(bad), "key"), bad).toThrow(/malformed policy variable/);
      expect(() => parsePolicy(policy(stmt({ Resource: `arn:aws:kms:*:${ACCT}:key/${bad}` })), "key"), bad).toThrow(/malformed policy variable/);
      expect(evaluatePolicy(parsePolicy(owner(bad), "stored-key"), as("alice", bad), true), bad).toBe("NoMatch");
    }
    expect(() => parsePolicy(owner("${aws:username}, ${aws:username, 'a''b'} ${*}${?}${$}"), "key")).not.toThrow();
    expect(() => parsePolicy(owner("${}", "StringEquals", "2008-10-17"), "key")).not.toThrow(); // text in that language
  });
});

describe("the cost of a match", () => {
  it("a pattern that would backtrack over a long literal is refused by the authorizer, not matched for seconds", () => {
    const n = 30_000;
    const pattern = `*/${"/".repeat(n)}/*`;
    const value = `${"/".repeat(n + 1)}x`;
    expect(() => wildcardMatch(pattern, value)).toThrow(PolicyCostExceeded);
    // Through a policy variable, as the review did it: a tenant-isolation Deny on a caller's context.
    const doc = parsePolicy(policy(stmt({}), stmt({ Effect: "Deny", Condition: { StringNotLike: { "kms:EncryptionContext:path": "*/${kms:EncryptionContext:tenant}/*" } } })), "key");
    const request = req({ ctx: { "kms:encryptioncontext:tenant": "/".repeat(n), "kms:encryptioncontext:path": value } });
    expect(() => evaluatePolicy(doc, request, true)).toThrow(PolicyCostExceeded);
  });

  it("one authorization's matches share a budget: each within its own, together refused", () => {
    const value = "0".repeat(60_000);
    const pattern = `*${"0".repeat(40)}1`; // about 40 steps per character of the value, under its own budget
    expect(wildcardMatch(pattern, value)).toBe(false);
    expect(wildcardMatch(pattern, value)).toBe(false); // outside an authorization, only each match's own budget
    expect(() => withMatchBudget(() => [wildcardMatch(pattern, value), wildcardMatch(pattern, value)])).toThrow(PolicyCostExceeded);
    expect(withMatchBudget(() => wildcardMatch(pattern, value))).toBe(false);
    expect(withMatchBudget(() => Array.from({ length: 50 }, () => wildcardMatch("*0*", value)).every(Boolean))).toBe(true); // ordinary ones, many times
  });

  it("a group's authorizations share MATCH_STEPS_PER_BATCH_GROUP: each charged what it took, refused once the group's steps are spent", () => {
    const value = "0".repeat(60_000);
    const pattern = `*${"0".repeat(40)}1`; // about 2.4 million steps
    const group: MatchBudget = { left: MATCH_STEPS_PER_BATCH_GROUP };
    const outcomes = Array.from({ length: 8 }, () => {
      try {
        return withMatchBudget(() => wildcardMatch(pattern, value), group);
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(outcomes.slice(0, 6)).toEqual(Array(6).fill(false));
    expect(outcomes.slice(6)).toEqual(Array(2).fill("the batch's entries for this key together took too long to match policy patterns"));
    expect(group.left).toBe(0);
    // Each is charged what it took: cheap matches barely touch the group's steps.
    const cheap: MatchBudget = { left: MATCH_STEPS_PER_BATCH_GROUP };
    for (let i = 0; i < 1000; i++) expect(withMatchBudget(() => wildcardMatch("*0*", "0".repeat(100)), cheap)).toBe(true);
    expect(MATCH_STEPS_PER_BATCH_GROUP - cheap.left).toBeLessThan(1000 * 200); // about a step per character
    expect(MATCH_STEPS_PER_BATCH_GROUP - cheap.left).toBeGreaterThan(0);
    // A single authorization alone (no group) is held to its own budget only.
    expect(withMatchBudget(() => wildcardMatch(pattern, value))).toBe(false);
  });

  it("a group's message only when the group's steps ran out: a match over its own budget keeps the single request's", () => {
    const group: MatchBudget = { left: 3_000_000 }; // less than one authorization's 4 million
    const message = (f: () => unknown) => { try { f(); return "none"; } catch (e) { return (e as Error).message; } };
    // 64 steps per character of pattern and value: this one backtracks past its own budget long before 3 million.
    expect(message(() => withMatchBudget(() => wildcardMatch(`*${"0".repeat(2000)}1`, "0".repeat(4000)), group))).toBe("a policy pattern took too long to match the request's values");
    expect(group.left).toBeGreaterThan(2_000_000);
    for (const left of [NaN, -5, Infinity * 0]) expect(message(() => withMatchBudget(() => wildcardMatch("*0*", "0000"), { left })), String(left)).toBe("the batch's entries for this key together took too long to match policy patterns");
    const spent: MatchBudget = { left: 1000 };
    expect(message(() => withMatchBudget(() => wildcardMatch("*0*", "0".repeat(5000)), spent))).toBe("the batch's entries for this key together took too long to match policy patterns");
  });

  it("comparisons that lower-case or parse the request's value count against the budget too", () => {
    const long = "A".repeat(60_000);
    const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
    for (const operator of ["StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool", "NumericEquals", "DateEquals", "IpAddress"]) {
      const doc = parsePolicy(policy(stmt({ Condition: { [operator]: { "kms:EncryptionContext:a": values } } })), "key");
      // A 60,000-character value against each of 1,000 policy values: about 7.5 million steps (one per 8 characters).
      expect(() => withMatchBudget(() => evaluatePolicy(doc, req({ ctx: { "kms:EncryptionContext:a": long } }), true)), operator).toThrow(PolicyCostExceeded);
      // Short values are cheap.
      expect(() => withMatchBudget(() => evaluatePolicy(doc, req({ ctx: { "kms:EncryptionContext:a": "1" } }), true)), operator).not.toThrow();
    }
    // Exact comparisons count one step each.
    const exact = parsePolicy(policy(stmt({ Condition: { StringEquals: { "kms:EncryptionContext:a": values } } })), "key");
    expect(withMatchBudget(() => evaluatePolicy(exact, req({ ctx: { "kms:EncryptionContext:a": long } }), true))).toBe("NoMatch");
  });

  it("the text variables make counts against the authorization's budget; unclosed variables are read in one pass", () => {
    const copies = `x${"${kms:EncryptionContext:a}".repeat(2000)}`;
    const doc = parsePolicy(policy(stmt({ Condition: { StringEquals: { "kms:EncryptionContext:b": copies } } })), "key");
    const request = req({ ctx: { "kms:encryptioncontext:a": "a".repeat(30_000), "kms:encryptioncontext:b": "b" } });
    expect(() => withMatchBudget(() => evaluatePolicy(doc, request, true))).toThrow(PolicyCostExceeded); // 60 million characters
    const small = req({ ctx: { "kms:encryptioncontext:a": "a", "kms:encryptioncontext:b": `x${"a".repeat(2000)}` } });
    expect(withMatchBudget(() => evaluatePolicy(doc, small, true))).toBe("Allow");
    const unclosed = "${".repeat(50_000);
    const withUnclosed = policy(stmt({ Condition: { StringEquals: { "kms:EncryptionContext:owner": unclosed } } }));
    expect(() => parsePolicy(withUnclosed, "key")).toThrow(/malformed policy variable/);
    expect(evaluatePolicy(parsePolicy(withUnclosed, "stored-key"), req({ ctx: { "kms:encryptioncontext:owner": unclosed } }), true)).toBe("NoMatch");
  });

  it("ordinary patterns against values of a request body's size stay within the budget", () => {
    const value = `${"ab".repeat(32_000)}c`;
    expect(wildcardMatch("*c", value)).toBe(true);
    expect(wildcardMatch("a*b*c", value)).toBe(true);
    expect(wildcardMatch("*abd*", value)).toBe(false);
    expect(wildcardMatch("*?b*?c", value)).toBe(true);
    expect(wildcardMatch("ab*", value)).toBe(true);
  });
});

describe("condition keys named like Object.prototype members", () => {
  const KEYS = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"];
  /** A context with own keys only, over the given prototype (Object.prototype or null). */
  function contextOf(prototype: object | null, entries: [string, string][]): RequestContext {
    const ctx = Object.create(prototype) as RequestContext;
    for (const [k, value] of entries) Object.defineProperty(ctx, k, { value, enumerable: true, writable: true, configurable: true });
    return ctx;
  }
  const run = (c: Record<string, unknown>, context: RequestContext) =>
    evaluatePolicy(parsePolicy(cond(c), "key"), { ...req(), context }, true);

  for (const [label, prototype] of [["plain", Object.prototype], ["null-prototype", null]] as const) {
    describe(`${label} context`, () => {
      it.each(KEYS)("%s absent: no exception, the key counts as absent", (k) => {
        const absent = contextOf(prototype, []);
        expect(run({ Null: { [k]: "true" } }, absent)).toBe("Allow");
        expect(run({ Null: { [k]: "false" } }, absent)).toBe("NoMatch");
        expect(run({ StringEqualsIfExists: { [k]: "x" } }, absent)).toBe("Allow");
        expect(run({ StringNotEquals: { [k]: "x" } }, absent)).toBe("Allow");
        for (const [op, value] of [["StringEquals", "x"], ["StringEqualsIgnoreCase", "x"], ["StringLike", "*"], ["Bool", "true"], ["NumericEquals", "0"], ["DateLessThan", NOW], ["IpAddress", "0.0.0.0/0"], ["ArnLike", "arn:*:*:*:*:*"]]) {
          expect(run({ [op]: { [k]: value } }, absent), op).toBe("NoMatch");
          expect(run({ [`ForAnyValue:${op}`]: { [k]: value } }, absent), op).toBe("NoMatch");
          expect(run({ [`ForAllValues:${op}`]: { [k]: value } }, absent), op).toBe("Allow");
        }
      });

      it.each(KEYS)("%s present as an own key: an ordinary condition key", (k) => {
        const present = contextOf(prototype, [[k.toLowerCase(), "x"]]);
        expect(run({ StringEquals: { [k]: "x" } }, present)).toBe("Allow");
        expect(run({ StringEqualsIgnoreCase: { [k]: "X" } }, present)).toBe("Allow");
        expect(run({ StringEquals: { [k]: "y" } }, present)).toBe("NoMatch");
        expect(run({ Null: { [k]: "false" } }, present)).toBe("Allow");
      });
    });
  }
});

describe("malformed condition values never match", () => {
  it.each<[string, Record<string, unknown>, RequestContext]>([
    ["a CIDR with an empty prefix length", { IpAddress: { "aws:SourceIp": "10.0.0.0/" } }, { "aws:sourceip": "203.0.113.7" }],
    ["a CIDR with two prefix lengths", { IpAddress: { "aws:SourceIp": "203.0.113.0/24/8" } }, { "aws:sourceip": "203.0.113.7" }],
    ["a CIDR with a spaced prefix length", { IpAddress: { "aws:SourceIp": "203.0.113.0/ 24" } }, { "aws:sourceip": "203.0.113.7" }],
    ["an empty number", { NumericEquals: { "kms:RotationPeriodInDays": "0" } }, { "kms:rotationperiodindays": "" }],
    ["a hexadecimal number", { NumericEquals: { "kms:RotationPeriodInDays": "16" } }, { "kms:rotationperiodindays": "0x10" }],
    ["a number with spaces", { NumericEquals: { "kms:RotationPeriodInDays": "90" } }, { "kms:rotationperiodindays": " 90 " }],
    ["a date that is not ISO 8601", { DateGreaterThan: { "aws:CurrentTime": "2000-01-01T00:00:00Z" } }, { "aws:currenttime": "March 7" }],
    ["an unparseable date", { DateLessThan: { "aws:CurrentTime": "someday" } }, { "aws:currenttime": NOW }],
  ])("%s", (_name, c, context) => {
    expect(evaluatePolicy(parsePolicy(cond(c), "key"), { ...req(), context }, true)).toBe("NoMatch");
  });
});

describe("malformed policies", () => {
  const identityStmt = (s: Record<string, unknown>) => ({ Effect: "Allow", Action: "kms:*", Resource: "*", ...s });
  it.each<[string, PolicyKind, string]>([
    ["key policy statement without Principal", "key", policy(stmt({ Principal: undefined }))],
    ["key policy with one statement without Principal", "key", policy(stmt({}), stmt({ Principal: undefined, Effect: "Deny" }))],
    ["identity policy with Principal", "identity", policy(identityStmt({ Principal: { AWS: ACCT } }))],
    ["identity policy with Principal *", "identity", policy(identityStmt({ Principal: "*" }))],
    ["identity policy with NotPrincipal", "identity", policy(identityStmt({ NotPrincipal: { AWS: ACCT } }))],
    // IAM's grammar (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html): read as absent, a misspelled Condition made an Allow unconditional.
    ["a misspelled Condition (key)", "key", policy(stmt({ Conditon: { StringEquals: { "kms:EncryptionContext:app": "ok" } } }))],
    ["a misspelled Condition (identity)", "identity", policy(identityStmt({ Conditon: { StringEquals: { "kms:EncryptionContext:app": "ok" } } }))],
    ["a lower-case condition", "key", policy(stmt({ condition: { StringEquals: { "kms:CallerAccount": ACCT } } }))],
    ["an unknown statement element", "identity", policy(identityStmt({ Foo: "bar" }))],
    ["an unknown document element", "key", JSON.stringify({ Version: "2012-10-17", Statement: [stmt({})], Statment: [] })],
    ["a Sid that is not a string", "key", policy(stmt({ Sid: 7 }))],
    ["NotPrincipal with Allow", "key", policy(stmt({ Principal: undefined, NotPrincipal: { AWS: ALICE } }))],
    ["an identity statement without Resource", "identity", policy(identityStmt({ Resource: undefined }))],
  ])("%s (%s)", (_name, kind, text) => {
    expect(() => parsePolicy(text, kind)).toThrow(PolicyError);
  });

  it("a stored policy is read as it was accepted: an Allow with what is now refused never applies, a Deny still does", () => {
    const oddAllow = stmt({ Conditon: { StringEquals: { "kms:EncryptionContext:app": "ok" } } });
    const oddDeny = stmt({ Effect: "Deny", Action: "kms:Decrypt", Foo: "bar" });
    const notPrincipalAllow = stmt({ Principal: undefined, NotPrincipal: { AWS: ALICE } });
    const key = parsePolicy(policy(oddAllow, oddDeny, notPrincipalAllow), "stored-key");
    expect(key.statements.map((x) => x.effect)).toEqual(["Deny"]);
    expect(evaluatePolicy(key, req(), true)).toBe("NoMatch");
    expect(evaluatePolicy(key, req({ action: "kms:Decrypt" }), true)).toBe("Deny");
    const identity = parsePolicy(policy(identityStmt({ Resource: undefined }), identityStmt({ Action: "kms:Decrypt", Effect: "Deny", Extra: 1 })), "stored-identity");
    // A stored statement without Resource was read as applying to every resource: kept so.
    expect(identity.statements.map((x) => x.effect)).toEqual(["Allow", "Deny"]);
    // A numeric Sid changes nothing an Allow was read as: kept (dropping the root's only Allow would lock the key).
    expect(evaluatePolicy(parsePolicy(policy(stmt({ Sid: 1 })), "stored-key"), req(), true)).toBe("Allow");
  });

  it("principals as IAM writes them: role sessions and federated users are sts ARNs", () => {
    for (const p of [`arn:aws:sts::${ACCT}:assumed-role/Admin/session-1`, `arn:aws:sts::${ACCT}:federated-user/bob`, `arn:aws:iam::${ACCT}:role/path/Admin`]) {
      expect(parsePolicy(policy(stmt({ Principal: { AWS: p } })), "key").statements[0]!.principal!.aws, p).toEqual([p]);
    }
    for (const p of [`arn:aws:iam::${ACCT}:assumed-role/Admin/session-1`, `arn:aws:sts::${ACCT}:user/bob`, `arn:aws:sts::${ACCT}:assumed-role/Admin`]) {
      expect(() => parsePolicy(policy(stmt({ Principal: { AWS: p } })), "key"), p).toThrow(PolicyError);
    }
  });

  it("a key policy may name its principals with NotPrincipal; an identity policy names none", () => {
    expect(parsePolicy(policy(stmt({ Effect: "Deny", Principal: undefined, NotPrincipal: { AWS: ALICE } })), "key").statements).toHaveLength(1);
    expect(parsePolicy(policy(identityStmt({})), "identity").statements).toHaveLength(1);
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "[]"],
    ["no Statement", JSON.stringify({ Version: "2012-10-17" })],
    ["bad Effect", policy(stmt({ Effect: "Maybe" }))],
    ["Action and NotAction", policy(stmt({ NotAction: "kms:Decrypt" }))],
    ["no Action", policy(stmt({ Action: undefined }))],
    ["unknown condition operator", cond({ StringSortOf: { "kms:CallerAccount": ACCT } })],
    ["NullIfExists", cond({ NullIfExists: { "kms:CallerAccount": "true" } })],
    ["bad principal", policy(stmt({ Principal: { AWS: "alice" } }))],
    ["Principal and NotPrincipal", policy(stmt({ NotPrincipal: { AWS: ACCT } }))],
    ["unknown Version", JSON.stringify({ Version: "2099-01-01", Statement: [stmt({})] })],
    ["empty action list", policy(stmt({ Action: [] }))],
  ])("%s", (_name, text) => {
    expect(() => parsePolicy(text, "key")).toThrow(PolicyError);
  });

  it("the AWS default key policy parses and delegates to the account", () => {
    const text = `{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n    "Principal" : { "AWS" : "arn:aws:iam::${ACCT}:root" },\n    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}`;
    const doc = parsePolicy(text, "key");
    expect(doc.id).toBe("key-default-1");
    expect(evaluatePolicy(doc, req(), true)).toBe("Allow");
    expect(evaluatePolicy(doc, req({ principal: { arn: "arn:aws:iam::999988887777:root", accountId: "999988887777" } }), true)).toBe("NoMatch");
  });
});
