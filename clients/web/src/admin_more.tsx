// More administration: webhooks (add, test, deliveries, redrive, remove), retention and storage (edit
// as JSON), ONVIF import. Rules: admin_rules.tsx.
import { useState } from "preact/hooks";
import type { KindUsage, StorageInfo } from "./api/generated";
import { Act, bytes, Field, list, Messages, pairs, RowForm, Table, useAction, useLoad } from "./admin_ui";
import { t } from "./i18n";
import { term } from "./i18n_terms";
import { rpc } from "./session";
import { fmt } from "./time";

export function Webhooks() {
  const [hooks, reload, loadError] = useLoad(() => rpc.call("list_webhooks"));
  const [deliveries, reloadDeliveries] = useLoad(() => rpc.call("list_webhook_deliveries", { limit: 50 }));
  const [run, error, note] = useAction();
  const [url, setUrl] = useState("");
  const [topics, setTopics] = useState("*");
  return (
    <div>
      <RowForm
        run={run}
        submit={async () => {
          await rpc.call("add_webhook", { url, topics: list(topics) });
          setUrl("");
          reload();
        }}
      >
        <Field label={t("url")} value={url} set={setUrl} />
        <Field label={t("topics")} value={topics} set={setTopics} />
        <button type="submit" disabled={!url}>
          {t("add")}
        </button>
      </RowForm>
      <Messages error={error || loadError} note={note} />
      <Table head={[t("url"), t("topics"), t("status"), t("admin")]} empty={t("noWebhooks")}>
          {hooks?.map((h) => (
            <tr key={h.id}>
              <td>{h.url}</td>
              <td>{h.topics.join(", ")}</td>
              <td>{h.enabled === false ? t("disabled") : t("enabled")}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    void run(async () => {
                      const r = await rpc.call("test_webhook", { id: h.id }, 30_000);
                      reloadDeliveries();
                      return r.delivered ? t("testDelivered", { status: r.status ?? "", ms: Math.round(r.latency_ms) }) : t("testFailed", { error: r.error ?? r.status ?? "" });
                    })
                  }
                >
                  {t("test")}
                </button>
                <Act label={t("remove")} run={run} f={async () => (await rpc.call("remove_webhook", { id: h.id }), reload())} />
              </td>
            </tr>
          ))}
      </Table>
      <h3>{t("deliveries")}</h3>
      <Table head={[t("time"), t("type"), t("status"), t("attempts"), t("admin")]} empty={t("noDeliveries")}>
          {deliveries?.map((d) => (
            <tr key={d.id}>
              <td title={new Date(d.created_at * 1000).toISOString()}>{fmt(d.created_at * 1000)}</td>
              <td>{d.event_type}</td>
              <td>
                {term(d.status)} {d.last_status ?? ""} {d.last_error ?? ""}
              </td>
              <td>{d.attempts}</td>
              <td>
                {d.status !== "delivered" && (
                  <Act label={t("redrive")} run={run} f={async () => (await rpc.call("redrive_webhook_delivery", { id: d.id }), reloadDeliveries())} />
                )}
              </td>
            </tr>
          ))}
      </Table>
    </div>
  );
}

/** get_storage_info in words: the disk, then files, size and time span per kind (all cameras, then each). */
function Storage({ info }: { info: StorageInfo }) {
  const rows: Array<[string, string, KindUsage]> = [
    ...Object.entries(info.per_kind).map(([kind, u]): [string, string, KindUsage] => [t("all"), kind, u]),
    ...Object.entries(info.per_camera).flatMap(([cam, kinds]) => Object.entries(kinds).map(([kind, u]): [string, string, KindUsage] => [cam, kind, u])),
  ];
  const when = (x: string | null) => (x ? fmt(x) : "—");
  return (
    <div data-testid="storage">
      <p data-testid="storage-summary" class={info.level === "ok" ? "" : "error"}>
        {t("diskUsage", { used: bytes(info.used_bytes), total: bytes(info.total_bytes), pct: Math.round(info.used_percent), free: bytes(info.free_bytes), level: info.level })}
      </p>
      <Table head={[t("camera"), t("type"), t("files"), t("size"), t("oldest"), t("newest")]}>
        {rows.map(([cam, kind, u]) => (
          <tr data-kind={kind} data-camera={cam}>
            <td>{cam}</td>
            <td>{term(kind)}</td>
            <td>{u.files}</td>
            <td>{bytes(u.bytes)}</td>
            <td title={u.oldest ?? ""}>{when(u.oldest)}</td>
            <td title={u.newest ?? ""}>{when(u.newest)}</td>
          </tr>
        ))}
      </Table>
      {info.last_retention && (
        <p data-testid="last-retention">
          {t("lastRetention")}: {pairs(info.last_retention)}
        </p>
      )}
    </div>
  );
}

export function Retention() {
  const [settings, reload, loadError] = useLoad(() => rpc.call("get_retention_settings"));
  const [storage] = useLoad(() => rpc.call("get_storage_info"));
  const [text, setText] = useState<string | null>(null);
  const [run, error, note] = useAction();
  const value = text ?? (settings ? JSON.stringify(settings, null, 2) : "");
  return (
    <div>
      {storage && <Storage info={storage} />}
      <label class="wide">
        {t("retentionJson")}
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
        <button
          type="button"
          onClick={() =>
            void run(async () => {
              const r = await rpc.call("run_retention", {});
              return t("retentionDone", { n: r.deleted_count, size: bytes(r.freed_bytes), kept: r.protected_kept });
            })
          }
        >
          {t("runRetention")}
        </button>
      </div>
      <Messages error={error || loadError} note={note} />
    </div>
  );
}

export function OnvifImport({ onImported }: { onImported: () => void }) {
  const [run, error, note] = useAction();
  const [form, setForm] = useState({ xaddr: "", user: "", password: "", id: "" });
  const [hosts, setHosts] = useState("");
  const [found, setFound] = useState<Array<{ address: string; xaddrs: string[]; name?: string | null; registered?: boolean }>>([]);
  const discover = () =>
    run(async () => {
      const given = list(hosts);
      const r = await rpc.call("discover_cameras", { hosts: given.length ? given : null, timeout_s: 3 }, 30_000);
      setFound(r.devices);
      return t("found", { n: r.devices.length });
    });
  const field = (k: keyof typeof form, label: string, type: "text" | "password" = "text") => (
    <Field label={label} value={form[k]} type={type} set={(v) => setForm({ ...form, [k]: v })} />
  );
  return (
    <div>
      <div class="row">
        <Field label={t("discoveryHosts")} value={hosts} set={setHosts} />
        <button type="button" data-testid="discover" onClick={() => void discover()}>
          {t("onvifDiscovery")}
        </button>
      </div>
      {found.length > 0 && (
        <Table head={[t("name"), "xaddr", t("admin")]}>
            {found.map((d) => (
              <tr key={d.address} data-device={d.address}>
                <td>{d.name ?? d.address}</td>
                <td>{d.xaddrs[0]}</td>
                <td>
                  {d.registered ? (
                    t("registered")
                  ) : (
                    <button type="button" onClick={() => setForm({ ...form, xaddr: d.xaddrs[0] ?? "" })}>
                      {t("select")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
        </Table>
      )}
    <RowForm
      run={run}
      submit={async () => {
        const r = await rpc.call(
          "import_onvif_camera",
          { xaddr: form.xaddr, user: form.user || null, password: form.password || null, id: form.id || null },
          60_000,
        );
        setForm({ xaddr: "", user: "", password: "", id: "" });
        onImported();
        const device = [r.onvif.manufacturer, r.onvif.model].filter(Boolean).join(" ");
        const extra = device && device !== r.name ? ` · ${device}` : ""; // the name is often the model
        return `${r.created ? t("imported") : t("updated")}: ${r.camera} (${r.name})${extra} · ${r.source}`;
      }}
    >
      {field("xaddr", t("onvifXaddr"))}
      {field("user", t("username"))}
      {field("password", t("password"), "password")}
      {field("id", t("id"))}
      <button type="submit" disabled={!form.xaddr}>
        {t("onvifImport")}
      </button>
      <Messages error={error} note={note} />
    </RowForm>
    </div>
  );
}
