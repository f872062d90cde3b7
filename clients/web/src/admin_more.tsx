// More administration: webhooks (add, test, deliveries, redrive, remove), rules (enable/disable),
// retention and storage (edit as JSON), ONVIF import.
import { useEffect, useState } from "preact/hooks";
import { t } from "./i18n";
import { rpc } from "./session";
import { fmt } from "./time";

function useData<T>(f: () => Promise<T>): [T | null, () => void, string] {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    f().then(setData, (e) => setError(String(e?.message ?? e)));
  }, [n]);
  return [data, () => setN((x) => x + 1), error];
}

function useRun(): [(f: () => Promise<string | void>) => Promise<void>, string, string] {
  const [error, setError] = useState("");
  const [note, setNote] = useState("");
  const run = async (f: () => Promise<string | void>) => {
    setError("");
    setNote("");
    try {
      setNote((await f()) ?? "");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return [run, error, note];
}

function Messages({ error, note }: { error: string; note: string }) {
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

export function Webhooks() {
  const [hooks, reload, loadError] = useData(() => rpc.call("list_webhooks"));
  const [deliveries, reloadDeliveries] = useData(() => rpc.call("list_webhook_deliveries", { limit: 50 }));
  const [run, error, note] = useRun();
  const [url, setUrl] = useState("");
  const [topics, setTopics] = useState("*");
  return (
    <div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await rpc.call("add_webhook", { url, topics: topics.split(",").map((s) => s.trim()).filter(Boolean) });
            setUrl("");
            reload();
          });
        }}
      >
        <label>
          URL
          <input type="text" value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Topics
          <input type="text" value={topics} onInput={(e) => setTopics((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={!url}>
          {t("add")}
        </button>
      </form>
      <Messages error={error || loadError} note={note} />
      <table>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Topics</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {hooks?.map((h) => (
            <tr key={h.id}>
              <td>{h.url}</td>
              <td>{h.topics.join(", ")}</td>
              <td>{h.enabled === false ? "disabled" : "enabled"}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    void run(async () => {
                      const r = await rpc.call("test_webhook", { id: h.id }, 30_000);
                      reloadDeliveries();
                      return r.delivered ? `delivered: HTTP ${r.status} in ${Math.round(r.latency_ms)} ms` : `failed: ${r.error ?? r.status}`;
                    })
                  }
                >
                  Test
                </button>
                <button type="button" onClick={() => void run(async () => (await rpc.call("remove_webhook", { id: h.id }), reload()))}>
                  {t("remove")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Deliveries</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("time")}</th>
            <th scope="col">{t("type")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">Attempts</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {deliveries?.map((d) => (
            <tr key={d.id}>
              <td title={new Date(d.created_at * 1000).toISOString()}>{fmt(d.created_at * 1000)}</td>
              <td>{d.event_type}</td>
              <td>
                {d.status} {d.last_status ?? ""} {d.last_error ?? ""}
              </td>
              <td>{d.attempts}</td>
              <td>
                {d.status !== "delivered" && (
                  <button type="button" onClick={() => void run(async () => (await rpc.call("redrive_webhook_delivery", { id: d.id }), reloadDeliveries()))}>
                    Redrive
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

export function Rules() {
  const [rules, reload, loadError] = useData(() => rpc.call("list_rules"));
  const [run, error, note] = useRun();
  return (
    <div>
      <Messages error={error || loadError} note={note} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t("name")}</th>
            <th scope="col">Trigger</th>
            <th scope="col">Actions</th>
            <th scope="col">{t("admin")}</th>
          </tr>
        </thead>
        <tbody>
          {rules?.map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              <td>
                <code>{JSON.stringify(r.trigger)}</code>
              </td>
              <td>{r.actions.map((a) => (a as { type?: string }).type ?? "?").join(", ")}</td>
              <td>
                <button type="button" onClick={() => void run(async () => (await rpc.call("update_rule", { id: r.id, enabled: r.enabled === false }), reload()))}>
                  {r.enabled === false ? t("enable") : t("disable")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Retention() {
  const [settings, reload, loadError] = useData(() => rpc.call("get_retention_settings"));
  const [storage] = useData(() => rpc.call("get_storage_info"));
  const [text, setText] = useState<string | null>(null);
  const [run, error, note] = useRun();
  const value = text ?? (settings ? JSON.stringify(settings, null, 2) : "");
  return (
    <div>
      <pre data-testid="storage">{storage ? JSON.stringify(storage, null, 2) : ""}</pre>
      <label class="wide">
        Retention (JSON)
        <textarea rows={14} cols={80} value={value} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div class="row">
        <button
          type="button"
          onClick={() =>
            void run(async () => {
              await rpc.call("set_retention_settings", { settings: JSON.parse(value) });
              setText(null);
              reload();
              return t("save");
            })
          }
        >
          {t("save")}
        </button>
        <button type="button" onClick={() => void run(async () => (await rpc.call("run_retention", {}), "ok"))}>
          Run retention now
        </button>
      </div>
      <Messages error={error || loadError} note={note} />
    </div>
  );
}

export function OnvifImport() {
  const [run, error, note] = useRun();
  const [form, setForm] = useState({ xaddr: "", user: "", password: "", id: "" });
  const [hosts, setHosts] = useState("");
  const [found, setFound] = useState<Array<{ address: string; xaddrs: string[]; name?: string | null; registered?: boolean }>>([]);
  const discover = () =>
    run(async () => {
      const list = hosts.split(",").map((h) => h.trim()).filter(Boolean);
      const r = await rpc.call("discover_cameras", { hosts: list.length ? list : null, timeout_s: 3 }, 30_000);
      setFound(r.devices);
      return `${r.devices.length} found`;
    });
  const field = (k: keyof typeof form, label: string, type: "text" | "password" = "text") => (
    <label>
      {label}
      {type === "password" ? (
        <input type="password" autoComplete="new-password" value={form[k]} onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} />
      ) : (
        <input type="text" value={form[k]} onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} />
      )}
    </label>
  );
  return (
    <div>
      <div class="row">
        <label>
          Discovery hosts (optional)
          <input type="text" value={hosts} onInput={(e) => setHosts((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" data-testid="discover" onClick={() => void discover()}>
          ONVIF discovery
        </button>
      </div>
      {found.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("name")}</th>
              <th scope="col">xaddr</th>
              <th scope="col">{t("admin")}</th>
            </tr>
          </thead>
          <tbody>
            {found.map((d) => (
              <tr key={d.address} data-device={d.address}>
                <td>{d.name ?? d.address}</td>
                <td>{d.xaddrs[0]}</td>
                <td>
                  {d.registered ? (
                    "registered"
                  ) : (
                    <button type="button" onClick={() => setForm({ ...form, xaddr: d.xaddrs[0] ?? "" })}>
                      {t("select")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await rpc.call(
            "import_onvif_camera",
            { xaddr: form.xaddr, user: form.user || null, password: form.password || null, id: form.id || null },
            60_000,
          );
          setForm({ xaddr: "", user: "", password: "", id: "" });
          return JSON.stringify(r).slice(0, 200);
        });
      }}
    >
      {field("xaddr", "ONVIF xaddr")}
      {field("user", t("username"))}
      {field("password", t("password"), "password")}
      {field("id", "ID")}
      <button type="submit" disabled={!form.xaddr}>
        ONVIF import
      </button>
      <Messages error={error} note={note} />
    </form>
    </div>
  );
}
