// npm run bench:console — the console's two measures (issue 12): the compressed size of what
// the first load of /console fetches, and how long the keys list takes to render 500 keys,
// in Debian's Chromium against one workerd (npm run serve's server, state in memory).
// Prints a Markdown table.
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
// @ts-expect-error: plain ESM script without types
import { startServer } from "../scripts/serve.mjs";
import { table } from "./harness.ts";
import { BENCH_VARS as VARS, freePort } from "./wrk.ts";
import { adminCall } from "../dist/cli/admin-client.js";

const KEYS = Number(process.env.BENCH_CONSOLE_KEYS ?? "500");
const RUNS = Number(process.env.BENCH_RUNS ?? "5");

const { url, mf } = await startServer({ port: await freePort(), persist: false, vars: VARS });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
try {
  const operator = { endpoint: url, region: "us-east-1", accessKeyId: VARS.BOOTSTRAP_ACCESS_KEY_ID, secretAccessKey: VARS.BOOTSTRAP_SECRET_ACCESS_KEY };
  const account = await adminCall<{ AccessKeyId: string; SecretAccessKey: string }>(operator, "CreateAccount", {});
  const kms = new KMSClient({ endpoint: url, region: "us-east-1", credentials: { accessKeyId: account.AccessKeyId, secretAccessKey: account.SecretAccessKey } });
  for (let i = 0; i < KEYS; i += 25) await Promise.all(Array.from({ length: Math.min(25, KEYS - i) }, (_, j) => kms.send(new CreateKeyCommand({ Description: `bench ${i + j}` }))));

  // First load: the page and every script and stylesheet it fetches, compressed as a CDN would (gzip -9).
  const page = await browser.newPage();
  const fetched: { url: string; bytes: number; gzip: number }[] = [];
  page.on("response", async (r) => {
    const type = r.headers()["content-type"] ?? "";
    if (!/javascript|css|html/.test(type)) return;
    const body = await r.body();
    fetched.push({ url: new URL(r.url()).pathname, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
  });
  await page.goto(`${url}/console`);
  await page.getByLabel("Access key ID").waitFor();
  const rows: string[][] = fetched.map((f) => [f.url.replace(/app\.[0-9a-f]+\./, "app.<hash>."), (f.bytes / 1024).toFixed(1), (f.gzip / 1024).toFixed(1)]);
  const jsCss = fetched.filter((f) => !f.url.endsWith("/console"));
  rows.push(["JS and CSS in all", (jsCss.reduce((n, f) => n + f.bytes, 0) / 1024).toFixed(1), (jsCss.reduce((n, f) => n + f.gzip, 0) / 1024).toFixed(1)]);
  console.log("\nFirst load of /console (KB)\n");
  table(["resource", "raw KB", "gzip KB"], rows);

  // The keys list: from navigating to #/keys (signed in) until every row of the first page and
  // the full count are shown; ListKeys, ListAliases and one DescribeKey per key included.
  await page.getByLabel("Access key ID").fill(account.AccessKeyId);
  await page.getByLabel("Secret access key").fill(account.SecretAccessKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(`${KEYS} keys`).waitFor({ timeout: 60_000 });
  // Two moments per load: the first page complete (the count, and every row of the page with
  // its status from DescribeKey), and, after choosing a status filter, every key described.
  const firstPage: number[] = [], all: number[] = [];
  const pageSize = Math.min(KEYS, 50);
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${url}/console#/identities`);
    await page.getByRole("heading", { name: "Identities" }).waitFor();
    const t0 = Date.now();
    await page.goto(`${url}/console#/keys`);
    await page.getByText(`${KEYS} keys`).waitFor({ timeout: 60_000 });
    await page.waitForFunction((n) => document.querySelectorAll("tbody tr .state").length >= n, pageSize, { timeout: 60_000, polling: 5 });
    firstPage.push(Date.now() - t0);
    // A status filter needs every key's details: from choosing it until all are described.
    const t1 = Date.now();
    await page.getByLabel("Status").selectOption("Enabled");
    await page.getByText(`${KEYS} keys`).waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => !document.body.textContent!.includes("Loading key details"), undefined, { timeout: 60_000, polling: 5 });
    all.push(Date.now() - t1);
  }
  const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return [String(s[Math.floor(s.length / 2)]), String(s[0]), String(s[s.length - 1])]; };
  console.log(`\nKeys list of ${KEYS} keys, ${RUNS} loads (ms from navigation)\n`);
  table(["moment", "median ms", "min ms", "max ms"], [
    [`count and first page of ${pageSize} rows complete`, ...stats(firstPage)],
    [`status filter chosen → all ${KEYS} keys described and counted`, ...stats(all)],
  ]);
} finally {
  await browser.close();
  await mf.dispose();
}
