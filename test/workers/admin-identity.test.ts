// The admin API's identity reads the console needs: GetCallerIdentity (any principal, about
// itself only: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html)
// and GetUserPolicy (as IAM: the account root, or a user its policies allow iam:GetUserPolicy).
import { describe, expect, it } from "vitest";
import { ACCESS_KEY_ID, ACCOUNT, admin } from "./kms.js";

async function newUser(policy?: object) {
  const name = `who-${crypto.randomUUID().slice(0, 8)}`;
  await admin("CreateUser", { UserName: name });
  if (policy) await admin("PutUserPolicy", { UserName: name, PolicyName: "p", PolicyDocument: JSON.stringify(policy) });
  const k = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: name })).body;
  return { name, creds: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey } };
}

describe("GetCallerIdentity", () => {
  it("tells the operator, an account root and a user without any policy who they are", async () => {
    expect((await admin("GetCallerIdentity")).body).toEqual({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
    const acct = (await admin<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>("CreateAccount")).body;
    const asRoot = await admin("GetCallerIdentity", {}, { accessKeyId: acct.AccessKeyId, secretAccessKey: acct.SecretAccessKey });
    expect(asRoot.body).toEqual({ Account: acct.AccountId, Arn: `arn:aws:iam::${acct.AccountId}:root`, UserId: acct.AccountId });
    const u = await newUser();
    const asUser = await admin<{ UserId: string }>("GetCallerIdentity", {}, u.creds);
    expect(asUser.body).toEqual({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/${u.name}`, UserId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/) });
    expect(ACCESS_KEY_ID).not.toBe(u.creds.accessKeyId);
    // A user's unique id, as AWS's: the same through each of its access keys, another user's differs.
    const second = (await admin<{ AccessKeyId: string; SecretAccessKey: string }>("CreateAccessKey", { UserName: u.name })).body;
    const again = await admin<{ UserId: string }>("GetCallerIdentity", {}, { accessKeyId: second.AccessKeyId, secretAccessKey: second.SecretAccessKey });
    expect(again.body.UserId).toBe(asUser.body.UserId);
    expect((await admin<{ UserId: string }>("GetCallerIdentity", {}, (await newUser()).creds)).body.UserId).not.toBe(asUser.body.UserId);
  });

  it("an answer that may hold a secret is not to be stored by any cache", async () => {
    const created = await admin<{ SecretAccessKey: string }>("CreateAccount");
    expect(created.body.SecretAccessKey).toBeTruthy();
    expect(created.headers.get("cache-control")).toBe("no-store");
  });

  it("answers about the caller only, whatever Account names", async () => {
    const acct = (await admin<{ AccountId: string }>("CreateAccount")).body;
    const r = await admin("GetCallerIdentity", { Account: acct.AccountId });
    // The schema has no Account: the member is not acted on.
    expect(r.body).toEqual({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
  });
});

describe("GetUserPolicy", () => {
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*" }] };

  it("returns the document to the account root, and NoSuchEntity for a policy that is not there", async () => {
    const u = await newUser(policy);
    const r = await admin<{ PolicyDocument: string; UserName: string; PolicyName: string }>("GetUserPolicy", { UserName: u.name, PolicyName: "p" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ UserName: u.name, PolicyName: "p" });
    expect(JSON.parse(r.body.PolicyDocument)).toEqual(policy);
    const missing = await admin("GetUserPolicy", { UserName: u.name, PolicyName: "nope" });
    expect([missing.status, missing.body.__type]).toEqual([400, "NoSuchEntityException"]);
  });

  it("a user needs iam:GetUserPolicy on the user it reads", async () => {
    const target = await newUser(policy);
    const denied = await newUser(policy);
    const r = await admin("GetUserPolicy", { UserName: target.name, PolicyName: "p" }, denied.creds);
    expect(r.body.__type).toBe("AccessDeniedException");
    const allowed = await newUser({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUserPolicy", Resource: `arn:aws:iam::${ACCOUNT}:user/${target.name}` }] });
    const ok = await admin("GetUserPolicy", { UserName: target.name, PolicyName: "p" }, allowed.creds);
    expect(ok.status).toBe(200);
  });
});

describe("the admin API's condition keys", () => {
  it("a Deny with ${aws:username} keeps a user to its own access keys (AWS's own example policy), as on the KMS API", async () => {
    const policy = { Version: "2012-10-17", Statement: [
      { Effect: "Allow", Action: "iam:*", Resource: "*" },
      { Effect: "Deny", Action: "iam:*AccessKey*", NotResource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}` },
    ] };
    const bob = await newUser(policy);
    const victim = await newUser();
    const theirs = await admin("CreateAccessKey", { UserName: victim.name }, bob.creds);
    expect(theirs.body.__type).toBe("AccessDeniedException");
    expect(JSON.stringify(theirs.body)).not.toContain("SecretAccessKey");
    expect((await admin("CreateAccessKey", { UserName: bob.name }, bob.creds)).status).toBe(200);
  });

  it("the global keys are there: a Deny on aws:PrincipalType User stops a user, not the root", async () => {
    const u = await newUser({ Version: "2012-10-17", Statement: [
      { Effect: "Allow", Action: "iam:*", Resource: "*" },
      { Effect: "Deny", Action: "iam:CreateUser", Resource: "*", Condition: { StringEquals: { "aws:PrincipalType": "User" } } },
    ] });
    expect((await admin("CreateUser", { UserName: `by-user-${crypto.randomUUID().slice(0, 8)}` }, u.creds)).body.__type).toBe("AccessDeniedException");
    expect((await admin("CreateUser", { UserName: `by-root-${crypto.randomUUID().slice(0, 8)}` })).status).toBe(200);
  });
});
