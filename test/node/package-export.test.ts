// `import { aesGcmSeal } from "edgekms/crypto"` works from the repository in plain Node
// (package self-reference through the "exports" map to the built dist/crypto/).
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("package export edgekms/crypto", () => {
  it("loads the built core in a separate Node process", () => {
    const script = `
      import { aesGcmSeal, aesGcmOpen, aesKeyWrapPad, aesKeyUnwrapPad } from "edgekms/crypto";
      const key = new Uint8Array(32).fill(7), iv = new Uint8Array(12);
      const sealed = aesGcmSeal(key, iv, new TextEncoder().encode("hello"));
      const back = new TextDecoder().decode(aesGcmOpen(key, iv, sealed));
      const w = aesKeyWrapPad(key, new Uint8Array([1, 2, 3]));
      console.log(JSON.stringify({ back, len: sealed.length, unwrapped: [...aesKeyUnwrapPad(key, w)] }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ back: "hello", len: 21, unwrapped: [1, 2, 3] });
  });
});
