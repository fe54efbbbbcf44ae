import { describe, expect, it } from "vitest";
import { B64, decodeBase64 } from "../../src/protocol/codec.js";

function reference(s: string): string | undefined {
  if (!B64.test(s)) return undefined;
  return [...atob(s)].map((c) => c.charCodeAt(0)).join(",");
}
function ours(s: string): string | undefined {
  try { return [...decodeBase64(s, "blob")].join(","); } catch (e) { if ((e as any).type !== "SerializationException") return "THREW:" + String(e); return undefined; }
}
const diffs: string[] = [];
function cmp(s: string) {
  const a = reference(s), b = ours(s);
  if (a !== b && diffs.length < 50) diffs.push(JSON.stringify(s.length > 80 ? s.slice(0, 40) + "..." + s.slice(-40) : s) + ` len=${s.length} ref=${a?.slice(0,40)} ours=${b?.slice(0,40)}`);
}
const ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function rnd(n: number) { let s = ""; for (let i = 0; i < n; i++) s += ALPHA[(Math.random() * 64) | 0]; return s; }

describe("scratch", () => {
  it("every code unit at every position in templates", () => {
    const templates: string[] = [];
    for (const L of [4, 8, 12, 16, 24, 32, 44, 48, 64, 68, 96, 128, 132, 256, 1024]) {
      const body = rnd(L);
      templates.push(body, body.slice(0, -1) + "=", body.slice(0, -2) + "==", body.slice(0, -1) + "A", body.slice(0,-2)+"AA");
    }
    for (const t of templates) {
      const positions = new Set<number>();
      for (let i = 0; i < Math.min(t.length, 20); i++) positions.add(i);
      for (let i = Math.max(0, t.length - 20); i < t.length; i++) positions.add(i);
      for (const p of [31, 32, 33, 63, 64, 65, 127, 128]) if (p < t.length) positions.add(p);
      for (const p of positions) {
        for (let c = 0; c < 0x10000; c++) {
          const ch = String.fromCharCode(c);
          cmp(t.slice(0, p) + ch + t.slice(p + 1)); // replace
        }
      }
      // insert into a string one shorter (length stays multiple of 4)
      const short = t.slice(0, -1);
      for (const p of [0, 1, 2, short.length - 2, short.length - 1, short.length, Math.floor(short.length / 2)]) {
        if (p < 0) continue;
        for (let c = 0; c < 0x10000; c++) cmp(short.slice(0, p) + String.fromCharCode(c) + short.slice(p));
      }
    }
    expect(diffs).toEqual([]);
  }, 600_000);

  it("small exhaustive over odd set, length 4 and 8", () => {
    const set = ["A", "Q", "/", "=", " ", "\t", "\n", "\v", "\f", "\r", "-", "_", "\u00a0", "\ufeff", "\u0000", "\u0141", "\uff21", "\u2028", "\u3000", "\ud800", "\udc00", "\u0085", "A\u0301"];
    const rec = (pre: string, k: number) => { if (k === 0) { cmp(pre); return; } for (const c of set) rec(pre + c, k - 1); };
    rec("", 4);
    rec("", 1); rec("", 2); rec("", 3);
    const set2 = ["A", "Q", "=", " ", "\n", "-", "\u0141"];
    const rec2 = (pre: string, k: number) => { if (k === 0) { cmp(pre); return; } for (const c of set2) rec2(pre + c, k - 1); };
    rec2("", 8);
    expect(diffs).toEqual([]);
  }, 600_000);

  it("random long strings with sprinkled odd chars", () => {
    const odd = [" ", "\t", "\n", "\r", "\f", "=", "-", "_", "\u00a0", "\ufeff", "\u0141", "\ud83d\ude00", ".", "\u0000"];
    for (let r = 0; r < 200000; r++) {
      let s = rnd(((Math.random() * 300) | 0));
      const k = (Math.random() * 4) | 0;
      for (let j = 0; j < k; j++) {
        const p = (Math.random() * (s.length + 1)) | 0;
        const o = odd[(Math.random() * odd.length) | 0];
        if (Math.random() < 0.5) s = s.slice(0, p) + o + s.slice(p); else s = s.slice(0, p) + o + s.slice(p + o.length);
      }
      if (Math.random() < 0.3) s += Math.random() < 0.5 ? "=" : "==";
      cmp(s);
    }
    // huge
    for (const L of [1 << 16, 1 << 20, (1 << 20) + 4]) { const s = rnd(L); cmp(s); cmp(s.slice(0,-1)+"="); cmp(s.slice(0,-2)+" ="); cmp(" " + s.slice(1)); }
    expect(diffs).toEqual([]);
  }, 600_000);
});
