// The pieces every administration form shares: loading a list, running an action with its message,
// labelled inputs, a role picker and a table with column headers.
import { type ComponentChildren, toChildArray } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import type { Methods } from "./api/generated";

export type RoleName = Methods["create_user"]["params"]["role"];
export const ROLES: RoleName[] = ["viewer", "operator", "admin"];

/** [data, reload, error]: `f` runs on mount, on reload() and when `deps` change. */
export function useLoad<T>(f: () => Promise<T>, deps: unknown[] = []): [T | null, () => void, string] {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    f().then(setData, (e) => setError(String(e?.message ?? e)));
  }, [n, ...deps]);
  return [data, () => setN((x) => x + 1), error];
}

/** [run, error, note]: run(f) shows f's error, or the string it returns as a note. */
export function useAction(): [(f: () => Promise<unknown>) => Promise<void>, string, string] {
  const [error, setError] = useState("");
  const [note, setNote] = useState("");
  const run = async (f: () => Promise<unknown>) => {
    setError("");
    setNote("");
    try {
      const r = await f();
      if (typeof r === "string") setNote(r);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return [run, error, note];
}

export function Messages({ error, note = "" }: { error: string; note?: ComponentChildren }) {
  return (
    <>
      {note && <p role="status">{note}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

interface FieldProps {
  label: string;
  value: string;
  set: (v: string) => void;
  type?: "text" | "password";
  testid?: string;
  placeholder?: string;
  hint?: string; // shown under the input and announced with it (aria-describedby), not part of the label
  required?: boolean;
  inputMode?: "text" | "decimal" | "numeric";
}

/** Wraps a labelled control with its hint, when it has one. */
function WithHint({ hint, id, children }: { hint?: string; id: string; children: ComponentChildren }) {
  if (!hint) return <>{children}</>;
  return (
    <span class="field">
      {children}
      <small class="hint" id={id}>
        {hint}
      </small>
    </span>
  );
}

/** A labelled text input; passwords are never autofilled from the browser's store. */
export function Field({ label, value, set, type = "text", testid, placeholder, hint, required, inputMode }: FieldProps) {
  const id = useId();
  const common = {
    value,
    "data-testid": testid,
    placeholder,
    required,
    inputMode,
    "aria-describedby": hint ? id : undefined,
    onInput: (e: Event) => set((e.target as HTMLInputElement).value),
  };
  return (
    <WithHint hint={hint} id={id}>
      <label>
        {label}
        {type === "password" ? <input type="password" autoComplete="new-password" {...common} /> : <input type="text" autoComplete="off" {...common} />}
      </label>
    </WithHint>
  );
}

/** A labelled select of fixed options; `names` gives an option its text (default: its value). */
export function Choice<T extends string>(props: { label: string; value: T; options: readonly T[]; set: (v: T) => void; testid?: string; hint?: string; names?: (o: T) => string }) {
  const id = useId();
  return (
    <WithHint hint={props.hint} id={id}>
      <label>
        {props.label}
        <select value={props.value} data-testid={props.testid} aria-describedby={props.hint ? id : undefined} onChange={(e) => props.set((e.target as HTMLSelectElement).value as T)}>
          {props.options.map((o) => (
            <option value={o}>{props.names ? props.names(o) : o}</option>
          ))}
        </select>
      </label>
    </WithHint>
  );
}

/** A table with one header row; `children` are its body rows. Once loaded (children not undefined) and
 * without rows, it says `empty` in one row instead of showing bare headers. */
export function Table({ head, children, empty }: { head: string[]; children: ComponentChildren; empty?: string }) {
  const none = empty && children !== undefined && children !== null && toChildArray(children).length === 0;
  return (
    <table>
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {none ? (
          <tr data-testid="empty">
            <td colSpan={head.length} class="muted">
              {empty}
            </td>
          </tr>
        ) : (
          children
        )}
      </tbody>
    </table>
  );
}

/** A row's button: runs `f` through `run` (its error/note shown), after a confirmation when `ask` is set. */
export function Act(props: { label: string; run: (f: () => Promise<unknown>) => Promise<void>; f: () => Promise<unknown>; ask?: string }) {
  return (
    <button type="button" onClick={() => (!props.ask || confirm(props.ask)) && void props.run(props.f)}>
      {props.label}
    </button>
  );
}

/** "a, b,,c" -> ["a", "b", "c"] */
export const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

/** A one-row form whose submit runs `submit` through `run` (errors and notes shown by the caller). */
export function RowForm(props: { run: (f: () => Promise<unknown>) => Promise<void>; submit: () => Promise<unknown>; children: ComponentChildren }) {
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        void props.run(props.submit);
      }}
    >
      {props.children}
    </form>
  );
}

/** A value in words: "—" for nothing (null, [], {}), a list of plain values joined, else compact JSON. */
function detailValue(v: unknown): string {
  if (v == null || (typeof v === "object" && !Object.keys(v).length)) return "—";
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) return v.join(", ");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** {a: 1, b: null} -> "a: 1 · b: —" */
export const pairs = (details: Record<string, unknown>) =>
  Object.entries(details)
    .map(([k, v]) => `${k}: ${detailValue(v)}`)
    .join(" · ");

/** 1536 -> "1.5 KiB" */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
