// Delivery reads each record's eventTime from its JSON text without parsing it (eventTimeOf): it
// must be the record's own, whatever a caller put in strings or maps of the record.
import { describe, expect, it } from "vitest";
import { completeRecord, encodeRecord, eventTimeOf, joinRecords, logObject, rowRecords, serviceEvent, unauthenticatedAggregate, type AuditDraft } from "../../src/audit/record.js";

/** The reference a log body is held to: `{"Records":[…]}` of the records' JSON texts, one string encoded at once. */
const logBody = (recordsJson: string[]): Uint8Array => new TextEncoder().encode(`{"Records":[${recordsJson.join(",")}]}`);

const draft = (eventTime: string, over: Partial<AuditDraft> = {}): AuditDraft => ({
  eventVersion: "1.08",
  userIdentity: { type: "IAMUser", principalId: "AKIAEXAMPLE", arn: 'arn:aws:iam::111122223333:user/"eventTime":"1999-01-01T00:00:00Z"', accountId: "111122223333", accessKeyId: "AKIAEXAMPLE" },
  eventTime,
  eventSource: "kms.amazonaws.com",
  eventName: "Encrypt",
  awsRegion: "us-east-1",
  sourceIPAddress: "192.0.2.1",
  userAgent: '\\"eventTime\\":\\"1998-01-01T00:00:00Z',
  requestParameters: { keyId: "alias/x", encryptionContext: { eventTime: "1997-01-01T00:00:00Z", '"eventTime":"': "1996-01-01T00:00:00Z" } },
  requestID: crypto.randomUUID(),
  eventID: crypto.randomUUID(),
  readOnly: true,
  eventType: "AwsApiCall",
  managementEvent: true,
  recipientAccountId: "111122223333",
  eventCategory: "Management",
  ...over,
});

describe("eventTimeOf", () => {
  it("is the record's own eventTime, whatever its strings and maps hold", () => {
    const records = [
      completeRecord(draft("2026-11-28T23:01:04Z"), { keyArn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" }),
      completeRecord(draft("2026-11-28T23:01:05Z", { additionalEventData: { eventTime: "1995-01-01T00:00:00Z" } }), { errorCode: "X", errorMessage: '"eventTime":"1994-01-01T00:00:00Z"' }),
      serviceEvent("RotateKey", "us-east-1", "111122223333", "arn:aws:kms:us-east-1:111122223333:key/k", Date.parse("2026-11-28T23:01:06Z")),
      unauthenticatedAggregate("us-east-1", "111122223333", { source: "192.0.2.1", count: 3, firstEventTime: "1993-01-01T00:00:00Z", lastEventTime: "2026-11-28T23:01:07Z", errorCodes: {}, eventNames: {} }, 10),
    ];
    for (const r of records) expect(eventTimeOf(encodeRecord(r).json)).toBe(r.eventTime);
    // And in one row of all of them, as delivery reads stored rows: each record's own time counts.
    const row = joinRecords(records.map((r) => encodeRecord(r).json));
    const times = records.map((r) => r.eventTime).sort();
    for (const order of [records, [...records].reverse()]) {
      const o = logObject([joinRecords(order.map((r) => encodeRecord(r).json))]);
      expect([o.count, o.oldestEventTime, o.newestEventTime]).toEqual([records.length, times[0], times.at(-1)]);
    }
    expect(new TextDecoder().decode(logObject([row]).body)).toBe(JSON.stringify({ Records: records }));
  });

  it("a log object of rows of every storage version is logBody of their records, with their count and times", () => {
    const records = ["2026-11-28T23:01:09Z", "2026-11-28T23:01:02Z", "2026-11-28T23:01:11Z", "2026-11-28T23:01:05Z"].map((t) => completeRecord(draft(t), {}));
    const jsons = records.map((r) => encodeRecord(r).json);
    // v3 rows (texts joined by newlines), a v2 row (one text) and a v1 row (the record object).
    const rows: unknown[] = [joinRecords(jsons.slice(0, 2)), jsons[2], records[3]];
    const o = logObject(rows);
    expect(o.body).toEqual(logBody(rows.flatMap(rowRecords)));
    expect(JSON.parse(new TextDecoder().decode(o.body))).toEqual({ Records: records });
    expect([o.count, o.oldestEventTime, o.newestEventTime]).toEqual([4, "2026-11-28T23:01:02Z", "2026-11-28T23:01:11Z"]);
    expect(logObject([]).count).toBe(0);
    // Text beyond ASCII (more UTF-8 bytes than code units) is encoded whole.
    const wide = [completeRecord(draft("2026-11-28T23:01:03Z", { userAgent: "é \u2028 😀 \"q\" \\n" }), {}), records[0]];
    const wideRows = [joinRecords(wide.map((r) => encodeRecord(r).json))];
    expect(logObject(wideRows).body).toEqual(logBody(wideRows.flatMap(rowRecords)));
    expect(JSON.parse(new TextDecoder().decode(logObject(wideRows).body))).toEqual({ Records: wide });
  });

  it("parses a text whose members come in another order", () => {
    const r = draft("2026-11-28T23:01:08Z");
    const { eventTime, ...rest } = r;
    const reordered = JSON.stringify({ ...rest, eventTime });
    expect(eventTimeOf(reordered)).toBe(eventTime);
    expect(eventTimeOf(JSON.stringify({ eventTime: "not a time", x: 1 }))).toBe("not a time");
  });
});
