// The web console (issue 12) in Debian's Chromium, driven by playwright-core, against the e2e
// server (npm run serve's): sign in → create a key with an alias through the wizard →
// Encrypt with @aws-sdk/client-kms under that alias → find the Encrypt in the audit viewer →
// disable the key and see Encrypt fail → schedule deletion → cancel it. Plus a wrong secret,
// a malformed policy edit, and the page at 360 px. Saves the README's screenshots to docs/console/.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { DecryptCommand, DisabledException, EncryptCommand, KMSInvalidStateException } from "@aws-sdk/client-kms";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E, kmsClient } from "./client.js";
import { remember } from "./secrets.js";

/**
 * The README's screenshots: written to docs/console/ when missing or when
 * EDGEKMS_UPDATE_SCREENSHOTS=1 (so a test run does not dirty the tree), else to a temp dir.
 */
const DOCS_SHOTS = new URL("../../docs/console/", import.meta.url).pathname;
const UPDATE = process.env.EDGEKMS_UPDATE_SCREENSHOTS === "1";
const TMP_SHOTS = mkdtempSync(join(tmpdir(), "edgekms-console-shots-"));
const shot = (name: string) => (UPDATE || !existsSync(`${DOCS_SHOTS}${name}`) ? `${DOCS_SHOTS}${name}` : join(TMP_SHOTS, name));
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let browser: Browser;
let endpoint: string;
let account: { AccountId: string; AccessKeyId: string; SecretAccessKey: string };

beforeAll(async () => {
  endpoint = inject("kmsEndpoint");
  // A fresh account: its keys list and trail hold only what this file does.
  account = await adminCall(
    { endpoint, region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey },
    "CreateAccount",
  );
  remember(account.SecretAccessKey);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

/** A new page whose console errors and uncaught exceptions fail the test. */
async function newPage(width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors };
}

async function signIn(page: Page, secret = account.SecretAccessKey): Promise<void> {
  await page.goto(`${endpoint}/console`);
  await page.getByLabel("Access key ID").fill(account.AccessKeyId);
  await page.getByLabel("Secret access key").fill(secret);
  // The browser is asked not to fill or keep the secret (a password manager would store a long-term key).
  expect(await page.getByLabel("Secret access key").getAttribute("autocomplete")).toBe("off");
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("the console in Chromium", () => {
  it("a wrong secret shows a sign-in error and stores nothing", async () => {
    const { page, errors } = await newPage();
    await signIn(page, "not-the-secret");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("InvalidSignatureException");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expect(page.getByRole("heading", { name: "Keys" }).count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("sign in → wizard → Encrypt by alias → audit viewer → disable → schedule deletion → cancel", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();

    // The wizard: a symmetric key with an alias and a description.
    const alias = `console-${Date.now()}`;
    await page.getByRole("link", { name: "Create key" }).click();
    await page.getByRole("radio", { name: "Symmetric: encrypt and decrypt", exact: true }).check();
    await page.screenshot({ path: shot("wizard.png") });
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: /^Step 2 of 4/ }).waitFor();
    await page.getByLabel("Alias").fill(alias);
    await page.getByLabel("Description").fill("made in the console test");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: /^Step 3 of 4/ }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Key policy").waitFor();
    const policy = JSON.parse(await page.getByLabel("Key policy").inputValue()) as { Statement: { Principal: { AWS: string | string[] } }[] };
    expect(policy.Statement[0]!.Principal.AWS).toBe(`arn:aws:iam::${account.AccountId}:root`);
    await page.getByRole("button", { name: "Create key" }).click();

    // The key page, under its alias.
    await page.getByRole("heading", { level: 1, name: `alias/${alias}` }).waitFor({ timeout: 20_000 });
    const keyId = decodeURIComponent(page.url().split("#/keys/")[1]!);
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
    await page.screenshot({ path: shot("key.png"), fullPage: true });
    // The keys list shows it, with its alias.
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Keys" }).click();
    await page.getByRole("heading", { level: 1, name: "Keys" }).waitFor();
    await page.getByRole("cell", { name: `alias/${alias}`, exact: true }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: shot("keys.png") });

    // Encrypt with the SDK under that alias.
    const kms = kmsClient("us-east-1", { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey });
    const enc = await kms.send(new EncryptCommand({ KeyId: `alias/${alias}`, Plaintext: new TextEncoder().encode("from the console test") }));
    expect(enc.KeyId).toContain(keyId);
    const encryptRequest = enc.$metadata.requestId!;

    // The audit viewer shows it (records not yet delivered included), expandable to its JSON.
    await page.getByRole("link", { name: keyId }).click();
    await page.getByRole("link", { name: "View audit records for this key" }).click();
    const record = page.locator("summary").filter({ hasText: "Encrypt" }).first();
    await record.waitFor({ timeout: 20_000 });
    await record.click();
    await expect.poll(() => page.locator("pre").filter({ hasText: encryptRequest }).count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: shot("audit.png"), fullPage: true });
    // Hiding read-only calls (readOnly: true, as CloudTrail marks them: reads and cryptographic use alike)
    // leaves the calls that changed the key.
    const events = () => page.locator("summary .audit-event").allTextContents();
    await expect.poll(async () => (await events()).includes("DescribeKey"), { timeout: 20_000 }).toBe(true);
    await page.getByLabel("Hide read-only calls").check();
    await expect.poll(async () => [...new Set(await events())].sort()).toEqual(["CreateAlias", "CreateKey"]);
    await page.getByLabel("Hide read-only calls").uncheck();

    // Disable the key (it asks first) and see Encrypt fail.
    await page.goto(`${endpoint}/console#/keys/${keyId}`);
    await page.getByRole("button", { name: "Disable key" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Disable key" }).click();
    await page.getByRole("button", { name: "Enable key" }).waitFor();
    await expect(kms.send(new EncryptCommand({ KeyId: `alias/${alias}`, Plaintext: new TextEncoder().encode("x") }))).rejects.toBeInstanceOf(DisabledException);
    // One success note at a time: another section's action replaces the state section's note.
    const disabledNote = page.getByRole("status").filter({ hasText: "The key is disabled" });
    expect(await disabledNote.count()).toBe(1);
    await page.getByLabel("Tag key").fill("stage");
    await page.getByLabel("Tag value").fill("test");
    await page.getByRole("button", { name: "Add tag" }).click();
    await page.getByRole("status").filter({ hasText: "Tag stage is saved." }).waitFor();
    expect(await disabledNote.count()).toBe(0);
    await page.getByRole("button", { name: "Remove tag stage" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove tag" }).click();
    await page.getByText("This key has no tags.").waitFor();

    // Schedule deletion (7 days, the key ID typed to confirm), then cancel it.
    await page.getByRole("button", { name: "Schedule key deletion" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Waiting period (days)").selectOption("7");
    await dialog.getByLabel(`Type ${keyId} to confirm`).fill(keyId);
    await dialog.getByRole("button", { name: "Schedule deletion" }).click();
    await page.getByText("PendingDeletion").first().waitFor();
    await page.getByRole("button", { name: "Cancel key deletion" }).click();
    await page.getByRole("button", { name: "Enable key" }).waitFor();
    expect(await page.getByText("PendingDeletion").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("an EXTERNAL key: created in the wizard, material imported from a file (wrapped in the browser), last usage shown", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();
    await page.getByRole("link", { name: "Create key" }).click();
    await page.getByRole("radio", { name: "Symmetric: encrypt and decrypt", exact: true }).check();
    await page.getByRole("radio", { name: /^External/ }).check();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: /^Step 2 of 4/ }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: /^Step 3 of 4/ }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("External (import after creating the key)").waitFor();
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Key material", exact: true }).waitFor({ timeout: 20_000 });
    const keyId = decodeURIComponent(page.url().split("#/keys/")[1]!);
    await page.getByText("PendingImport").first().waitFor();
    await page.getByText("No key material imported yet").waitFor();

    // The user's own 32-byte key, imported from a file; it expires in 30 days.
    const material = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
    remember(material);
    await page.getByLabel(/^Key material file/).setInputFiles({ name: "key.bin", mimeType: "application/octet-stream", buffer: Buffer.from(material) });
    await page.getByRole("radio", { name: "Key material expires" }).check();
    const validTo = new Date(Date.now() + 30 * 86_400_000);
    await page.locator("#valid-to").fill(validTo.toISOString().slice(0, 16));
    await page.getByRole("button", { name: "Import key material" }).click();
    await page.getByRole("status").filter({ hasText: "is imported" }).waitFor({ timeout: 20_000 });
    await page.getByText("Enabled").first().waitFor();
    await expect.poll(() => page.getByText(/^Expires /).count()).toBeGreaterThan(0);
    await page.getByRole("cell", { name: "Imported", exact: true }).waitFor();

    // Used through the SDK, and the page's last-usage row says so.
    const kms = kmsClient("us-east-1", { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey });
    const blob = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode("under imported material") }))).CiphertextBlob!;
    expect(new TextDecoder().decode((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("under imported material");
    await page.reload();
    await expect.poll(() => page.getByText(/^Decrypt, /).count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: shot("imported-key.png"), fullPage: true });

    // Deleting the material (it asks first) makes the key PendingImport.
    await page.getByRole("button", { name: "Delete key material" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete key material" }).click();
    await page.getByRole("status").filter({ hasText: "is deleted" }).waitFor();
    await page.getByText("PendingImport").first().waitFor();
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a multi-Region key: created in the wizard, replicated to us-west-2 from its page; the replica decrypts", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();
    await page.getByRole("link", { name: "Create key" }).click();
    await page.getByRole("radio", { name: "Symmetric: encrypt and decrypt", exact: true }).check();
    await page.getByRole("radio", { name: /^Multi-Region key/ }).check();
    for (const step of [2, 3]) {
      await page.getByRole("button", { name: "Next" }).click();
      await page.getByRole("heading", { name: new RegExp(`^Step ${step} of 4`) }).waitFor();
    }
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Regionality" }).waitFor({ timeout: 20_000 });
    const keyId = decodeURIComponent(page.url().split("#/keys/")[1]!);
    expect(keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    await page.getByLabel("Create a replica key in").selectOption("us-west-2");
    await page.getByRole("button", { name: "Create replica key" }).click();
    await page.getByRole("status").filter({ hasText: "now exists in us-west-2" }).waitFor({ timeout: 20_000 });
    await page.getByRole("cell", { name: "us-west-2", exact: true }).waitFor();
    await page.getByRole("cell", { name: "Replica", exact: true }).waitFor();
    await page.screenshot({ path: shot("multi-region-key.png"), fullPage: true });

    // Encrypted in us-east-1, decrypted by the replica in us-west-2.
    const creds = { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey };
    const blob = (await kmsClient("us-east-1", creds).send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode("one key, two regions") }))).CiphertextBlob!;
    const west = await kmsClient("us-west-2", creds).send(new DecryptCommand({ CiphertextBlob: blob }));
    expect(west.KeyId).toBe(`arn:aws:kms:us-west-2:${account.AccountId}:key/${keyId}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a user without any permission signs in, sees who it is, and gets a clear AccessDenied", async () => {
    const root = { endpoint, region: "us-east-1", accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey };
    const name = `viewer-${Date.now()}`;
    await adminCall(root, "CreateUser", { UserName: name });
    const k = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(root, "CreateAccessKey", { UserName: name });
    remember(k.SecretAccessKey);
    const { page, errors } = await newPage();
    await page.goto(`${endpoint}/console`);
    await page.getByLabel("Access key ID").fill(k.AccessKeyId);
    // A pasted secret with a trailing space still works.
    await page.getByLabel("Secret access key").fill(`${k.SecretAccessKey} `);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText(`Signed in as arn:aws:iam::${account.AccountId}:user/${name}`).waitFor();
    await expect.poll(() => page.getByRole("alert").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("AccessDeniedException")]));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a malformed link shows a not-found page and the app keeps working", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();
    await page.goto(`${endpoint}/console#/keys/%zz`);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.getByRole("link", { name: "Go to the keys list" }).click();
    await page.getByRole("heading", { level: 1, name: "Keys" }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("removing a tag asks first", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    const row = page.locator("tbody tr a").first();
    await row.waitFor({ timeout: 20_000 });
    await row.click();
    await page.getByLabel("Tag key").fill("team");
    await page.getByLabel("Tag value").fill("blue");
    await page.getByRole("button", { name: "Add tag" }).click();
    await page.getByRole("cell", { name: "blue", exact: true }).waitFor();
    await page.getByRole("button", { name: "Remove tag team" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await page.getByRole("cell", { name: "blue", exact: true }).count()).toBe(1);
    await page.getByRole("button", { name: "Remove tag team" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove tag" }).click();
    await page.getByText("This key has no tags.").waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a malformed key policy edit shows the server's message next to the policy", async () => {
    const { page, errors } = await newPage();
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();
    const row = page.locator("tbody tr a").first();
    await row.waitFor({ timeout: 20_000 });
    await row.click();
    await page.getByRole("button", { name: "Edit policy" }).click();
    await page.getByLabel("Key policy").fill('{"Version":"2012-10-17","Statement":[{"Effect":"Allow"');
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.getByRole("alert").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("MalformedPolicyDocumentException")]));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("works at 360 px: no sideways scroll on the keys list, the wizard, a key page", async () => {
    const { page, errors } = await newPage(360);
    await signIn(page);
    await page.getByRole("heading", { name: "Keys" }).waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.getByRole("link", { name: "Create key" }).click();
    await page.getByRole("button", { name: "Next" }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${endpoint}/console#/keys`);
    const row = page.locator("tbody tr a").first();
    await row.waitFor({ timeout: 20_000 });
    await row.click();
    await page.getByRole("heading", { name: "General configuration" }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: shot("key-360.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
