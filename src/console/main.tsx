// The EdgeKMS console: a single-page app served by the Worker at /console (src/console-route.ts),
// built by scripts/build-console.mjs. Pages are chosen by the URL's hash (#/keys, #/keys/<id>,
// #/create, #/audit, #/identities). See docs/console.md.
import { render, useEffect, useState } from "hono/jsx/dom";
import { ApiError, REGIONS, admin, clearSession, loadSession, saveSession, type Session } from "./api.js";
import { ErrorNote, SessionContext, decodePart, navigate } from "./ui.js";
import { KeysPage } from "./pages/keys.js";
import { CreateKeyPage } from "./pages/create-key.js";
import { KeyPage } from "./pages/key.js";
import { AuditPage } from "./pages/audit.js";
import { IdentitiesPage } from "./pages/identities.js";


function useHash(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || "/keys");
  useEffect(() => {
    const on = () => setHash(location.hash.slice(1) || "/keys");
    addEventListener("hashchange", on);
    // A change between the first render and this effect would otherwise be missed.
    on();
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const s: Session = { accessKeyId: String(f.get("accessKeyId")).trim(), secretAccessKey: String(f.get("secretAccessKey")).trim(), region: String(f.get("region")) };
    setBusy(true);
    setError(undefined);
    try {
      // A signed call every principal may make (GetCallerIdentity, about itself) proves the
      // credentials before anything is stored, whatever the caller's permissions.
      const who = await admin<{ Arn: string }>(s, "GetCallerIdentity");
      s.principal = who.Arn;
      saveSession(s);
      onSignIn(s);
    } catch (err) {
      setError(err instanceof ApiError && /Signature|Unrecognized|Token/.test(err.type) ? new ApiError(err.type, `Sign-in failed: ${err.message || "the access key or secret is wrong."}`, err.status) : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>EdgeKMS console</h1>
      <form onSubmit={submit} aria-describedby="signin-error">
        <label>Access key ID <input name="accessKeyId" required autocomplete="username" spellcheck={false} /></label>
        <label>Secret access key <input name="secretAccessKey" type="password" required autocomplete="off" /></label>
        <label>Region
          <select name="region">{REGIONS.map((r) => <option value={r}>{r}</option>)}</select>
        </label>
        <p class="hint">Use an access key of your account: <code>npm start</code> prints the first one (the bootstrap account's root). The secret stays in this browser tab (session storage); every request is signed here.</p>
        <button type="submit" class="primary" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        <ErrorNote error={error} id="signin-error" />
      </form>
    </main>
  );
}

function Shell({ session, onSignOut, onRegion }: { session: Session; onSignOut: () => void; onRegion: (r: string) => void }) {
  const hash = useHash();
  const [, section, rawId] = hash.split("/");
  const id = rawId ? decodePart(rawId) : undefined;
  const page = rawId && id === undefined ? <section><h1>Page not found</h1><p>This link is malformed. <a href="#/keys">Go to the keys list</a>.</p></section>
    : section === "keys" && id ? <KeyPage keyId={id} />
    : section === "create" ? <CreateKeyPage />
    : section === "audit" ? <AuditPage keyId={id} />
    : section === "identities" ? <IdentitiesPage />
    : <KeysPage />;
  const link = (to: string, label: string) => <a href={`#${to}`} aria-current={`/${section}` === to ? "page" : undefined}>{label}</a>;
  return (
    <SessionContext.Provider value={session}>
      <header>
        <a class="brand" href="#/keys">EdgeKMS</a>
        <nav aria-label="Sections">{link("/keys", "Keys")}{link("/audit", "Audit")}{link("/identities", "Identities")}</nav>
        <label class="region">Region
          <select value={session.region} onChange={(e: Event) => onRegion((e.target as HTMLSelectElement).value)}>
            {REGIONS.map((r) => <option value={r} selected={r === session.region}>{r}</option>)}
          </select>
        </label>
        <span class="who" title={`Access key ID ${session.accessKeyId}`}>Signed in as {session.principal ?? session.accessKeyId}</span>
        <button type="button" onClick={onSignOut}>Sign out</button>
      </header>
      <main key={`${session.region} ${hash}`}>{page}</main>
    </SessionContext.Provider>
  );
}

function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession());
  if (!session) return <SignIn onSignIn={setSession} />;
  return (
    <Shell
      session={session}
      onSignOut={() => {
        clearSession();
        setSession(undefined);
      }}
      onRegion={(region) => {
        const s = { ...session, region };
        saveSession(s);
        setSession(s);
        navigate("/keys");
      }}
    />
  );
}

render(<App />, document.getElementById("app")!);
