// Keys: customer managed and AWS managed tabs, search and filters, pages of 50. ListKeys and
// ListAliases give every key and alias at once, so the list and its count show right away (a
// key with an alias/aws/ alias is AWS managed). DescribeKey fills in the rows of the page shown
// (six at a time: a browser opens about six connections to one host), and every row only while
// a filter or search needs their details; each call is a record in the audit trail, so the
// page makes no more of them than it shows. GetKeyRotationStatus only for the symmetric keys on
// the page shown. An AccessDenied stops the describing (one error, not one per key).
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { ApiError, kms, listAll, type Session } from "../api.js";
import { Busy, ErrorNote, useLoad, useSession, when } from "../ui.js";

export interface KeyRow {
  KeyId: string;
  Arn: string;
  KeyState?: string;
  KeySpec?: string;
  KeyUsage?: string;
  KeyManager: string;
  Description?: string;
  CreationDate?: number;
  aliases: string[];
  /** DescribeKey has filled in the row. */
  described: boolean;
}

const PAGE = 50;
const PARALLEL = 6;

async function listRows(session: Session): Promise<KeyRow[]> {
  const [keys, aliases] = await Promise.all([
    listAll<{ KeyId: string; KeyArn: string }>(session, "ListKeys", {}, "Keys"),
    listAll<{ AliasName: string; TargetKeyId?: string }>(session, "ListAliases", {}, "Aliases", 100),
  ]);
  const byKey = new Map<string, string[]>();
  for (const a of aliases) if (a.TargetKeyId) byKey.set(a.TargetKeyId, [...(byKey.get(a.TargetKeyId) ?? []), a.AliasName]);
  return keys.map((k) => {
    const names = (byKey.get(k.KeyId) ?? []).sort();
    return { KeyId: k.KeyId, Arn: k.KeyArn, aliases: names, KeyManager: names.some((n) => n.startsWith("alias/aws/")) ? "AWS" : "CUSTOMER", described: false };
  });
}

/**
 * Describes rows, `PARALLEL` at a time, those asked for last first (the page shown), and
 * reports each as it comes.
 */
class Describer {
  private readonly queue: string[] = [];
  private readonly started = new Set<string>();
  private running = 0;
  private stopped = false;
  constructor(private readonly session: Session, private readonly done: (row: Partial<KeyRow> & { KeyId: string }, error?: unknown) => void) {}
  /** The page is gone: no more calls, and no more reports. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }
  want(ids: string[], first = false): void {
    if (this.stopped) return;
    const fresh = ids.filter((id) => !this.started.has(id));
    if (first) this.queue.unshift(...fresh);
    else this.queue.push(...fresh);
    while (this.running < PARALLEL && this.queue.length) this.next();
  }
  private next(): void {
    const id = this.queue.shift()!;
    if (this.started.has(id)) {
      if (this.queue.length) this.next();
      return;
    }
    this.started.add(id);
    this.running++;
    kms<{ KeyMetadata: Omit<KeyRow, "aliases" | "described"> }>(this.session, "DescribeKey", { KeyId: id })
      .then((r) => this.stopped || this.done({ ...r.KeyMetadata, described: true }), (e) => this.stopped || this.done({ KeyId: id }, e))
      .finally(() => {
        this.running--;
        while (this.running < PARALLEL && this.queue.length) this.next();
      });
  }
}

function RotationCell({ row }: { row: KeyRow }) {
  const session = useSession();
  const [status, setStatus] = useState<string | undefined>(undefined);
  const asks = row.KeySpec === "SYMMETRIC_DEFAULT" && row.KeyState !== "PendingDeletion" && row.KeyState !== "PendingReplicaDeletion";
  useEffect(() => {
    if (!asks) return;
    kms<{ KeyRotationEnabled: boolean; RotationPeriodInDays?: number }>(session, "GetKeyRotationStatus", { KeyId: row.KeyId })
      .then((r) => setStatus(r.KeyRotationEnabled ? `Every ${r.RotationPeriodInDays} days` : "Off"), () => setStatus("?"));
  }, [row.KeyId, asks]);
  return <td>{!row.described ? "…" : asks ? status ?? "…" : "–"}</td>;
}

export function KeysPage() {
  const session = useSession();
  const { data: listed, error, loading, reload } = useLoad(() => listRows(session), []);
  const [details, setDetails] = useState<Map<string, Partial<KeyRow>>>(new Map());
  const [describeError, setDescribeError] = useState<unknown>(undefined);
  const describer = useRef<Describer | undefined>(undefined);
  const [tab, setTab] = useState<"CUSTOMER" | "AWS">("CUSTOMER");
  const [search, setSearch] = useState("");
  const [state, setState] = useState("");
  const [spec, setSpec] = useState("");
  const [page, setPage] = useState(0);

  // A new listing: a new describer (the last one stopped), which works through every key in
  // the background; the page's end stops it, so it holds none of the browser's few connections.
  const described_for = useRef<KeyRow[] | undefined>(undefined);
  useEffect(() => {
    if (!listed || described_for.current === listed) return;
    described_for.current = listed;
    describer.current?.stop();
    setDetails(new Map());
    const d = new Describer(session, (row, e) => {
      if (!e) setDetails((m) => new Map(m).set(row.KeyId, row));
      else {
        setDescribeError(e);
        if (e instanceof ApiError && e.type === "AccessDeniedException") d.stop();
      }
    });
    describer.current = d;
  }, [listed]);
  useEffect(() => () => describer.current?.stop(), []);

  const rows = listed?.map((r) => ({ ...r, ...details.get(r.KeyId) }) as KeyRow);
  const inTab = rows?.filter((r) => r.KeyManager === tab) ?? [];
  const described = inTab.filter((r) => r.described).length;
  const q = search.trim().toLowerCase();
  const shown = (rows ?? []).filter((r) => r.KeyManager === tab
    && (!state || r.KeyState === state) && (!spec || r.KeySpec === spec)
    && (!q || r.KeyId.includes(q) || (r.Description ?? "").toLowerCase().includes(q) || r.aliases.some((a) => a.toLowerCase().includes(q))));
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const current = Math.min(page, pages - 1);
  const visible = shown.slice(current * PAGE, (current + 1) * PAGE);
  const specs = [...new Set((rows ?? []).flatMap((r) => (r.KeySpec ? [r.KeySpec] : [])))].sort();
  // The page shown is described first; every key only while a filter or search needs them.
  const filtering = Boolean(state || spec || q);
  const visibleIds = visible.filter((r) => !r.described).map((r) => r.KeyId);
  useEffect(() => {
    if (visibleIds.length) describer.current?.want(visibleIds, true);
  }, [visibleIds.join(","), listed]);
  useEffect(() => {
    if (filtering && listed) describer.current?.want(listed.filter((r) => r.KeyManager === tab).map((r) => r.KeyId));
  }, [filtering, tab, listed]);

  return (
    <section aria-labelledby="keys-title">
      <div class="title-row">
        <h1 id="keys-title">Keys</h1>
        <a class="button primary" href="#/create">Create key</a>
        <button type="button" onClick={reload}>Refresh</button>
      </div>
      <div role="tablist" aria-label="Key managers" class="tabs">
        {(["CUSTOMER", "AWS"] as const).map((t) => (
          <button type="button" role="tab" aria-selected={tab === t ? "true" : "false"} onClick={() => { setTab(t); setPage(0); }}>
            {t === "CUSTOMER" ? "Customer managed keys" : "AWS managed keys"}
          </button>
        ))}
      </div>
      <div class="filters">
        <label>Search <input type="search" value={search} placeholder="alias, key ID or description" onInput={(e: Event) => { setSearch((e.target as HTMLInputElement).value); setPage(0); }} /></label>
        <label>Status
          <select onChange={(e: Event) => { setState((e.target as HTMLSelectElement).value); setPage(0); }}>
            <option value="">Any</option>
            {["Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion"].map((s) => <option value={s} selected={s === state}>{s}</option>)}
          </select>
        </label>
        <label>Key spec
          <select onChange={(e: Event) => { setSpec((e.target as HTMLSelectElement).value); setPage(0); }}>
            <option value="">Any</option>
            {specs.map((s) => <option value={s} selected={s === spec}>{s}</option>)}
          </select>
        </label>
      </div>
      {loading && <Busy label="Loading keys…" />}
      <ErrorNote error={error} />
      {rows && filtering && !describeError && described < inTab.length && <Busy label={`Loading key details to filter: ${described} of ${inTab.length}`} />}
      <ErrorNote error={describeError} />
      {rows && (
        <>
          <table class="keys">
            <caption>{shown.length} {shown.length === 1 ? "key" : "keys"}</caption>
            <thead><tr><th scope="col">Aliases</th><th scope="col">Key ID</th><th scope="col">Status</th><th scope="col">Key spec</th><th scope="col">Key usage</th><th scope="col">Rotation</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {visible.map((r) => (
                <tr key={r.KeyId}>
                  <td>{r.aliases.length ? r.aliases.join(", ") : "–"}</td>
                  <td><a href={`#/keys/${r.KeyId}`}>{r.KeyId}</a></td>
                  <td class="nowrap">{r.described ? <span class={`state state-${r.KeyState}`}>{r.KeyState}</span> : "…"}</td>
                  <td class="nowrap">{r.KeySpec ?? "…"}</td>
                  <td class="nowrap">{r.KeyUsage ?? "…"}</td>
                  <RotationCell row={r} />
                  <td>{when(r.CreationDate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!shown.length && (
            <p class="hint">
              {q || state || spec ? "No keys match this search and these filters." : tab === "AWS"
                ? `No AWS managed keys in ${session.region} yet: the service makes one when it first needs it.`
                : <>No customer managed keys in {session.region} yet. <a href="#/create">Create a key</a>.</>}
            </p>
          )}
          {pages > 1 && (
            <nav class="pager" aria-label="Pages">
              <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>Previous</button>
              <span>Page {current + 1} of {pages}</span>
              <button type="button" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>Next</button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}
