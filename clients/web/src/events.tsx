// Events feed: live (subscribe_events, re-subscribed after a reconnect), filters, acknowledge (also in
// bulk), tags/notes, false positive, clip playback; keyboard: ↑/↓ move, a = acknowledge, x = select.
import { useEffect, useRef, useState } from "preact/hooks";
import type { EventStatus, Severity, StoredEvent } from "./api/generated";
import { t } from "./i18n";
import { term } from "./i18n_terms";
import { can, rpc } from "./session";
import { fmt, utc } from "./time";

const SEVERITIES: Severity[] = ["low", "medium", "high", "critical"];
const STATUSES: EventStatus[] = ["new", "acknowledged", "resolved", "false_positive"];

export function EventsPage() {
  const [events, setEvents] = useState<StoredEvent[]>([]);
  const [filter, setFilter] = useState({ camera: "", type: "", severity: "", status: "" });
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState("");
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const mayChange = can("acknowledge_event");

  const matches = (e: StoredEvent) => {
    const f = filterRef.current;
    return (
      (!f.camera || e.camera === f.camera) &&
      (!f.type || e.type === f.type) &&
      (!f.severity || SEVERITIES.indexOf(e.severity ?? "low") >= SEVERITIES.indexOf(f.severity as Severity)) &&
      (!f.status || (e.status ?? "new") === f.status)
    );
  };

  const load = async () => {
    const f = filterRef.current;
    const page = await rpc.call("list_events", {
      camera: f.camera || null,
      type: f.type || null,
      min_severity: (f.severity || null) as Severity | null,
      status: (f.status || null) as EventStatus | null,
      limit: 200,
    });
    setEvents(page.events);
  };

  useEffect(() => {
    const off = rpc.on("event", (p) => {
      const e: StoredEvent = { ...p.event, status: "new", tags: [], notes: "" };
      if (matches(e)) setEvents((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list]));
    });
    let subscription = "";
    const offReady = rpc.onReady(async () => {
      subscription = (await rpc.call("subscribe_events", { topics: ["*"] })).subscription;
      await load();
    });
    return () => {
      off();
      offReady();
      if (subscription) void rpc.call("unsubscribe_events", { subscription }).catch(() => undefined);
    };
  }, []);
  useEffect(() => void load().catch((e) => setError(String(e?.message ?? e))), [filter]);

  const replace = (e: StoredEvent) => setEvents((list) => list.map((x) => (x.id === e.id ? e : x)));
  const act = async (f: () => Promise<StoredEvent>) => {
    try {
      setError("");
      replace(await f());
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const ack = (id: string) => act(() => rpc.call("acknowledge_event", { id }));
  const ackPicked = async () => {
    for (const id of picked) await ack(id);
    setPicked(new Set());
  };

  const onKey = (e: KeyboardEvent, i: number, ev: StoredEvent) => {
    const rows = (e.currentTarget as HTMLElement).parentElement!.querySelectorAll<HTMLElement>("tr[data-event]");
    if (e.key === "ArrowDown") rows[Math.min(rows.length - 1, i + 1)]?.focus();
    else if (e.key === "ArrowUp") rows[Math.max(0, i - 1)]?.focus();
    else if (e.key === "a" && mayChange) void ack(ev.id!);
    else if (e.key === "x") toggle(ev.id!);
    else if (e.key === "Enter") setOpen(open === ev.id ? null : ev.id!);
    else return;
    e.preventDefault();
  };
  const toggle = (id: string) =>
    setPicked((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const sel = (key: keyof typeof filter, options: string[], label: string) => (
    <label>
      {label}
      <select value={filter[key]} onChange={(e) => setFilter({ ...filter, [key]: (e.target as HTMLSelectElement).value })}>
        <option value="">{t("all")}</option>
        {options.map((o) => (
          <option value={o}>{term(o)}</option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="events" aria-label={t("events")}>
      <div class="toolbar">
        <label>
          {t("camera")}
          <input value={filter.camera} onChange={(e) => setFilter({ ...filter, camera: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          {t("type")}
          <input value={filter.type} onChange={(e) => setFilter({ ...filter, type: (e.target as HTMLInputElement).value })} />
        </label>
        {sel("severity", SEVERITIES, t("severity"))}
        {sel("status", STATUSES, t("status"))}
        {mayChange && (
          <button type="button" disabled={!picked.size} onClick={() => void ackPicked()} data-testid="ack-selected">
            {t("ackSelected")} ({picked.size})
          </button>
        )}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("select")}</th>
            <th scope="col">{t("time")}</th>
            <th scope="col">{t("camera")}</th>
            <th scope="col">{t("type")}</th>
            <th scope="col">{t("severity")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{mayChange ? t("acknowledge") : ""}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e, i) => [
            <tr key={e.id} data-event={e.id} data-status={e.status} tabIndex={0} onKeyDown={(k) => onKey(k, i, e)} onClick={() => setOpen(open === e.id ? null : e.id!)}>
              <td>
                <input type="checkbox" aria-label={`${t("select")} ${e.type}`} checked={picked.has(e.id!)} onClick={(k) => k.stopPropagation()} onChange={() => toggle(e.id!)} />
              </td>
              <td title={utc((e.time ?? 0) * 1000)}>{fmt((e.time ?? 0) * 1000)}</td>
              <td>{e.camera ?? "—"}</td>
              <td>{e.type}</td>
              <td class={`sev-${e.severity}`}>{term(e.severity ?? "")}</td>
              <td>{term(e.status ?? "")}</td>
              <td>
                {mayChange && e.status === "new" && (
                  <button type="button" onClick={(k) => (k.stopPropagation(), void ack(e.id!))}>
                    {t("acknowledge")}
                  </button>
                )}
              </td>
            </tr>,
            open === e.id && (
              <tr key={`${e.id}-detail`} class="detail">
                <td colSpan={7}>
                  <EventDetail event={e} mayChange={mayChange} onChange={(x) => void act(async () => x)} act={act} />
                </td>
              </tr>
            ),
          ])}
        </tbody>
      </table>
    </section>
  );
}

/** The event's snapshot and clip as they are now (a rule may add them after the event was shown): while
 * the clip is being cut, asked again every 2 s. */
function useEventMedia(id: string) {
  const [media, setMedia] = useState<{ snapshot: string | null; clip: string | null; pending: boolean }>({ snapshot: null, clip: null, pending: false });
  useEffect(() => {
    let alive = true;
    let timer = 0;
    const load = async () => {
      const e = await rpc.call("get_event", { id });
      const snap = e.snapshot_id ? await rpc.call("get_snapshot", { id: e.snapshot_id }) : null;
      const clip = e.clip_id && e.clip_state === "ready" ? await rpc.call("get_clip", { id: e.clip_id }) : null;
      if (!alive) return;
      const pending = e.clip_state === "pending";
      setMedia({ snapshot: snap?.download_url ?? null, clip: clip?.download_url ?? null, pending });
      if (pending || (!e.snapshot_id && Date.now() - (e.time ?? 0) * 1000 < 30_000)) timer = window.setTimeout(() => void load().catch(() => undefined), 2000);
    };
    void load().catch(() => undefined);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [id]);
  return media;
}

/** The event's `data` as key/value pairs (nested values as compact JSON); "No details" when it has none. */
function EventData({ data }: { data?: Record<string, unknown> | null }) {
  const entries = Object.entries(data ?? {});
  if (!entries.length) return <p class="muted" data-testid="event-no-data">{t("noDetails")}</p>;
  return (
    <dl class="event-data" data-testid="event-data">
      {entries.map(([k, v]) => [
        <dt key={`${k}-k`}>{k}</dt>,
        <dd key={`${k}-v`}>{v !== null && typeof v === "object" ? <code>{JSON.stringify(v)}</code> : v === null ? "—" : String(v)}</dd>,
      ])}
    </dl>
  );
}

function EventDetail({ event, mayChange, act }: { event: StoredEvent; mayChange: boolean; onChange: (e: StoredEvent) => void; act: (f: () => Promise<StoredEvent>) => Promise<void> }) {
  const [tags, setTags] = useState((event.tags ?? []).join(", "));
  const [notes, setNotes] = useState(event.notes ?? "");
  const media = useEventMedia(event.id!);
  return (
    <div class="event-detail">
      <EventData data={event.data} />
      <div class="event-media">
        {media.snapshot && <img src={media.snapshot} alt={t("eventSnapshot")} data-testid="event-snapshot" />}
        {media.clip && <video src={media.clip} controls autoPlay muted aria-label={t("eventClip")} data-testid="event-clip" />}
        {media.pending && <span role="status">{t("eventClip")}…</span>}
      </div>
      {mayChange && (
        <div class="row">
          <label>
            {t("tags")}
            <input value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            {t("notes")}
            <input value={notes} onInput={(e) => setNotes((e.target as HTMLInputElement).value)} />
          </label>
          <button
            type="button"
            onClick={() =>
              void act(() => rpc.call("update_event", { id: event.id!, tags: tags.split(",").map((s) => s.trim()).filter(Boolean), notes }))
            }
          >
            {t("save")}
          </button>
          <button type="button" onClick={() => void act(() => rpc.call("update_event", { id: event.id!, status: "false_positive" }))}>
            {t("falsePositive")}
          </button>
        </div>
      )}
    </div>
  );
}
