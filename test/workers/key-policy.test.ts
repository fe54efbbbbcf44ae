// Key policies: the default policy, Get/Put/ListKeyPolicies, and enforcement of the key
// policy on every key operation (explicit deny, conditions, the lockout safety check).
import { describe, expect, it } from "vitest";
import { ACCOUNT, admin, b64, call, newUser, ok } from "./kms.js";

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const adminStatement = { Sid: "admin", Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:Decrypt", "kms:ScheduleKeyDeletion"], Resource: "*" };
const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

async function newKey(input: object = {}): Promise<string> {
  return (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", input)).KeyMetadata.KeyId;
}

describe("key policies", () => {
  it("a new key has the default policy, exactly as AWS writes it", async () => {
    const keyId = await newKey();
    const r = await ok<{ Policy: string; PolicyName: string }>("GetKeyPolicy", { KeyId: keyId });
    expect(r.PolicyName).toBe("default");
    expect(r.Policy).toContain(`"Id" : "key-default-1"`);
    expect(JSON.parse(r.Policy)).toEqual({
      Version: "2012-10-17", Id: "key-default-1",
      Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }],
    });
    expect(await ok("ListKeyPolicies", { KeyId: keyId })).toMatchObject({ PolicyNames: ["default"], Truncated: false });
    expect((await call("GetKeyPolicy", { KeyId: keyId, PolicyName: "other" })).body.__type).toBe("NotFoundException");
  });

  it("an explicit Deny wins; what no statement allows is denied", async () => {
    const keyId = await newKey();
    const blob = (await ok<{ CiphertextBlob: string }>("Encrypt", { KeyId: keyId, Plaintext: b64("before") })).CiphertextBlob;
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(adminStatement, { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*" }) });
    const enc = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") });
    expect(enc.body.__type).toBe("AccessDeniedException");
    expect(enc.body.message).toBe(`User: ${ROOT} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId} with an explicit deny in a resource-based policy`);
    expect((await call("Decrypt", { CiphertextBlob: blob })).status).toBe(200);
    const gdk = await call("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256" });
    expect(gdk.body.__type).toBe("AccessDeniedException");
    expect(gdk.body.message).toContain("because no resource-based policy allows the kms:GenerateDataKey action");
    expect((await call("DisableKey", { KeyId: keyId })).body.__type).toBe("AccessDeniedException");
    expect((await call("TagResource", { KeyId: keyId, Tags: [{ TagKey: "a", TagValue: "b" }] })).body.__type).toBe("AccessDeniedException");
  });

  it("conditions on the encryption context and the source address", async () => {
    const keyId = await newKey();
    await ok("PutKeyPolicy", {
      KeyId: keyId,
      Policy: doc(adminStatement,
        { Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:tenant": "t1" } } },
        { Effect: "Deny", Principal: "*", Action: "kms:GenerateDataKey*", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } } },
        { Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "kms:GenerateDataKey*", Resource: "*" }),
    });
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { tenant: "t1" } })).status).toBe(200);
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { tenant: "t2" } })).body.__type).toBe("AccessDeniedException");
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).body.__type).toBe("AccessDeniedException");
    // test requests come from 127.0.0.1 (no CF-Connecting-IP), outside 10.0.0.0/8
    expect((await call("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256" })).body.__type).toBe("AccessDeniedException");
  });

  it("the lockout safety check, and bypassing it", async () => {
    const keyId = await newKey();
    const lockout = doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*" });
    const r = await call("PutKeyPolicy", { KeyId: keyId, Policy: lockout });
    expect(r.body.__type).toBe("MalformedPolicyDocumentException");
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).status).toBe(200);
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true });
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: doc(adminStatement) })).body.__type).toBe("AccessDeniedException");
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).status).toBe(200);
  });

  it("malformed and oversized policies", async () => {
    const keyId = await newKey();
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: "{not json" })).body.__type).toBe("MalformedPolicyDocumentException");
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: doc({ Effect: "Perhaps", Principal: "*", Action: "kms:*" }) })).body.__type).toBe("MalformedPolicyDocumentException");
    // IAM's grammar: an element it does not know is refused, not read as absent (a misspelled Condition made an Allow unconditional).
    const misspelled = doc(adminStatement, { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*", Conditon: { StringEquals: { "kms:EncryptionContext:app": "ok" } } });
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: misspelled })).body.__type).toBe("MalformedPolicyDocumentException");
    const notPrincipalAllow = doc(adminStatement, { Effect: "Allow", NotPrincipal: { AWS: "111111111111" }, Action: "kms:Decrypt", Resource: "*" });
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: notPrincipalAllow })).body.__type).toBe("MalformedPolicyDocumentException");
    const user = `odd-${Date.now()}`;
    expect((await admin("CreateUser", { UserName: user })).status).toBe(200);
    const identity = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*", Conditon: { StringEquals: { "kms:EncryptionContext:app": "ok" } } }] });
    expect((await admin("PutUserPolicy", { UserName: user, PolicyName: "p", PolicyDocument: identity })).body.__type).toBe("MalformedPolicyDocumentException");
    const big = doc(adminStatement, { Sid: "x".repeat(33_000), Effect: "Allow", Principal: "*", Action: "kms:Encrypt", Resource: "*" });
    expect((await call("PutKeyPolicy", { KeyId: keyId, Policy: big })).body.__type).toBe("LimitExceededException");
  });

  it("CreateKey with a Policy: kept verbatim, and checked like PutKeyPolicy", async () => {
    const policy = doc(adminStatement, { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*" });
    const keyId = await newKey({ Policy: policy });
    expect((await ok<{ Policy: string }>("GetKeyPolicy", { KeyId: keyId })).Policy).toBe(policy);
    expect((await call("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_128" })).body.__type).toBe("AccessDeniedException");
    const locked = await call("CreateKey", { Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*" }) });
    expect(locked.body.__type).toBe("MalformedPolicyDocumentException");
    expect((await call("CreateKey", { Policy: "[]" })).body.__type).toBe("MalformedPolicyDocumentException");
  });

  it("denials are in the audit trail, with the reason", async () => {
    const keyId = await newKey();
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(adminStatement) });
    const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") });
    const id = r.headers.get("x-amzn-RequestId")!;
    const tail = await admin<{ Entries: { Record: { requestID?: string; errorCode?: string; errorMessage?: string } }[] }>("AuditTail", { Limit: 1000 });
    const rec = tail.body.Entries.find((e) => e.Record.requestID === id)?.Record;
    expect(rec?.errorCode).toBe("AccessDeniedException");
    expect(rec?.errorMessage).toContain("is not authorized to perform: kms:Encrypt");
  });
});

describe("authorization details", () => {
  type TailBody = { Entries: { Record: { requestID?: string; additionalEventData?: { authorization?: string } } }[] };
  const basisOf = async (id: string) =>
    (await admin<TailBody>("AuditTail", { Limit: 1000 })).body.Entries.find((e) => e.Record.requestID === id)?.Record.additionalEventData?.authorization;

  it("records what allowed each call: the key policy for the root it names, a grant for its grantee", async () => {
    const keyId = await newKey();
    const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") });
    expect(await basisOf(r.headers.get("x-amzn-RequestId")!)).toBe("key policy"); // the default policy names the root itself

    const user = `grantee-${Date.now()}`;
    expect((await admin("CreateUser", { UserName: user })).status).toBe(200);
    const creds = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: user })).body;
    const g = await ok<{ GrantId: string }>("CreateGrant", { KeyId: keyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/${user}`, Operations: ["Encrypt"] });
    const u = await call("Encrypt", { KeyId: keyId, Plaintext: b64("y") }, { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey });
    expect(u.status).toBe(200);
    expect(await basisOf(u.headers.get("x-amzn-RequestId")!)).toBe(`grant ${g.GrantId}`);
  });

  it("an IAM user manages users where its identity policy allows iam:<Operation>", async () => {
    const name = `iam-admin-${Date.now()}`;
    await admin("CreateUser", { UserName: name });
    const creds = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: name })).body;
    const as = { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey };
    expect((await admin("CreateUser", { UserName: `${name}-x` }, as)).body.__type).toBe("AccessDeniedException");
    await admin("PutUserPolicy", { UserName: name, PolicyName: "iam", PolicyDocument: doc({ Effect: "Allow", Action: "iam:CreateUser", Resource: `arn:aws:iam::${ACCOUNT}:user/team-*` }) });
    expect((await admin("CreateUser", { UserName: `team-${Date.now()}` }, as)).status).toBe(200);
    expect((await admin("CreateUser", { UserName: `other-${Date.now()}` }, as)).body.__type).toBe("AccessDeniedException");
    expect((await admin("CreateAccount", {}, as)).body.__type).toBe("AccessDeniedException");
  });

  it("kms:GrantOperations limits what grants may be created", async () => {
    const keyId = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: "kms:CreateGrant", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "kms:GrantOperations": ["Decrypt"] } } },
    ) });
    const grantee = `arn:aws:iam::${ACCOUNT}:user/someone`;
    expect((await call("CreateGrant", { KeyId: keyId, GranteePrincipal: grantee, Operations: ["Encrypt", "Decrypt"] })).body.__type).toBe("AccessDeniedException");
    expect((await call("CreateGrant", { KeyId: keyId, GranteePrincipal: grantee, Operations: ["Encrypt"] })).status).toBe(200);
  });
});

describe("kms:ResourceAliases", () => {
  it("follows the aliases that point at the key", async () => {
    const keyId = await newKey({ Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, NotAction: "kms:Encrypt", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:Encrypt", Resource: "*", Condition: { "ForAnyValue:StringLike": { "kms:ResourceAliases": "alias/finance-*" } } },
    ) });
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).body.__type).toBe("AccessDeniedException");
    const alias = `alias/finance-${Date.now()}`;
    await ok("CreateAlias", { AliasName: alias, TargetKeyId: keyId });
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).status).toBe(200);
    await ok("DeleteAlias", { AliasName: alias });
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).body.__type).toBe("AccessDeniedException");
  });
});

describe("the global condition keys every request has", () => {
  // A Deny of kms:Encrypt on each condition, with the root and an IAM user allowed everything
  // otherwise: left out of the context, each of these keys made its Deny never apply (an outsider's
  // review). [condition, whether it denies the root, whether it denies the user]; "USER" is the user's name.
  const rows: Array<[string, object, boolean, boolean]> = [
    ["aws:username is the user's name", { StringEquals: { "aws:username": "USER" } }, false, true],
    ["aws:username exists", { Null: { "aws:username": "false" } }, false, true],
    ["aws:PrincipalType User", { StringEquals: { "aws:PrincipalType": "User" } }, false, true],
    ["aws:PrincipalType Account (the root)", { StringEquals: { "aws:PrincipalType": "Account" } }, true, false],
    ["aws:userid anything", { StringLike: { "aws:userid": "*" } }, true, true],
    ["aws:userid the account id (the root's)", { StringEquals: { "aws:userid": ACCOUNT } }, true, false],
    ["aws:RequestedRegion us-east-1", { StringEquals: { "aws:RequestedRegion": "us-east-1" } }, true, true],
    ["aws:RequestedRegion another Region", { StringEquals: { "aws:RequestedRegion": "eu-west-1" } }, false, false],
    ["aws:EpochTime after 2020", { NumericGreaterThan: { "aws:EpochTime": "1577836800" } }, true, true],
    ["aws:EpochTime before 2020", { NumericLessThan: { "aws:EpochTime": "1577836800" } }, false, false],
    ["aws:PrincipalIsAWSService false", { Bool: { "aws:PrincipalIsAWSService": "false" } }, true, true],
    ["aws:ViaAWSService false", { Bool: { "aws:ViaAWSService": "false" } }, true, true],
  ];
  for (const [name, condition, root, user] of rows) {
    it(`${name}: the root ${root ? "denied" : "allowed"}, an IAM user ${user ? "denied" : "allowed"}`, async () => {
      const u = await newUser([{ Effect: "Allow", Action: "kms:*", Resource: "*" }]);
      const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
      const c = JSON.parse(JSON.stringify(condition).replaceAll("USER", u.name));
      await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(
        { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
        { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: c },
      ) });
      const outcome = async (creds?: typeof u) => {
        const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") }, creds);
        return r.status === 200 ? "allowed" : (r.body.__type as string);
      };
      expect(await outcome()).toBe(root ? "AccessDeniedException" : "allowed");
      expect(await outcome(u)).toBe(user ? "AccessDeniedException" : "allowed");
    });
  }

  it("policy variables: an IAM user may use the data whose encryption context names it, and no other", async () => {
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const u = await newUser([{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:owner": "${aws:username}" } } }]);
    const encrypt = async (owner: string) => {
      const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { owner } }, u);
      return r.status === 200 ? "allowed" : (r.body.__type as string);
    };
    expect(await encrypt(u.name)).toBe("allowed");
    expect(await encrypt("${aws:username}")).toBe("AccessDeniedException");
    expect(await encrypt("someone-else")).toBe("AccessDeniedException");
  });

  it("a request whose values would make a policy pattern backtrack for seconds is refused (AccessDeniedException), not evaluated", async () => {
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      // Tenant isolation: a path must hold the caller's tenant.
      { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringNotLike: { "kms:EncryptionContext:path": "*/${kms:EncryptionContext:tenant}/*" } } },
    ) });
    const encrypt = async (tenant: string, path: string) => {
      const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { tenant, path } });
      return r.status === 200 ? "allowed" : `${r.body.__type as string}: ${r.body.message as string}`;
    };
    expect(await encrypt("t1", "data/t1/file")).toBe("allowed");
    expect(await encrypt("t1", "data/t2/file")).toMatch(/^AccessDeniedException: .*explicit deny/);
    // 30,000 slashes: the match would take pattern × value steps (5.5 s of the vault's CPU before).
    expect(await encrypt("/".repeat(30_000), `${"/".repeat(30_001)}x`)).toMatch(/^AccessDeniedException: .*a policy pattern took too long to match the request's values/);
  });

  it("aws:userid is the user's, whichever of its access keys signs, and the records' principalId says the same", async () => {
    const u = await newUser([{ Effect: "Allow", Action: "kms:*", Resource: "*" }]);
    const { UserId } = (await admin<{ UserId: string }>("GetCallerIdentity", {}, u)).body;
    const second = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: u.name })).body;
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "aws:userid": UserId } } },
    ) });
    for (const creds of [u, { accessKeyId: second.AccessKeyId, secretAccessKey: second.SecretAccessKey }]) {
      expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") }, creds)).body.__type, creds.accessKeyId).toBe("AccessDeniedException");
    }
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).status).toBe(200); // the root is not that user
    const tail = await admin<{ Entries: { Record: { userIdentity: { principalId?: string; accessKeyId?: string } } }[] }>("AuditTail", { Limit: 10, KeyId: keyId, Principal: u.name });
    const ids = tail.body.Entries.map((e) => e.Record.userIdentity);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids.map((x) => x.principalId))).toEqual(new Set([UserId]));
    expect(new Set(ids.map((x) => x.accessKeyId))).toEqual(new Set([u.accessKeyId, second.AccessKeyId]));
  });

  it("the matches of one request share a budget: several statements that are each within theirs are refused together", async () => {
    const slow = (sid: string) => ({ Sid: sid, Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*", Condition: { StringLike: { "kms:EncryptionContext:path": `*${"0".repeat(40)}1` } } });
    const outcome = async (...denies: object[]) => {
      const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
      await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc({ Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" }, ...denies) });
      const r = await call("Encrypt", { KeyId: keyId, Plaintext: b64("x"), EncryptionContext: { path: "0".repeat(60_000) } });
      return r.status === 200 ? "allowed" : `${r.body.__type as string}: ${r.body.message as string}`;
    };
    expect(await outcome(slow("one"))).toBe("allowed"); // its pattern does not match: no Deny
    expect(await outcome(slow("one"), slow("two"))).toMatch(/^AccessDeniedException: .*a policy pattern took too long to match the request's values/);
  });

  it("kms:GrantIsForAWSResource is false for CreateGrant, ListGrants and RevokeGrant", async () => {
    const keyId = (await ok<{ KeyMetadata: { KeyId: string } }>("CreateKey", {})).KeyMetadata.KeyId;
    const { GrantId } = await ok<{ GrantId: string }>("CreateGrant", { KeyId: keyId, GranteePrincipal: ROOT, Operations: ["Encrypt"] });
    await ok("PutKeyPolicy", { KeyId: keyId, Policy: doc(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], Resource: "*", Condition: { Bool: { "kms:GrantIsForAWSResource": "false" } } },
    ) });
    expect((await call("CreateGrant", { KeyId: keyId, GranteePrincipal: ROOT, Operations: ["Encrypt"] })).body.__type).toBe("AccessDeniedException");
    expect((await call("ListGrants", { KeyId: keyId })).body.__type).toBe("AccessDeniedException");
    expect((await call("RevokeGrant", { KeyId: keyId, GrantId })).body.__type).toBe("AccessDeniedException");
    expect((await call("Encrypt", { KeyId: keyId, Plaintext: b64("x") })).status).toBe(200);
  });
});
