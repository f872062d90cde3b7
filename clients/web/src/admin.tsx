// Administration (admin role only; the app shows this page only when the server would accept its calls):
// cameras (add with a connection test and an optional substream, edit enabled, remove; credentials
// write-only), users, API keys, component health and the audit log.
import { useState } from "preact/hooks";
import type { ComponentStatus } from "./api/generated";
import { OnvifImport, Retention, Webhooks } from "./admin_more";
import { Rules } from "./admin_rules";
import { Act, Choice, Field, list, Messages, pairs, ROLES, type RoleName, RowForm, Table, useAction, useLoad } from "./admin_ui";
import { t } from "./i18n";
import { term } from "./i18n_terms";
import { rpc } from "./session";
import { fmt } from "./time";

type Tab = "cameras" | "users" | "apiKeys" | "webhooks" | "rules" | "retention" | "health" | "audit";

export function AdminPage() {
  const [tab, setTab] = useState<Tab>("cameras");
  const [imports, setImports] = useState(0); // ONVIF imports so far: the camera list reloads after each
  const tabs: Tab[] = ["cameras", "users", "apiKeys", "webhooks", "rules", "retention", "health", "audit"];
  const label: Record<Tab, string> = {
    cameras: t("cameras"),
    users: t("users"),
    apiKeys: t("apiKeys"),
    webhooks: t("webhooks"),
    rules: t("rules"),
    retention: t("retention"),
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
          <Cameras version={imports} />
          <OnvifImport onImported={() => setImports((n) => n + 1)} />
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

/** `version` changes when a camera was added elsewhere on the page (ONVIF import): the list loads again. */
function Cameras({ version }: { version: number }) {
  const [page, reload, loadError] = useLoad(() => rpc.call("list_cameras", { limit: 500 }), [version]);
  const [run, error, note] = useAction();
  const empty = { id: "", name: "", source: "", substream: "", username: "", password: "" };
  const [form, setForm] = useState(empty);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const creds = form.username ? { username: form.username, password: form.password || null } : {};
  return (
    <div>
      <RowForm
        run={run}
        submit={async () => {
          const sub = form.substream || null;
          await rpc.call("add_camera", { id: form.id || null, name: form.name || null, source: form.source, substream: sub, ...creds });
          setForm(empty);
          reload();
        }}
      >
        <Field label={t("id")} value={form.id} set={set("id")} />
        <Field label={t("name")} value={form.name} set={set("name")} />
        <Field label={t("source")} value={form.source} set={set("source")} />
        <Field label={t("substream")} value={form.substream} set={set("substream")} />
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
      </RowForm>
      <Messages error={error || loadError} note={note} />
      <Table head={[t("id"), t("name"), t("source"), t("substream"), t("status"), t("admin")]} empty={t("noCameras")}>
          {page?.cameras.map((c) => (
            <tr key={c.id} data-camera-row={c.id}>
              <td>{c.id}</td>
              <td>{c.name}</td>
              <td>{c.source}</td>
              <td>{c.substream ?? ""}</td>
              <td>{c.enabled ? term(c.status) : t("cameraDisabled")}</td>
              <td>
                <Act label={c.enabled ? t("disable") : t("enable")} run={run} f={async () => (await rpc.call("update_camera", { camera: c.id, enabled: !c.enabled }), reload())} />
                <Act label={t("remove")} ask={`${t("remove")} ${c.id}?`} run={run} f={async () => (await rpc.call("remove_camera", { camera: c.id }), reload())} />
              </td>
            </tr>
          ))}
      </Table>
    </div>
  );
}

function Users() {
  const [users, reload, loadError] = useLoad(() => rpc.call("list_users"));
  const [run, error] = useAction();
  const [form, setForm] = useState({ username: "", password: "", role: "viewer" as RoleName, cameras: "" });
  return (
    <div>
      <RowForm
        run={run}
        submit={async () => {
          const cameras = list(form.cameras);
          await rpc.call("create_user", { username: form.username, password: form.password, role: form.role, cameras: cameras.length ? cameras : null });
          setForm({ username: "", password: "", role: "viewer", cameras: "" });
          reload();
        }}
      >
        <Field label={t("username")} value={form.username} set={(v) => setForm({ ...form, username: v })} />
        <Field label={t("password")} value={form.password} set={(v) => setForm({ ...form, password: v })} type="password" />
        <Choice label={t("role")} value={form.role} options={ROLES} names={term} set={(role) => setForm({ ...form, role })} />
        <Field label={t("cameras")} value={form.cameras} set={(v) => setForm({ ...form, cameras: v })} />
        <button type="submit" disabled={!form.username || !form.password}>
          {t("create")}
        </button>
      </RowForm>
      <Messages error={error || loadError} />
      <Table head={[t("username"), t("role"), t("cameras"), t("status"), t("admin")]}>
          {users?.users.map((u) => (
            <tr key={u.username}>
              <td>{u.username}</td>
              <td>
                <select
                  aria-label={`${t("role")} ${u.username}`}
                  value={u.role}
                  onChange={(e) => void run(async () => (await rpc.call("update_user", { username: u.username, role: (e.target as HTMLSelectElement).value as RoleName }), reload()))}
                >
                  {ROLES.map((r) => (
                    <option value={r}>{term(r)}</option>
                  ))}
                </select>
              </td>
              <td>{(u.scopes.cameras ?? []).join(", ") || t("all")}</td>
              <td>{u.disabled ? t("disabled") : t("sessions", { n: u.active_sessions })}</td>
              <td>
                <Act label={u.disabled ? t("enable") : t("disable")} run={run} f={async () => (await rpc.call("update_user", { username: u.username, disabled: !u.disabled }), reload())} />
              </td>
            </tr>
          ))}
      </Table>
    </div>
  );
}

function ApiKeys() {
  const [keys, reload, loadError] = useLoad(() => rpc.call("list_api_keys"));
  const [run, error, note] = useAction();
  const [name, setName] = useState("");
  const [role, setRole] = useState<RoleName>("viewer");
  return (
    <div>
      <RowForm
        run={run}
        submit={async () => {
          const k = await rpc.call("create_api_key", { name, role });
          setName("");
          reload();
          return `${k.key_id}: ${k.key}`; // shown once, never stored by the console
        }}
      >
        <Field label={t("name")} value={name} set={setName} />
        <Choice label={t("role")} value={role} options={ROLES} names={term} set={setRole} />
        <button type="submit" disabled={!name}>
          {t("create")}
        </button>
      </RowForm>
      <Messages error={error || loadError} note={note && <code>{note}</code>} />
      <Table head={[t("keyId"), t("name"), t("role"), t("status"), t("admin")]} empty={t("noApiKeys")}>
          {keys?.keys.map((k) => (
            <tr key={k.key_id}>
              <td>{k.key_id}</td>
              <td>{k.name}</td>
              <td>{term(k.role)}</td>
              <td>{k.revoked_at ? t("revoked") : t("active")}</td>
              <td>
                {!k.revoked_at && (
                  <Act label={t("remove")} run={run} f={async () => (await rpc.call("revoke_api_key", { key_id: k.key_id }), reload())} />
                )}
              </td>
            </tr>
          ))}
      </Table>
    </div>
  );
}

/** "2 d 3 h", "3 h 4 min", "4 min 5 s" */
function duration(s: number): string {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return t("durDays", { d, h });
  if (h) return t("durHours", { h, m });
  return t("durMinutes", { m, s: Math.floor(s % 60) });
}

/** get_status as a summary line and one row per component (healthy or not, its status, its details). */
function Health() {
  const [status, , error] = useLoad(() => rpc.call("get_status"));
  const objects = status?.component_details ?? status?.components;
  const rows = Object.entries((objects ?? {}) as Record<string, ComponentStatus | string>);
  return (
    <div data-testid="health">
      <Messages error={error} />
      {status && (
        <p data-testid="health-summary">
          <strong class={status.status === "healthy" ? "ok" : "error"}>{status.status === "healthy" ? t("healthy") : t("degraded")}</strong>
          {` · ${t("version")} ${status.version} · ${t("uptime")} ${duration(status.uptime_s)} · ${t("connections")}: ${status.connections}`}
        </p>
      )}
      <Table head={[t("component"), t("status"), t("details")]}>
        {rows.map(([name, c]) => {
          const healthy = typeof c === "string" ? c === "running" : c.healthy;
          return (
            <tr data-component={name}>
              <th scope="row">{name}</th>
              <td class={healthy ? "ok" : "error"}>
                {healthy ? "✓" : "✗"} {typeof c === "string" ? c : c.status}
              </td>
              <td>{typeof c === "string" ? "" : pairs(c.details)}</td>
            </tr>
          );
        })}
      </Table>
    </div>
  );
}

function Audit() {
  const [page, , error] = useLoad(() => rpc.call("list_audit", { limit: 100 }));
  return (
    <div>
      <Messages error={error} />
      <Table head={[t("time"), t("actor"), t("method"), t("outcome"), t("address")]} empty={t("noEntries")}>
          {page?.entries.map((e) => (
            <tr key={e.id}>
              <td title={e.time}>{fmt(e.time)}</td>
              <td>{e.actor}</td>
              <td>{e.method}</td>
              <td>{e.outcome}</td>
              <td>{e.remote}</td>
            </tr>
          ))}
      </Table>
    </div>
  );
}
