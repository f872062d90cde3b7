// Administration (admin role only; the app shows this page only when the server would accept its calls):
// cameras (add with a connection test, edit enabled, remove; credentials write-only), users, API keys,
// component health and the audit log.
import { useEffect, useState } from "preact/hooks";
import type { Methods } from "./api/generated";
import { t } from "./i18n";
import { rpc } from "./session";
import { OnvifImport, Retention, Rules, Webhooks } from "./admin_more";
import { fmt } from "./time";

type Tab = "cameras" | "users" | "apiKeys" | "webhooks" | "rules" | "retention" | "health" | "audit";

function useLoad<T>(f: () => Promise<T>, deps: unknown[] = []): [T | null, () => void, string] {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    f().then(setData, (e) => setError(String(e?.message ?? e)));
  }, [n, ...deps]);
  return [data, () => setN((x) => x + 1), error];
}

function useAction(): [(f: () => Promise<unknown>) => Promise<void>, string, string] {
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

export function AdminPage() {
  const [tab, setTab] = useState<Tab>("cameras");
  const tabs: Tab[] = ["cameras", "users", "apiKeys", "webhooks", "rules", "retention", "health", "audit"];
  const label: Record<Tab, string> = {
    cameras: t("cameras"),
    users: t("users"),
    apiKeys: t("apiKeys"),
    webhooks: "Webhooks",
    rules: "Rules",
    retention: "Retention",
    health: t("health"),
    audit: t("audit"),
  };
  return (
    <section class="admin" aria-label={t("admin")}>
      <div class="toolbar" role="tablist">
        {tabs.map((x) => (
          <button type="button" role="tab" aria-selected={tab === x} data-tab={x} onClick={() => setTab(x)}>
            {label[x]}
          </button>
        ))}
      </div>
      {tab === "cameras" && (
        <>
          <Cameras />
          <OnvifImport />
        </>
      )}
      {tab === "webhooks" && <Webhooks />}
      {tab === "rules" && <Rules />}
      {tab === "retention" && <Retention />}
      {tab === "users" && <Users />}
      {tab === "apiKeys" && <ApiKeys />}
      {tab === "health" && <Health />}
      {tab === "audit" && <Audit />}
    </section>
  );
}

function Field({ label, value, set, type = "text" }: { label: string; value: string; set: (v: string) => void; type?: "text" | "password" }) {
  return (
    <label>
      {label}
      {type === "password" ? (
        <input type="password" value={value} autoComplete="new-password" onInput={(e) => set((e.target as HTMLInputElement).value)} />
      ) : (
        <input type="text" value={value} autoComplete="off" onInput={(e) => set((e.target as HTMLInputElement).value)} />
      )}
    </label>
  );
}

function Cameras() {
  const [page, reload, loadError] = useLoad(() => rpc.call("list_cameras", { limit: 500 }));
  const [run, error, note] = useAction();
  const [form, setForm] = useState({ id: "", name: "", source: "", username: "", password: "" });
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const creds = form.username ? { username: form.username, password: form.password || null } : {};
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await rpc.call("add_camera", { id: form.id || null, name: form.name || null, source: form.source, ...creds });
            setForm({ id: "", name: "", source: "", username: "", password: "" });
            reload();
          });
        }}
      >
        <Field label="ID" value={form.id} set={set("id")} />
        <Field label={t("name")} value={form.name} set={set("name")} />
        <Field label={t("source")} value={form.source} set={set("source")} />
        <Field label={t("username")} value={form.username} set={set("username")} />
        <Field label={t("password")} value={form.password} set={set("password")} type="password" />
        <button
          type="button"
          disabled={!form.source || form.source === "publisher"}
          onClick={() =>
            void run(async () => {
              const r = await rpc.call("probe_camera", { source: form.source, ...creds }, 30_000);
              return `${r.codec ?? "?"} ${r.width ?? "?"}x${r.height ?? "?"} ${r.fps ?? "?"} fps`;
            })
          }
        >
          {t("probe")}
        </button>
        <button type="submit" disabled={!form.source}>
          {t("add")}
        </button>
      </form>
      {note && <p role="status">{note}</p>}
      {(error || loadError) && <p class="error" role="alert">{error || loadError}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">{t("name")}</th>
            <th scope="col">{t("source")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {page?.cameras.map((c) => (
            <tr key={c.id}>
              <td>{c.id}</td>
              <td>{c.name}</td>
              <td>{c.source}</td>
              <td>{c.enabled ? c.status : "DISABLED"}</td>
              <td>
                <button type="button" onClick={() => void run(async () => (await rpc.call("update_camera", { camera: c.id, enabled: !c.enabled } as never), reload()))}>
                  {c.enabled ? t("disable") : t("enable")}
                </button>
                <button type="button" onClick={() => confirm(`${t("remove")} ${c.id}?`) && void run(async () => (await rpc.call("remove_camera", { camera: c.id } as never), reload()))}>
                  {t("remove")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type RoleName = Methods["create_user"]["params"]["role"];

function Users() {
  const [list, reload, loadError] = useLoad(() => rpc.call("list_users"));
  const [run, error] = useAction();
  const [form, setForm] = useState({ username: "", password: "", role: "viewer" as RoleName, cameras: "" });
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const cameras = form.cameras.split(",").map((s) => s.trim()).filter(Boolean);
            await rpc.call("create_user", { username: form.username, password: form.password, role: form.role, cameras: cameras.length ? cameras : null });
            setForm({ username: "", password: "", role: "viewer", cameras: "" });
            reload();
          });
        }}
      >
        <Field label={t("username")} value={form.username} set={(v) => setForm({ ...form, username: v })} />
        <Field label={t("password")} value={form.password} set={(v) => setForm({ ...form, password: v })} type="password" />
        <label>
          {t("role")}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value as RoleName })}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <Field label={t("cameras")} value={form.cameras} set={(v) => setForm({ ...form, cameras: v })} />
        <button type="submit" disabled={!form.username || !form.password}>
          {t("create")}
        </button>
      </form>
      {(error || loadError) && <p class="error" role="alert">{error || loadError}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("username")}</th>
            <th scope="col">{t("role")}</th>
            <th scope="col">{t("cameras")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {list?.users.map((u) => (
            <tr key={u.username}>
              <td>{u.username}</td>
              <td>
                <select
                  aria-label={`${t("role")} ${u.username}`}
                  value={u.role}
                  onChange={(e) => void run(async () => (await rpc.call("update_user", { username: u.username, role: (e.target as HTMLSelectElement).value as RoleName }), reload()))}
                >
                  <option value="viewer">viewer</option>
                  <option value="operator">operator</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>{(u.scopes.cameras ?? []).join(", ") || t("all")}</td>
              <td>{u.disabled ? "disabled" : `${u.active_sessions} sessions`}</td>
              <td>
                <button type="button" onClick={() => void run(async () => (await rpc.call("update_user", { username: u.username, disabled: !u.disabled }), reload()))}>
                  {u.disabled ? t("enable") : t("disable")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ApiKeys() {
  const [list, reload, loadError] = useLoad(() => rpc.call("list_api_keys"));
  const [run, error, note] = useAction();
  const [name, setName] = useState("");
  const [role, setRole] = useState<RoleName>("viewer");
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const k = await rpc.call("create_api_key", { name, role });
            setName("");
            reload();
            return `${k.key_id}: ${k.key}`; // shown once, never stored by the console
          });
        }}
      >
        <Field label={t("name")} value={name} set={setName} />
        <label>
          {t("role")}
          <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as RoleName)}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" disabled={!name}>
          {t("create")}
        </button>
      </form>
      {note && <p role="status"><code>{note}</code></p>}
      {(error || loadError) && <p class="error" role="alert">{error || loadError}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">key_id</th>
            <th scope="col">{t("name")}</th>
            <th scope="col">{t("role")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {list?.keys.map((k) => (
            <tr key={k.key_id}>
              <td>{k.key_id}</td>
              <td>{k.name}</td>
              <td>{k.role}</td>
              <td>{k.revoked_at ? "revoked" : "active"}</td>
              <td>
                {!k.revoked_at && (
                  <button type="button" onClick={() => void run(async () => (await rpc.call("revoke_api_key", { key_id: k.key_id }), reload()))}>
                    {t("remove")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Health() {
  const [status, , error] = useLoad(() => rpc.call("get_status"));
  return (
    <div>
      {error && <p class="error" role="alert">{error}</p>}
      <pre data-testid="health">{status ? JSON.stringify(status, null, 2) : ""}</pre>
    </div>
  );
}

function Audit() {
  const [page, , error] = useLoad(() => rpc.call("list_audit", { limit: 100 }));
  return (
    <div>
      {error && <p class="error" role="alert">{error}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("time")}</th>
            <th scope="col">actor</th>
            <th scope="col">method</th>
            <th scope="col">outcome</th>
            <th scope="col">remote</th>
          </tr>
        </thead>
        <tbody>
          {page?.entries.map((e) => (
            <tr key={e.id}>
              <td title={e.time}>{fmt(e.time)}</td>
              <td>{e.actor}</td>
              <td>{e.method}</td>
              <td>{e.outcome}</td>
              <td>{e.remote}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
