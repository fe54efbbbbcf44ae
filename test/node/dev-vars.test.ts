// `npm start` / `npm run serve` never make a new root secret over existing state.
import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
// @ts-expect-error: plain ESM script without types
import { ensureDevVars } from "../../scripts/dev-vars.mjs";

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
