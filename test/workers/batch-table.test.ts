// The Table that a batch call's entries and its reply's outcomes travel as (src/vault/batch.ts,
// docs/batch.md): rows written by column must read back as the same rows, member for member and
// in the same member order (a record's JSON text depends on it), through structured clone (as
// Durable Object RPC sends them), with their bytes in the buffer.
import { describe, expect, it } from "vitest";
import { BATCH_WIRE_VERSION, readReply, runBatch, TableReader, TableWriter, writeCalls, type BatchCalls, type BatchEntry, type BatchReply, type Table } from "../../src/vault/batch.js";

/** Rows written, sent through structured clone, and read back. */
function roundTrip(rows: object[]): { back: unknown[]; table: Table; bytes: Uint8Array } {
  const w = new TableWriter();
  const sent = structuredClone({ table: w.table(rows), bytes: w.bytes() }) as { table: Table; bytes: Uint8Array };
  return { back: new TableReader(sent.bytes).rows(sent.table, rows.length), ...sent };
}

/** Equal with members in the same order, and own members alike (undefined members kept). */
function expectSame(back: unknown, want: unknown): void {
  expect(back).toStrictEqual(want);
  expect(JSON.stringify(back)).toBe(JSON.stringify(want));
  if (want !== null && typeof want === "object" && !(want instanceof Uint8Array)) {
    expect(Object.keys(back as object)).toEqual(Object.keys(want));
    for (const k of Object.keys(want)) expectSame((back as Record<string, unknown>)[k], (want as Record<string, unknown>)[k]);
  }
}

const draft = (i: number) => ({
  eventVersion: "1.08", userIdentity: { type: "Root", accountId: "111122223333" }, eventTime: "2026-12-01T00:00:00Z",
  requestParameters: { keyId: "k", encryptionAlgorithm: "SYMMETRIC_DEFAULT" }, eventID: `id-${i}`, readOnly: true,
  additionalEventData: { batchOperation: "BatchEncrypt", batchIndex: i },
});

describe("batch table", () => {
  it("rows read back as written: constant, varying, nested and byte members, in their order", () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({
      method: "encrypt",
      args: [{ account: "111122223333", policies: [], context: { "aws:sourceip": "127.0.0.1", n: String(i % 2) }, audit: draft(i) }, new Uint8Array([i, i + 1, i + 2]), undefined, i === 3 ? true : undefined, "SYMMETRIC_DEFAULT"],
    }));
    const { back, table } = roundTrip(rows);
    expectSame(back, rows);
    // Only what differs goes per row: the method once, the event ids and indexes by column.
    expect(table.kinds).toBe("ka");
    expect(table.cols[0]).toBe("encrypt");
    const args = table.cols[1] as Table;
    expect(args.kinds).toBe("obkvk");
    const caller = args.cols[0] as Table;
    expect(caller.keys).toEqual(["account", "policies", "context", "audit"]);
    expect(caller.kinds).toBe("kkoo");
  });

  it("a member equal in every row goes once; a row of another shape sends the column row by row", () => {
    const same = Array.from({ length: 4 }, () => ({ a: { b: [1, "x", null], c: { d: true } }, e: "f" }));
    const { back, table } = roundTrip(same);
    expectSame(back, same);
    expect(table.kinds).toBe("kk");
    // Another member order, an extra member, an array of another length: by row, as they are.
    const mixed = [{ m: { x: 1, y: 2 }, l: [1, 2] }, { m: { y: 2, x: 1 }, l: [1, 2, 3] }, { m: { x: 1, y: 2, z: 3 }, l: [1] }];
    const r = roundTrip(mixed);
    expectSame(r.back, mixed);
    expect(r.table.kinds).toBe("vv");
  });

  it("map keys a caller chose, __proto__ and constructor among them, stay own members with their values", () => {
    const rows = [0, 1, 2].map((i) => ({ ec: JSON.parse(`{"__proto__":"p${i}","constructor":"c","toString":"t${i}"}`) as Record<string, string> }));
    const { back, table } = roundTrip(rows);
    expect((table.cols[0] as Table).keys).toEqual(["__proto__", "constructor", "toString"]);
    for (const [i, row] of (back as { ec: Record<string, string> }[]).entries()) {
      expect(Object.getPrototypeOf(row.ec)).toBe(Object.prototype);
      expect(Object.keys(row.ec)).toEqual(["__proto__", "constructor", "toString"]);
      expect(Object.getOwnPropertyDescriptor(row.ec, "__proto__")?.value).toBe(`p${i}`);
      expect(JSON.stringify(row.ec)).toBe(`{"__proto__":"p${i}","constructor":"c","toString":"t${i}"}`);
    }
  });

  it("bytes: only each view's own bytes travel, in one buffer; each row gets its own", () => {
    const big = new Uint8Array(1 << 16).fill(9);
    const rows = [0, 1, 2].map((i) => ({ b: big.subarray(i * 4, i * 4 + 4 + i) }));
    rows[1].b.fill(1);
    const { back, bytes } = roundTrip(rows);
    expect(bytes.length).toBe(4 + 5 + 6);
    expectSame(back, rows);
    // Equal bytes in every row still go once per row, each row its own view.
    const equal = [0, 1].map(() => ({ b: new Uint8Array([7, 7]) }));
    const r = roundTrip(equal);
    expect(r.table.kinds).toBe("b");
    const [x, y] = r.back as { b: Uint8Array }[];
    expect(x.b).not.toBe(y.b);
    expectSame(r.back, equal);
  });

  it("rows that share an object in runs (a request's condition keys) send it once per run, and share it again", () => {
    // Two requests' entries: each request's rows share one context (with bytes in it, read before
    // the rows' own bytes: depth first), equal in member names but not in values.
    const contexts = [0, 1].map((r) => ({ "aws:currenttime": `t${r}`, tag: new Uint8Array([r, r]), k: "same" }));
    const rows = [0, 0, 0, 1, 1].map((r, i) => ({ context: contexts[r], b: new Uint8Array([i]), i }));
    const { back, table, bytes } = roundTrip(rows);
    expect(table.kinds).toBe("rbv");
    const [lengths, kind, heads] = table.cols[0] as [number[], string, Table];
    expect([lengths, kind, heads.kinds]).toEqual([[3, 2], "o", "vbk"]);
    expect(bytes).toEqual(new Uint8Array([0, 0, 1, 1, 0, 1, 2, 3, 4]));
    expectSame(back, rows);
    const got = back as typeof rows;
    expect(got[1].context).toBe(got[0].context);
    expect(got[2].context).toBe(got[0].context);
    expect(got[4].context).toBe(got[3].context);
    expect(got[3].context).not.toBe(got[0].context);
    // Runs of objects equal in every run go once, as one value; runs that do not halve the rows go by member.
    const equal = [{ x: "1" }, { x: "1" }];
    expect(roundTrip([0, 0, 1, 1].map((r) => ({ c: equal[r] }))).table.kinds).toBe("k");
    const three = [{ x: "1" }, { x: "2" }, { x: "3" }];
    const r = roundTrip([0, 0, 1, 2].map((i) => ({ c: three[i] })));
    expect(r.table.kinds).toBe("o");
    expectSame(r.back, [0, 0, 1, 2].map((i) => ({ c: three[i] })));
  });

  it("a single row, and bytes beside other values in one column, round-trip too", () => {
    expectSame(roundTrip([{ a: 1, b: new Uint8Array([1]), c: { d: [] } }]).back, [{ a: 1, b: new Uint8Array([1]), c: { d: [] } }]);
    const mixed = [{ v: new Uint8Array([1, 2]) }, { v: "text" }, { v: null }];
    const r = roundTrip(mixed);
    expect(r.table.kinds).toBe("v");
    expectSame(r.back, mixed);
  });

  it("a call's entries and a reply's outcomes, as the vault and the Worker exchange them", () => {
    const entries: BatchEntry[] = [0, 1, 2].map((i) => ({ method: i === 2 ? "dryRun" : "decrypt", args: i === 2 ? [{ audit: draft(i) }] : [{ audit: draft(i) }, new Uint8Array([i]), { t: String(i) }, undefined, "SYMMETRIC_DEFAULT"] }));
    const calls = structuredClone(writeCalls(entries)) as ReturnType<typeof writeCalls>;
    expect(calls.count).toBe(3);
    expectSame(new TableReader(calls.bytes).rows(calls.entries, calls.count), entries);
    const outcomes = [
      { result: { ok: true, value: { plaintext: new Uint8Array([1, 2, 3]), keyArn: "arn:k", keyMaterialId: "m" } }, records: 1, thrown: undefined },
      { result: { ok: false, code: "InvalidCiphertext", message: "", detail: "tag" }, records: 1, thrown: undefined },
      { result: undefined, records: 0, thrown: "boom" },
    ];
    const w = new TableWriter();
    const reply = structuredClone({ version: BATCH_WIRE_VERSION, outcomes: w.table(outcomes), bytes: w.bytes(), records: [] }) as BatchReply;
    expectSame(readReply(reply, 3), outcomes);
  });

  it("a call or a reply of another version is refused, not misread", async () => {
    const noVault = {} as Parameters<typeof runBatch>[0];
    // The first design's call: per-entry deltas of a shared caller, no version.
    const v1 = { caller: {}, context: {}, draft: {}, calls: [{ method: "encrypt", args: [null], caller: {}, context: {} }], bytes: new Uint8Array(0) } as unknown as BatchCalls;
    await expect(runBatch(noVault, v1, { calls: 0, entries: 0 })).rejects.toThrow(/version 1, not 4/);
    const calls = writeCalls([{ method: "encrypt", args: [{}] }]);
    // Version 2: one request's entries per call, no groups.
    const { groups: _, ...v2 } = calls;
    await expect(runBatch(noVault, { ...v2, version: 2 } as unknown as BatchCalls, { calls: 0, entries: 0 })).rejects.toThrow(/version 2, not 4/);
    // Version 3: no runs (kind r).
    await expect(runBatch(noVault, { ...calls, version: 3 as 4 }, { calls: 0, entries: 0 })).rejects.toThrow(/version 3, not 4/);
    await expect(runBatch(noVault, { ...calls, version: 5 as 4 }, { calls: 0, entries: 0 })).rejects.toThrow(/version 5/);
    expect(() => readReply({ outcomes: { keys: [], kinds: "", cols: [] }, bytes: new Uint8Array(0), records: [] } as unknown as BatchReply, 0)).toThrow(/version 1/);
  });

  it("a malformed table fails to read rather than read wrong rows", () => {
    const w = new TableWriter();
    const t = w.table([{ a: 1 }, { a: 2 }]);
    expect(() => new TableReader(w.bytes()).rows(t, 3)).toThrow(/column length/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "b", cols: [[4]] }, 1)).toThrow(/out of range/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "x", cols: [[1]] }, 1)).toThrow(/kind/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a", "b"], kinds: "k", cols: [1] }, 1)).toThrow(/malformed/);
    // Runs that do not add up to the rows, or whose objects are not a column of rows.
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "r", cols: [[[1, 1], "v", [{}, {}]]] }, 3)).toThrow(/runs do not add up/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "r", cols: [[[2, 0, 1], "v", [{}, {}, {}]]] }, 3)).toThrow(/runs do not add up/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "r", cols: [[[1, 2], "k", [{}, {}]]] }, 3)).toThrow(/kind/);
    expect(() => new TableReader(new Uint8Array(0)).rows({ keys: ["a"], kinds: "r", cols: [[[1, 2], "v"]] }, 3)).toThrow(/malformed runs/);
  });
});
