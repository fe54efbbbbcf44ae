// Issue 10's findings through the real Worker and vaults: each test drives the request an
// attacker made and expects AWS's answer. (The decision itself is table-tested in
// test/node/authorize.test.ts.)
import { beforeAll, describe, expect, it } from "vitest";
import { env as testEnv, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Env } from "../../src/env.js";
import { vaultName } from "../../src/placement.js";
import type { KeyVault } from "../../src/vault/key-vault.js";
import { ACCOUNT, admin, b64, call, doc, newAccount, newUser, ok, unique, type Creds } from "./kms.js";

const env = testEnv as unknown as Env;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

async function newKey(input: object = {}, as?: Creds): Promise<{ KeyId: string; Arn: string }> {
  return (await ok<{ KeyMetadata: { KeyId: string; Arn: string } }>("CreateKey", input, as)).KeyMetadata;
}

describe("finding 1: root credentials from an IAM user", () => {
  it("CreateAccessKey without UserName makes a key for the calling user, never the root's", async () => {
    const mgr = await newUser([{ Effect: "Allow", Action: "iam:*", Resource: `arn:aws:iam::${ACCOUNT}:user/*` }]);
    const r = await admin<{ UserName?: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", {}, mgr);
    expect(r.status).toBe(200);
    expect(r.body.UserName).toBe(mgr.name);
    // The new key acts as mgr, not as the account root.
    const asNew = { accessKeyId: r.body.AccessKeyId, secretAccessKey: r.body.SecretAccessKey };
    const denied = await call("CreateKey", {}, asNew);
    expect(denied.body.__type).toBe("AccessDeniedException");
    expect(denied.body.message).toContain(`user/${mgr.name}`);
  });

  it("DeleteAccessKey of a root access key is the root's (or the operator's) only; users are checked on the key's owner", async () => {
    const acct = await newAccount();
    const mgr = await newUser([{ Effect: "Allow", Action: "iam:DeleteAccessKey", Resource: `arn:aws:iam::${acct.account}:user/*` }], acct.account, acct);
    const r = await admin("DeleteAccessKey", { AccessKeyId: acct.accessKeyId }, mgr);
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(r.body.message).toContain("iam:DeleteAccessKey");
    // The root's key still works.
    expect((await call("ListKeys", {}, acct)).status).toBe(200);
    // A user the policy does not name is refused too; one it names is not.
    const limited = await newUser([{ Effect: "Allow", Action: "iam:DeleteAccessKey", Resource: `arn:aws:iam::${acct.account}:user/team-*` }], acct.account, acct);
    const victim = await newUser(undefined, acct.account, acct);
    expect((await admin("DeleteAccessKey", { AccessKeyId: victim.accessKeyId }, limited)).body.__type).toBe("AccessDeniedException");
    expect((await admin("DeleteAccessKey", { AccessKeyId: victim.accessKeyId }, mgr)).status).toBe(200);
  });

  it("DeleteAccessKey tells a caller that may not delete a key neither whether it exists nor who owns it", async () => {
    const acct = await newAccount();
    const owner = await newUser(undefined, acct.account, acct);
    const sameAccount = await newUser(undefined, acct.account, acct); // no policy
    const limited = await newUser([{ Effect: "Allow", Action: "iam:DeleteAccessKey", Resource: `arn:aws:iam::${acct.account}:user/team-*` }], acct.account, acct);
    const otherAccount = await newUser(); // a user of ACCOUNT, with no policy
    const keys = { "a user's key": owner.accessKeyId, "the root's key": acct.accessKeyId, "no such key": "AKIANOSUCHKEY0000000" };
    for (const caller of [sameAccount, limited, otherAccount]) {
      for (const [which, id] of Object.entries(keys)) {
        const r = await admin("DeleteAccessKey", { Account: acct.account, AccessKeyId: id }, caller);
        const row = `${caller.arn}, ${which}`;
        expect([r.status, r.body.__type], row).toEqual([400, "AccessDeniedException"]);
        expect(r.body.message, row).toBe(`User: ${caller.arn} is not authorized to perform: iam:DeleteAccessKey on access key ${id} of account ${acct.account}`);
      }
    }
    // The keys still work; the account's root learns that a key does not exist.
    expect((await admin("GetCallerIdentity", {}, owner)).status).toBe(200);
    expect((await admin("GetCallerIdentity", {}, acct)).status).toBe(200);
    expect((await admin("DeleteAccessKey", { AccessKeyId: keys["no such key"] }, acct)).body.__type).toBe("NoSuchEntityException");
  });

  it("ListAccounts is the operator's only", async () => {
    const acct = await newAccount();
    expect((await admin<{ Accounts: string[] }>("ListAccounts")).body.Accounts).toContain(acct.account);
    const r = await admin("ListAccounts", {}, acct);
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(r.body.message).toContain("edgekms:ListAccounts");
  });

  it("admin denials name the IAM permission that was checked", async () => {
    const nobody = await newUser();
    const r = await admin("CreateUser", { UserName: unique("x") }, nobody);
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(r.body.message).toMatch(/not authorized to perform: iam:CreateUser on resource: arn:aws:iam::\d{12}:user\//);
  });
});

describe("finding 2: aliases need permission on the alias and on every key involved", () => {
  it("a user allowed only CreateKey cannot repoint or delete another team's alias", async () => {
    const victimKey = await newKey();
    const alias = `alias/${unique("victim")}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: victimKey.KeyId });
    const mallory = await newUser([{ Effect: "Allow", Action: "kms:CreateKey", Resource: "*" }]);
    // Her own key, whose policy gives her everything.
    const own = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: [ROOT, mallory.arn] }, Action: "kms:*", Resource: "*" }) }, mallory);
    const up = await call("UpdateAlias", { AliasName: alias, TargetKeyId: own.KeyId }, mallory);
    expect(up.body.__type).toBe("AccessDeniedException");
    expect(up.body.message).toContain(`kms:UpdateAlias on resource: arn:aws:kms:us-east-1:${ACCOUNT}:${alias}`);
    expect((await call("DeleteAlias", { AliasName: alias }, mallory)).body.__type).toBe("AccessDeniedException");
    // The alias still names the victim's key.
    expect((await ok<{ KeyMetadata: { KeyId: string } }>("DescribeKey", { KeyId: alias })).KeyMetadata.KeyId).toBe(victimKey.KeyId);
  });

  it("UpdateAlias needs the permission on the current target too", async () => {
    const victimKey = await newKey();
    const alias = `alias/${unique("shared")}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: victimKey.KeyId });
    // Allowed on the alias (identity policy) and on her own key (its policy), not on the victim's key.
    const eve = await newUser([
      { Effect: "Allow", Action: "kms:UpdateAlias", Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/*` },
      { Effect: "Allow", Action: "kms:CreateKey", Resource: "*" },
    ]);
    const own = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: [ROOT, eve.arn] }, Action: "kms:*", Resource: "*" }) }, eve);
    const r = await call("UpdateAlias", { AliasName: alias, TargetKeyId: own.KeyId }, eve);
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(r.body.message).toContain(victimKey.Arn);
    // With the permission on the victim's key as well, it is allowed (as AWS allows).
    await ok("PutKeyPolicy", { KeyId: victimKey.KeyId, Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, { Effect: "Allow", Principal: { AWS: eve.arn }, Action: "kms:UpdateAlias", Resource: "*" }) });
    expect((await call("UpdateAlias", { AliasName: alias, TargetKeyId: own.KeyId }, eve)).status).toBe(200);
  });
});

describe("finding 3: grants made through grants only narrow", () => {
  it("a grantee of [Encrypt, CreateGrant] cannot give itself Decrypt, and a constrained grantee may pass on its constraint", async () => {
    const key = await newKey();
    const g = await newUser();
    await ok("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: g.arn, Operations: ["Encrypt", "CreateGrant"] });
    const wider = await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: g.arn, Operations: ["Decrypt"] }, g);
    expect(wider.body.__type).toBe("AccessDeniedException");
    expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: "arn:aws:iam::999988887777:root", Operations: ["Encrypt", "Decrypt"] }, g)).body.__type).toBe("AccessDeniedException");
    expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: g.arn, Operations: ["Encrypt"] }, g)).status).toBe(200);

    const c = await newUser();
    await ok("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: c.arn, Operations: ["Encrypt", "CreateGrant"], Constraints: { EncryptionContextEquals: { tenant: "t1" } } });
    expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: c.arn, Operations: ["Encrypt"], Constraints: { EncryptionContextEquals: { tenant: "t1" } } }, c)).status).toBe(200);
    expect((await call("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: c.arn, Operations: ["Encrypt"] }, c)).body.__type).toBe("AccessDeniedException");
  });
});

describe("finding 4: ListRetirableGrants", () => {
  it("needs kms:ListRetirableGrants in an identity policy, and a retiring principal of the caller's account", async () => {
    const key = await newKey();
    const retiree = await newUser();
    await ok("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: retiree.arn, RetiringPrincipal: retiree.arn, Operations: ["Encrypt"] });
    const nobody = await newUser();
    expect((await call("ListRetirableGrants", { RetiringPrincipal: retiree.arn }, nobody)).body.__type).toBe("AccessDeniedException");
    expect((await ok<{ Grants: unknown[] }>("ListRetirableGrants", { RetiringPrincipal: retiree.arn })).Grants).toHaveLength(1);
    const other = await newAccount();
    const r = await call("ListRetirableGrants", { RetiringPrincipal: retiree.arn }, other);
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(JSON.stringify(r.body)).not.toContain(key.KeyId);
  });
});

describe("finding 5: across accounts both the key policy and the caller's identity policies must allow", () => {
  it("a key policy admitting '*' or the foreign user does not let a user without identity policies decrypt", async () => {
    const other = await newAccount();
    const bob = await newUser(undefined, other.account, other);
    for (const principal of ["*", { AWS: bob.arn }]) {
      const key = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, { Effect: "Allow", Principal: principal, Action: "kms:Decrypt", Resource: "*" }) });
      const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("team secret") })).CiphertextBlob;
      const r = await call("Decrypt", { CiphertextBlob: blob }, bob);
      expect(r.body.__type).toBe("AccessDeniedException");
      expect(r.body.message).not.toContain("team secret");
    }
    // With an identity policy of its own account, the foreign user may.
    const carol = await newUser([{ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }], other.account, other);
    const key = await newKey({ Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, { Effect: "Allow", Principal: "*", Action: "kms:Decrypt", Resource: "*" }) });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("shared") })).CiphertextBlob;
    expect((await call("Decrypt", { CiphertextBlob: blob }, carol)).status).toBe(200);
  });
});

describe("finding 6: ReEncrypt decides the destination on the destination encryption context", () => {
  it("a context the destination key denies cannot be reached through ReEncrypt", async () => {
    const source = await newKey();
    const destination = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: ["kms:Encrypt", "kms:ReEncryptTo"], Resource: "*", Condition: { StringNotEquals: { "kms:EncryptionContext:purpose": "ok" } } },
    ) });
    expect((await call("Encrypt", { KeyId: destination.KeyId, Plaintext: b64("x"), EncryptionContext: { purpose: "bad" } })).body.__type).toBe("AccessDeniedException");
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: source.KeyId, Plaintext: b64("x"), EncryptionContext: { purpose: "ok" } })).CiphertextBlob;
    const r = await call("ReEncrypt", { CiphertextBlob: blob, SourceEncryptionContext: { purpose: "ok" }, DestinationKeyId: destination.KeyId, DestinationEncryptionContext: { purpose: "bad" } });
    expect(r.body.__type).toBe("AccessDeniedException");
    expect(r.body.message).toContain("kms:ReEncryptTo");
    expect((await call("ReEncrypt", { CiphertextBlob: blob, SourceEncryptionContext: { purpose: "ok" }, DestinationKeyId: destination.KeyId, DestinationEncryptionContext: { purpose: "ok" } })).status).toBe(200);
  });
});

describe("finding 12: a key that is not Enabled has no rotation alarm", () => {
  it("a Disabled key whose rotation is due does not re-arm its alarm in the past", async () => {
    const key = await newKey();
    await ok("EnableKeyRotation", { KeyId: key.KeyId, RotationPeriodInDays: 90 });
    await ok("DisableKey", { KeyId: key.KeyId });
    const stub = env.KEY_VAULT.get(env.KEY_VAULT.idFromName(vaultName("us-east-1", key.KeyId)));
    await runInDurableObject(stub, (instance: KeyVault) => { instance.clockOffsetMs = 100 * 24 * 3600 * 1000; });
    // Let the audit outbox drain so that only the key's own alarm could remain.
    await runDurableObjectAlarm(stub);
    await runDurableObjectAlarm(stub);
    const alarm = await runInDurableObject(stub, async (_i, state) => state.storage.getAlarm());
    expect(alarm === null || alarm > Date.now()).toBe(true);
    // Enabled again, it rotates at once (it missed its date) and re-arms in the future.
    await ok("EnableKey", { KeyId: key.KeyId });
    const rotations = await ok<{ Rotations: unknown[] }>("ListKeyRotations", { KeyId: key.KeyId });
    expect(rotations.Rotations).toHaveLength(1);
  });
});

describe("finding 14: grant tokens are unforgeable and only their grantee's", () => {
  it("a forged or foreign token is InvalidGrantTokenException; the grantee's own token works", async () => {
    const key = await newKey();
    const g = await newUser();
    const other = await newUser();
    const grant = await ok<{ GrantId: string; GrantToken: string }>("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: g.arn, Operations: ["Encrypt"] });
    // A token of the old shape (key id, grant id, any secret) that the service never issued.
    const forged = btoa(`egt1:${key.KeyId}:${grant.GrantId}:AAAAAAAAAAAAAAAAAAAAAAAA`).replace(/=+$/, "");
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [forged] }, g)).body.__type).toBe("InvalidGrantTokenException");
    // A genuine token with one character changed.
    const flipped = grant.GrantToken.slice(0, -2) + (grant.GrantToken.at(-2) === "A" ? "B" : "A") + grant.GrantToken.at(-1);
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [flipped] }, g)).body.__type).toBe("InvalidGrantTokenException");
    // Someone else's token.
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [grant.GrantToken] }, other)).body.__type).toBe("InvalidGrantTokenException");
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), GrantTokens: [grant.GrantToken] }, g)).status).toBe(200);
    // RetireGrant by a forged token is refused; by the genuine one (as the issuing account) it works.
    expect((await call("RetireGrant", { GrantToken: forged })).body.__type).toBe("InvalidGrantTokenException");
    expect((await call("RetireGrant", { GrantToken: grant.GrantToken })).status).toBe(200);
  });
});

describe("user strings as condition keys and names", () => {
  it("encryption-context keys that differ only in case cannot hide a pair from a Deny", async () => {
    const key = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:tier": "secret" } } },
    ) });
    for (const ec of [{ tier: "secret" }, { tier: "secret", TIER: "x" }, { TIER: "x", tier: "secret" }]) {
      expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: ec })).body.__type).toBe("AccessDeniedException");
    }
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x"), EncryptionContext: { tier: "public", TIER: "x" } })).status).toBe(200);
  });

  it("a user policy named like an Object.prototype member is an ordinary name", async () => {
    const u = await newUser();
    for (const name of ["constructor", "toString", "hasOwnProperty"]) {
      expect((await admin("DeleteUserPolicy", { UserName: u.name, PolicyName: name })).body.__type).toBe("NoSuchEntityException");
    }
  });
});

describe("found by attacking the authorizer", () => {
  type Tail = { Entries: { Record: { requestID?: string; eventName: string; recipientAccountId: string; sharedEventID?: string; errorCode?: string } }[] };
  const tailOf = async (account?: string) => (await admin<Tail>("AuditTail", { Limit: 10_000, ...(account ? { Account: account } : {}) })).body.Entries.map((e) => e.Record);

  it("a foreign caller's failing call on a key is recorded in its own trail only, never in the key owner's", async () => {
    const key = await newKey();
    const c = await newAccount();
    const r = await call("RetireGrant", { KeyId: key.Arn, GrantId: "ALERT: key compromised, rotate now" }, c);
    expect(r.status).toBe(400);
    const id = r.headers.get("x-amzn-RequestId")!;
    expect((await tailOf()).filter((x) => x.requestID === id)).toHaveLength(0);
    expect((await tailOf(c.account)).filter((x) => x.requestID === id)).toHaveLength(1);
  });

  it("RetireGrant by KeyId and GrantId holds the key to its ARN's account: the key's id under another account is not the key", async () => {
    const key = await newKey();
    const g = await ok<{ GrantId: string }>("CreateGrant", { KeyId: key.KeyId, GranteePrincipal: ROOT, RetiringPrincipal: ROOT, Operations: ["Encrypt"] });
    const wrongArn = key.Arn.replace(`:${ACCOUNT}:`, ":999999999999:");
    expect((await call("RetireGrant", { KeyId: wrongArn, GrantId: g.GrantId })).body.__type).toBe("NotFoundException");
    expect((await ok<{ Grants: { GrantId: string }[] }>("ListGrants", { KeyId: key.KeyId })).Grants.map((x) => x.GrantId)).toEqual([g.GrantId]);
    expect((await call("RetireGrant", { KeyId: key.Arn, GrantId: g.GrantId })).status).toBe(200);
  });

  it("tag keys that differ only in case cannot dodge an aws:ResourceTag or aws:RequestTag Deny", async () => {
    const u = await newUser([{ Effect: "Allow", Action: ["kms:Encrypt", "kms:TagResource"], Resource: "*" }]);
    const key = await newKey({
      Tags: [{ TagKey: "env", TagValue: "prod" }],
      Policy: doc(
        { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
        { Effect: "Deny", Principal: { AWS: u.arn }, Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/env": "prod" } } },
        { Effect: "Deny", Principal: { AWS: u.arn }, Action: "kms:TagResource", Resource: "*", Condition: { StringEquals: { "aws:RequestTag/env": "prod" } } },
      ),
    });
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x") }, u)).body.__type).toBe("AccessDeniedException");
    expect((await call("TagResource", { KeyId: key.KeyId, Tags: [{ TagKey: "ENV", TagValue: "dev" }] }, u)).status).toBe(200);
    expect((await call("Encrypt", { KeyId: key.KeyId, Plaintext: b64("x") }, u)).body.__type).toBe("AccessDeniedException");
    expect((await call("TagResource", { KeyId: key.KeyId, Tags: [{ TagKey: "env", TagValue: "prod" }, { TagKey: "ENV", TagValue: "x" }] }, u)).body.__type).toBe("AccessDeniedException");
  });

  it("kms:RequestAlias is the alias that named the key being decided (ReEncrypt's source alias is not the destination's)", async () => {
    const source = await newKey();
    const alias = `alias/${unique("approved")}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: source.KeyId });
    const destination = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: "kms:ReEncryptTo", Resource: "*", Condition: { StringNotEquals: { "kms:RequestAlias": alias } } },
    ) });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: source.KeyId, Plaintext: b64("x") })).CiphertextBlob;
    expect((await call("ReEncrypt", { CiphertextBlob: blob, SourceKeyId: alias, DestinationKeyId: destination.Arn })).body.__type).toBe("AccessDeniedException");
  });

  it("ReEncrypt to another account's key, and a DryRun Decrypt of it, are recorded in the key owner's trail too", async () => {
    const b = await newAccount();
    const own = await newKey({}, b);
    const target = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${b.account}:root` }, Action: ["kms:ReEncryptTo", "kms:Decrypt"], Resource: "*" },
    ) });
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: own.KeyId, Plaintext: b64("x") }, b)).CiphertextBlob;
    const re = await call("ReEncrypt", { CiphertextBlob: blob, DestinationKeyId: target.Arn }, b);
    expect(re.status).toBe(200);
    const dry = await call("Decrypt", { KeyId: target.Arn, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] }, b);
    expect(dry.body.__type).toBe("DryRunOperationException");
    const mine = await tailOf();
    const theirs = await tailOf(b.account);
    for (const res of [re, dry]) {
      const id = res.headers.get("x-amzn-RequestId")!;
      const ownerCopy = mine.filter((x) => x.requestID === id);
      const callerCopy = theirs.filter((x) => x.requestID === id);
      expect(ownerCopy, id).toHaveLength(1);
      expect(callerCopy, id).toHaveLength(1);
      expect(ownerCopy[0].recipientAccountId).toBe(ACCOUNT);
    }
  });

  it("a key policy principal with a wildcard or junk is malformed (it would never match, so a Deny would not apply)", async () => {
    const key = await newKey();
    for (const p of [`arn:aws:iam::999988887777:user/*`, "arn:aws:iam::999988887777:user/nobody is here *?", "arn:aws:iam::99998888777:root"]) {
      const r = await call("PutKeyPolicy", { KeyId: key.KeyId, Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, { Effect: "Deny", Principal: { AWS: p }, Action: "kms:*", Resource: "*" }) });
      expect(r.body.__type, p).toBe("MalformedPolicyDocumentException");
    }
    expect((await call("PutKeyPolicy", { KeyId: key.KeyId, Policy: doc({ Effect: "Allow", Principal: { AWS: [ROOT, "arn:aws:iam::999988887777:user/team/alice", "arn:aws:iam::999988887777:role/app+x=y,z.w@q-1"] }, Action: "kms:*", Resource: "*" }) })).status).toBe(200);
  });

  it("admin operation names are looked up as own entries: EdgeKMSAdmin.toString is unknown, not a 500", async () => {
    for (const op of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const r = await admin(op);
      expect(r.status, op).toBe(400);
      expect(r.body.__type, op).toBe("UnknownOperationException");
    }
  });
});

// An outside review: B could use A's key by its key ARN but not by its alias ARN
// (arn:aws:kms:<region>:<A>:alias/<name>), which AWS accepts wherever a cross-account
// operation takes an alias (https://docs.aws.amazon.com/kms/latest/developerguide/alias-using.html#alias-using-cross-account).
describe("cross-account use by alias ARN: as by key ARN", () => {
  type Key = { KeyId: string; Arn: string };
  type Rec = { requestID?: string; eventName: string; recipientAccountId: string; sharedEventID?: string; errorCode?: string; resources?: { ARN: string }[]; requestParameters?: { keyId?: string } };
  const tailOf = async (account: string) => (await admin<{ Entries: { Record: Rec }[] }>("AuditTail", { Limit: 10_000, Account: account })).body.Entries.map((e) => e.Record);
  const REGION = "us-east-1";
  let owner: Creds & { account: string };
  let caller: Creds & { account: string };
  const ownerRoot = () => ({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${owner.account}:root` }, Action: "kms:*", Resource: "*" });
  const aliasArnOf = (name: string, account = owner.account, region = REGION) => `arn:aws:kms:${region}:${account}:${name}`;
  /** A key of the owner's with a new alias, its policy admitting the caller's account for `actions` (none: the default policy). */
  async function aliased(spec: string | undefined, usage: string | undefined, actions: string[], condition?: object): Promise<Key & { alias: string }> {
    const policy = actions.length
      ? { Policy: doc(ownerRoot(), { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${caller.account}:root` }, Action: actions, Resource: "*", ...(condition ? { Condition: condition } : {}) }) }
      : {};
    const key = await newKey({ ...(spec ? { KeySpec: spec, KeyUsage: usage } : {}), ...policy }, owner);
    const alias = `alias/${unique("shared")}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: key.KeyId }, owner);
    return { ...key, alias };
  }
  const outcome = (r: { status: number; body: { __type?: string } }) => (r.status === 200 ? "200" : r.body.__type);

  beforeAll(async () => {
    owner = await newAccount();
    caller = await newAccount();
  });

  // op, key spec and usage (none: symmetric), the request naming the key by `keyId`.
  const ROWS: [op: string, spec: string | undefined, usage: string | undefined, request: (keyId: string, key: Key) => Promise<object>][] = [
    ["Encrypt", undefined, undefined, async (keyId) => ({ KeyId: keyId, Plaintext: b64("across") })],
    ["Decrypt", undefined, undefined, async (keyId, key) => ({
      KeyId: keyId,
      CiphertextBlob: (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: key.KeyId, Plaintext: b64("across") }, owner)).CiphertextBlob,
    })],
    ["GenerateDataKey", undefined, undefined, async (keyId) => ({ KeyId: keyId, KeySpec: "AES_256" })],
    ["DescribeKey", undefined, undefined, async (keyId) => ({ KeyId: keyId })],
    ["Sign", "ECC_NIST_P256", "SIGN_VERIFY", async (keyId) => ({ KeyId: keyId, Message: b64("across"), SigningAlgorithm: "ECDSA_SHA_256" })],
  ];

  it.each(ROWS)("%s: allowed by the key policy → 200; not allowed, or the alias missing, answered as AWS does", async (op, spec, usage, request) => {
    // Allowed by the key policy (and, the caller being its account's root, by its own account).
    const shared = await aliased(spec, usage, [`kms:${op}`]);
    const r = await call<{ KeyId?: string; KeyMetadata?: { Arn: string } }>(op, await request(aliasArnOf(shared.alias), shared), caller);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.KeyId ?? r.body.KeyMetadata?.Arn).toBe(shared.Arn);
    // The same key by its key ARN: the same answer.
    expect((await call(op, await request(shared.Arn, shared), caller)).status).toBe(200);

    // Not allowed by the key's policy: AccessDeniedException, exactly as by the key ARN.
    const closed = await aliased(spec, usage, []);
    const byAlias = await call(op, await request(aliasArnOf(closed.alias), closed), caller);
    const byArn = await call(op, await request(closed.Arn, closed), caller);
    expect(byAlias.body.__type).toBe("AccessDeniedException");
    expect({ type: byAlias.body.__type, message: byAlias.body.message }).toEqual({ type: byArn.body.__type, message: byArn.body.message });
    // A user of the caller's account without an identity policy: the key policy alone does not let it.
    const bare = await newUser(undefined, caller.account, caller);
    expect((await call(op, await request(aliasArnOf(shared.alias), shared), bare)).body.__type).toBe("AccessDeniedException");

    // No such alias in the owner's account: NotFoundException.
    const missing = aliasArnOf(`alias/${unique("missing")}`);
    const gone = await call(op, await request(missing, shared), caller);
    expect({ type: gone.body.__type, message: gone.body.message }).toEqual({ type: "NotFoundException", message: `Alias ${missing} is not found.` });
    // The alias NAME alone is the caller's own account's: not found there.
    const own = await call(op, await request(shared.alias, shared), caller);
    expect({ type: own.body.__type, message: own.body.message }).toEqual({ type: "NotFoundException", message: `Alias ${aliasArnOf(shared.alias, caller.account)} is not found.` });
  });

  it("an alias name is the caller's own alias even where another account has one of that name; kms:RequestAlias is the alias an ARN named", async () => {
    const shared = await aliased(undefined, undefined, ["kms:Encrypt"], { StringEquals: { "kms:RequestAlias": "alias/approved-across" } });
    await ok("CreateAlias", { AliasName: "alias/approved-across", TargetKeyId: shared.KeyId }, owner);
    const mine = await newKey({}, caller);
    await ok("CreateAlias", { AliasName: "alias/approved-across", TargetKeyId: mine.KeyId }, caller);
    const encrypt = (keyId: string) => call<{ KeyId: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("x") }, caller);
    expect((await encrypt("alias/approved-across")).body.KeyId).toBe(mine.Arn);
    expect((await encrypt(aliasArnOf("alias/approved-across"))).body.KeyId).toBe(shared.Arn);
    // The key policy admits the caller only through that alias: not by another alias, not by the key ARN.
    expect(outcome(await encrypt(aliasArnOf(shared.alias)))).toBe("AccessDeniedException");
    expect(outcome(await encrypt(shared.Arn))).toBe("AccessDeniedException");
  });

  it("recorded as a cross-account call by key ARN: in both accounts when allowed, only in the caller's when refused or not found", async () => {
    const shared = await aliased(undefined, undefined, ["kms:Encrypt"]);
    const closed = await aliased(undefined, undefined, []);
    const allowed = await call("Encrypt", { KeyId: aliasArnOf(shared.alias), Plaintext: b64("x") }, caller);
    const refused = await call("Encrypt", { KeyId: aliasArnOf(closed.alias), Plaintext: b64("x") }, caller);
    const missing = await call("Encrypt", { KeyId: aliasArnOf("alias/not-there"), Plaintext: b64("x") }, caller);
    expect([allowed, refused, missing].map(outcome)).toEqual(["200", "AccessDeniedException", "NotFoundException"]);
    const [theirs, mine] = [await tailOf(owner.account), await tailOf(caller.account)];
    const of = (records: Rec[], r: { headers: Headers }) => records.filter((x) => x.requestID === r.headers.get("x-amzn-RequestId"));
    const [ownerCopy] = of(theirs, allowed);
    const [callerCopy] = of(mine, allowed);
    expect(of(theirs, allowed)).toHaveLength(1);
    expect(ownerCopy).toMatchObject({ eventName: "Encrypt", recipientAccountId: owner.account, sharedEventID: callerCopy!.sharedEventID, resources: [{ ARN: shared.Arn }], requestParameters: { keyId: aliasArnOf(shared.alias) } });
    expect(callerCopy).toMatchObject({ recipientAccountId: caller.account, resources: [{ ARN: shared.Arn }] });
    expect(callerCopy!.sharedEventID).toBeDefined();
    for (const r of [refused, missing]) {
      expect(of(theirs, r)).toHaveLength(0);
      expect(of(mine, r)).toHaveLength(1);
    }
    expect(of(mine, missing)[0]).toMatchObject({ errorCode: "NotFoundException" });
    expect(of(mine, missing)[0]!.resources ?? []).toEqual([]);
  });

  it("operations that are not cross-account, or take no alias, refuse another account's alias ARN as before; nothing changes", async () => {
    const shared = await aliased(undefined, undefined, ["kms:*"]);
    const arn = aliasArnOf(shared.alias);
    const target = await newKey({}, caller);
    const ownAlias = `alias/${unique("mine")}`;
    await ok("CreateAlias", { AliasName: ownAlias, TargetKeyId: target.KeyId }, caller);
    const refused: [string, object][] = [
      ["UpdateAlias", { AliasName: ownAlias, TargetKeyId: arn }],
      ["CreateAlias", { AliasName: `alias/${unique("new")}`, TargetKeyId: arn }],
      ["DisableKey", { KeyId: arn }],
      ["ScheduleKeyDeletion", { KeyId: arn, PendingWindowInDays: 7 }],
      ["PutKeyPolicy", { KeyId: arn, PolicyName: "default", Policy: doc({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${caller.account}:root` }, Action: "kms:*", Resource: "*" }) }],
      ["TagResource", { KeyId: arn, Tags: [{ TagKey: "k", TagValue: "v" }] }],
      // Cross-account, but AWS takes a key id or key ARN only.
      ["CreateGrant", { KeyId: arn, GranteePrincipal: `arn:aws:iam::${caller.account}:root`, Operations: ["Encrypt"] }],
      ["GetKeyRotationStatus", { KeyId: arn }],
      ["ListGrants", { KeyId: arn }],
    ];
    for (const [op, input] of refused) expect(outcome(await call(op, input, caller)), op).toBe("NotFoundException");
    const md = (await ok<{ KeyMetadata: { KeyState: string; Enabled: boolean } }>("DescribeKey", { KeyId: shared.KeyId }, owner)).KeyMetadata;
    expect(md).toMatchObject({ KeyState: "Enabled", Enabled: true });
    expect((await ok<{ Tags: unknown[] }>("ListResourceTags", { KeyId: shared.KeyId }, owner)).Tags).toEqual([]);
    expect((await ok<{ Grants: unknown[] }>("ListGrants", { KeyId: shared.KeyId }, owner)).Grants).toEqual([]);
    expect((await ok<{ Aliases: { TargetKeyId: string }[] }>("ListAliases", { KeyId: target.KeyId }, caller)).Aliases.map((a) => a.TargetKeyId)).toEqual([target.KeyId]);
  });

  it("the ARN's region, partition and alias name are taken as they are: another region or partition is not found, a __proto__ alias is an ordinary name", async () => {
    const shared = await aliased(undefined, undefined, ["kms:Encrypt"]);
    const encrypt = (keyId: string) => call("Encrypt", { KeyId: keyId, Plaintext: b64("x") }, caller);
    const otherRegion = await encrypt(aliasArnOf(shared.alias, owner.account, "eu-west-1"));
    expect(otherRegion.body.__type).toBe("NotFoundException");
    expect(otherRegion.body.message).toContain("its ARN names eu-west-1");
    expect(outcome(await encrypt(aliasArnOf(shared.alias).replace("arn:aws:", "arn:aws-cn:")))).toBe("NotFoundException");
    expect(outcome(await encrypt(aliasArnOf(shared.alias).replace("arn:aws:", "arn:aws-us-gov:")))).toBe("NotFoundException");
    for (const name of ["alias/__proto__", "alias/constructor", "alias/toString"]) {
      expect(outcome(await encrypt(aliasArnOf(name))), name).toBe("NotFoundException");
    }
    await ok("CreateAlias", { AliasName: "alias/__proto__", TargetKeyId: shared.KeyId }, owner);
    const r = await call<{ KeyId: string }>("Encrypt", { KeyId: aliasArnOf("alias/__proto__"), Plaintext: b64("x") }, caller);
    expect(r.body.KeyId).toBe(shared.Arn);
    expect(outcome(await encrypt(aliasArnOf("alias/constructor")))).toBe("NotFoundException");
  });

  it("an alias of a key pending deletion: KMSInvalidStateException for an allowed caller, AccessDeniedException for another, as by key ARN", async () => {
    const shared = await aliased(undefined, undefined, ["kms:Encrypt", "kms:DescribeKey"]);
    await ok("ScheduleKeyDeletion", { KeyId: shared.KeyId, PendingWindowInDays: 7 }, owner);
    const encrypt = (keyId: string, as: Creds) => call("Encrypt", { KeyId: keyId, Plaintext: b64("x") }, as);
    const byAlias = await encrypt(aliasArnOf(shared.alias), caller);
    const byArn = await encrypt(shared.Arn, caller);
    expect(byAlias.body.__type).toBe("KMSInvalidStateException");
    expect(byAlias.body).toEqual(byArn.body);
    expect((await ok<{ KeyMetadata: { KeyState: string } }>("DescribeKey", { KeyId: aliasArnOf(shared.alias) }, caller)).KeyMetadata.KeyState).toBe("PendingDeletion");
    const third = await newAccount();
    const denied = await encrypt(aliasArnOf(shared.alias), third);
    expect(denied.body.__type).toBe("AccessDeniedException");
    expect(denied.body).toEqual((await encrypt(shared.Arn, third)).body);
  });
});
