// Keys: customer managed and AWS managed tabs, search and filters, pages of 50. ListKeys and
// ListAliases give every key and alias; DescribeKey fills each row (16 at a time, rows appear
// as they come); GetKeyRotationStatus only for the symmetric keys on the page shown.
import { useEffect, useState } from "hono/jsx/dom";
import { kms, listAll, type Session } from "../api.js";
import { Busy, ErrorNote, useLoad, useSession, when } from "../ui.js";

export interface KeyRow {
  KeyId: string;
  Arn: string;
  KeyState: string;
  KeySpec: string;
  KeyUsage: string;
  KeyManager: string;
  Description: string;
  CreationDate: number;
  aliases: string[];
}

const PAGE = 50;
const PARALLEL = 16;

/** Maps over items with at most `n` calls in flight, reporting progress. */
export async function pool<T, R>(items: T[], n: number, f: (x: T) => Promise<R>, progress?: (done: number) => void): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0, done = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
      progress?.(++done);
    }
  }));
  return out;
}

async function loadKeys(session: Session, progress: (done: number, total: number) => void): Promise<KeyRow[]> {
  const [keys, aliases] = await Promise.all([
    listAll<{ KeyId: string }>(session, "ListKeys", {}, "Keys"),
    listAll<{ AliasName: string; TargetKeyId?: string }>(session, "ListAliases", {}, "Aliases", 100),
  ]);
  const byKey = new Map<string, string[]>();
  for (const a of aliases) if (a.TargetKeyId) byKey.set(a.TargetKeyId, [...(byKey.get(a.TargetKeyId) ?? []), a.AliasName]);
  progress(0, keys.length);
  return pool(keys, PARALLEL, async (k) => {
    const md = (await kms<{ KeyMetadata: Omit<KeyRow, "aliases"> }>(session, "DescribeKey", { KeyId: k.KeyId })).KeyMetadata;
    return { ...md, aliases: (byKey.get(k.KeyId) ?? []).sort() };
  }, (done) => progress(done, keys.length));
}

function RotationCell({ row }: { row: KeyRow }) {
  const session = useSession();
  const [text, setText] = useState(row.KeySpec === "SYMMETRIC_DEFAULT" ? "…" : "–");
  useEffect(() => {
    if (row.KeySpec !== "SYMMETRIC_DEFAULT" || row.KeyState === "PendingDeletion") return;
    kms<{ KeyRotationEnabled: boolean; RotationPeriodInDays?: number }>(session, "GetKeyRotationStatus", { KeyId: row.KeyId })
      .then((r) => setText(r.KeyRotationEnabled ? `Every ${r.RotationPeriodInDays} days` : "Off"), () => setText("?"));
  }, [row.KeyId]);
  return <td>{text}</td>;
}

export function KeysPage() {
  const session = useSession();
  const [progress, setProgress] = useState<[number, number]>([0, 0]);
  const { data: rows, error, loading, reload } = useLoad(() => loadKeys(session, (d, t) => setProgress([d, t])), []);
  const [tab, setTab] = useState<"CUSTOMER" | "AWS">("CUSTOMER");
  const [search, setSearch] = useState("");
  const [state, setState] = useState("");
  const [spec, setSpec] = useState("");
  const [page, setPage] = useState(0);

  const q = search.trim().toLowerCase();
  const shown = (rows ?? []).filter((r) => r.KeyManager === tab
    && (!state || r.KeyState === state) && (!spec || r.KeySpec === spec)
    && (!q || r.KeyId.includes(q) || r.Description.toLowerCase().includes(q) || r.aliases.some((a) => a.toLowerCase().includes(q))));
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const current = Math.min(page, pages - 1);
  const visible = shown.slice(current * PAGE, (current + 1) * PAGE);
  const specs = [...new Set((rows ?? []).map((r) => r.KeySpec))].sort();

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
            {["Enabled", "Disabled", "PendingDeletion"].map((s) => <option value={s} selected={s === state}>{s}</option>)}
          </select>
        </label>
        <label>Key spec
          <select onChange={(e: Event) => { setSpec((e.target as HTMLSelectElement).value); setPage(0); }}>
            <option value="">Any</option>
            {specs.map((s) => <option value={s} selected={s === spec}>{s}</option>)}
          </select>
        </label>
      </div>
      {loading && <Busy label={progress[1] ? `Loading keys: ${progress[0]} of ${progress[1]}` : "Loading keys…"} />}
      <ErrorNote error={error} />
      {rows && (
        <>
          <table class="keys">
            <caption>{shown.length} {shown.length === 1 ? "key" : "keys"}</caption>
            <thead><tr><th scope="col">Aliases</th><th scope="col">Key ID</th><th scope="col">Status</th><th scope="col">Key spec</th><th scope="col">Key usage</th><th scope="col">Rotation</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {visible.map((r) => (
                <tr>
                  <td>{r.aliases.length ? r.aliases.join(", ") : "–"}</td>
                  <td><a href={`#/keys/${r.KeyId}`}>{r.KeyId}</a></td>
                  <td><span class={`state state-${r.KeyState}`}>{r.KeyState}</span></td>
                  <td>{r.KeySpec}</td>
                  <td>{r.KeyUsage}</td>
                  <RotationCell row={r} />
                  <td>{when(r.CreationDate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
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
