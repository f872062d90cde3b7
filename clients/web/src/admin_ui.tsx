// The pieces every administration form shares: loading a list, running an action with its message,
// labelled inputs, a role picker and a table with column headers.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
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
}

/** A labelled text input; passwords are never autofilled from the browser's store. */
export function Field({ label, value, set, type = "text", testid }: FieldProps) {
  const common = { value, "data-testid": testid, onInput: (e: Event) => set((e.target as HTMLInputElement).value) };
  return (
    <label>
      {label}
      {type === "password" ? <input type="password" autoComplete="new-password" {...common} /> : <input type="text" autoComplete="off" {...common} />}
    </label>
  );
}

/** A labelled select of fixed options. */
export function Choice<T extends string>(props: { label: string; value: T; options: readonly T[]; set: (v: T) => void; testid?: string }) {
  return (
    <label>
      {props.label}
      <select value={props.value} data-testid={props.testid} onChange={(e) => props.set((e.target as HTMLSelectElement).value as T)}>
        {props.options.map((o) => (
          <option value={o}>{o}</option>
        ))}
      </select>
    </label>
  );
}

/** A table with one header row; `children` are its body rows. */
export function Table({ head, children }: { head: string[]; children: ComponentChildren }) {
  return (
    <table>
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
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
