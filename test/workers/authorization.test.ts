// Issue 10's findings through the real Worker and vaults: each test drives the request an
// attacker made and expects AWS's answer. (The decision itself is table-tested in
// test/node/authorize.test.ts.)
import { describe, expect, it } from "vitest";
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
