// `edgekms admin <command>`: accounts, users, access keys and user policies.
import { readFileSync } from "node:fs";
import { adminCall, type ClientConfig } from "./admin-client.js";

export interface AdminOptions {
  account?: string;
  accountId?: string;
  userName?: string;
  accessKeyId?: string;
  policyName?: string;
  policyDocument?: string;
}

const COMMANDS: Record<string, [operation: string, input: (o: AdminOptions) => Record<string, unknown>]> = {
  "create-account": ["CreateAccount", (o) => ({ ...(o.accountId ? { AccountId: o.accountId } : {}) })],
  "create-user": ["CreateUser", (o) => ({ UserName: o.userName })],
  "create-access-key": ["CreateAccessKey", (o) => ({ ...(o.userName ? { UserName: o.userName } : {}) })],
  "delete-access-key": ["DeleteAccessKey", (o) => ({ AccessKeyId: o.accessKeyId })],
  "put-user-policy": ["PutUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName, PolicyDocument: o.policyDocument })],
  "get-user-policy": ["GetUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName })],
  "delete-user-policy": ["DeleteUserPolicy", (o) => ({ UserName: o.userName, PolicyName: o.policyName })],
  "get-caller-identity": ["GetCallerIdentity", () => ({})],
  "list-users": ["ListUsers", () => ({})],
  "list-accounts": ["ListAccounts", () => ({})],
  "rewrap-root-secret": ["RewrapRootSecret", () => ({})],
};

/** --policy-document takes JSON, or file://PATH as the AWS CLI does. */
const document = (v: string | undefined) => (v?.startsWith("file://") ? readFileSync(v.slice(7), "utf8") : v);

export async function adminCommand(cmd: string, cfg: ClientConfig, o: AdminOptions): Promise<number> {
  const entry = COMMANDS[cmd];
  if (!entry) throw new Error(`unknown admin command '${cmd}' (${Object.keys(COMMANDS).join(", ")})`);
  const [operation, input] = entry;
  const out = await adminCall(cfg, operation, { ...input({ ...o, policyDocument: document(o.policyDocument) }), ...(o.account ? { Account: o.account } : {}) });
  console.log(JSON.stringify(out, null, 2));
  return 0;
}
