// The create-key wizard (#/create), as the AWS console's: key type and usage → labels (alias,
// description, tags) → key administrators and key users (the account's users, admin ListUsers)
// → review, with the key policy the AWS console would write (policy.ts, consoleKeyPolicy),
// editable as JSON. "Create key" calls CreateKey {KeySpec, KeyUsage, Description, Tags, Policy},
// then CreateAlias, and opens the new key's page.
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { ApiError, admin, kms, type Session } from "../api.js";
import { KEY_TYPES, consoleKeyPolicy } from "../policy.js";
import { Busy, ErrorNote, navigate, useAction, useLoad, useSession } from "../ui.js";

/** A user as the admin API's ListUsers returns it. */
export interface IamUser { UserName: string; Arn: string; CreateDate: number; PolicyNames: string[]; AccessKeyIds: string[] }

/** Accounts by access key ID, for this page's life. */
const accounts = new Map<string, string>();

/** The signed-in principal's account (admin GetCallerIdentity, which any principal may call about itself). */
export async function callerAccount(session: Session): Promise<string | undefined> {
  const known = accounts.get(session.accessKeyId);
  if (known) return known;
  const { Account } = await admin<{ Account: string }>(session, "GetCallerIdentity");
  accounts.set(session.accessKeyId, Account);
  return Account;
}

/** Why an alias name (without its alias/ prefix) is refused, as AWS KMS checks it; undefined if it is fine. */
export function aliasProblem(name: string): string | undefined {
  if (!/^[a-zA-Z0-9/_-]+$/.test(name)) return "An alias may contain only letters, digits, slashes (/), underscores (_) and dashes (-).";
  if (name.startsWith("aws/")) return "An alias cannot begin with aws/: that prefix is reserved for AWS managed keys.";
  if (name.length > 250) return "An alias is at most 256 characters, alias/ included.";
  return undefined;
}

interface TagRow { id: number; key: string; value: string }

/** Why the tags are refused; undefined if they are fine. Rows with neither key nor value are ignored. */
function tagsProblem(rows: TagRow[]): string | undefined {
  const seen = new Set<string>();
  for (const [i, t] of rows.entries()) {
    if (!t.key && !t.value) continue;
    if (!t.key) return `Tag ${i + 1} has a value but no key.`;
    if (t.key.length > 128) return `Tag key ${t.key.slice(0, 20)}… is longer than 128 characters.`;
    if (t.value.length > 256) return `The value of tag ${t.key} is longer than 256 characters.`;
    if (t.key.startsWith("aws:")) return `Tag key ${t.key} uses the reserved prefix aws:.`;
    if (seen.has(t.key)) return `Tag key ${t.key} is given twice.`;
    seen.add(t.key);
  }
  return undefined;
}

const STEPS = ["Key type and usage", "Labels", "Key administrators and key users", "Review"];

/** Key specs that take imported key material in EdgeKMS (not ML-DSA, ML-KEM or Ed25519). */
const importableSpec = (spec: string) => !/^(ML_|ECC_NIST_EDWARDS25519)/.test(spec);

/** The JSON syntax error of a policy being edited, if any. */
function syntaxError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const value = (e: Event) => (e.target as HTMLInputElement).value;

export function CreateKeyPage() {
  const session = useSession();
  const [step, setStep] = useState(0);
  const [typeIndex, setTypeIndex] = useState(0);
  const [spec, setSpec] = useState(KEY_TYPES[0]!.specs[0]!);
  const [origin, setOrigin] = useState<"AWS_KMS" | "EXTERNAL">("AWS_KMS");
  const [multiRegion, setMultiRegion] = useState(false);
  const [alias, setAlias] = useState("");
  const [aliasError, setAliasError] = useState<string | undefined>(undefined);
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState<TagRow[]>([]);
  const [tagError, setTagError] = useState<string | undefined>(undefined);
  const [focusTag, setFocusTag] = useState<number | undefined>(undefined);
  const [admins, setAdmins] = useState<string[]>([]);
  const [keyUsers, setKeyUsers] = useState<string[]>([]);
  const [policyEdit, setPolicyEdit] = useState<string | undefined>(undefined);
  const [accountTyped, setAccountTyped] = useState("");
  const [phase, setPhase] = useState("");
  const [created, setCreated] = useState<{ keyId: string; aliasError: unknown } | undefined>(undefined);
  const people = useLoad(() => admin<{ Users: IamUser[] }>(session, "ListUsers").then((r) => r.Users.sort((a, b) => a.UserName.localeCompare(b.UserName))), []);
  const account = useLoad(() => callerAccount(session), []);
  const heading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);

  const type = KEY_TYPES[typeIndex]!;
  const usage = type.usage;
  const accountId = account.data ?? (/^\d{12}$/.test(accountTyped) ? accountTyped : undefined);
  const proposed = accountId ? consoleKeyPolicy({ account: accountId, keySpec: spec, keyUsage: usage, administrators: admins, users: keyUsers }) : "";
  const policy = policyEdit ?? proposed;
  const policySyntax = policy ? syntaxError(policy) : undefined;
  const aliasName = alias.trim().replace(/^alias\//, "");
  const tagList = tags.filter((t) => t.key || t.value).map((t) => ({ TagKey: t.key, TagValue: t.value }));
  const nameOf = (arn: string) => people.data?.find((u) => u.Arn === arn)?.UserName ?? arn;

  // A new step: focus its heading, so keyboard and screen-reader users start at its top.
  useEffect(() => {
    if (moved.current) heading.current?.focus();
    moved.current = true;
  }, [step]);
  useEffect(() => {
    if (focusTag !== undefined) document.getElementById(`tag-key-${focusTag}`)?.focus();
  }, [focusTag]);

  const go = (to: number) => setStep(to);

  const [checkLabels, checking] = useAction(async () => {
    const problem = aliasName ? aliasProblem(aliasName) : undefined;
    const tagProblem = tagsProblem(tags);
    setAliasError(problem);
    setTagError(tagProblem);
    if (problem) return document.getElementById("alias-name")?.focus();
    if (tagProblem) return;
    if (aliasName) {
      // As the AWS console does: an alias already in use is refused here, not after the key exists.
      try {
        await kms(session, "DescribeKey", { KeyId: `alias/${aliasName}` });
        setAliasError(`alias/${aliasName} already exists in this account and region. Choose another alias.`);
        return document.getElementById("alias-name")?.focus();
      } catch {
        // NotFoundException: free. Any other answer is left to CreateAlias to report.
      }
    }
    go(2);
  });

  const [create, creating, createError] = useAction(async () => {
    setPhase("Creating the key…");
    const out = await kms<{ KeyMetadata: { KeyId: string } }>(session, "CreateKey", {
      KeySpec: spec,
      KeyUsage: usage,
      ...(origin === "EXTERNAL" && importableSpec(spec) ? { Origin: "EXTERNAL" } : {}),
      ...(multiRegion ? { MultiRegion: true } : {}),
      ...(description ? { Description: description } : {}),
      ...(tagList.length ? { Tags: tagList } : {}),
      Policy: policy,
    });
    const keyId = out.KeyMetadata.KeyId;
    if (aliasName) {
      setPhase(`Creating alias/${aliasName}…`);
      try {
        await kms(session, "CreateAlias", { AliasName: `alias/${aliasName}`, TargetKeyId: keyId });
      } catch (e) {
        setCreated({ keyId, aliasError: e });
        return;
      }
    }
    navigate(`/keys/${keyId}`);
  });

  const [retryAlias, retrying] = useAction(async () => {
    if (!created) return;
    try {
      await kms(session, "CreateAlias", { AliasName: `alias/${aliasName}`, TargetKeyId: created.keyId });
      navigate(`/keys/${created.keyId}`);
    } catch (e) {
      setCreated({ ...created, aliasError: e });
    }
  });

  const submitCreate = (e: Event) => {
    e.preventDefault();
    if (!policy || policySyntax) {
      document.getElementById("key-policy")?.focus();
      return;
    }
    void create();
  };

  const title = (
    <h2 id="step-title" tabindex={-1} ref={heading}>Step {step + 1} of {STEPS.length}: {STEPS[step]}</h2>
  );
  const nav = (next: string, busy = false) => (
    <div class="actions">
      <a class="button" href="#/keys">Cancel</a>
      {step > 0 && <button type="button" onClick={() => go(step - 1)} disabled={busy}>Previous</button>}
      <button type="submit" class="primary" disabled={busy}>{next}</button>
    </div>
  );

  let body;
  if (created) {
    body = (
      <section aria-labelledby="alias-failed">
        <h2 id="alias-failed">The key was created, but not its alias</h2>
        <p>Key <a href={`#/keys/${created.keyId}`}>{created.keyId}</a> exists; alias/{aliasName} could not be created:</p>
        <ErrorNote error={created.aliasError} />
        {retrying && <Busy label={`Creating alias/${aliasName}…`} />}
        <div class="actions">
          <button type="button" onClick={() => void retryAlias()} disabled={retrying}>Retry alias</button>
          <a class="button primary" href={`#/keys/${created.keyId}`}>Open the key</a>
        </div>
      </section>
    );
  } else if (step === 0) {
    body = (
      <form onSubmit={(e: Event) => { e.preventDefault(); go(1); }} aria-labelledby="step-title">
        {title}
        <fieldset>
          <legend>Key type</legend>
          {KEY_TYPES.map((t, i) => (
            <label class="choice">
              <input type="radio" name="key-type" value={String(i)} checked={i === typeIndex}
                onChange={() => { setTypeIndex(i); setSpec(t.specs[0]!); setPolicyEdit(undefined); }} />
              {t.label}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="key-spec">Key spec</label>
          <select id="key-spec" value={spec} aria-describedby="key-usage-hint" onChange={(e: Event) => { setSpec((e.target as HTMLSelectElement).value); setPolicyEdit(undefined); }}>
            {type.specs.map((s) => <option value={s} selected={s === spec}>{s}</option>)}
          </select>
          <p class="hint" id="key-usage-hint">Key usage: {usage}</p>
        </div>
        <fieldset>
          <legend>Key material origin</legend>
          <label class="choice"><input type="radio" name="origin" checked={origin === "AWS_KMS"} onChange={() => setOrigin("AWS_KMS")} /> KMS (EdgeKMS generates the key material)</label>
          <label class="choice"><input type="radio" name="origin" checked={origin === "EXTERNAL"} disabled={!importableSpec(spec)} onChange={() => setOrigin("EXTERNAL")} /> External (import your own key material)</label>
          {!importableSpec(spec) && <p class="hint">{spec} keys cannot take imported key material.</p>}
        </fieldset>
        <fieldset>
          <legend>Regionality</legend>
          <label class="choice"><input type="radio" name="regionality" checked={!multiRegion} onChange={() => setMultiRegion(false)} /> Single-Region key</label>
          <label class="choice"><input type="radio" name="regionality" checked={multiRegion} onChange={() => setMultiRegion(true)} /> Multi-Region key (replicate it to other regions later)</label>
        </fieldset>
        {nav("Next")}
      </form>
    );
  } else if (step === 1) {
    body = (
      <form onSubmit={(e: Event) => { e.preventDefault(); void checkLabels(); }} aria-labelledby="step-title">
        {title}
        <div class="field">
          <label for="alias-name">Alias</label>
          <div class="prefixed">
            <span class="prefix" aria-hidden="true">alias/</span>
            <input id="alias-name" value={alias} autocomplete="off" spellcheck={false}
              aria-invalid={aliasError ? "true" : undefined} aria-describedby={aliasError ? "alias-hint alias-error" : "alias-hint"}
              onInput={(e: Event) => { setAlias(value(e)); setAliasError(undefined); }} />
          </div>
          <p class="hint" id="alias-hint">Optional. The key is named alias/ followed by this: letters, digits, / _ and -, not beginning with aws/.</p>
          {aliasError && <p class="error" role="alert" id="alias-error">{aliasError}</p>}
        </div>
        <div class="field">
          <label for="key-description">Description</label>
          <textarea id="key-description" class="short" maxlength={8192} onInput={(e: Event) => setDescription(value(e))} value={description} />
        </div>
        <fieldset>
          <legend>Tags</legend>
          <p class="hint">Optional key–value pairs to find, group and control access to the key.</p>
          {tags.map((t, i) => (
            <div role="group" aria-label={`Tag ${i + 1}`} class="tag-row" key={t.id}>
              <div class="field">
                <label for={`tag-key-${t.id}`}>Tag key</label>
                <input id={`tag-key-${t.id}`} value={t.key} maxlength={128} autocomplete="off"
                  onInput={(e: Event) => { setTags(tags.map((x) => (x.id === t.id ? { ...x, key: value(e) } : x))); setTagError(undefined); }} />
              </div>
              <div class="field">
                <label for={`tag-value-${t.id}`}>Tag value</label>
                <input id={`tag-value-${t.id}`} value={t.value} maxlength={256} autocomplete="off"
                  onInput={(e: Event) => { setTags(tags.map((x) => (x.id === t.id ? { ...x, value: value(e) } : x))); setTagError(undefined); }} />
              </div>
              <button type="button" onClick={() => { setTags(tags.filter((x) => x.id !== t.id)); setTagError(undefined); document.getElementById("add-tag")?.focus(); }}>Remove tag</button>
            </div>
          ))}
          <button type="button" id="add-tag" disabled={tags.length >= 50}
            onClick={() => { const id = Date.now(); setTags([...tags, { id, key: "", value: "" }]); setFocusTag(id); }}>Add tag</button>
          {tagError && <p class="error" role="alert">{tagError}</p>}
        </fieldset>
        {checking && <Busy label="Checking the alias…" />}
        {nav("Next", checking)}
      </form>
    );
  } else if (step === 2) {
    const users = people.data ?? [];
    const choose = (list: string[], set: (l: string[]) => void, arn: string, on: boolean) => {
      set(on ? [...list, arn] : list.filter((a) => a !== arn));
      setPolicyEdit(undefined);
    };
    const picker = (legend: string, hint: string, list: string[], set: (l: string[]) => void) => (
      <fieldset>
        <legend>{legend}</legend>
        <p class="hint">{hint}</p>
        {users.map((u) => (
          <label class="choice">
            <input type="checkbox" value={u.Arn} checked={list.includes(u.Arn)} onChange={(e: Event) => choose(list, set, u.Arn, (e.target as HTMLInputElement).checked)} />
            {u.UserName}
          </label>
        ))}
        {!people.loading && !users.length && <p class="hint">{people.data ? "The account has no IAM users yet (create them under Identities)." : "No users to choose from."}</p>}
      </fieldset>
    );
    body = (
      <form onSubmit={(e: Event) => { e.preventDefault(); go(3); }} aria-labelledby="step-title">
        {title}
        <p class="hint">
          The account root{account.data ? ` (arn:aws:iam::${account.data}:root)` : ""} always keeps full access: the policy's first
          statement lets IAM policies in the account allow the key's use.
        </p>
        {people.loading && <Busy label="Loading the account's users…" />}
        {people.error !== undefined && (
          <div>
            <ErrorNote error={people.error} />
            <p class="hint">The account's users could not be listed. You can continue without choosing any: only the account root will be named in the key policy.</p>
          </div>
        )}
        {picker("Key administrators", "They may manage the key (kms:Create*, Describe*, Enable*, List*, Put*, Update*, Revoke*, Disable*, Get*, Delete*, tagging, deletion and rotation) but not use it.", admins, setAdmins)}
        {picker("Key users", `They may use the key for its cryptographic operations (${usage}), and let AWS services use it through grants.`, keyUsers, setKeyUsers)}
        {nav("Next")}
      </form>
    );
  } else {
    const row = (term: string, desc: string | string[]) => (
      <>
        <dt>{term}</dt>
        <dd>{Array.isArray(desc) ? (desc.length ? desc.join(", ") : "None") : desc || "–"}</dd>
      </>
    );
    body = (
      <form onSubmit={submitCreate} aria-labelledby="step-title">
        {title}
        <dl class="config">
          {row("Key type", type.label)}
          {row("Key spec", spec)}
          {row("Key usage", usage)}
          {row("Key material origin", origin === "EXTERNAL" && importableSpec(spec) ? "External (import after creating the key)" : "KMS")}
          {row("Regionality", multiRegion ? "Multi-Region" : "Single-Region")}
          {row("Alias", aliasName ? `alias/${aliasName}` : "")}
          {row("Description", description)}
          {row("Tags", tagList.map((t) => `${t.TagKey}=${t.TagValue}`))}
          {row("Key administrators", admins.map(nameOf))}
          {row("Key users", keyUsers.map(nameOf))}
        </dl>
        {account.loading && <Busy label="Finding your account ID…" />}
        {!account.loading && !account.data && (
          <div class="field">
            <label for="account-id">Account ID</label>
            <input id="account-id" inputmode="numeric" value={accountTyped} maxlength={12} aria-describedby="account-hint" onInput={(e: Event) => setAccountTyped(value(e).trim())} />
            <p class="hint" id="account-hint">Your account's 12-digit ID, for the key policy's root principal: the console could not read it from your keys or users.</p>
          </div>
        )}
        {accountId && (
          <div class="field">
            <label for="key-policy">Key policy</label>
            <p class="hint" id="policy-hint">The policy the AWS console writes for your choices. You can edit it as JSON before creating the key.</p>
            <textarea id="key-policy" spellcheck={false} value={policy} rows={24}
              aria-invalid={policySyntax ? "true" : undefined}
              aria-describedby="policy-hint policy-syntax policy-error"
              onInput={(e: Event) => setPolicyEdit(value(e))} />
            <p class="error-text" id="policy-syntax" aria-live="polite">{policySyntax ? `The policy is not valid JSON: ${policySyntax}` : ""}</p>
            {policyEdit !== undefined && policyEdit !== proposed && (
              <div><button type="button" onClick={() => setPolicyEdit(undefined)}>Reset policy</button></div>
            )}
            <ErrorNote error={createError} id="policy-error" />
            {createError instanceof ApiError && /update the key policy in the future/.test(createError.message) && (
              <p class="hint">The service refuses a key policy that would lock you out of the key: let your own user ARN do kms:PutKeyPolicy in it (e.g. in a key administrators statement), or have your IAM policies allow kms:PutKeyPolicy.</p>
            )}
          </div>
        )}
        {creating && <Busy label={phase} />}
        {nav("Create key", creating || !accountId)}
      </form>
    );
  }

  return (
    <section aria-labelledby="create-title" class="wizard">
      <p class="breadcrumbs"><a href="#/keys">Keys</a> / Create key</p>
      <h1 id="create-title">Create key</h1>
      <ol class="steps" aria-label="Steps">
        {STEPS.map((s, i) => <li aria-current={!created && i === step ? "step" : undefined}>{i + 1}. {s}</li>)}
      </ol>
      {body}
    </section>
  );
}
