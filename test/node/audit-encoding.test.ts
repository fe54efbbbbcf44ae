// The stored form of audit records (docs/formats.md, "Audit storage"): JSON text encoded once,
// joined into a log body that is byte-identical to JSON.stringify of the records.
import { describe, expect, it } from "vitest";
import { byEventOrder, completeRecord, encodeRecord, isoSeconds, joinRecords, logObject, newEventId, rowRecords, type AuditDraft } from "../../src/audit/record.js";

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
    // Each text a row of its own (storage v2), as delivery reads them.
    const body = logObject(records.map((r) => encodeRecord(r).json)).body;
    expect(new TextDecoder().decode(body)).toBe(JSON.stringify({ Records: records }));
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({ Records: records });
    expect(new TextDecoder().decode(logObject([]).body)).toBe(JSON.stringify({ Records: [] }));
  });

  it("a row of storage v3 gives back its records, also when their strings hold newlines; v2 and v1 rows give one", () => {
    const tricky = { ...records[0], userAgent: "line 1\nline 2\r\n\u2028\u2029 \\n" };
    const all = [tricky, ...records.slice(1)];
    const row = joinRecords(all.map((r) => encodeRecord(r).json));
    expect(rowRecords(row).map((j) => JSON.parse(j))).toEqual(all);
    expect(new TextDecoder().decode(logObject([row]).body)).toBe(JSON.stringify({ Records: all }));
    expect(rowRecords(encodeRecord(tricky).json).map((j) => JSON.parse(j))).toEqual([tricky]); // v2
    expect(rowRecords(tricky).map((j) => JSON.parse(j))).toEqual([tricky]); // v1
  });
});

describe("what allowed a call, in the record", () => {
  // The vault records its authorizer's basis as additionalEventData.authorization: once the last
  // member after the record's own (a copy of the completed record with it set), now set as the
  // record is completed. The JSON text must be the same either way, member order included.
  const withBasis = (r: ReturnType<typeof completeRecord>, basis: string) => ({ ...r, additionalEventData: { ...(r.additionalEventData ?? {}), authorization: basis } });
  const keyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  for (const [name, d] of [
    ["a draft without additionalEventData", draft("2026-11-28T23:01:04Z", "Encrypt")],
    ["a batch entry's draft", { ...draft("2026-11-28T23:01:04Z", "Encrypt"), additionalEventData: { batchOperation: "BatchEncrypt", batchIndex: 7 } }],
  ] as const) {
    for (const outcome of [{ keyArn }, { keyArn, errorCode: "DisabledException", errorMessage: "x" }, { responseElements: { keyId: keyArn } }]) {
      it(`${name}, ${outcome.errorCode ?? "success"}: the same JSON as the record with the basis added after`, () => {
        const made = completeRecord(d, { ...outcome, authorization: "key policy" });
        expect(JSON.stringify(made)).toBe(JSON.stringify(withBasis(completeRecord(d, outcome), "key policy")));
        // Without a basis, none is added.
        expect(completeRecord(d, outcome).additionalEventData).toEqual(d.additionalEventData);
        // The draft is not changed.
        expect("authorization" in (d.additionalEventData ?? {})).toBe(false);
      });
    }
  }

  it("records of one key, then of another, each get their own key's resources, with its account", () => {
    const other = "arn:aws:kms:us-east-1:444455556666:key/abcd";
    const [a, b, c] = [keyArn, keyArn, other].map((k) => completeRecord(draft("2026-11-28T23:01:04Z", "Encrypt"), { keyArn: k }));
    expect(a.resources).toEqual([{ accountId: "111122223333", type: "AWS::KMS::Key", ARN: keyArn }]);
    expect(c.resources).toEqual([{ accountId: "444455556666", type: "AWS::KMS::Key", ARN: other }]);
    expect(b.resources).toEqual(a.resources);
  });
});

describe("event ids", () => {
  it("are UUIDs of version 7 (RFC 9562) that sort in the order they were made, within a millisecond too", () => {
    const at = Date.UTC(2026, 11, 2, 18, 41, 9, 123);
    const ids = [
      ...Array.from({ length: 300 }, () => newEventId(at)), // one millisecond: the counter orders them
      ...Array.from({ length: 300 }, (_, i) => newEventId(at + 1 + i)),
    ];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0].replace("-", "").slice(0, 12)).toBe(at.toString(16).padStart(12, "0"));
    expect(new Set(ids).size).toBe(ids.length);
    const records = ids.map((eventID) => ({ eventTime: isoSeconds(at), eventID }));
    expect([...records].reverse().sort(byEventOrder)).toEqual(records);
    // eventTime first: an earlier second sorts first whatever its id
    expect(byEventOrder({ eventTime: "2026-12-02T18:41:08Z", eventID: ids.at(-1)! }, records[0])).toBeLessThan(0);
  });
});
