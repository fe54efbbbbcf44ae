// Key page sections of issue 14: imported key material (origin EXTERNAL), multi-Region keys
// (primary and replicas, and making a replica) and last usage. Imports are wrapped in the
// browser: GetParametersForImport's RSA public key wraps the chosen file with WebCrypto's
// RSA-OAEP (SHA-256) before ImportKeyMaterial, so the material never crosses the network in
// the clear. That covers symmetric and HMAC material (at most 446 bytes under RSA_4096);
// RSA and ECC private keys need RSA_AES_KEY_WRAP (RFC 5649 padding, which WebCrypto lacks):
// the page says to use `edgekms import-key-material` for those.
import { useState } from "hono/jsx/dom";
import type { Child } from "hono/jsx";
import { kms, kmsRead, REGIONS } from "../api.js";
import { Busy, Confirm, ErrorNote, useAction, useDone, useLoad, useSession, when } from "../ui.js";

export interface MultiRegionConfiguration {
  MultiRegionKeyType: "PRIMARY" | "REPLICA";
  PrimaryKey?: { Arn: string; Region: string };
  ReplicaKeys?: { Arn: string; Region: string }[];
}

/** What these sections read of DescribeKey's KeyMetadata. */
export interface MaterialMetadata {
  KeyId: string;
  Arn: string;
  KeySpec: string;
  KeyState: string;
  Origin: string;
  KeyManager: string;
  ExpirationModel?: string;
  ValidTo?: number;
  MultiRegion?: boolean;
  MultiRegionConfiguration?: MultiRegionConfiguration;
}

interface Rotation { KeyMaterialId: string; KeyMaterialState?: string; ImportState?: string; ExpirationModel?: string; ValidTo?: number; KeyMaterialDescription?: string }
interface LastUsage { KeyLastUsage?: { Operation: string; Timestamp: number; CloudTrailEventId: string }; TrackingStartDate: number; KeyCreationDate: number }

const row = (label: string, value: Child) => <><dt>{label}</dt><dd>{value}</dd></>;

/** The key's last cryptographic use (GetKeyLastUsage), as a General configuration row. */
export function LastUsageRow({ keyId }: { keyId: string }) {
  const session = useSession();
  const u = useLoad(() => kmsRead<LastUsage>(session, "GetKeyLastUsage", { KeyId: keyId }), [keyId]);
  const d = u.data;
  const text = u.error ? "(could not be read)"
    : !d ? "…"
    : d.KeyLastUsage ? `${d.KeyLastUsage.Operation}, ${when(d.KeyLastUsage.Timestamp)}`
    : `Not used since ${when(d.TrackingStartDate)}`;
  return (
    <>
      {row("Last used", d?.KeyLastUsage ? <span title={`CloudTrail event ${d.KeyLastUsage.CloudTrailEventId}`}>{text}</span> : text)}
    </>
  );
}

/** Rows of General configuration for imported material: its expiration. */
export function ImportedRows({ md }: { md: MaterialMetadata }) {
  if (md.Origin !== "EXTERNAL") return null;
  const expiry = md.ExpirationModel === "KEY_MATERIAL_DOES_NOT_EXPIRE" ? "Does not expire"
    : md.ExpirationModel === "KEY_MATERIAL_EXPIRES" ? `Expires ${when(md.ValidTo)}`
    : "No key material imported yet";
  return <>{row("Key material expiration", expiry)}</>;
}

const importable = (spec: string) => spec === "SYMMETRIC_DEFAULT" || spec.startsWith("HMAC_");

/** Key material of an EXTERNAL key: its versions with import state, import (wrapped here) and deletion. */
export function KeyMaterialSection({ md, onChanged }: { md: MaterialMetadata; onChanged: () => void }) {
  const session = useSession();
  const symmetric = md.KeySpec === "SYMMETRIC_DEFAULT";
  const materials = useLoad(async () => (symmetric
    ? (await kmsRead<{ Rotations: Rotation[] }>(session, "ListKeyRotations", { KeyId: md.KeyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" })).Rotations
    : undefined), [md.KeyId, md.KeyState, md.ValidTo]);
  const [file, setFile] = useState<File | undefined>(undefined);
  const [expires, setExpires] = useState(false);
  const [validTo, setValidTo] = useState("");
  const [asNew, setAsNew] = useState(false);
  const [done, setDone] = useDone();
  const [askDelete, setAskDelete] = useState(false);
  const pending = md.KeyState === "PendingDeletion" || md.KeyState === "PendingReplicaDeletion";

  const [importNow, importing, importError] = useAction(async (): Promise<void> => {
    setDone(undefined);
    if (!file) throw new Error("Choose the file that holds the key material.");
    if (expires && !validTo) throw new Error("Choose the date the key material expires, or that it does not expire.");
    const material = new Uint8Array(await file.arrayBuffer());
    try {
      const p = await kms<{ ImportToken: string; PublicKey: string }>(session, "GetParametersForImport", { KeyId: md.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_4096" });
      const wrappingKey = await crypto.subtle.importKey("spki", Uint8Array.from(atob(p.PublicKey), (c) => c.charCodeAt(0)), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
      let wrapped: Uint8Array;
      try {
        wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, wrappingKey, material));
      } catch {
        throw new Error(`The file is ${material.length} bytes: too long to wrap with RSAES_OAEP_SHA_256. Symmetric keys take 32 bytes of raw key material, HMAC keys 28 to 128.`);
      }
      const out = await kms<{ KeyMaterialId: string }>(session, "ImportKeyMaterial", {
        KeyId: md.KeyId,
        ImportToken: p.ImportToken,
        EncryptedKeyMaterial: btoa(String.fromCharCode(...wrapped)),
        ...(expires ? { ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: Math.floor(new Date(validTo).getTime() / 1000) } : { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }),
        ...(asNew ? { ImportType: "NEW_KEY_MATERIAL" } : {}),
      });
      setDone(asNew ? `New key material ${out.KeyMaterialId.slice(0, 12)}… is imported and pending rotation: rotate the key on demand to make it current.` : `Key material ${out.KeyMaterialId.slice(0, 12)}… is imported.`);
      setFile(undefined);
      onChanged();
      materials.reload();
    } finally {
      material.fill(0);
    }
  });
  const [rotateNow, rotating, rotateError] = useAction(async () => {
    setDone(undefined);
    await kms(session, "RotateKeyOnDemand", { KeyId: md.KeyId });
    setDone("The key is rotated: the new key material is current. Earlier material still decrypts what it encrypted.");
    onChanged();
    materials.reload();
  });
  const [deleteNow, deleting, deleteError] = useAction(async () => {
    setDone(undefined);
    await kms(session, "DeleteImportedKeyMaterial", { KeyId: md.KeyId });
    setDone("The key material is deleted. The key cannot be used until you import the same key material again.");
    onChanged();
    materials.reload();
  });

  const rows = materials.data ?? [];
  return (
    <section>
      <h2 id="key-material-title">Key material</h2>
      <p>This key's material was imported (origin EXTERNAL): EdgeKMS never generated it, and you keep a copy. Keep it safe: if it expires or is deleted, only the same material can be imported again.</p>
      {materials.loading && <Busy label="Loading the key material…" />}
      <ErrorNote error={materials.error} />
      {rows.length > 0 && (
        <table class="key-table key-stack">
          <caption>Key material versions</caption>
          <thead><tr><th scope="col">Key material ID</th><th scope="col">State</th><th scope="col">Import state</th><th scope="col">Expiration</th><th scope="col">Description</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td data-label="Key material ID"><code>{r.KeyMaterialId.slice(0, 16)}…</code></td>
                <td data-label="State">{r.KeyMaterialState === "CURRENT" ? "Current" : r.KeyMaterialState === "PENDING_ROTATION" ? "Pending rotation" : "Earlier"}</td>
                <td data-label="Import state">{r.ImportState === "IMPORTED" ? "Imported" : "Pending import"}</td>
                <td data-label="Expiration">{r.ExpirationModel === "KEY_MATERIAL_EXPIRES" ? when(r.ValidTo) : r.ExpirationModel ? "Does not expire" : "–"}</td>
                <td data-label="Description">{r.KeyMaterialDescription ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pending ? <p class="hint">Key material cannot be imported while the key is pending deletion.</p> : importable(md.KeySpec) ? (
        <form class="key-import" aria-labelledby="import-title" onSubmit={(e: Event) => { e.preventDefault(); void importNow(); }}>
          <h3 id="import-title">Import key material</h3>
          <div class="field">
            <label for="material-file">Key material file ({symmetric ? "32 bytes" : "28 to 128 bytes"}, raw, not encoded)</label>
            <input id="material-file" type="file" onChange={(e: Event) => setFile((e.target as HTMLInputElement).files?.[0])} />
            <p class="hint">Wrapped in this browser with a fresh RSA_4096 wrapping key (RSAES_OAEP_SHA_256) before it is sent.</p>
          </div>
          <fieldset>
            <legend>Expiration</legend>
            <label class="choice"><input type="radio" name="expires" checked={!expires} onChange={() => setExpires(false)} /> Key material does not expire</label>
            <label class="choice"><input type="radio" name="expires" checked={expires} onChange={() => setExpires(true)} /> Key material expires</label>
            {expires && <label>Expires on <input id="valid-to" type="datetime-local" value={validTo} onInput={(e: Event) => setValidTo((e.target as HTMLInputElement).value)} /></label>}
          </fieldset>
          {symmetric && md.KeyState !== "PendingImport" && (
            <label class="choice"><input type="checkbox" checked={asNew} onChange={(e: Event) => setAsNew((e.target as HTMLInputElement).checked)} /> New key material for an on-demand rotation (otherwise: reimport the current material)</label>
          )}
          <button type="submit" aria-disabled={importing ? "true" : undefined}>Import key material</button>
          {importing && <Busy label="Wrapping and importing the key material…" />}
          <ErrorNote error={importError} />
        </form>
      ) : (
        <p class="hint">{md.KeySpec} material is a private key, too large for RSAES-OAEP alone. Import it with <code>edgekms import-key-material --key-id {md.KeyId} --key-material key.pem</code>, which wraps it with RSA_AES_KEY_WRAP_SHA_256.</p>
      )}
      {symmetric && <p class="hint">Imported key material is not rotated automatically. To rotate, import new key material (tick “New key material” above), then rotate on demand.</p>}
      {rows.some((r) => r.KeyMaterialState === "PENDING_ROTATION") && md.KeyState === "Enabled" && (
        <button type="button" aria-disabled={rotating ? "true" : undefined} onClick={() => !rotating && void rotateNow()}>Rotate key on demand</button>
      )}
      {rotating && <Busy label="Rotating the key…" />}
      <ErrorNote error={rotateError} />
      {md.KeyState !== "PendingImport" && (
        <button type="button" class="danger-outline" aria-disabled={deleting ? "true" : undefined} onClick={() => !deleting && setAskDelete(true)}>Delete key material</button>
      )}
      {deleting && <Busy label="Deleting the key material…" />}
      <ErrorNote error={deleteError} />
      {done && <p class="key-done" role="status">{done}</p>}
      {askDelete && (
        <Confirm title="Delete key material?" action="Delete key material" onCancel={() => setAskDelete(false)} onConfirm={() => { setAskDelete(false); void deleteNow(); }}>
          <p>The key becomes unusable (PendingImport) until you import the same key material again. Data encrypted under it cannot be decrypted meanwhile.</p>
        </Confirm>
      )}
    </section>
  );
}

/** A multi-Region key: its primary and replicas with their regions, and (on the primary) making a replica. */
export function RegionalitySection({ md, onChanged }: { md: MaterialMetadata; onChanged: () => void }) {
  const session = useSession();
  const config = md.MultiRegionConfiguration;
  const taken = new Set([config?.PrimaryKey?.Region, ...(config?.ReplicaKeys ?? []).map((r) => r.Region)]);
  const free = REGIONS.filter((r) => !taken.has(r));
  const [region, setRegion] = useState<string | undefined>(undefined);
  const [done, setDone] = useDone();
  const target = region ?? free[0];
  const [replicate, replicating, error] = useAction(async () => {
    setDone(undefined);
    await kms(session, "ReplicateKey", { KeyId: md.KeyId, ReplicaRegion: target });
    setDone(`A replica of this key now exists in ${target}, with the same key ID and key material. Its policy, aliases, tags and grants are its own.`);
    setRegion(undefined);
    onChanged();
  });
  if (!config) return null;
  const primary = config.MultiRegionKeyType === "PRIMARY";
  return (
    <section>
      <h2 id="regionality-title">Regionality</h2>
      <p>This is a multi-Region {primary ? "primary" : "replica"} key: ciphertext made under any key of the set decrypts under every other.</p>
      <table class="key-table key-stack">
        <caption>Keys of this multi-Region key</caption>
        <thead><tr><th scope="col">Region</th><th scope="col">Role</th><th scope="col">ARN</th></tr></thead>
        <tbody>
          {config.PrimaryKey && <tr><td data-label="Region">{config.PrimaryKey.Region}</td><td data-label="Role">Primary</td><td data-label="ARN"><code>{config.PrimaryKey.Arn}</code></td></tr>}
          {(config.ReplicaKeys ?? []).map((r) => <tr><td data-label="Region">{r.Region}</td><td data-label="Role">Replica</td><td data-label="ARN"><code>{r.Arn}</code></td></tr>)}
        </tbody>
      </table>
      {primary && md.KeyManager !== "AWS" && (free.length ? (
        <form class="key-replicate" onSubmit={(e: Event) => { e.preventDefault(); void replicate(); }}>
          <label for="replica-region">Create a replica key in</label>
          <select id="replica-region" onChange={(e: Event) => setRegion((e.target as HTMLSelectElement).value)}>
            {free.map((r) => <option value={r} selected={r === target}>{r}</option>)}
          </select>
          <button type="submit" aria-disabled={replicating ? "true" : undefined}>Create replica key</button>
        </form>
      ) : <p class="hint">Every region this EdgeKMS serves already holds a key of this set.</p>)}
      {!primary && <p class="hint">Rotation and key material follow the primary key in {config.PrimaryKey?.Region}; manage them there.</p>}
      {replicating && <Busy label={`Creating the replica in ${target}…`} />}
      <ErrorNote error={error} />
      {done && <p class="key-done" role="status">{done}</p>}
    </section>
  );
}
