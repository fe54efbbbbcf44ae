// Identities (#/identities, #/identities/<user name>): the users of the signed-in account through
// the admin API (ListUsers, CreateUser, CreateAccessKey, DeleteAccessKey, PutUserPolicy,
// GetUserPolicy, DeleteUserPolicy). A new secret access key is shown once, in this page's state
// only: never stored, gone when dismissed.
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { ApiError, admin, type Session } from "../api.js";
import { Busy, Confirm, ErrorNote, decodePart, useAction, useLoad, useSession, when } from "../ui.js";
import { callerAccount, type IamUser } from "./create-key.js";

interface NewAccessKey { AccountId: string; AccessKeyId: string; SecretAccessKey: string; UserName?: string }

const value = (e: Event) => (e.target as HTMLInputElement).value;

/** The document of an inline policy (admin GetUserPolicy). */
async function policyDocument(session: Session, userName: string, policyName: string): Promise<{ document: string }> {
  const { PolicyDocument } = await admin<{ PolicyDocument: string }>(session, "GetUserPolicy", { UserName: userName, PolicyName: policyName });
  return { document: PolicyDocument };
}

const pretty = (json: string): string => {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
};

function syntaxError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const POLICY_EXAMPLE = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
    "Resource": "arn:aws:kms:*:*:key/*"
  }]
}`;

/** Why the caller may be refused, said plainly next to the service's message. */
function DeniedHint({ error }: { error: unknown }) {
  if (!(error instanceof ApiError) || !/AccessDenied/.test(error.type)) return null;
  return <p class="hint">Identities are managed by the account root, or by an IAM user whose identity policies allow the iam: actions (iam:ListUsers, iam:CreateUser, iam:CreateAccessKey…) on the account's users.</p>;
}

export function IdentitiesPage() {
  const session = useSession();
  const selected = decodePart(location.hash.split("/")[2] ?? "") ?? "";
  const users = useLoad(() => admin<{ Users: IamUser[] }>(session, "ListUsers").then((r) => r.Users.sort((a, b) => a.UserName.localeCompare(b.UserName))), []);
  const account = useLoad(() => callerAccount(session), []);

  if (selected) {
    const user = users.data?.find((u) => u.UserName === selected);
    return (
      <section aria-labelledby="user-title">
        <p class="breadcrumbs"><a href="#/identities">Identities</a> / {selected}</p>
        <h1 id="user-title">User {selected}</h1>
        {users.loading && !users.data && <Busy label="Loading the user…" />}
        <ErrorNote error={users.error} />
        <DeniedHint error={users.error} />
        {users.data && !user && <p class="error" role="alert">The account has no user named {selected}. <a href="#/identities">Back to the users</a></p>}
        {user && <UserDetail user={user} reload={users.reload} />}
      </section>
    );
  }

  return (
    <section aria-labelledby="identities-title">
      <div class="title-row">
        <h1 id="identities-title">Identities</h1>
        <button type="button" onClick={users.reload} disabled={users.loading}>Refresh</button>
      </div>
      <p class="hint">
        The IAM users of {account.data ? `account ${account.data}` : "the account you are signed in to"}, their access keys and inline
        policies. The account root is not listed: it always has full access to the account.
      </p>
      <CreateUser onCreated={users.reload} />
      <h2 id="users-title">Users</h2>
      {users.loading && <Busy label="Loading users…" />}
      <ErrorNote error={users.error} />
      <DeniedHint error={users.error} />
      {users.data && (
        <table class="users" aria-labelledby="users-title">
          <caption>{users.data.length} {users.data.length === 1 ? "user" : "users"}</caption>
          <thead><tr><th scope="col">User name</th><th scope="col">ARN</th><th scope="col">Created</th><th scope="col">Access keys</th><th scope="col">Inline policies</th></tr></thead>
          <tbody>
            {users.data.map((u) => (
              <tr>
                <th scope="row"><a href={`#/identities/${encodeURIComponent(u.UserName)}`}>{u.UserName}</a></th>
                <td class="mono">{u.Arn}</td>
                <td>{when(u.CreateDate)}</td>
                <td class="mono">{u.AccessKeyIds.length ? u.AccessKeyIds.join(", ") : "–"}</td>
                <td>{u.PolicyNames.length ? u.PolicyNames.join(", ") : "–"}</td>
              </tr>
            ))}
            {!users.data.length && <tr><td colSpan={5}>No users yet. Create one above.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const session = useSession();
  const [name, setName] = useState("");
  const [done, setDone] = useState<string | undefined>(undefined);
  const [run, busy, error] = useAction(async () => {
    const n = name.trim();
    await admin(session, "CreateUser", { UserName: n });
    setDone(n);
    setName("");
    onCreated();
  });
  return (
    <form class="inline-form" aria-labelledby="create-user-title" onSubmit={(e: Event) => { e.preventDefault(); void run(); }}>
      <h2 id="create-user-title">Create user</h2>
      <div class="row">
        <div class="field">
          <label for="new-user-name">User name</label>
          <input id="new-user-name" value={name} required maxlength={64} autocomplete="off" spellcheck={false} aria-describedby="user-name-hint"
            onInput={(e: Event) => { setName(value(e)); setDone(undefined); }} />
        </div>
        <button type="submit" class="primary" disabled={busy}>Create user</button>
      </div>
      <p class="hint" id="user-name-hint">Up to 64 letters, digits and + = , . @ _ -</p>
      {busy && <Busy label="Creating the user…" />}
      <ErrorNote error={error} />
      <p role="status" class="ok">{done ? <>User <a href={`#/identities/${encodeURIComponent(done)}`}>{done}</a> created.</> : ""}</p>
    </form>
  );
}

function UserDetail({ user, reload }: { user: IamUser; reload: () => void }) {
  return (
    <>
      <dl class="config">
        <dt>ARN</dt><dd class="mono">{user.Arn}</dd>
        <dt>Created</dt><dd>{when(user.CreateDate)}</dd>
      </dl>
      <AccessKeys user={user} reload={reload} />
      <InlinePolicies user={user} reload={reload} />
    </>
  );
}

function AccessKeys({ user, reload }: { user: IamUser; reload: () => void }) {
  const session = useSession();
  const [fresh, setFresh] = useState<NewAccessKey | undefined>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busyKey, setBusyKey] = useState<string | undefined>(undefined);
  const [create, creating, createError] = useAction(async () => {
    setFresh(await admin<NewAccessKey>(session, "CreateAccessKey", { UserName: user.UserName }));
    reload();
  });
  // The secret dismissed: back to the button that makes another.
  const hadSecret = useRef(false);
  useEffect(() => {
    if (!fresh && hadSecret.current) document.getElementById("create-access-key")?.focus();
    hadSecret.current = fresh !== undefined;
  }, [fresh]);
  const remove = async (id: string) => {
    setDeleting(undefined);
    setBusyKey(id);
    setErrors({ ...errors, [id]: undefined });
    try {
      await admin(session, "DeleteAccessKey", { AccessKeyId: id });
      reload();
      document.getElementById("create-access-key")?.focus();
    } catch (e) {
      setErrors({ ...errors, [id]: e });
    } finally {
      setBusyKey(undefined);
    }
  };
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Access keys</h2>
      <p class="hint">A user signs requests with an access key ID and its secret. The secret is shown once, when the key is created.</p>
      <div><button type="button" id="create-access-key" onClick={() => void create()} disabled={creating || fresh !== undefined}>Create access key</button></div>
      {creating && <Busy label="Creating the access key…" />}
      <ErrorNote error={createError} />
      {fresh && <NewSecret created={fresh} onDone={() => setFresh(undefined)} />}
      {user.AccessKeyIds.length ? (
        <table aria-labelledby="keys-title">
          <thead><tr><th scope="col">Access key ID</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {user.AccessKeyIds.map((id) => (
              <tr>
                <td class="mono" id={`ak-${id}`}>{id}{id === session.accessKeyId ? " (signed in with it)" : ""}</td>
                <td>
                  <button type="button" aria-describedby={`ak-${id}`} disabled={busyKey === id} onClick={() => setDeleting(id)}>Delete access key</button>
                  {busyKey === id && <Busy label={`Deleting ${id}…`} />}
                  <ErrorNote error={errors[id]} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>No access keys.</p>}
      {deleting && (
        <Confirm title="Delete access key" action="Delete" confirmWord={deleting} onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(undefined)}>
          <p>Requests signed with <code>{deleting}</code> will be refused from now on. This cannot be undone.</p>
          {deleting === session.accessKeyId && <p class="error">This is the access key you are signed in with: the console will stop working until you sign in with another.</p>}
        </Confirm>
      )}
    </section>
  );
}

/** The new secret, shown once: copy it, then dismiss it (it is then gone from the page). */
function NewSecret({ created, onDone }: { created: NewAccessKey; onDone: () => void }) {
  const box = useRef<HTMLElement>(null);
  const secret = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState("");
  useEffect(() => {
    box.current?.focus();
  }, []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.SecretAccessKey);
      setCopied("The secret access key was copied to the clipboard.");
    } catch {
      // No clipboard API (e.g. not a secure context): select it for the user to copy.
      secret.current?.select();
      setCopied(document.execCommand("copy") ? "The secret access key was copied to the clipboard." : "Copying failed: the secret is selected, copy it with your keyboard.");
    }
  };
  return (
    <section class="secret" ref={box} tabindex={-1} aria-labelledby="secret-title" aria-describedby="secret-warning">
      <h3 id="secret-title">New access key of {created.UserName ?? "the account root"}</h3>
      <p id="secret-warning" class="warning">
        <strong>This is the only time the secret access key can be seen or copied.</strong> Store it somewhere safe now: it cannot be
        retrieved later. If it is lost, create another access key and delete this one.
      </p>
      <div class="field">
        <label for="new-access-key-id">Access key ID</label>
        <input id="new-access-key-id" class="mono" readonly value={created.AccessKeyId} />
      </div>
      <div class="field">
        <label for="new-secret">Secret access key</label>
        <input id="new-secret" class="mono" readonly value={created.SecretAccessKey} ref={secret} autocomplete="off" spellcheck={false} />
      </div>
      <div class="actions">
        <button type="button" onClick={() => void copy()}>Copy</button>
        <button type="button" class="primary" onClick={onDone}>Done</button>
      </div>
      <p role="status" class="ok">{copied}</p>
    </section>
  );
}

function InlinePolicies({ user, reload }: { user: IamUser; reload: () => void }) {
  const session = useSession();
  const [shown, setShown] = useState<Record<string, { loading: boolean; error?: unknown; doc?: { document: string } }>>({});
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const [rowError, setRowError] = useState<Record<string, unknown>>({});
  const [busyPolicy, setBusyPolicy] = useState<string | undefined>(undefined);
  const [name, setName] = useState("");
  const [doc, setDoc] = useState("");
  const [saved, setSaved] = useState("");
  const [checked, setChecked] = useState(false);
  const docSyntax = doc ? syntaxError(doc) : undefined;

  const view = async (p: string, thenEdit = false) => {
    if (shown[p] && !thenEdit) {
      const { [p]: _gone, ...rest } = shown;
      setShown(rest);
      return;
    }
    setShown((s) => ({ ...s, [p]: { loading: true } }));
    try {
      const d = await policyDocument(session, user.UserName, p);
      setShown((s) => ({ ...s, [p]: { loading: false, doc: d } }));
      if (thenEdit && d) {
        setName(p);
        setDoc(pretty(d.document));
        setSaved("");
        setTimeout(() => document.getElementById("policy-document")?.focus());
      }
    } catch (e) {
      setShown((s) => ({ ...s, [p]: { loading: false, error: e } }));
    }
  };

  const [put, putting, putError] = useAction(async () => {
    await admin(session, "PutUserPolicy", { UserName: user.UserName, PolicyName: name.trim(), PolicyDocument: doc });
    setSaved(`Policy ${name.trim()} saved.`);
    const { [name.trim()]: _stale, ...rest } = shown;
    setShown(rest);
    reload();
  });
  const submit = (e: Event) => {
    e.preventDefault();
    setChecked(true);
    if (!doc.trim() || docSyntax) {
      document.getElementById("policy-document")?.focus();
      return;
    }
    void put();
  };
  const remove = async (p: string) => {
    setDeleting(undefined);
    setBusyPolicy(p);
    setRowError({ ...rowError, [p]: undefined });
    try {
      await admin(session, "DeleteUserPolicy", { UserName: user.UserName, PolicyName: p });
      reload();
    } catch (e) {
      setRowError({ ...rowError, [p]: e });
    } finally {
      setBusyPolicy(undefined);
    }
  };

  return (
    <section aria-labelledby="policies-title">
      <h2 id="policies-title">Inline policies</h2>
      <p class="hint">Identity policies of this user (IAM's JSON policy language). View shows a policy's document (GetUserPolicy).</p>
      {user.PolicyNames.length ? (
        <ul class="policies">
          {user.PolicyNames.map((p) => {
            const s = shown[p];
            return (
              <li>
                <div class="row">
                  <strong id={`policy-${p}`}>{p}</strong>
                  <button type="button" aria-expanded={s ? "true" : "false"} aria-describedby={`policy-${p}`} onClick={() => void view(p)}>{s ? "Hide JSON" : "View JSON"}</button>
                  <button type="button" aria-describedby={`policy-${p}`} onClick={() => void view(p, true)}>Edit</button>
                  <button type="button" aria-describedby={`policy-${p}`} disabled={busyPolicy === p} onClick={() => setDeleting(p)}>Delete user policy</button>
                </div>
                {busyPolicy === p && <Busy label={`Deleting ${p}…`} />}
                <ErrorNote error={rowError[p]} />
                {s?.loading && <Busy label="Reading the policy…" />}
                <ErrorNote error={s?.error} />
                {s?.doc && <pre tabindex={0} aria-label={`${p} (JSON)`}>{pretty(s.doc.document)}</pre>}
              </li>
            );
          })}
        </ul>
      ) : <p>No inline policies.</p>}
      <form onSubmit={submit} aria-labelledby="put-policy-title">
        <h3 id="put-policy-title">Put user policy</h3>
        <p class="hint">Adds an inline policy, or replaces the one with the same name.</p>
        <div class="field">
          <label for="policy-name">Policy name</label>
          <input id="policy-name" value={name} required maxlength={128} autocomplete="off" spellcheck={false} onInput={(e: Event) => { setName(value(e)); setSaved(""); }} />
        </div>
        <div class="field">
          <label for="policy-document">Policy document</label>
          <textarea id="policy-document" value={doc} spellcheck={false} placeholder={POLICY_EXAMPLE}
            aria-invalid={checked && (docSyntax || !doc.trim()) ? "true" : undefined} aria-describedby="policy-document-syntax put-policy-error"
            onInput={(e: Event) => { setDoc(value(e)); setSaved(""); }} />
          <p class="error-text" id="policy-document-syntax" aria-live="polite">
            {docSyntax ? `The policy is not valid JSON: ${docSyntax}` : checked && !doc.trim() ? "Enter the policy document." : ""}
          </p>
        </div>
        <ErrorNote error={putError} id="put-policy-error" />
        {putting && <Busy label="Saving the policy…" />}
        <div><button type="submit" class="primary" disabled={putting}>Put user policy</button></div>
        <p role="status" class="ok">{saved}</p>
      </form>
      {deleting && (
        <Confirm title="Delete user policy" action="Delete" onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(undefined)}>
          <p>Delete the inline policy <strong>{deleting}</strong> of {user.UserName}? The permissions it grants end now.</p>
        </Confirm>
      )}
    </section>
  );
}

