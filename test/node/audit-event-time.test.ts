// Delivery reads each record's eventTime from its JSON text without parsing it (eventTimeOf): it
// must be the record's own, whatever a caller put in strings or maps of the record.
import { describe, expect, it } from "vitest";
import { completeRecord, encodeRecord, eventTimeOf, serviceEvent, unauthenticatedAggregate, type AuditDraft } from "../../src/audit/record.js";

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
  });

  it("parses a text whose members come in another order", () => {
    const r = draft("2026-11-28T23:01:08Z");
    const { eventTime, ...rest } = r;
    const reordered = JSON.stringify({ ...rest, eventTime });
    expect(eventTimeOf(reordered)).toBe(eventTime);
    expect(eventTimeOf(JSON.stringify({ eventTime: "not a time", x: 1 }))).toBe("not a time");
  });
});
