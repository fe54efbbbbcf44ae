// docs/quickstart.md, run as written: every ```sh block, in order, in one bash session, against
// the e2e server, with the clients a new user on Debian has (/usr/bin/aws 2.9, /usr/bin/python3
// with boto3 1.26, /usr/bin/node) and nothing of this machine's AWS set-up. `edgekms` is the shell
// function the credentials line defines (this clone's bin by absolute path), never `npx edgekms`,
// which outside the clone would fetch a package of that name from the npm registry. Each
// ```text output block must be found in the output of the sh blocks before it (since the last
// checked one), line by line, in order. A command edited in the doc is run as edited.
//
// The doc's conventions, checked here:
//   ```sh            run
//   ```sh not-run    not run: starting the server (this test uses the e2e server), and the
//                    credentials line, for which the test gives this server's lines (the same
//                    function prints both: scripts/dev-vars.mjs envLines)
//   ```text output   the output to find; `…` is any text, 111122223333 any account, and
//                    1234abcd-12ab-34cd-56ef-1234567890ab any key ID; runs of spaces are one
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { adminCall } from "../../src/cli/admin-client.js";
import { E2E } from "./client.js";
import { remember } from "./secrets.js";
// @ts-expect-error: plain ESM script without types
import { envLines } from "../../scripts/dev-vars.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const DOC = readFileSync(`${root}docs/quickstart.md`, "utf8");
/** The one not-run block the test replaces with its own server's lines. */
const CREDENTIALS_LINE = 'eval "$(node scripts/dev-vars.mjs --env)"';
/** Where a Debian user's clients are, and nothing else (no pyenv, no node_modules/.bin). */
const USER_PATH = "/usr/local/bin:/usr/bin:/bin";

/** One sh word, single-quoted. */
const shellQuoted = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Block { info: string; body: string; line: number }

/** The fenced blocks of the doc, in order, with their info strings. */
function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m; (m = re.exec(markdown)); ) out.push({ info: m[1].trim(), body: m[2], line: markdown.slice(0, m.index).split("\n").length });
  return out;
}

/** An expected output line as a pattern over a whole (trimmed) output line. */
function linePattern(expected: string): RegExp {
  const escaped = expected.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const p = escaped
    .split("…").join(".*")
    .split("111122223333").join("\\d{12}")
    .split("1234abcd-12ab-34cd-56ef-1234567890ab").join("(?:mrk-)?[0-9a-f-]{32,36}")
    .replace(/\s+/g, "\\s+");
  return new RegExp(`^${p}$`);
}

/** Fails naming the first expected line not found, in order, among `actual`'s lines. */
function expectLinesInOrder(actual: string, expected: string, where: string): void {
  const lines = actual.split("\n").map((l) => l.trim());
  let at = 0;
  for (const want of expected.split("\n").filter((l) => l.trim())) {
    const re = linePattern(want);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    expect(found, `${where}: expected a line matching\n  ${want}\nin this output (after line ${at}):\n${lines.join("\n")}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

describe("docs/quickstart.md", () => {
  it("follows the conventions it states: sh blocks run, the two not-run blocks, outputs after a run block", () => {
    const all = blocks(DOC);
    expect(new Set(all.map((b) => b.info))).toEqual(new Set(["sh", "sh not-run", "text", "text output"]));
    expect(all.filter((b) => b.info === "sh not-run").map((b) => b.body.trim())).toEqual(["npm install\nnpm start", CREDENTIALS_LINE]);
    // Every output block follows a run block (and is not the first thing).
    all.forEach((b, i) => {
      if (b.info === "text output") expect(all.slice(0, i).filter((x) => x.info === "sh").length, `line ${b.line}`).toBeGreaterThan(0);
    });
    // The steps the issue lists are all here.
    for (const step of ["Start EdgeKMS", "Point your clients", "alias and tags", "encryption context", "envelope encryption", "least-privilege user",
      "Rotation", "Scheduled deletion", "audit trail", "console"]) expect(DOC).toContain(step);
  });

  it("uses the edgekms function, never plain `npx edgekms` (outside the clone, npx would fetch `edgekms` from the npm registry)", () => {
    const sh = blocks(DOC).filter((b) => b.info.startsWith("sh")).map((b) => b.body).join("\n");
    expect(sh).toMatch(/^edgekms (encrypt|admin|audit) /m);
    expect(sh).not.toMatch(/npx (--yes |-y )?edgekms/);
    // The text says why, and what is safe inside the clone.
    expect(DOC).toContain("npx --no-install edgekms");
    expect(DOC).toMatch(/public npm\s+registry/);
  });

  it("runs every command, in order, with the AWS CLI, the JS SDK, boto3 and the edgekms CLI, and shows what it says", async () => {
    const endpoint = inject("kmsEndpoint");
    // A fresh account, so that the doc's "0 keys" holds and its records are its own; its root is
    // what `npm start` prints for a new install (an account root, allowed its own users).
    const account = await adminCall<{ AccountId: string; AccessKeyId: string; SecretAccessKey: string }>(
      { endpoint, region: "us-east-1", accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey },
      "CreateAccount",
      {},
    );
    remember(account.SecretAccessKey);
    for (const secret of ["card 4111-1111-1111-1111", "hello from the JS SDK", "hello from boto3"]) remember(secret);

    // One bash script: the doc's blocks, each after a marker line; the credentials line as the
    // test server's; then the values the test checks beyond the shown outputs.
    const all = blocks(DOC);
    const parts = ["set -eo pipefail", "exec 2>&1", `cd ${JSON.stringify(root)}`];
    all.forEach((b, i) => {
      if (b.info === "sh") parts.push(`printf '\\n@@block ${i} %s@@\\n' "$(date +%s%N)"`, b.body);
      if (b.info === "sh not-run" && b.body.trim() === CREDENTIALS_LINE) {
        parts.push(`eval ${shellQuoted(envLines({ BOOTSTRAP_ACCESS_KEY_ID: account.AccessKeyId, BOOTSTRAP_SECRET_ACCESS_KEY: account.SecretAccessKey }, endpoint))}`);
      }
    });
    parts.push(`printf '\\n@@end %s@@\\n' "$(date +%s%N)"`, 'printf "KEY_ARN=%s\\nAPP_KEY=%s\\n" "$KEY_ARN" "$(printf %s "$APP_KEY" | tr -d "\\n")"', 'rm -rf "$QS"');
    const home = mkdtempSync(join(tmpdir(), "edgekms-quickstart-home-"));
    const started = Date.now();
    let r;
    try {
      r = spawnSync("/bin/bash", ["-c", parts.join("\n")], {
        encoding: "utf8",
        timeout: 150_000,
        maxBuffer: 16 << 20,
        env: {
          PATH: USER_PATH,
          HOME: home,
          LANG: "C.UTF-8",
          // npm's own chatter, not the doc's: the update notice, and no colour codes in outputs.
          npm_config_update_notifier: "false",
          // Should anything in the doc run npm or npx: no install scripts, or one would rebuild
          // dist/ under the other tests.
          npm_config_ignore_scripts: "true",
          NO_COLOR: "1",
        },
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    const out = r.stdout;
    const seconds = (Date.now() - started) / 1000;
    console.log(`[quickstart] ${all.filter((b) => b.info === "sh").length} blocks in ${seconds.toFixed(1)} s`);

    // Every block ran: the last marker is the end's, and bash exited 0 (set -e: any failing command fails).
    const marks = [...out.matchAll(/^@@(block \d+|end) (\d+)@@$/gm)];
    const markers = marks.map((m) => m[1]);
    // Where the time goes: each block's seconds, the slowest first.
    const took = marks.slice(0, -1).map((m, k) => [Number(BigInt(marks[k + 1][2]) - BigInt(m[2])) / 1e9, all[Number(m[1].slice(6))]?.line] as const);
    console.log(`[quickstart] slowest blocks (seconds, doc line): ${[...took].sort((a, b) => b[0] - a[0]).slice(0, 6).map(([t, l]) => `${t.toFixed(1)} @${l}`).join(", ")}`);
    const lastRun = all.map((b, i) => (b.info === "sh" ? i : -1)).filter((i) => i >= 0);
    const failedBlock = out.slice(out.lastIndexOf("\n@@block ")).slice(-6000);
    expect(markers.at(-1), `stopped in ${markers.at(-1)} (doc line ${all[Number(markers.at(-1)?.split(" ")[1])]?.line}), whose output was:${failedBlock}`).toBe("end");
    expect(r.status, out.slice(-4000)).toBe(0);
    expect(markers).toEqual([...lastRun.map((i) => `block ${i}`), "end"]);
    // No engine warning (issue 18), and no call for npm's registry (the edgekms function runs the
    // clone's bin by path; plain `npx edgekms` outside the clone would fetch one).
    expect(out).not.toMatch(/EBADENGINE|Unsupported engine/);
    expect(out).not.toMatch(/npm (ERR|error)|registry\.npmjs\.org|Need to install the following packages/);

    // Each output block is found in the outputs of the run blocks since the previous one.
    const outputOf = new Map<number, string>();
    const pieces = out.split(/^@@(block \d+|end) \d+@@$/m);
    for (let k = 1; k < pieces.length; k += 2) if (pieces[k].startsWith("block ")) outputOf.set(Number(pieces[k].slice(6)), pieces[k + 1]);
    let since = 0;
    all.forEach((b, i) => {
      if (b.info !== "text output") return;
      const text = [...outputOf.entries()].filter(([j]) => j >= since && j < i).map(([, o]) => o).join("\n");
      expectLinesInOrder(text, b.body, `docs/quickstart.md line ${b.line}`);
      since = i;
    });

    // Beyond the shown outputs: the user's key is the account's own, and its secret was made once.
    const tail = pieces.at(-1)!;
    const keyArn = /^KEY_ARN=(.*)$/m.exec(tail)?.[1];
    expect(keyArn).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${account.AccountId}:key/[0-9a-f-]{36}$`));
    const appKey = JSON.parse(/^APP_KEY=(.*)$/m.exec(tail)![1]) as { AccessKeyId: string; SecretAccessKey: string; AccountId: string };
    remember(appKey.SecretAccessKey);
    expect(appKey.AccountId).toBe(account.AccountId);
    // The shown output of the key's ARN is this account's key, not an example's.
    expect(out).toContain(`${keyArn}\tEnabled\tquickstart key`);
    // The refused Decrypt named the application's user.
    expect(out).toContain(`User: arn:aws:iam::${account.AccountId}:user/quickstart-app is not authorized to perform: kms:Decrypt on resource: ${keyArn}`);
  }, 180_000);
});
