// `npm start` / `npm run serve`: never a new root secret over existing state; start-up lines that
// work as printed with every client; one server at a time on the shared state store.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
// @ts-expect-error: plain ESM script without types
import { claimState, clientNotes, detectClients, EDGEKMS_BIN, ensureDevVars, envLines, envPort, stateHolder, startupText } from "../../scripts/dev-vars.mjs";

const VARS = {
  BOOTSTRAP_ACCOUNT_ID: "111122223333",
  BOOTSTRAP_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  BOOTSTRAP_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  KMS_ROOT_SECRET: "never printed",
};
const ENDPOINT = "http://localhost:8899";

describe(".dev.vars", () => {
  it("is refused when missing over a state directory that holds state, naming the directory and what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-devvars-"));
    try {
      const state = join(dir, "state");
      mkdirSync(join(state, "do"), { recursive: true });
      writeFileSync(join(state, "do", "x.sqlite"), "state");
      const file = pathToFileURL(join(dir, ".dev.vars"));
      expect(() => ensureDevVars(file, state)).toThrow(new RegExp(`${state.replace(/[/.]/g, "\\$&")}[\\s\\S]*restore that \\.dev\\.vars[\\s\\S]*delete`));
      expect(existsSync(file)).toBe(false);
      // With no state, a fresh one is made.
      const vars = ensureDevVars(file, join(dir, "no-state"));
      expect(Object.keys(vars).sort()).toEqual(["BOOTSTRAP_ACCESS_KEY_ID", "BOOTSTRAP_ACCOUNT_ID", "BOOTSTRAP_SECRET_ACCESS_KEY", "KMS_ROOT_SECRET"]);
      // An existing file is used over existing state.
      expect(ensureDevVars(file, state)).toEqual(vars);
      // npm start and npm run serve share one .dev.vars: state in either directory refuses a new one.
      rmSync(file.pathname);
      expect(() => ensureDevVars(file, [join(dir, "no-state"), state])).toThrow(/holds EdgeKMS state/);
      // wrangler's dotenv forms are read too (quotes, a leading export).
      writeFileSync(file, "export KMS_ROOT_SECRET='abc='\nBOOTSTRAP_ACCOUNT_ID=\"111122223333\"\n");
      expect(ensureDevVars(file, state)).toEqual({ KMS_ROOT_SECRET: "abc=", BOOTSTRAP_ACCOUNT_ID: "111122223333" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs `script` in bash after eval-ing the lines, with a fake `aws` and `node` first on PATH that print their arguments. */
function inBash(lines: string, script: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "edgekms-envlines-"));
  try {
    for (const cmd of ["aws", "node"]) {
      writeFileSync(join(dir, cmd), `#!/bin/sh\necho "${cmd} $*"\n`);
      chmodSync(join(dir, cmd), 0o755);
    }
    const r = spawnSync("/bin/bash", ["-c", `eval "$LINES"\n${script}`], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, LINES: lines, ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the lines to set (node scripts/dev-vars.mjs --env, and the start-up text)", () => {
  it("eval'd in bash: credentials, both region variables, the KMS endpoint, no session token, edgeaws carrying --endpoint-url, and edgekms running this clone's bin", () => {
    const out = inBash(envLines(VARS, ENDPOINT), 'echo "$AWS_ACCESS_KEY_ID|$AWS_SECRET_ACCESS_KEY|$AWS_REGION|$AWS_DEFAULT_REGION|$AWS_ENDPOINT_URL_KMS|${AWS_SESSION_TOKEN-unset}"\nedgeaws kms list-keys --output text\nedgekms admin create-user --user-name "a b"\ncd / && edgekms audit tail', {
      AWS_SESSION_TOKEN: "left over from an AWS session",
    });
    // The bin by absolute path, never `npx edgekms` (which, outside the clone, fetches `edgekms` from the npm registry).
    expect(EDGEKMS_BIN).toBe(fileURLToPath(new URL("../../bin/edgekms.js", import.meta.url)));
    expect(out.split("\n")).toEqual([
      `AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY|us-east-1|us-east-1|${ENDPOINT}|unset`,
      `aws --endpoint-url ${ENDPOINT} kms list-keys --output text`,
      `node ${EDGEKMS_BIN} admin create-user --user-name a b`,
      `node ${EDGEKMS_BIN} audit tail`,
      "",
    ]);
    expect(envLines(VARS, ENDPOINT)).not.toContain("npx");
  });

  it("the edgekms function runs the real CLI from any directory (its usage, exit 2)", () => {
    const lines = envLines(VARS, ENDPOINT);
    const r = spawnSync("/bin/bash", ["-c", `eval "$LINES"\ncd / && edgekms admin`], { encoding: "utf8", env: { PATH: process.env.PATH, LINES: lines } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^usage: edgekms audit/);
  });

  it("`node scripts/dev-vars.mjs --env` prints them for the .dev.vars beside it, and never makes one; the port: PORT, the server's, or 8787 with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-env-"));
    try {
      mkdirSync(join(dir, "scripts"));
      copyFileSync(fileURLToPath(new URL("../../scripts/dev-vars.mjs", import.meta.url)), join(dir, "scripts", "dev-vars.mjs"));
      const run = (env: Record<string, string> = { PORT: "8899" }) =>
        spawnSync(process.execPath, [join(dir, "scripts", "dev-vars.mjs"), "--env"], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
      const bin = join(dir, "bin", "edgekms.js");
      const missing = run();
      expect([missing.status, missing.stdout]).toEqual([1, ""]);
      expect(missing.stderr).toMatch(/\.dev\.vars is missing: start EdgeKMS first/);
      expect(existsSync(join(dir, ".dev.vars"))).toBe(false);
      writeFileSync(join(dir, ".dev.vars"), Object.entries(VARS).map(([k, v]) => `${k}="${v}"`).join("\n") + "\n");
      const ok = run();
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toBe(`${envLines(VARS, ENDPOINT, bin)}\n`);
      expect(ok.stderr).toBe("");
      // No server and no PORT (npm start still building): 8787, and a warning on stderr naming PORT.
      const none = run({});
      expect(none.status, none.stderr).toBe(0);
      expect(none.stdout).toBe(`${envLines(VARS, "http://localhost:8787", bin)}\n`);
      expect(none.stderr).toMatch(/^dev-vars: no EdgeKMS server is running; assuming port 8787 — set PORT=/);
      // A running server's port, from the state lock, without a warning.
      const server = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "serve.mjs"], { stdio: "ignore" });
      try {
        await new Promise((r) => server.once("spawn", r));
        mkdirSync(join(dir, ".wrangler"));
        writeFileSync(join(dir, ".wrangler", "edgekms-state-lock.json"), JSON.stringify({ pid: server.pid, command: "npm run serve", port: 8790 }));
        const held = run({});
        expect(held.stdout).toBe(`${envLines(VARS, "http://localhost:8790", bin)}\n`);
        expect(held.stderr).toBe("");
      } finally {
        server.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("envPort: PORT first, then the lock holder's port, else 8787 with a warning", () => {
    expect(envPort("9000", { port: 8790 })).toEqual({ port: "9000" });
    expect(envPort(undefined, { port: 8790 })).toEqual({ port: "8790" });
    const none = envPort(undefined, undefined);
    expect(none.port).toBe("8787");
    expect(none.warning).toMatch(/no EdgeKMS server is running; assuming port 8787 — set PORT=/);
  });

  it("a value with shell characters (a hand-edited .dev.vars) stays one word", () => {
    const vars = { ...VARS, BOOTSTRAP_SECRET_ACCESS_KEY: "it's $HOME; `x` \"y\"" };
    expect(inBash(envLines(vars, ENDPOINT), 'printf %s "$AWS_SECRET_ACCESS_KEY"')).toBe(vars.BOOTSTRAP_SECRET_ACCESS_KEY);
  });

  it("the start-up text gives each client's line, the console, the quickstart, and never the root secret", () => {
    const text = startupText({ vars: VARS, endpoint: ENDPOINT, command: "npm start", statePath: ".wrangler/state", clients: {} }) as string;
    for (const line of envLines(VARS, ENDPOINT).split("\n")) expect(text).toContain(line);
    expect(text).toContain(`boto3.client("kms", endpoint_url="${ENDPOINT}", region_name="us-east-1")`);
    expect(text).toContain(`new KMSClient({ endpoint: "${ENDPOINT}", region: "us-east-1" })`);
    expect(text).toContain(`${ENDPOINT}/console`);
    expect(text).toContain("calls real AWS");
    expect(text).toContain("docs/quickstart.md");
    expect(text).toContain("State: .wrangler/state");
    expect(text).toContain("account 111122223333");
    expect(text).not.toContain(VARS.KMS_ROOT_SECRET);
    expect(text).not.toContain("Note:");
    const legacy = startupText({ vars: VARS, endpoint: ENDPOINT, command: "npm start", statePath: ".wrangler/state", clients: {}, legacyState: ".wrangler/serve-state" }) as string;
    expect(legacy).toContain("npm run serve -- --state .wrangler/serve-state");
  });

  it("says which installed clients ignore AWS_ENDPOINT_URL_KMS (AWS CLI before 2.13 and 1.29, boto3 before 1.28)", () => {
    const note = (c: object) => (clientNotes(c) as string[]).join("\n");
    expect(note({ awsCli: [2, 9, 19] })).toMatch(/^aws-cli\/2\.9\.19 IGNORES AWS_ENDPOINT_URL_KMS: use edgeaws/);
    expect(note({ awsCli: [2, 12, 99] })).toMatch(/IGNORES/);
    expect(note({ awsCli: [2, 13, 0] })).toMatch(/^aws-cli\/2\.13\.0 reads AWS_ENDPOINT_URL_KMS/);
    expect(note({ awsCli: [1, 28, 9] })).toMatch(/IGNORES/);
    expect(note({ awsCli: [1, 29, 0] })).toMatch(/reads/);
    expect(note({ boto3: [1, 26, 27] })).toMatch(/^boto3 1\.26\.27 IGNORES AWS_ENDPOINT_URL_KMS: pass endpoint_url=/);
    expect(note({ boto3: [1, 28, 0] })).toBe("boto3 1.28.0 reads AWS_ENDPOINT_URL_KMS.");
    expect(note({})).toBe("");
    const text = startupText({ vars: VARS, endpoint: ENDPOINT, command: "npm run serve", statePath: "s", clients: { awsCli: [2, 9, 19] } }) as string;
    expect(text).toContain("This machine: aws-cli/2.9.19 IGNORES");
  });

  it("finds the clients' versions from what they print; an absent one is undefined", () => {
    const runs: Record<string, string | undefined> = {
      aws: "aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12 prompt/off\n",
      python3: "1.26.27\n",
    };
    expect(detectClients((cmd: string) => runs[cmd])).toEqual({ awsCli: [2, 9, 19], boto3: [1, 26, 27] });
    expect(detectClients(() => undefined)).toEqual({ awsCli: undefined, boto3: undefined });
    // What this machine has (Debian's /usr/bin/aws is 2.9.19), through the real runner.
    const real = detectClients();
    if (existsSync("/usr/bin/aws") && spawnSync("aws", ["--version"]).status === 0) expect(real.awsCli).toHaveLength(3);
  });
});

describe("the state lock: one server at a time on the shared store", () => {
  it("refuses while a live server holds it, naming it; a dead or reused pid does not hold it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgekms-lock-"));
    const lock = join(dir, "lock.json");
    // A process whose command line names serve.mjs, as `npm run serve`'s does.
    const server = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "serve.mjs"], { stdio: "ignore" });
    try {
      await new Promise((r) => server.once("spawn", r));
      claimState({ pid: server.pid, command: "npm run serve", port: 8790 }, lock);
      expect(stateHolder(lock)).toEqual({ pid: server.pid, command: "npm run serve", port: 8790 });
      expect(() => claimState({ pid: process.pid, command: "npm start", port: 8787 }, lock)).toThrow(
        new RegExp(`in use by \`npm run serve\` \\(pid ${server.pid}, http://localhost:8790\\)[\\s\\S]*stop that one first`),
      );
      // The holder itself may claim again (a restart of the same process).
      claimState({ pid: server.pid, command: "npm run serve", port: 8790 }, lock);
      // A live pid that is not running what the lock says (reused) does not hold it (seen where /proc is).
      const proc = existsSync("/proc/self/cmdline");
      writeFileSync(lock, JSON.stringify({ pid: process.pid, command: "npm run serve", port: 1 }));
      if (proc) expect(stateHolder(lock)).toBeUndefined();
      server.kill();
      await new Promise((r) => server.once("exit", r));
      writeFileSync(lock, JSON.stringify({ pid: server.pid, command: "npm run serve", port: 8790 }));
      expect(stateHolder(lock)).toBeUndefined();
      claimState({ pid: process.pid, command: "npm start", port: 8787 }, lock);
      if (proc) expect(stateHolder(lock)).toBeUndefined(); // this process is not start.mjs
    } finally {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
