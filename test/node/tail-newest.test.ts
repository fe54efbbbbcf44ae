// AuditTail gathers its answer from every key's vault, the ingest shards and the AuditLog, each
// answering up to MAX_TAIL_CHARS (docs/audit.md, AuditTail): NewestRecords must answer as
// newestWithin over everything would, without holding everything at once.
import { describe, expect, it } from "vitest";
import { MAX_TAIL_CHARS, NewestRecords, byEventOrder, newestWithin, type CloudTrailRecord } from "../../src/audit/record.js";

const record = (second: number, id: string, size: number): CloudTrailRecord => ({
  eventVersion: "1.08", userIdentity: { type: "Root", accountId: "111122223333" }, eventTime: `2026-01-01T00:${String(Math.floor(second / 60)).padStart(2, "0")}:${String(second % 60).padStart(2, "0")}Z`,
  eventSource: "kms.amazonaws.com", eventName: "Encrypt", awsRegion: "us-east-1", sourceIPAddress: "127.0.0.1", userAgent: "x".repeat(size),
  requestParameters: null, responseElements: null, eventID: id, readOnly: true, eventType: "AwsApiCall", managementEvent: true,
  recipientAccountId: "111122223333", eventCategory: "Management",
});

describe("NewestRecords", () => {
  it("answers as newestWithin over all the places' answers, holding at most twice MAX_TAIL_CHARS and one place's answer", () => {
    // Twelve places of 40 records of 200,000 characters (8 Mi each, as a vault's outbox may answer),
    // their records interleaved in time and some read twice (a record moving between places).
    const places = Array.from({ length: 12 }, (_, p) => Array.from({ length: 40 }, (_, i) => record(i * 12 + p, `id-${i * 12 + p}`, 200_000)));
    places[11].push(places[10][39], places[3][5]);
    for (const limit of [1, 30, 10_000]) {
      const gathered = new NewestRecords<CloudTrailRecord>(limit, (r) => r);
      for (const place of places) gathered.add(place);
      const all = [...new Map(places.flat().map((r) => [r.eventID, r])).values()].sort(byEventOrder);
      const expected = newestWithin(all, limit, (r) => r);
      const got = gathered.result();
      expect(got.kept.map((r) => r.eventID), `limit ${limit}`).toEqual(expected.kept.map((r) => r.eventID));
      expect(got.truncated).toBe(true);
      expect(gathered.peakChars).toBeLessThanOrEqual(3 * MAX_TAIL_CHARS + 2 * 200_300);
      expect(gathered.peakChars).toBeLessThan(places.flat().length * 200_000);
    }
  });

  it("is not truncated when everything fits", () => {
    const gathered = new NewestRecords<CloudTrailRecord>(100, (r) => r);
    gathered.add([record(2, "b", 10), record(1, "a", 10)]);
    gathered.add([record(3, "c", 10), record(1, "a", 10)]);
    expect(gathered.result()).toEqual({ kept: [record(1, "a", 10), record(2, "b", 10), record(3, "c", 10)], truncated: false });
  });
});
