// Batch vault calls shared between concurrent batch requests (src/operations/batch-queue.ts,
// docs/batch.md "Calls shared between requests"): at most one call per key in flight, the groups
// that come meanwhile together in the next call, each group taking back exactly its own outcomes
// and records; and the vault's side of it (runBatch with groups, src/vault/batch.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { KeyCalls, LINGER_MS, MAX_POLL_MS, MAX_SHARED_CALL_ENTRIES, MAX_WAIT_MS, STALE_GROUP_MS, submitAll, type GroupAnswer, type GroupOutcome } from "../../src/operations/batch-queue.js";
import { runBatch, writeCalls, type BatchCalls, type BatchEntry, type BatchReply } from "../../src/vault/batch.js";
import type { CloudTrailRecord } from "../../src/audit/record.js";

/** A stand-in vault: each entry's result names its tag, and it completes one record per entry (two when the tag starts with "x": a cross-account entry, one in each account). */
const vault = {
  async encrypt(_caller: unknown, tag: string) {
    const record = (account: string) => ({ eventTime: "2026-12-03T00:00:00Z", eventID: `${tag}@${account}`, awsRegion: "us-east-1", recipientAccountId: account }) as unknown as CloudTrailRecord;
    return { ok: true, value: tag, records: tag.startsWith("x") ? [record("111122223333"), record("444455556666")] : [record("111122223333")] };
  },
} as unknown as Parameters<typeof runBatch>[0];

const entries = (tags: string[]): BatchEntry[] => tags.map((tag) => ({ method: "encrypt", args: [{ account: "111122223333" }, tag] }));

/** One request's entries for one key (submitAll with one submission). */
const submit = (q: KeyCalls, e: BatchEntry[]) => new Promise<GroupAnswer>((resolve, reject) => {
  void submitAll([{ calls: q, entries: e, settle: (o) => ("error" in o ? reject(o.error) : resolve(o.answer)) }]);
});

/** The event ids of a group's record rows, per row. */
const ids = (a: GroupAnswer) => a.records.map((row) => row.json.split("\n").map((line) => (JSON.parse(line) as { eventID: string }).eventID));

/** A vault call each test lets finish when it wants, through structured clone as RPC sends it. */
function gatedVault() {
  const calls: { groups: number[]; count: number; release(): void; fail(e: Error): void }[] = [];
  const send = (c: BatchCalls) => new Promise<BatchReply>((resolve, reject) => {
    const sent = structuredClone(c);
    calls.push({
      groups: sent.groups, count: sent.count,
      release: () => void runBatch(vault, sent, { calls: 0, entries: 0 }).then((r) => resolve(structuredClone(r)), reject),
      fail: reject,
    });
  });
  return { calls, send };
}

/** Long enough for waiting groups to look again (they sleep at most MAX_POLL_MS). */
const turns = () => new Promise((r) => setTimeout(r, 10 * MAX_POLL_MS));
/** Past the turn of the event loop a request lets go by before its first calls (LINGER_MS). */
const tick = () => new Promise((r) => setTimeout(r, LINGER_MS + 1));

describe("runBatch with groups", () => {
  it("completes each group's records in rows of its own, in entry order", async () => {
    const reply = await runBatch(vault, structuredClone(writeCalls(entries(["a0", "a1", "xb0", "c0"]), [2, 1, 1])), { calls: 0, entries: 0 });
    expect(reply.records.map((rows) => rows.map((r) => [r.account, r.json.split("\n").length]))).toEqual([
      [["111122223333", 2]],
      [["111122223333", 1], ["444455556666", 1]],
      [["111122223333", 1]],
    ]);
    expect(reply.records[1].map((r) => JSON.parse(r.json).eventID)).toEqual(["xb0@111122223333", "xb0@444455556666"]);
  });

  for (const groups of [[2, 1], [2, 3], [4, 0], [1.5, 2.5], [-1, 5], ["4"], null, undefined]) {
    it(`refuses a call whose groups are ${JSON.stringify(groups)} for 4 entries`, async () => {
      const stats = { calls: 0, entries: 0 };
      await expect(runBatch(vault, { ...writeCalls(entries(["a", "b", "c", "d"])), groups: groups as number[] }, stats)).rejects.toThrow(/groups do not add up/);
      expect(stats.calls).toBe(0);
    });
  }
});

describe("one call per key in flight, shared by the requests that come meanwhile", () => {
  it("groups that wait go together in the next call, each answered with its own outcomes and records", async () => {
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    const a = submit(q, entries(["a0", "a1"]));
    await tick();
    expect(v.calls.map((c) => c.groups)).toEqual([[2]]);
    const b = submit(q, entries(["b0"]));
    const c = submit(q, entries(["xc0", "c1", "c2"]));
    expect(v.calls).toHaveLength(1);
    expect(q.waitingGroups).toBe(2);
    v.calls[0].release();
    const ra = await a;
    expect(ra.outcomes.map((o) => o.result)).toEqual([{ ok: true, value: "a0" }, { ok: true, value: "a1" }]);
    expect(ids(ra)).toEqual([["a0@111122223333", "a1@111122223333"]]);
    await turns();
    // b and c woke, and the first of them to run sent both.
    expect(v.calls.map((x) => x.groups)).toEqual([[2], [1, 3]]);
    v.calls[1].release();
    const [rb, rc] = await Promise.all([b, c]);
    expect(rb.outcomes.map((o) => o.result)).toEqual([{ ok: true, value: "b0" }]);
    expect(ids(rb)).toEqual([["b0@111122223333"]]);
    expect(rc.outcomes.map((o) => o.result)).toEqual(["xc0", "c1", "c2"].map((value) => ({ ok: true, value })));
    expect(ids(rc)).toEqual([["xc0@111122223333", "c1@111122223333", "c2@111122223333"], ["xc0@444455556666"]]);
    expect(q.waitingGroups).toBe(0);
    // Idle again: the next group goes after one turn, alone.
    const d = submit(q, entries(["d0"]));
    await tick();
    expect(v.calls.map((x) => x.groups)).toEqual([[2], [1, 3], [1]]);
    v.calls[2].release();
    expect((await d).outcomes).toHaveLength(1);
  });

  it("groups submitted in one turn of the event loop go in one call (a request lets a turn go by before its first calls)", async () => {
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    const a = submit(q, entries(["a0", "a1"]));
    const b = submit(q, entries(["b0"]));
    expect(v.calls).toHaveLength(0);
    await tick();
    expect(v.calls.map((c) => c.groups)).toEqual([[2, 1]]);
    v.calls[0].release();
    expect((await a).outcomes.map((o) => o.result)).toEqual([{ ok: true, value: "a0" }, { ok: true, value: "a1" }]);
    expect((await b).outcomes.map((o) => o.result)).toEqual([{ ok: true, value: "b0" }]);
  });

  it(`a call takes whole groups up to ${MAX_SHARED_CALL_ENTRIES} entries; the rest go in the call after`, async () => {
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    const tags = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    const first = submit(q, entries(["z"]));
    await tick();
    const big = [600, 400, 1, 1000].map((n, i) => submit(q, entries(tags(`g${i}-`, n))));
    v.calls[0].release();
    await first;
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [600, 400]]);
    v.calls[1].release();
    await Promise.all(big.slice(0, 2));
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [600, 400], [1]]);
    v.calls[2].release();
    await big[2];
    await turns();
    // A group of 1,000 goes alone, and one over the bound would too (the first group always goes).
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [600, 400], [1], [1000]]);
    v.calls[3].release();
    const answers = await Promise.all(big);
    expect(answers.map((x) => x.outcomes.length)).toEqual([600, 400, 1, 1000]);
    expect(answers[3].outcomes[999].result).toEqual({ ok: true, value: "g3-999" });
  });

  it("a call that fails fails every group it carries, and the groups waiting still go", async () => {
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    const a = submit(q, entries(["a0"]));
    await tick();
    const b = submit(q, entries(["b0"]));
    const c = submit(q, entries(["c0"]));
    v.calls[0].release();
    await a;
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1, 1]]);
    const d = submit(q, entries(["d0"]));
    v.calls[1].fail(new Error("vault reset"));
    await expect(b).rejects.toThrow("vault reset");
    await expect(c).rejects.toThrow("vault reset");
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1, 1], [1]]);
    v.calls[2].release();
    expect((await d).outcomes[0].result).toEqual({ ok: true, value: "d0" });
  });

  it("a request's groups for several keys: each key's call made or joined, each group settled once, in its own request's loop", async () => {
    const [v1, v2] = [gatedVault(), gatedVault()];
    const [q1, q2] = [new KeyCalls(v1.send), new KeyCalls(v2.send)];
    const other = submit(q2, entries(["o0"]));
    await tick();
    const settled: string[] = [];
    const done = submitAll([
      { calls: q1, entries: entries(["k1"]), settle: (o) => settled.push(`q1:${"answer" in o ? o.answer.outcomes.length : "error"}`) },
      { calls: q2, entries: entries(["k2a", "k2b"]), settle: (o) => settled.push(`q2:${"answer" in o ? o.answer.outcomes.length : "error"}`) },
    ]);
    await tick();
    // q1 was idle: this request made its call. q2 had one in flight: the group waits.
    expect(v1.calls.map((c) => c.groups)).toEqual([[1]]);
    expect(v2.calls.map((c) => c.groups)).toEqual([[1]]);
    v1.calls[0].release();
    await turns();
    expect(settled).toEqual(["q1:1"]);
    v2.calls[0].release();
    await other;
    await turns();
    expect(v2.calls.map((c) => c.groups)).toEqual([[1], [2]]);
    v2.calls[1].release();
    await done;
    expect(settled).toEqual(["q1:1", "q2:2"]);
  });

  it("a send that throws, or a reply without one list of records per group, fails those groups only", async () => {
    let n = 0;
    const q = new KeyCalls(async (c) => {
      if (n++ === 0) throw new Error("no stub");
      const r = await runBatch(vault, structuredClone(c), { calls: 0, entries: 0 });
      return n === 2 ? { ...r, records: r.records.slice(1) } : r;
    });
    await expect(submit(q, entries(["a"]))).rejects.toThrow("no stub");
    await expect(submit(q, entries(["b"]))).rejects.toThrow(/one list of records per group/);
    expect((await submit(q, entries(["c"]))).outcomes[0].result).toEqual({ ok: true, value: "c" });
  });
});

describe("requests that go away, and calls that never end (an outsider's review)", () => {
  afterEach(() => vi.restoreAllMocks());
  /** Date.now as the test moves it. */
  const clock = () => {
    const real = Date.now;
    const c = { skew: 0 };
    vi.spyOn(Date, "now").mockImplementation(() => real() + c.skew);
    return c;
  };
  /** Moves the clock on by `ms` in steps the waiting requests look between, as real time passes for them. */
  const advance = async (c: { skew: number }, ms: number) => {
    for (let left = ms; left > 0; left -= STALE_GROUP_MS / 2) {
      c.skew += Math.min(left, STALE_GROUP_MS / 2);
      await new Promise((r) => setTimeout(r, 3 * MAX_POLL_MS));
    }
  };
  const outcomeOf = (o: GroupOutcome | undefined) => (o === undefined ? "none" : "error" in o ? "error" : "answer");

  it("a call with no answer after MAX_WAIT_MS is taken for dead: the groups waiting behind it go in the next call", async () => {
    const c = clock();
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    let a: GroupOutcome | undefined, b: GroupOutcome | undefined;
    void submitAll([{ calls: q, entries: entries(["a"]), settle: (o) => { a = o; } }]);
    await tick();
    void submitAll([{ calls: q, entries: entries(["b"]), settle: (o) => { b = o; } }]);
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1]]);
    c.skew = MAX_WAIT_MS + 1;
    await turns();
    // b went in a call of its own; a, sent over MAX_WAIT_MS ago, failed.
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1]]);
    expect(outcomeOf(a)).toBe("error");
    v.calls[1].release();
    await turns();
    expect(outcomeOf(b)).toBe("answer");
    // The dead call's late end does not clear the newer call's place.
    v.calls[0].release();
    await turns();
    expect(q.waitingGroups).toBe(0);
  });

  it("a group that waited long before a call took it is timed from when it was sent, not from when it came", async () => {
    const c = clock();
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    const out: Record<string, GroupOutcome | undefined> = {};
    for (const t of ["a", "b", "c"]) {
      void submitAll([{ calls: q, entries: entries([t]), settle: (o) => { out[t] = o; } }]);
      if (t === "a") await tick();
    }
    await turns();
    await advance(c, MAX_WAIT_MS - 5_000); // a long call: b and c wait all that time, looking
    v.calls[0].release();
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1, 1]]);
    await advance(c, 8_000); // past MAX_WAIT_MS since b and c came, not since they were sent
    await turns();
    expect([outcomeOf(out.b), outcomeOf(out.c)]).toEqual(["none", "none"]);
    v.calls[1].release();
    await turns();
    expect([outcomeOf(out.a), outcomeOf(out.b), outcomeOf(out.c)]).toEqual(["answer", "answer", "answer"]);
  });

  it(`a group whose request stopped looking (its client went away) is not run for nobody: passed over after ${STALE_GROUP_MS} ms, dropped after MAX_WAIT_MS`, async () => {
    const c = clock();
    const v = gatedVault();
    const q = new KeyCalls(v.send);
    void submitAll([{ calls: q, entries: entries(["a"]), settle: () => undefined }]);
    await tick();
    // A request adds its group, and is then cancelled: nothing of it runs again (no loop).
    const gone = q.add(entries(["gone"]));
    let b: GroupOutcome | undefined;
    void submitAll([{ calls: q, entries: entries(["b"]), settle: (o) => { b = o; } }]);
    await turns();
    c.skew = STALE_GROUP_MS + 1;
    v.calls[0].release();
    await turns();
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1]]);
    v.calls[1].release();
    await turns();
    expect(outcomeOf(b)).toBe("answer");
    expect(gone.sentAt).toBeUndefined();
    expect(q.waitingGroups).toBe(1);
    c.skew = MAX_WAIT_MS + 1;
    const d = submit(q, entries(["d"]));
    await tick();
    expect(q.waitingGroups).toBe(0);
    v.calls[2].release();
    expect((await d).outcomes[0].result).toEqual({ ok: true, value: "d" });
    expect(v.calls.map((x) => x.groups)).toEqual([[1], [1], [1]]);
  });
});

