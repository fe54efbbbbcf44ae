// One key (#/keys/<keyId>), like the AWS KMS console's key detail page: general configuration and
// the key actions (disable/enable, schedule/cancel deletion), then one section per aspect: key
// policy, key rotation (symmetric encryption keys) or public key (asymmetric keys), aliases, tags
// and grants. Each section loads on its own, so one failing call shows its error there and the
// rest of the page still works. Controls the key's state forbids are disabled, with the reason.
// While an action runs its button is aria-disabled (it keeps focus), a Busy note shows progress
// and its error appears next to it.
import { useEffect, useRef, useState } from "hono/jsx/dom";
import type { Child } from "hono/jsx";
import { ApiError, kms, kmsRead, listAll } from "../api.js";
import { spkiPem } from "../policy.js";
import { Busy, Confirm, ErrorNote, NotesContext, useAction, useDone, useLoad, useNotes, useSession, when } from "../ui.js";
import { ImportedRows, KeyMaterialSection, LastUsageRow, RegionalitySection, type MultiRegionConfiguration } from "./key-material.js";

interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeySpec: string;
  KeyState: string;
  DeletionDate?: number;
  /** PendingReplicaDeletion: the waiting period that starts when the last replica is deleted. */
  PendingDeletionWindowInDays?: number;
  Origin: string;
  KeyManager: string;
  MultiRegion?: boolean;
  MultiRegionConfiguration?: MultiRegionConfiguration;
  ExpirationModel?: string;
  ValidTo?: number;
  CurrentKeyMaterialId?: string;
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
  EncapsulationAlgorithms?: string[];
}
interface Alias { AliasName: string; AliasArn: string; TargetKeyId?: string; CreationDate?: number; LastUpdatedDate?: number }
interface Tag { TagKey: string; TagValue: string }
interface Grant {
  GrantId: string;
  Name?: string;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  Operations: string[];
  Constraints?: Record<string, Record<string, string>>;
  CreationDate: number;
}
interface Rotation { KeyMaterialId: string; RotationDate?: number; RotationType?: string; KeyMaterialState?: string }
interface RotationStatus { KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: number }

/** The algorithm lists DescribeKey and GetPublicKey may return, with their labels. */
const ALGORITHMS = [
  ["EncryptionAlgorithms", "Encryption algorithms"],
  ["SigningAlgorithms", "Signing algorithms"],
  ["MacAlgorithms", "MAC algorithms"],
  ["KeyAgreementAlgorithms", "Key agreement algorithms"],
  ["EncapsulationAlgorithms", "Encapsulation algorithms"],
] as const;

const DELETION_DAYS = Array.from({ length: 24 }, (_, i) => i + 7); // 7–30
const ROTATION_MIN = 90, ROTATION_MAX = 2560, ROTATION_DEFAULT = 365;

const isAsymmetric = (spec: string) => spec !== "SYMMETRIC_DEFAULT" && !spec.startsWith("HMAC_");

/**
 * Closes the open modal dialog with dialog.close(), so the browser returns focus to the control
 * that opened it (removing an open dialog from the page would leave focus nowhere).
 */
function closeDialog(): void {
  document.querySelector<HTMLDialogElement>("dialog[open]")?.close();
}

/** A confirmation's open state: `[open, show, hide]`; hide closes the dialog natively first. */
function useAsk(): [boolean, () => void, () => void] {
  const [open, setOpen] = useState(false);
  return [open, () => setOpen(true), () => {
    closeDialog();
    setOpen(false);
  }];
}

/**
 * Moves focus to a section's heading: after the control that had it is gone (a deleted row,
 * a closed editor), rather than leaving it on the page's body.
 */
function focusHeading(id: string): void {
  const h = document.getElementById(id);
  if (!h) return;
  h.tabIndex = -1;
  h.focus();
}

/** aria-disabled while busy (the button keeps focus, and clicks are ignored). */
const busyAttr = (busy: boolean) => (busy ? "true" : undefined);

function Done({ text }: { text: string | undefined }) {
  return text ? <p class="key-done" role="status">{text}</p> : null;
}

/** Why a set of controls is disabled, said next to them. */
function Why({ text }: { text: string | undefined }) {
  return text ? <p class="hint">{text}</p> : null;
}

export function KeyPage({ keyId }: { keyId: string }) {
  const session = useSession();
  const meta = useLoad(async () => (await kmsRead<{ KeyMetadata: KeyMetadata }>(session, "DescribeKey", { KeyId: keyId })).KeyMetadata, [keyId]);
  const aliases = useLoad(() => listAll<Alias>(session, "ListAliases", { KeyId: keyId }, "Aliases", 100), [keyId]);
  const md = meta.data;
  const title = aliases.data?.[0]?.AliasName ?? keyId;
  const aws = md?.KeyManager === "AWS";
  const pending = md?.KeyState === "PendingDeletion" || md?.KeyState === "PendingReplicaDeletion";
  // Why the key's own settings (policy, aliases, tags) cannot change now, if they cannot.
  const frozen = aws ? "AWS managed keys cannot be changed." : pending ? "This cannot change while the key is pending deletion." : undefined;

  const notes = useNotes();
  return (
    <NotesContext.Provider value={notes}>
    <article class="key" aria-labelledby="key-title">
      <nav aria-label="Breadcrumb" class="key-crumbs"><a href="#/keys">Keys</a> <span aria-hidden="true">›</span> <span aria-current="page">{title}</span></nav>
      <div class="title-row">
        <h1 id="key-title">{title}</h1>
        <a href={`#/audit/${encodeURIComponent(keyId)}`}>View audit records for this key</a>
      </div>
      {meta.error instanceof ApiError && meta.error.type === "NotFoundException"
        ? <p class="error" role="alert">There is no key {keyId} in {session.region} that you can see (keys are regional: check the region).</p>
        : <KeyBody keyId={keyId} md={md} meta={meta} aliases={aliases} frozen={frozen} />}
    </article>
    </NotesContext.Provider>
  );
}

function KeyBody({ keyId, md, meta, aliases, frozen }: { keyId: string; md: KeyMetadata | undefined; meta: ReturnType<typeof useLoad<KeyMetadata>>; aliases: ReturnType<typeof useLoad<Alias[]>>; frozen: string | undefined }) {
  // Each section keyed: it keeps its state (and does not load again) when siblings appear.
  return (
    <>
      <KeyActions key="actions" keyId={keyId} md={md} onChanged={meta.reload} />
      <section key="config">
        <h2 id="config-title">General configuration</h2>
        {meta.loading && !md && <Busy label="Loading key details…" />}
        <ErrorNote error={meta.error} />
        {md && <GeneralConfig md={md} aliases={aliases.data} aliasesError={!!aliases.error} />}
      </section>
      {md?.Origin === "EXTERNAL" && <KeyMaterialSection key="material" md={md} onChanged={meta.reload} />}
      {md?.MultiRegion && <RegionalitySection key="regionality" md={md} onChanged={meta.reload} />}
      <PolicySection key="policy" keyId={keyId} frozen={frozen} />
      {md && (md.KeySpec === "SYMMETRIC_DEFAULT" && md.Origin !== "EXTERNAL"
        ? <RotationSection key={`rotation ${md.KeyState}`} keyId={keyId} md={md} />
        : md.Origin === "EXTERNAL" ? null
        : (
          <section key="rotation">
            <h2 id="rotation-title">Key rotation</h2>
            <p>Automatic key rotation is not available for this key type. AWS KMS rotates only symmetric encryption keys ({md.KeySpec} keys cannot be rotated).</p>
          </section>
        ))}
      {md && isAsymmetric(md.KeySpec) && <PublicKeySection key={`public ${md.KeyState}`} keyId={keyId} md={md} />}
      <AliasesSection key="aliases" keyId={keyId} aliases={aliases} frozen={frozen} />
      <TagsSection key="tags" keyId={keyId} frozen={frozen} />
      <GrantsSection key="grants" keyId={keyId} />
    </>
  );
}

function GeneralConfig({ md, aliases, aliasesError }: { md: KeyMetadata; aliases: Alias[] | undefined; aliasesError: boolean }) {
  const row = (label: string, value: Child) => <><dt>{label}</dt><dd>{value}</dd></>;
  return (
    <dl class="config">
      {row("Aliases", aliases ? (aliases.length ? aliases.map((a) => a.AliasName).join(", ") : "–") : aliasesError ? "(could not be listed)" : "…")}
      {row("ARN", <code>{md.Arn}</code>)}
      {row("Key ID", <code>{md.KeyId}</code>)}
      {row("Status", <span class={`state state-${md.KeyState}`}>{md.KeyState}</span>)}
      {md.DeletionDate !== undefined && row("Deletion date", when(md.DeletionDate))}
      {row("Description", md.Description || "–")}
      {row("Creation date", when(md.CreationDate))}
      {row("Key spec", md.KeySpec)}
      {row("Key usage", md.KeyUsage)}
      {row("Origin", md.Origin === "EXTERNAL" ? "External (imported key material)" : md.Origin)}
      <ImportedRows md={md} />
      {row("Key manager", md.KeyManager === "AWS" ? "AWS managed" : md.KeyManager === "CUSTOMER" ? "Customer managed" : md.KeyManager)}
      {row("Regionality", md.MultiRegion ? "Multi-Region" : "Single-Region")}
      {md.CurrentKeyMaterialId && row("Current key material ID", <code>{md.CurrentKeyMaterialId}</code>)}
      <LastUsageRow keyId={md.KeyId} />
      {ALGORITHMS.filter(([k]) => md[k]?.length).map(([k, label]) => row(label, md[k]!.join(", ")))}
    </dl>
  );
}

// ---- key actions -------------------------------------------------------------------------

type StateAction = "DisableKey" | "EnableKey" | "ScheduleKeyDeletion" | "CancelKeyDeletion";
const PROGRESS: Record<StateAction, string> = {
  DisableKey: "Disabling the key…",
  EnableKey: "Enabling the key…",
  ScheduleKeyDeletion: "Scheduling key deletion…",
  CancelKeyDeletion: "Cancelling key deletion…",
};

function KeyActions({ keyId, md, onChanged }: { keyId: string; md: KeyMetadata | undefined; onChanged: () => void }) {
  const session = useSession();
  const [days, setDays] = useState(30);
  const [doing, setDoing] = useState<StateAction | undefined>(undefined);
  const [done, setDone] = useDone();
  const [askDisable, showDisable, hideDisable] = useAsk();
  const [askDelete, showDelete, hideDelete] = useAsk();
  const [run, busy, error] = useAction(async (op: StateAction) => {
    setDoing(op);
    setDone(undefined);
    const r = await kms<{ DeletionDate?: number; KeyState?: string }>(session, op, op === "ScheduleKeyDeletion" ? { KeyId: keyId, PendingWindowInDays: days } : { KeyId: keyId });
    setDone(op === "DisableKey" ? "The key is disabled: it cannot be used in cryptographic operations until you enable it."
      : op === "EnableKey" ? "The key is enabled."
      : op === "ScheduleKeyDeletion" && r.KeyState === "PendingReplicaDeletion" ? `Key deletion is scheduled: the ${days}-day waiting period starts when the last replica of this multi-Region key is deleted. Until then you can cancel it.`
      : op === "ScheduleKeyDeletion" ? `Key deletion is scheduled for ${when(r.DeletionDate)}. Until then you can cancel it.`
      : "Key deletion is cancelled. The key is now disabled; enable it to use it again.");
    onChanged();
  });
  if (!md) return null;
  if (md.KeyManager === "AWS") return <p class="hint">This is an AWS managed key: it cannot be disabled, deleted or edited.</p>;
  const state = md.KeyState;
  const pending = state === "PendingDeletion" || state === "PendingReplicaDeletion";
  const toggles = state === "Enabled" || state === "Disabled";
  return (
    <div class="key-actions-area">
      {state === "PendingDeletion" && <p class="key-notice">This key is pending deletion: AWS KMS deletes it on {when(md.DeletionDate)}. It cannot be used meanwhile.</p>}
      {state === "PendingReplicaDeletion" && <p class="key-notice">This multi-Region primary key is pending deletion: its {md.PendingDeletionWindowInDays}-day waiting period starts when its last replica is deleted. It cannot be used meanwhile.</p>}
      <div class="key-actions" role="group" aria-label="Key actions">
        {toggles && (
          <button type="button" aria-disabled={busyAttr(busy)} onClick={() => !busy && (state === "Enabled" ? showDisable() : run("EnableKey"))}>
            {state === "Enabled" ? "Disable key" : "Enable key"}
          </button>
        )}
        <button type="button" class={pending ? undefined : "danger-outline"} aria-disabled={busyAttr(busy)} onClick={() => !busy && (pending ? run("CancelKeyDeletion") : showDelete())}>
          {pending ? "Cancel key deletion" : "Schedule key deletion"}
        </button>
      </div>
      {busy && doing && <Busy label={PROGRESS[doing]} />}
      <ErrorNote error={error} />
      {!busy && !error && <Done text={done} />}
      {askDisable && (
        <Confirm title="Disable key?" action="Disable key" onCancel={hideDisable} onConfirm={() => { hideDisable(); void run("DisableKey"); }}>
          <p>While <code>{md.KeyId}</code> is disabled it cannot be used in cryptographic operations: data encrypted under it cannot be decrypted until you enable it again.</p>
        </Confirm>
      )}
      {askDelete && (
        <Confirm title="Schedule key deletion" action="Schedule deletion" confirmWord={md.KeyId} onCancel={hideDelete} onConfirm={() => { hideDelete(); void run("ScheduleKeyDeletion"); }}>
          <p>After the waiting period AWS KMS deletes the key and its key material. <strong>Deletion is irreversible:</strong> data encrypted under this key can no longer be decrypted. During the waiting period the key cannot be used, and you can cancel the deletion.</p>
          <label>Waiting period (days)
            <select value={String(days)} onChange={(e: Event) => setDays(Number((e.target as HTMLSelectElement).value))}>
              {DELETION_DAYS.map((d) => <option value={String(d)} selected={d === days}>{d}</option>)}
            </select>
          </label>
          <p class="hint">Between 7 and 30 days. The key would be deleted on {new Date(Date.now() + days * 86_400_000).toLocaleDateString()}.</p>
        </Confirm>
      )}
    </div>
  );
}

// ---- key policy ---------------------------------------------------------------------------

/** The policy pretty-printed when it is JSON (it always should be), else as stored. */
function pretty(policy: string): string {
  try {
    return JSON.stringify(JSON.parse(policy), null, 2);
  } catch {
    return policy;
  }
}

function PolicySection({ keyId, frozen }: { keyId: string; frozen: string | undefined }) {
  const session = useSession();
  const policy = useLoad(async () => pretty((await kmsRead<{ Policy: string }>(session, "GetKeyPolicy", { KeyId: keyId, PolicyName: "default" })).Policy), [keyId]);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const [done, setDone] = useDone();
  const area = useRef<HTMLTextAreaElement>(null);
  const [save, saving, error, setError] = useAction(async () => {
    await kms(session, "PutKeyPolicy", { KeyId: keyId, PolicyName: "default", Policy: draft });
    setEditing(false);
    setDone("The key policy is saved.");
    policy.reload();
  });
  // Focus follows the mode: into the editor, and back to "Edit policy" when it closes (after
  // the button is back on the page).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    if (editing) area.current?.focus();
    else requestAnimationFrame(() => document.getElementById("edit-policy")?.focus());
  }, [editing]);
  const edit = () => {
    setDraft(policy.data ?? "");
    setError(undefined);
    setDone(undefined);
    setEditing(true);
  };
  return (
    <section>
      <div class="title-row">
        <h2 id="policy-title">Key policy</h2>
        {!editing && <button type="button" id="edit-policy" disabled={!!frozen || !policy.data} onClick={edit}>Edit policy</button>}
      </div>
      {!editing && <Why text={frozen} />}
      {policy.loading && <Busy label="Loading the key policy…" />}
      <ErrorNote error={policy.error} />
      {editing ? (
        <form class="key-policy-form" onSubmit={(e: Event) => { e.preventDefault(); if (!saving) void save(); }}>
          <label>Key policy
            <textarea ref={area} value={draft} spellcheck={false} aria-invalid={error ? "true" : undefined} aria-describedby="policy-error policy-hint"
              onInput={(e: Event) => setDraft((e.target as HTMLTextAreaElement).value)} />
          </label>
          <p class="hint" id="policy-hint">JSON, at most 32 KB. The service checks it and rejects a policy that would lock you out of the key.</p>
          <ErrorNote error={error} id="policy-error" />
          <div class="key-row">
            <button type="submit" class="primary" aria-disabled={busyAttr(saving)}>Save changes</button>
            <button type="button" onClick={() => !saving && setEditing(false)}>Cancel</button>
            {saving && <Busy label="Saving the key policy…" />}
          </div>
        </form>
      ) : (
        <>
          <Done text={done} />
          {policy.data !== undefined && <pre class="key-policy" tabindex={0} aria-label="Current policy document">{policy.data}</pre>}
        </>
      )}
    </section>
  );
}

// ---- rotation -----------------------------------------------------------------------------

function RotationSection({ keyId, md }: { keyId: string; md: KeyMetadata }) {
  const session = useSession();
  const status = useLoad(() => kmsRead<RotationStatus>(session, "GetKeyRotationStatus", { KeyId: keyId }), [keyId]);
  const history = useLoad(() => listAll<Rotation>(session, "ListKeyRotations", { KeyId: keyId }, "Rotations"), [keyId]);
  const [on, setOn] = useState<boolean | undefined>(undefined);
  const [period, setPeriod] = useState<string>(String(ROTATION_DEFAULT));
  const [saved, setSaved] = useDone();
  const [rotated, setRotated] = useDone();
  const [askRotate, showRotate, hideRotate] = useAsk();
  useEffect(() => {
    if (!status.data) return;
    setOn(status.data.KeyRotationEnabled);
    setPeriod(String(status.data.RotationPeriodInDays ?? ROTATION_DEFAULT));
  }, [status.data]);
  const [save, saving, saveError] = useAction(async () => {
    setSaved(undefined);
    if (on) {
      await kms(session, "EnableKeyRotation", { KeyId: keyId, RotationPeriodInDays: Number(period) });
      setSaved(`Automatic rotation is on: every ${Number(period)} days.`);
    } else {
      await kms(session, "DisableKeyRotation", { KeyId: keyId });
      setSaved("Automatic rotation is off.");
    }
    status.reload();
  });
  const [rotate, rotating, rotateError] = useAction(async () => {
    setRotated(undefined);
    await kms(session, "RotateKeyOnDemand", { KeyId: keyId });
    setRotated("The key is rotated: new key material is current; earlier material still decrypts.");
    history.reload();
    status.reload();
  });
  const why = md.KeyManager === "AWS" ? "AWS rotates AWS managed keys every year; this cannot be changed."
    : md.KeyState !== "Enabled" ? `Rotation can be changed only while the key is enabled (it is ${md.KeyState}).` : undefined;
  const rows = [...(history.data ?? [])].reverse(); // newest first
  return (
    <section>
      <h2 id="rotation-title">Key rotation</h2>
      <Why text={why} />
      {status.loading && <Busy label="Loading the rotation status…" />}
      <ErrorNote error={status.error} />
      {status.data && (
        <form class="key-rotation-form" onSubmit={(e: Event) => { e.preventDefault(); if (!saving) void save(); }}>
          <label class="key-check">
            <input type="checkbox" checked={!!on} disabled={!!why} onChange={(e: Event) => setOn((e.target as HTMLInputElement).checked)} />
            Automatically rotate this key
          </label>
          <label>Rotation period (days)
            <input type="number" min={ROTATION_MIN} max={ROTATION_MAX} step={1} required value={period} disabled={!!why || !on} aria-describedby="rotation-period-hint"
              onInput={(e: Event) => setPeriod((e.target as HTMLInputElement).value)} />
          </label>
          <p class="hint" id="rotation-period-hint">
            Between {ROTATION_MIN} and {ROTATION_MAX} days ({ROTATION_DEFAULT} by default).
            {status.data.KeyRotationEnabled && status.data.NextRotationDate !== undefined && <> Next rotation: {when(status.data.NextRotationDate)}.</>}
          </p>
          <div class="key-row">
            <button type="submit" disabled={!!why} aria-disabled={busyAttr(saving)}>Save</button>
            {saving && <Busy label="Saving rotation settings…" />}
          </div>
          <ErrorNote error={saveError} />
          {!saving && !saveError && <Done text={saved} />}
        </form>
      )}
      <h3>On-demand rotation</h3>
      <p class="hint">Rotate the key material now, whatever the schedule (up to 25 times per key).</p>
      <div class="key-row">
        <button type="button" disabled={!!why} aria-disabled={busyAttr(rotating)} onClick={() => !rotating && showRotate()}>Rotate now</button>
        {rotating && <Busy label="Rotating the key…" />}
      </div>
      <ErrorNote error={rotateError} />
      {!rotating && !rotateError && <Done text={rotated} />}
      {askRotate && (
        <Confirm title="Rotate this key now?" action="Rotate key" onCancel={hideRotate} onConfirm={() => { hideRotate(); void rotate(); }}>
          <p>AWS KMS creates new key material for <code>{md.KeyId}</code> and uses it to encrypt from now on. The earlier material is kept to decrypt what it encrypted. A key can be rotated on demand at most 25 times.</p>
        </Confirm>
      )}
      <h3>Rotation history</h3>
      {history.loading && <Busy label="Loading the rotation history…" />}
      <ErrorNote error={history.error} />
      {history.data && (rows.length ? (
        <table class="key-table key-stack">
          <caption>{rows.length} {rows.length === 1 ? "rotation" : "rotations"}, newest first</caption>
          <thead><tr><th scope="col">Date</th><th scope="col">Rotation type</th><th scope="col">Key material ID</th><th scope="col">State</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td data-label="Date">{when(r.RotationDate)}</td>
                <td data-label="Rotation type">{r.RotationType === "ON_DEMAND" ? "On-demand" : r.RotationType === "AUTOMATIC" ? "Automatic" : r.RotationType ?? "–"}</td>
                <td data-label="Key material ID"><code>{r.KeyMaterialId}</code></td>
                <td data-label="State">{r.KeyMaterialState === "CURRENT" ? "Current" : r.KeyMaterialState === "NON_CURRENT" ? "Earlier" : r.KeyMaterialState ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>This key has not been rotated yet.</p>)}
    </section>
  );
}

// ---- public key ---------------------------------------------------------------------------

type Algorithms = { [K in (typeof ALGORITHMS)[number][0]]?: string[] };
interface PublicKey extends Algorithms { PublicKey: string; KeySpec: string; KeyUsage: string }

function PublicKeySection({ keyId, md }: { keyId: string; md: KeyMetadata }) {
  const session = useSession();
  const enabled = md.KeyState === "Enabled";
  const pk = useLoad(async () => {
    if (!enabled) return undefined;
    const r = await kmsRead<PublicKey>(session, "GetPublicKey", { KeyId: keyId });
    return { ...r, pem: spkiPem(Uint8Array.from(atob(r.PublicKey), (c) => c.charCodeAt(0))) };
  }, [keyId, enabled]);
  const [url, setUrl] = useState<string | undefined>(undefined);
  const pem = pk.data?.pem;
  useEffect(() => {
    if (!pem) return;
    const u = URL.createObjectURL(new Blob([pem], { type: "application/x-pem-file" }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [pem]);
  const d = pk.data;
  return (
    <section>
      <h2 id="public-key-title">Public key</h2>
      {!enabled && <p class="hint">The public key can be read only while the key is enabled (it is {md.KeyState}).</p>}
      {pk.loading && <Busy label="Loading the public key…" />}
      <ErrorNote error={pk.error} />
      {d && (
        <>
          <dl class="config">
            <dt>Key spec</dt><dd>{d.KeySpec}</dd>
            <dt>Key usage</dt><dd>{d.KeyUsage}</dd>
            {ALGORITHMS.filter(([k]) => d[k]?.length).map(([k, label]) => <><dt>{label}</dt><dd>{d[k]!.join(", ")}</dd></>)}
          </dl>
          <pre class="key-pem" tabindex={0} aria-label="Public key (PEM)">{d.pem}</pre>
          {url && <a class="button" href={url} download={`${md.KeyId}.pem`}>Download public key (PEM)</a>}
        </>
      )}
    </section>
  );
}

// ---- aliases ------------------------------------------------------------------------------

function AliasesSection({ keyId, aliases, frozen }: { keyId: string; aliases: { data: Alias[] | undefined; error: unknown; loading: boolean; reload: () => void }; frozen: string | undefined }) {
  const session = useSession();
  const [name, setName] = useState("");
  const [done, setDone] = useDone();
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const [asking, setAsking] = useState<string | undefined>(undefined);
  const full = (n: string) => (n.trim().startsWith("alias/") ? n.trim() : `alias/${n.trim()}`);
  const [create, creating, createError] = useAction(async () => {
    setDone(undefined);
    await kms(session, "CreateAlias", { AliasName: full(name), TargetKeyId: keyId });
    setDone(`Alias ${full(name)} is created.`);
    setName("");
    aliases.reload();
  });
  const [remove, removing, removeError] = useAction(async (alias: string) => {
    setDone(undefined);
    setDeleting(alias);
    await kms(session, "DeleteAlias", { AliasName: alias });
    setDone(`Alias ${alias} is deleted.`);
    focusHeading("aliases-title");
    aliases.reload();
  });
  const hide = () => {
    closeDialog();
    setAsking(undefined);
  };
  return (
    <section>
      <h2 id="aliases-title">Aliases</h2>
      {aliases.loading && <Busy label="Loading aliases…" />}
      <ErrorNote error={aliases.error} />
      {aliases.data && (aliases.data.length ? (
        <table class="key-table key-stack">
          <caption>{aliases.data.length} {aliases.data.length === 1 ? "alias" : "aliases"}</caption>
          <thead><tr><th scope="col">Alias name</th><th scope="col">Alias ARN</th><th scope="col">Created</th><th scope="col"><span class="key-sr">Actions</span></th></tr></thead>
          <tbody>
            {aliases.data.map((a) => (
              <tr>
                <td data-label="Alias name">{a.AliasName}</td>
                <td data-label="Alias ARN"><code>{a.AliasArn}</code></td>
                <td data-label="Created">{when(a.CreationDate)}</td>
                <td><button type="button" aria-label={`Delete alias ${a.AliasName}`} disabled={a.AliasName.startsWith("alias/aws/")} title={a.AliasName.startsWith("alias/aws/") ? "AWS aliases cannot be deleted" : undefined} aria-disabled={busyAttr(removing)} onClick={() => !removing && setAsking(a.AliasName)}>Delete alias</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>This key has no aliases.</p>)}
      {removing && <Busy label={`Deleting ${deleting}…`} />}
      <ErrorNote error={removeError} />
      <form class="key-inline" onSubmit={(e: Event) => { e.preventDefault(); if (!creating && name.trim()) void create(); }}>
        <label>Alias name
          <span class="key-prefixed"><span aria-hidden="true">alias/</span>
            <input value={name} required pattern="(alias\/)?[a-zA-Z0-9:\/_\-]+" maxlength={256} autocomplete="off" spellcheck={false} disabled={!!frozen} aria-describedby="alias-hint"
              onInput={(e: Event) => setName((e.target as HTMLInputElement).value)} />
          </span>
        </label>
        <button type="submit" disabled={!!frozen} aria-disabled={busyAttr(creating)}>Create alias</button>
        {creating && <Busy label="Creating the alias…" />}
      </form>
      <p class="hint" id="alias-hint">{frozen ?? "The name is prefixed with alias/. Letters, numbers, and / _ - : only; it cannot begin with aws/."}</p>
      <ErrorNote error={createError} />
      <Done text={!creating && !removing && !createError && !removeError ? done : undefined} />
      {asking && (
        <Confirm title="Delete alias?" action="Delete alias" onCancel={hide} onConfirm={() => { const a = asking; hide(); void remove(a); }}>
          <p>Delete <code>{asking}</code>? Applications that refer to the key by this alias will fail. The key itself is not affected.</p>
        </Confirm>
      )}
    </section>
  );
}

// ---- tags ---------------------------------------------------------------------------------

function TagsSection({ keyId, frozen }: { keyId: string; frozen: string | undefined }) {
  const session = useSession();
  const tags = useLoad(() => listAll<Tag>(session, "ListResourceTags", { KeyId: keyId }, "Tags", 50), [keyId]);
  const [tagKey, setTagKey] = useState("");
  const [tagValue, setTagValue] = useState("");
  const [done, setDone] = useDone();
  const [removingKey, setRemovingKey] = useState<string | undefined>(undefined);
  const [askingTag, setAskingTag] = useState<string | undefined>(undefined);
  const hideTag = () => {
    closeDialog();
    setAskingTag(undefined);
  };
  const [add, adding, addError] = useAction(async () => {
    setDone(undefined);
    await kms(session, "TagResource", { KeyId: keyId, Tags: [{ TagKey: tagKey, TagValue: tagValue }] });
    setDone(`Tag ${tagKey} is saved.`);
    setTagKey("");
    setTagValue("");
    tags.reload();
  });
  const [remove, removing, removeError] = useAction(async (k: string) => {
    setDone(undefined);
    setRemovingKey(k);
    await kms(session, "UntagResource", { KeyId: keyId, TagKeys: [k] });
    setDone(`Tag ${k} is removed.`);
    focusHeading("tags-title");
    tags.reload();
  });
  return (
    <section>
      <h2 id="tags-title">Tags</h2>
      {tags.loading && <Busy label="Loading tags…" />}
      <ErrorNote error={tags.error} />
      {tags.data && (tags.data.length ? (
        <table class="key-table">
          <caption>{tags.data.length} {tags.data.length === 1 ? "tag" : "tags"}</caption>
          <thead><tr><th scope="col">Tag key</th><th scope="col">Tag value</th><th scope="col"><span class="key-sr">Actions</span></th></tr></thead>
          <tbody>
            {tags.data.map((t) => (
              <tr>
                <td>{t.TagKey}</td>
                <td>{t.TagValue || "–"}</td>
                <td><button type="button" aria-label={`Remove tag ${t.TagKey}`} disabled={!!frozen} aria-disabled={busyAttr(removing)} onClick={() => !removing && setAskingTag(t.TagKey)}>Remove tag</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>This key has no tags.</p>)}
      {removing && <Busy label={`Removing tag ${removingKey}…`} />}
      <ErrorNote error={removeError} />
      {askingTag !== undefined && (
        // Tags can decide access (aws:ResourceTag conditions), so removing one asks first.
        <Confirm title="Remove tag?" action="Remove tag" onCancel={hideTag} onConfirm={() => { const k = askingTag; hideTag(); void remove(k); }}>
          <p>Remove tag <code>{askingTag}</code> from this key? Policies with <code>aws:ResourceTag</code> conditions on it may then allow or deny differently.</p>
        </Confirm>
      )}
      <form class="key-inline" onSubmit={(e: Event) => { e.preventDefault(); if (!adding && tagKey) void add(); }}>
        <label>Tag key <input value={tagKey} required maxlength={128} autocomplete="off" disabled={!!frozen} onInput={(e: Event) => setTagKey((e.target as HTMLInputElement).value)} /></label>
        <label>Tag value <input value={tagValue} maxlength={256} autocomplete="off" disabled={!!frozen} onInput={(e: Event) => setTagValue((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" disabled={!!frozen} aria-disabled={busyAttr(adding)}>Add tag</button>
        {adding && <Busy label="Adding the tag…" />}
      </form>
      <Why text={frozen} />
      <ErrorNote error={addError} />
      <Done text={!adding && !removing && !addError && !removeError ? done : undefined} />
    </section>
  );
}

// ---- grants -------------------------------------------------------------------------------

const constraintText = (c: Grant["Constraints"]): string =>
  c ? Object.entries(c).map(([kind, ctx]) => `${kind}: ${Object.entries(ctx).map(([k, v]) => `${k}=${v}`).join(", ")}`).join("; ") : "–";

function GrantsSection({ keyId }: { keyId: string }) {
  const session = useSession();
  const grants = useLoad(() => listAll<Grant>(session, "ListGrants", { KeyId: keyId }, "Grants", 100), [keyId]);
  const [asking, setAsking] = useState<Grant | undefined>(undefined);
  const [done, setDone] = useDone();
  const [revoke, revoking, revokeError] = useAction(async (grantId: string) => {
    setDone(undefined);
    await kms(session, "RevokeGrant", { KeyId: keyId, GrantId: grantId });
    setDone(`Grant ${grantId} is revoked.`);
    focusHeading("grants-title");
    grants.reload();
  });
  const hide = () => {
    closeDialog();
    setAsking(undefined);
  };
  return (
    <section>
      <h2 id="grants-title">Grants</h2>
      {grants.loading && <Busy label="Loading grants…" />}
      <ErrorNote error={grants.error} />
      {grants.data && (grants.data.length ? (
        <table class="key-table key-stack key-grants">
          <caption>{grants.data.length} {grants.data.length === 1 ? "grant" : "grants"}</caption>
          <thead><tr><th scope="col">Grant ID</th><th scope="col">Name</th><th scope="col">Grantee</th><th scope="col">Operations</th><th scope="col">Constraints</th><th scope="col">Created</th><th scope="col"><span class="key-sr">Actions</span></th></tr></thead>
          <tbody>
            {grants.data.map((g) => (
              <tr>
                <td data-label="Grant ID"><code>{g.GrantId}</code></td>
                <td data-label="Name">{g.Name || "–"}</td>
                <td data-label="Grantee">{g.GranteePrincipal}{g.RetiringPrincipal && <span class="hint"><br />Retiring: {g.RetiringPrincipal}</span>}</td>
                <td data-label="Operations">{g.Operations.join(", ")}</td>
                <td data-label="Constraints">{constraintText(g.Constraints)}</td>
                <td data-label="Created">{when(g.CreationDate)}</td>
                <td><button type="button" aria-label={`Revoke grant ${g.GrantId}`} aria-disabled={busyAttr(revoking)} onClick={() => !revoking && setAsking(g)}>Revoke grant</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>This key has no grants. Grants are created with the CreateGrant API.</p>)}
      {revoking && <Busy label="Revoking the grant…" />}
      <ErrorNote error={revokeError} />
      {!revoking && !revokeError && <Done text={done} />}
      {asking && (
        <Confirm title="Revoke grant?" action="Revoke grant" onCancel={hide} onConfirm={() => { const g = asking; hide(); void revoke(g.GrantId); }}>
          <p>Revoke grant <code>{asking.GrantId}</code>{asking.Name ? ` (${asking.Name})` : ""}? Its grantee, {asking.GranteePrincipal}, loses the permissions it gives ({asking.Operations.join(", ")}) at once.</p>
        </Confirm>
      )}
    </section>
  );
}

