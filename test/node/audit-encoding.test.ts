// The stored form of audit records (docs/formats.md, "Audit storage"): JSON text encoded once,
// joined into a log body that is byte-identical to JSON.stringify of the records.
import { describe, expect, it } from "vitest";
import { completeRecord, encodeRecord, joinRecords, logBody, rowRecords, type AuditDraft } from "../../src/audit/record.js";

const draft = (eventTime: string, eventName: string): AuditDraft => ({
  eventVersion: "1.08",
  userIdentity: { type: "Root", principalId: "111122223333", arn: "arn:aws:iam::111122223333:root", accountId: "111122223333", accessKeyId: "AKIAEXAMPLE" },
  eventTime,
  eventSource: "kms.amazonaws.com",
  eventName,
  awsRegion: "us-east-1",
  sourceIPAddress: "192.0.2.1",
  userAgent: "ua \"quoted\" \u2028 é",
  requestParameters: { keyId: "alias/x", encryptionContext: { "a:b": "c,d", "{": "]" } },
  requestID: crypto.randomUUID(),
  eventID: crypto.randomUUID(),
  readOnly: true,
  eventType: "AwsApiCall",
  managementEvent: true,
  recipientAccountId: "111122223333",
  eventCategory: "Management",
});

/** The event time in a storage key `r:<eventTime>:<eventID>` (docs/formats.md). */
const eventTimeOfKey = (key: string): string => key.slice(2, key.lastIndexOf(":"));

describe("audit record encoding", () => {
  const records = [
    completeRecord(draft("2026-11-28T23:01:04Z", "Encrypt"), { keyArn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" }),
    completeRecord(draft("2026-11-28T23:01:05Z", "Decrypt"), { errorCode: "InvalidCiphertextException", errorMessage: "" }),
    completeRecord(draft("2026-11-28T23:01:05Z", "CreateKey"), { responseElements: { keyMetadata: { KeyId: "k", Enabled: true, EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] } } }),
  ];

  it("keys sort by event time and give the event time back", () => {
    const keys = records.map((r) => encodeRecord(r).key);
    expect(keys.map(eventTimeOfKey)).toEqual(records.map((r) => r.eventTime));
    expect([...keys].sort().map(eventTimeOfKey)).toEqual(records.map((r) => r.eventTime).sort());
    expect(keys[0]).toBe(`r:2026-11-28T23:01:04Z:${records[0].eventID}`);
  });

  it("a log body from the encoded texts is the bytes of JSON.stringify({ Records })", () => {
    const body = logBody(records.map((r) => encodeRecord(r).json));
    expect(new TextDecoder().decode(body)).toBe(JSON.stringify({ Records: records }));
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({ Records: records });
    expect(new TextDecoder().decode(logBody([]))).toBe(JSON.stringify({ Records: [] }));
  });

  it("a row of storage v3 gives back its records, also when their strings hold newlines; v2 and v1 rows give one", () => {
    const tricky = { ...records[0], userAgent: "line 1\nline 2\r\n\u2028\u2029 \\n" };
    const all = [tricky, ...records.slice(1)];
    const row = joinRecords(all.map((r) => encodeRecord(r).json));
    expect(rowRecords(row).map((j) => JSON.parse(j))).toEqual(all);
    expect(new TextDecoder().decode(logBody(rowRecords(row)))).toBe(JSON.stringify({ Records: all }));
    expect(rowRecords(encodeRecord(tricky).json).map((j) => JSON.parse(j))).toEqual([tricky]); // v2
    expect(rowRecords(tricky).map((j) => JSON.parse(j))).toEqual([tricky]); // v1
  });
});
