// Audit: the account's recent CloudTrail records in this region (admin AuditTail), including
// those not yet delivered to R2, newest first, each expandable to its JSON. Event name and key
// are filtered by the server; the principal filter and hiding read-only calls apply here, to the
// records loaded. Only
// the account root (for its own account) and the operator may call AuditTail (rootOnly in
// src/admin/handler.ts, decided in src/authz/authorize.ts).
import { useState } from "hono/jsx/dom";
import { ApiError, admin, kms, type Session } from "../api.js";
import { Busy, ErrorNote, useLoad, useSession } from "../ui.js";

interface AuditRecord {
  eventTime: string;
  eventName: string;
  eventSource: string;
  eventID: string;
  sourceIPAddress: string;
  readOnly?: boolean;
  errorCode?: string;
  errorMessage?: string;
  userIdentity: { type?: string; arn?: string; accessKeyId?: string; accountId?: string };
  resources?: { ARN: string }[];
}
interface Entry { Delivered: boolean; Record: AuditRecord }

/** Common event names, offered by the Event name field (any name may be typed). */
const EVENT_NAMES = [
  "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey", "DeriveSharedSecret",
  "GenerateRandom", "CreateKey", "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "ScheduleKeyDeletion",
  "CancelKeyDeletion", "DeleteKey", "GetKeyPolicy", "PutKeyPolicy", "CreateAlias", "UpdateAlias", "DeleteAlias",
  "ListAliases", "TagResource", "UntagResource", "UpdateKeyDescription", "CreateGrant", "RevokeGrant", "RetireGrant",
  "ListGrants", "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "RotateKey", "ListKeyRotations",
  "CreateUser", "CreateAccessKey", "DeleteAccessKey", "PutUserPolicy", "DeleteUserPolicy", "ListUsers", "AuditTail",
];
const LIMITS = [50, 100, 500];

interface Filters { eventName: string; key: string; limit: number; run: number }

const principalOf = (r: AuditRecord): string => r.userIdentity?.arn ?? r.userIdentity?.accessKeyId ?? r.userIdentity?.type ?? "–";

/** An alias (alias/… or its ARN) names no record's resource: it is resolved to its key's ARN first. */
async function keyFilter(session: Session, key: string): Promise<string | undefined> {
  if (!key) return undefined;
  if (!/^alias\/|^arn:[^:]+:kms:[^:]*:\d*:alias\//.test(key)) return key;
  return (await kms<{ KeyMetadata: { Arn: string } }>(session, "DescribeKey", { KeyId: key })).KeyMetadata.Arn;
}

async function loadTail(session: Session, f: Filters): Promise<Entry[]> {
  const keyId = await keyFilter(session, f.key);
  try {
    const out = await admin<{ Entries: Entry[] }>(session, "AuditTail", {
      Limit: f.limit, ...(f.eventName ? { EventName: f.eventName } : {}), ...(keyId ? { KeyId: keyId } : {}),
    });
    // Event times are whole seconds; within one, a delivered record is the older (a flush delivers all there is).
    return out.Entries.map((e, i) => ({ e, i }))
      .sort((a, b) => a.e.Record.eventTime.localeCompare(b.e.Record.eventTime) || Number(b.e.Delivered) - Number(a.e.Delivered) || a.i - b.i)
      .map(({ e }) => e).reverse();
  } catch (e) {
    if (e instanceof ApiError && e.type === "AccessDeniedException" && /account root/.test(e.message)) {
      throw new ApiError(e.type, `${e.message.replace(/\.?$/, ".")} The audit trail is readable only by the account root (in its own account) and the operator: sign in with the account root's access key to see it.`, e.status);
    }
    throw e;
  }
}

/** Text with line-break opportunities after ARN separators and before inner capitals ("AccessDenied|Exception"). */
const breakable = (text: string) =>
  text.split(/(?<=[:/])|(?<=[a-z])(?=[A-Z])/).flatMap((part, i) => (i ? [<wbr />, part] : [part]));

/** A label shown above the value on narrow screens, and only to screen readers on wide ones. */
const Label = ({ text }: { text: string }) => <span class="audit-label">{text}: </span>;

function RecordItem({ entry }: { entry: Entry }) {
  const r = entry.Record;
  const [open, setOpen] = useState(false);
  const result = r.errorCode ?? "Success";
  const keyArn = r.resources?.[0]?.ARN;
  const keyId = keyArn?.split(":key/")[1];
  return (
    <li>
      <details onToggle={(e: Event) => setOpen((e.target as HTMLDetailsElement).open)}>
        <summary class="audit-row">
          <span class="audit-event">{breakable(r.eventName)}</span>
          <span class="audit-time"><Label text="Time" /><time datetime={r.eventTime}>{new Date(r.eventTime).toLocaleString()}</time></span>
          <span class="audit-wrap"><Label text="Principal" />{breakable(principalOf(r))}</span>
          <span><Label text="Source IP" />{r.sourceIPAddress}</span>
          <span class={r.errorCode ? "audit-failed" : "audit-ok"}><Label text="Result" />{breakable(result)}</span>
          <span class="audit-wrap"><Label text="Key" />{keyArn ? breakable(keyArn) : "–"}</span>
          <span class={entry.Delivered ? "" : "audit-pending"}>{entry.Delivered ? "Delivered" : "Pending delivery"}</span>
        </summary>
        {open && (
          <div class="audit-json">
            {keyId && <p><a href={`#/keys/${encodeURIComponent(keyId)}`}>Open key {keyId}</a></p>}
            <pre tabindex={0} aria-label={`Record ${r.eventID} as JSON`}>{JSON.stringify(r, null, 2)}</pre>
          </div>
        )}
      </details>
    </li>
  );
}

export function AuditPage({ keyId }: { keyId?: string }) {
  const session = useSession();
  const [eventName, setEventName] = useState("");
  const [key, setKey] = useState(keyId ?? "");
  const [limit, setLimit] = useState(LIMITS[0]!);
  const [principal, setPrincipal] = useState("");
  // Calls CloudTrail marks readOnly (reads, and cryptographic use: Encrypt, Decrypt…) can be hidden, leaving those that changed something.
  const [hideReadOnly, setHideReadOnly] = useState(false);
  const [applied, setApplied] = useState<Filters>({ eventName: "", key: keyId ?? "", limit: LIMITS[0]!, run: 0 });
  const { data: entries, error, loading } = useLoad(() => loadTail(session, applied), [applied]);

  const apply = (next: Partial<Filters> = {}) => {
    const f = { eventName: eventName.trim(), key: key.trim(), limit, ...next, run: applied.run + 1 };
    setApplied(f);
    // The URL names the key filter (#/audit/<key>), without reloading the page.
    history.replaceState(null, "", `#/audit${f.key ? `/${encodeURIComponent(f.key)}` : ""}`);
  };
  const q = principal.trim().toLowerCase();
  const shown = (entries ?? []).filter((e) => (!hideReadOnly || e.Record.readOnly !== true) && (!q
    || (e.Record.userIdentity?.arn ?? "").toLowerCase().includes(q)
    || (e.Record.userIdentity?.accessKeyId ?? "").toLowerCase().includes(q)));
  const local = Boolean(q || hideReadOnly);
  const filtered = Boolean(applied.eventName || applied.key || local);

  return (
    <section aria-labelledby="audit-title">
      <div class="title-row">
        <h1 id="audit-title">Audit</h1>
        {applied.key && !applied.key.startsWith("alias/") && !applied.key.includes(":alias/") && (
          <a href={`#/keys/${encodeURIComponent(applied.key.split(":key/").pop()!)}`}>Back to key</a>
        )}
      </div>
      <p class="hint">
        The most recent records of this account's calls in {session.region}, newest first, including those not yet delivered
        to the audit bucket. Only the account root and the operator may read them.
      </p>
      <form class="filters audit-filters" role="search" aria-label="Audit filters" onSubmit={(e: Event) => { e.preventDefault(); apply(); }}>
        <label>Event name
          <input name="eventName" list="audit-event-names" value={eventName} autocomplete="off" spellcheck={false} placeholder="Any"
            onInput={(e: Event) => setEventName((e.target as HTMLInputElement).value)} />
        </label>
        <datalist id="audit-event-names">{EVENT_NAMES.map((n) => <option value={n} />)}</datalist>
        <label>Principal
          <input name="principal" type="search" value={principal} autocomplete="off" spellcheck={false} placeholder="ARN or access key ID"
            aria-describedby="audit-principal-hint" onInput={(e: Event) => setPrincipal((e.target as HTMLInputElement).value)} />
        </label>
        <label>Key
          <input name="key" value={key} autocomplete="off" spellcheck={false} placeholder="Key ID, ARN or alias"
            onInput={(e: Event) => setKey((e.target as HTMLInputElement).value)} />
        </label>
        <label>Limit
          <select name="limit" value={String(limit)} onChange={(e: Event) => { const n = Number((e.target as HTMLSelectElement).value); setLimit(n); apply({ limit: n }); }}>
            {LIMITS.map((n) => <option value={String(n)} selected={n === limit}>{n}</option>)}
          </select>
        </label>
        <label class="choice">
          <input type="checkbox" name="hideReadOnly" checked={hideReadOnly} aria-describedby="audit-principal-hint"
            onChange={(e: Event) => setHideReadOnly((e.target as HTMLInputElement).checked)} />
          Hide read-only calls
        </label>
        <button type="submit" class="primary" disabled={loading}>Refresh</button>
        <p class="hint audit-hint" id="audit-principal-hint">The principal filter and hiding read-only calls apply at once, to the records loaded; the others on Refresh.</p>
      </form>
      {loading && <Busy label="Loading audit records…" />}
      <ErrorNote error={error} />
      {entries && !error && (
        <>
          {shown.length > 0 && (
            <p class="audit-count">
              {local ? `${shown.length} of ${entries.length} records` : `${entries.length} ${entries.length === 1 ? "record" : "records"}`}
              {entries.length === applied.limit ? ` (the most recent ${applied.limit})` : ""}
            </p>
          )}
          {shown.length === 0 ? (
            <p class="audit-empty">{filtered ? `No records match these filters${local ? ` (among the ${entries.length} loaded)` : ""}.` : `No audit records yet in ${session.region}.`}</p>
          ) : (
            <>
              <div class="audit-row audit-head" aria-hidden="true">
                <span>Event name</span><span>Time</span><span>Principal</span><span>Source IP</span><span>Result</span><span>Key</span><span>Delivery</span>
              </div>
              <ol class="audit-list" aria-label="Audit records, newest first">
                {shown.map((e) => <RecordItem key={e.Record.eventID} entry={e} />)}
              </ol>
            </>
          )}
        </>
      )}
    </section>
  );
}
