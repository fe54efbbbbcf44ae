// `npx edgekms audit tail` and `audit public-key` / `verify --public-key-fingerprint` against the
// e2e server: --key takes an alias (name or ARN), resolved through DescribeKey; --principal keeps
// one principal's records (ARN, access key id or user name); error codes and messages are
// printed; --json prints each record as stored; a tail cut at --limit says so on stderr; and a
// pinned digest public key fingerprint is checked both ways.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as K from "@aws-sdk/client-kms";
import { adminCall } from "../../src/cli/admin-client.js";
import { signRequest } from "../../src/cli/sign.js";
import { E2E, kmsClient } from "./client.js";

const CLI = new URL("../../dist/cli/edgekms.js", import.meta.url).pathname;

function edgekms(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_ENDPOINT_URL_KMS: inject("kmsEndpoint"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: E2E.accessKeyId, AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cfg = () => ({ endpoint: inject("kmsEndpoint"), region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey });
const lines = (s: string) => s.split("\n").filter(Boolean);
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

describe("edgekms audit tail", () => {
  it("resolves aliases, filters by principal, prints errors, has --json, and says when it was cut", async () => {
    const kms = kmsClient();
    const key = (await kms.send(new K.CreateKeyCommand({ Description: "tail" }))).KeyMetadata!;
    const alias = `alias/tail-${Date.now()}`;
    await kms.send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
    for (let i = 0; i < 3; i++) await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode(`tail ${i}`) }));
    // A user allowed nothing: its Encrypt is refused, with a message naming it.
    const userName = `tail-user-${Date.now()}`;
    await adminCall(cfg(), "CreateUser", { UserName: userName });
    const ak = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(cfg(), "CreateAccessKey", { UserName: userName });
    const user = kmsClient("us-east-1", { accessKeyId: ak.AccessKeyId, secretAccessKey: ak.SecretAccessKey });
    await expect(user.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: new TextEncoder().encode("denied") }))).rejects.toThrow(/not authorized/);

    // By alias name and alias ARN: the key's records, as by key id (resolving the alias is a
    // DescribeKey of the key, itself recorded: so each later tail holds all of an earlier one's).
    const ids = (out: string) => lines(out).map((l) => l.split(" ")[5]);
    const aliasArn = `arn:aws:kms:us-east-1:${E2E.account}:${alias}`;
    const byName = edgekms("audit", "tail", "--key", alias, "--limit", "100");
    const byArn = edgekms("audit", "tail", "--key", aliasArn, "--limit", "100");
    const byId = edgekms("audit", "tail", "--key", key.KeyId!, "--limit", "100");
    for (const t of [byName, byArn, byId]) expect(t.code, t.stderr).toBe(0);
    // (Records of one second may be listed in any order: compared as sets.)
    expect(ids(byArn.stdout)).toEqual(expect.arrayContaining(ids(byName.stdout)));
    expect(ids(byArn.stdout)).toHaveLength(ids(byName.stdout).length + 1);
    expect(ids(byId.stdout)).toEqual(expect.arrayContaining(ids(byArn.stdout)));
    expect(lines(byName.stdout).filter((l) => / Encrypt OK /.test(l))).toHaveLength(3);
    expect(lines(byName.stdout).filter((l) => / DescribeKey OK /.test(l))).toHaveLength(1);
    expect(lines(byId.stdout).filter((l) => / Encrypt OK /.test(l))).toHaveLength(3);
    const missing = edgekms("audit", "tail", "--key", "alias/no-such-alias-here");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NotFoundException");

    // The refused call: its error code and message.
    const denied = lines(byId.stdout).find((l) => l.includes("AccessDeniedException"));
    expect(denied).toMatch(new RegExp(`Encrypt AccessDeniedException arn:aws:iam::${E2E.account}:user/${userName} ${key.Arn} .*"User: arn:aws:iam::${E2E.account}:user/${userName} is not authorized to perform: kms:Encrypt`));

    // By principal: user name, access key id and ARN all name the user; the root's ARN names the root.
    for (const p of [userName, ak.AccessKeyId, `arn:aws:iam::${E2E.account}:user/${userName}`]) {
      const t = edgekms("audit", "tail", "--principal", p, "--limit", "100");
      expect(t.code, t.stderr).toBe(0);
      expect(lines(t.stdout).length, p).toBe(1);
      expect(t.stdout).toContain(`Encrypt AccessDeniedException arn:aws:iam::${E2E.account}:user/${userName}`);
    }
    // No record of that principal: stdout empty, and a line on stderr saying so.
    const nobody = edgekms("audit", "tail", "--principal", `nobody-${Date.now()}`);
    expect([nobody.code, nobody.stdout]).toEqual([0, ""]);
    expect(nobody.stderr).toMatch(/^edgekms: no matching records \(--principal nobody-\d+\)$/m);
    expect(byId.stderr).not.toContain("no matching records");
    const root = edgekms("audit", "tail", "--principal", `arn:aws:iam::${E2E.account}:root`, "--key", key.KeyId!, "--limit", "100");
    expect(lines(root.stdout).filter((l) => / Encrypt /.test(l))).toHaveLength(3);
    expect(root.stdout).not.toContain(userName);

    // --json: one record a line, as stored.
    const json = edgekms("audit", "tail", "--key", alias, "--json", "--limit", "100");
    expect(json.code, json.stderr).toBe(0);
    const records = lines(json.stdout).map((l) => JSON.parse(l) as { eventID: string; eventName: string; errorMessage?: string; userIdentity: { arn: string }; resources: { ARN: string }[] });
    expect(records).toHaveLength(lines(byId.stdout).length + 1); // and this tail's own DescribeKey
    expect(records.every((r) => r.resources.some((x) => x.ARN === key.Arn))).toBe(true);
    expect(records.find((r) => r.errorMessage)?.userIdentity.arn).toBe(`arn:aws:iam::${E2E.account}:user/${userName}`);
    // The CLI's own calls name it and the subcommand: the alias lookup was `audit tail`'s DescribeKey.
    const agents = (records as unknown as { eventName: string; userAgent: string }[]).filter((r) => r.eventName === "DescribeKey").map((r) => r.userAgent);
    expect(agents.length).toBeGreaterThanOrEqual(1);
    for (const a of agents) expect(a).toBe(`edgekms-cli/${VERSION} (audit tail)`);

    // Cut at --limit: the newest N, and a note on stderr (stdout stays records only).
    const cut = edgekms("audit", "tail", "--key", key.KeyId!, "--limit", "2", "--json");
    expect(cut.code).toBe(0);
    expect(lines(cut.stdout)).toHaveLength(2);
    // The newest two: none of the records is newer than they are.
    const times = records.map((r) => (r as unknown as { eventTime: string }).eventTime).sort();
    for (const l of lines(cut.stdout)) expect((JSON.parse(l) as { eventTime: string }).eventTime >= times.at(-2)!).toBe(true);
    expect(cut.stderr).toContain("more records match; these are the newest 2. Show more with --limit N (at most 10000)");
    expect(byId.stderr).not.toContain("more records match");
    const bad = edgekms("audit", "tail", "--limit", "0");
    expect(bad.code).toBe(2); // a usage error (docs/admin.md)
    expect(bad.stderr).toContain("--limit must be a whole number from 1 to 10000");
  });

  it("labels each entry of a batch with its batch operation and index; `edgekms encrypt`'s calls carry its User-Agent", async () => {
    const key = (await kmsClient().send(new K.CreateKeyCommand({ Description: "tail batch" }))).KeyMetadata!;
    const url = `${inject("kmsEndpoint")}/`;
    const body = JSON.stringify({ Entries: [0, 1, 2].map((i) => ({ KeyId: key.Arn, Plaintext: Buffer.from(`batch ${i}`).toString("base64") })) });
    const headers = await signRequest(url, "EdgeKMSBatch.BatchEncrypt", body, { ...E2E, region: "us-east-1", contentSha256: true });
    const res = await fetch(url, { method: "POST", headers, body });
    expect(res.status, await res.clone().text()).toBe(200);
    const t = edgekms("audit", "tail", "--key", key.Arn!, "--event-name", "Encrypt");
    expect(t.code, t.stderr).toBe(0);
    const entries = lines(t.stdout);
    expect(entries).toHaveLength(3);
    // One request id for all three, told apart by the label after it.
    expect(new Set(entries.map((l) => l.split(" ")[5])).size).toBe(1);
    expect(entries.map((l) => / \[BatchEncrypt #(\d)\]/.exec(l)?.[1]).sort()).toEqual(["0", "1", "2"]);
    expect(new Set(entries).size).toBe(3);

    // encrypt's KMS calls (the envelope KMS client) send `edgekms-cli/<version> (encrypt)`.
    const dir = mkdtempSync(join(tmpdir(), "edgekms-ua-"));
    writeFileSync(join(dir, "in.txt"), "user agent");
    const enc = edgekms("encrypt", "-i", join(dir, "in.txt"), "-o", join(dir, "in.txt.encrypted"), "-w", `key=${key.Arn}`, "-S");
    expect(enc.code, enc.stderr).toBe(0);
    const gdk = edgekms("audit", "tail", "--key", key.Arn!, "--event-name", "GenerateDataKey", "--json");
    const ua = lines(gdk.stdout).map((l) => (JSON.parse(l) as { userAgent: string }).userAgent);
    expect(ua).toEqual([`edgekms-cli/${VERSION} (encrypt)`]);
  });

  it("the admin API's AuditTail: Principal and Truncated, for the root and the operator only", async () => {
    const key = (await kmsClient().send(new K.CreateKeyCommand({}))).KeyMetadata!;
    await kmsClient().send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode("x") }));
    const one = await adminCall<{ Entries: unknown[]; Truncated: boolean }>(cfg(), "AuditTail", { KeyId: key.Arn, Limit: 1 });
    expect(one.Entries).toHaveLength(1);
    expect(one.Truncated).toBe(true); // CreateKey and Encrypt
    const all = await adminCall<{ Entries: unknown[]; Truncated: boolean }>(cfg(), "AuditTail", { KeyId: key.Arn, Limit: 10 });
    expect(all.Entries).toHaveLength(2);
    expect(all.Truncated).toBe(false);
    const none = await adminCall<{ Entries: unknown[] }>(cfg(), "AuditTail", { KeyId: key.Arn, Principal: "nobody-by-this-name" });
    expect(none.Entries).toHaveLength(0);
    // An IAM user is refused whatever its policies say (the trail is the root's), as before.
    const userName = `tail-admin-${Date.now()}`;
    await adminCall(cfg(), "CreateUser", { UserName: userName });
    await adminCall(cfg(), "PutUserPolicy", { UserName: userName, PolicyName: "all", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) });
    const ak = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(cfg(), "CreateAccessKey", { UserName: userName });
    const { remember } = await import("./secrets.js");
    remember(ak.SecretAccessKey);
    const asUser = await adminCall({ ...cfg(), accessKeyId: ak.AccessKeyId, secretAccessKey: ak.SecretAccessKey }, "AuditTail", { Principal: userName }).then(() => "allowed", (e: Error) => e.message);
    expect(asUser).toMatch(/^AccessDeniedException/);
    const tooMany = await adminCall(cfg(), "AuditTail", { Limit: 10_001 }).then(() => "allowed", (e: Error) => e.message);
    expect(tooMany).toMatch(/^ValidationException/);
  });
});

describe("edgekms audit public-key and verify --public-key-fingerprint", () => {
  it("prints the fingerprint; verify passes with it pinned and refuses another", async () => {
    await kmsClient().send(new K.CreateKeyCommand({ Description: "pinned" }));
    const pk = edgekms("audit", "public-key");
    expect(pk.code, pk.stderr).toBe(0);
    const fingerprint = /^fingerprint SHA256:([0-9a-f]{64})$/m.exec(pk.stdout)?.[1];
    const spki = /^public key  (\S+)$/m.exec(pk.stdout)?.[1];
    expect(fingerprint).toBe(createHash("sha256").update(Buffer.from(spki!, "base64")).digest("hex"));
    const api = await adminCall<{ Fingerprint: string }>(cfg(), "AuditPublicKey");
    expect(api.Fingerprint).toBe(fingerprint);

    const dir = mkdtempSync(join(tmpdir(), "edgekms-pinned-"));
    expect(edgekms("audit", "flush").code).toBe(0);
    expect(edgekms("audit", "export", "--out", dir).code).toBe(0);
    // Pinned as printed, and as ssh-keygen / openssl write them (upper case, colons).
    for (const pin of [`SHA256:${fingerprint}`, fingerprint!.toUpperCase().match(/../g)!.join(":")]) {
      const ok = edgekms("audit", "verify", "--dir", dir, "--allow-pending", "--public-key-fingerprint", pin);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/public key as pinned: OK$/m);
    }
    const other = createHash("sha256").update("another key").digest("hex");
    const wrong = edgekms("audit", "verify", "--dir", dir, "--allow-pending", "--public-key-fingerprint", `SHA256:${other}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(`BAD-PUBLIC-KEY ${join(dir, "edgekms-audit-export.json")}: the digest public key's fingerprint is SHA256:${fingerprint}, not the pinned SHA256:${other}`);
    const live = edgekms("audit", "verify", "--allow-pending", "--public-key-fingerprint", `SHA256:${other}`);
    expect(live.code).toBe(1);
    expect(live.stdout).toContain("BAD-PUBLIC-KEY AuditPublicKey");
    const malformed = edgekms("audit", "verify", "--dir", dir, "--public-key-fingerprint", "SHA256:abc");
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("is not a SHA-256 fingerprint");
  });
});
