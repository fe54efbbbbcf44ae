// Small shared pieces of the console: the session context, error notes, progress, dialogs.
import { createContext, useContext, useEffect, useRef, useState } from "hono/jsx/dom";
import type { Child } from "hono/jsx";
import { ApiError, type Session } from "./api.js";

export const SessionContext = createContext<Session | undefined>(undefined);

/** The signed-in session (pages render only inside a signed-in shell). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
}

/** A URL part decoded, or undefined when it is not valid percent-encoding (a malformed link). */
export function decodePart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Where the app is: the part of the URL after #, e.g. "/keys", "/keys/<id>". */
export function navigate(path: string): void {
  location.hash = `#${path}`;
}

/** An error from the API, shown next to what caused it (role=alert, so screen readers hear it). */
export function ErrorNote({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const e = error as Error;
  const text = e instanceof ApiError ? `${e.type}: ${e.message}` : e.message ?? String(e);
  return <p class="error" role="alert" id={id}>{text}</p>;
}

export function Busy({ label }: { label: string }) {
  return <p class="busy" role="status" aria-live="polite"><span class="spinner" aria-hidden="true" /> {label}</p>;
}

/**
 * Runs an async action with its progress and error state: `[run, busy, error]`. The button
 * that starts it is disabled while it runs.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): [(...args: A) => Promise<void>, boolean, unknown, (e: unknown) => void] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await action(...args);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error, setError];
}

/**
 * Loads data on mount and when `deps` change: `{ data, error, loading, reload }`.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    load().then((d) => live && setData(d), (e) => live && setError(e)).finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

/**
 * A modal confirmation for a destructive action (a native <dialog>: focus moves into it and
 * Escape closes it). `confirmWord`, when given, must be typed before the action is allowed.
 */
export function Confirm(props: { title: string; children: Child; action: string; confirmWord?: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState("");
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const ok = props.confirmWord === undefined || typed === props.confirmWord;
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      {props.confirmWord !== undefined && (
        <label>
          Type <code>{props.confirmWord}</code> to confirm
          <input value={typed} onInput={(e: Event) => setTyped((e.target as HTMLInputElement).value)} autocomplete="off" />
        </label>
      )}
      <div class="actions">
        <button type="button" onClick={props.onCancel}>Cancel</button>
        <button type="button" class="danger" disabled={!ok} onClick={() => ok && props.onConfirm()}>{props.action}</button>
      </div>
    </dialog>
  );
}

/** Seconds since the epoch (the API's timestamps) as a local date and time. */
export const when = (seconds: number | undefined): string => (seconds === undefined ? "–" : new Date(seconds * 1000).toLocaleString());

/**
 * A page's success notes: each section says what its last action did, and a note goes when
 * another section's action shows its own, so an old note ("The key is disabled.") never stands
 * next to a newer change that contradicts it. A page provides NotesContext (useNotes); without
 * one a note stays until its own section replaces it.
 */
interface Notes { owner: object | undefined; claim(owner: object): void }
export const NotesContext = createContext<Notes | undefined>(undefined);

export function useNotes(): Notes {
  const [owner, setOwner] = useState<object | undefined>(undefined);
  return { owner, claim: setOwner };
}

/** A section's note: [the text shown (undefined once another section spoke), set it]. */
export function useDone(): [string | undefined, (text: string | undefined) => void] {
  const notes = useContext(NotesContext);
  const me = useRef<object>({}).current!;
  const [text, setText] = useState<string | undefined>(undefined);
  const set = (t: string | undefined) => {
    setText(t);
    if (t !== undefined) notes?.claim(me);
  };
  return [notes && notes.owner !== me ? undefined : text, set];
}
