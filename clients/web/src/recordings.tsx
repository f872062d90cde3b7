// Per-camera timeline: recorded ranges (get_timeline) and event marks, spans from 15 minutes to 7 days,
// jump to a date/time, drag to select a range, export it (MP4) and download it; click to play from there.
import { useEffect, useRef, useState } from "preact/hooks";
import type { CameraInfo, StoredEvent, Timeline } from "./api/generated";
import { t } from "./i18n";
import { can, rpc } from "./session";
import { downloadName, fmt, fromZoneInput, toZoneInput, utc, zone } from "./time";

const SPANS: Array<[() => string, number]> = [
  [() => t("spanMinutes", { n: 15 }), 900],
  [() => t("spanHours", { n: 1 }), 3600],
  [() => t("spanHours", { n: 6 }), 6 * 3600],
  [() => t("spanHours", { n: 24 }), 86400],
  [() => t("spanDays", { n: 7 }), 7 * 86400],
];
const PLAY_S = 60;

export function RecordingsPage({ camera }: { camera: string }) {
  const [cameras, setCameras] = useState<CameraInfo[]>([]);
  const [span, setSpan] = useState(900);
  const [end, setEnd] = useState<number | null>(null); // null: follows now
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [marks, setMarks] = useState<StoredEvent[]>([]);
  const [sel, setSel] = useState<[number, number] | null>(null);
  const [jump, setJump] = useState("");
  const [busy, setBusy] = useState("");
  const [clipUrl, setClipUrl] = useState<string | null>(null);
  const [playUrl, setPlayUrl] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [now, setNow] = useState(Date.now());
  const bar = useRef<HTMLDivElement>(null);
  const drag = useRef<number | null>(null);

  useEffect(() => void rpc.call("list_cameras", { limit: 500 }).then((p) => setCameras(p.cameras)), []);
  const windowEnd = end ?? now;
  const windowStart = windowEnd - span * 1000;

  useEffect(() => {
    if (!camera) return;
    let alive = true;
    const load = async () => {
      const wEnd = end ?? Date.now();
      const wStart = wEnd - span * 1000;
      setNow(wEnd);
      try {
        const tl = await rpc.call("get_timeline", { camera, start: utc(wStart), end: utc(wEnd) });
        const ev = await rpc.call("list_events", { camera, start: utc(wStart), end: utc(wEnd), limit: 500 });
        if (!alive) return;
        setTimeline(tl);
        setMarks(ev.events);
      } catch (e) {
        if (alive) setError(e instanceof Error ? e.message : String(e));
      }
    };
    void load();
    const timer = end === null ? window.setInterval(load, 3000) : 0;
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, [camera, span, end]);

  const pos = (ms: number) => ((ms - windowStart) / (windowEnd - windowStart)) * 100;
  const at = (clientX: number) => {
    const r = bar.current!.getBoundingClientRect();
    let f = (clientX - r.left) / r.width;
    if (document.documentElement.dir === "rtl") f = 1 - f;
    return windowStart + Math.min(1, Math.max(0, f)) * (windowEnd - windowStart);
  };
  const doExport = async (range: [number, number]) => {
    setBusy(t("exporting"));
    setError("");
    setClipUrl(null);
    try {
      const clip = await rpc.call("export_clip", { camera, start: utc(range[0]), end: utc(range[1]) }, 120_000);
      // The service names the file by the query's `filename` (Content-Disposition wins over `download`).
      const name = downloadName(camera, range[0], "mp4");
      const u = new URL(clip.download_url, location.href);
      u.searchParams.set("filename", name);
      const url = u.href;
      setClipUrl(url);
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy("");
    }
  };
  const play = async (from: number) => {
    setBusy(t("playback"));
    try {
      const clip = await rpc.call("export_clip", { camera, start: utc(from), end: utc(Math.min(from + PLAY_S * 1000, Date.now() - 1000)) }, 120_000);
      setPlayUrl(clip.download_url);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy("");
    }
  };

  return (
    <section class="recordings" aria-label={t("recordings")}>
      <div class="toolbar">
        <label>
          {t("camera")}
          <select value={camera} onChange={(e) => (location.hash = `#/recordings/${encodeURIComponent((e.target as HTMLSelectElement).value)}`)}>
            <option value="">—</option>
            {cameras.map((c) => (
              <option value={c.id}>{c.name || c.id}</option>
            ))}
          </select>
        </label>
        <label>
          {t("zoomTimeline")}
          <select value={span} onChange={(e) => setSpan(Number((e.target as HTMLSelectElement).value))}>
            {SPANS.map(([label, s]) => (
              <option value={s}>{label()}</option>
            ))}
          </select>
        </label>
        <label>
          {t("jump")} ({zone()})
          <input type="datetime-local" step={1} data-testid="jump-to" value={jump} onInput={(e) => setJump((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" data-testid="jump" disabled={!jump || Number.isNaN(fromZoneInput(jump))} onClick={() => setEnd(fromZoneInput(jump) + (span * 1000) / 2)}>
          {t("jump")}
        </button>
        <button type="button" onClick={() => setEnd(null)}>
          {t("live")}
        </button>
      </div>
      {camera && (
        <>
          <div class="axis">
            <span title={utc(windowStart)} data-testid="axis-start">{fmt(windowStart)}</span>
            <span title={utc(windowEnd)} data-testid="axis-end">{fmt(windowEnd)}</span>
          </div>
          <div
            ref={bar}
            class="timeline"
            data-testid="timeline"
            role="slider"
            tabIndex={0}
            aria-label={t("zoomTimeline")}
            aria-valuemin={windowStart}
            aria-valuemax={windowEnd}
            aria-valuenow={sel ? sel[0] : windowStart}
            onPointerDown={(e) => {
              drag.current = at(e.clientX);
              (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
            }}
            onPointerMove={(e) => {
              if (drag.current === null) return;
              const x = at(e.clientX);
              setSel([Math.min(drag.current, x), Math.max(drag.current, x)]);
            }}
            onPointerUp={(e) => {
              const start = drag.current;
              drag.current = null;
              if (start !== null && Math.abs(at(e.clientX) - start) < (windowEnd - windowStart) / 200) void play(start);
            }}
          >
            {(timeline?.ranges ?? []).map((r) => {
              const a = Math.max(pos(Date.parse(r.start ?? "")), 0);
              const b = Math.min(pos(Date.parse(r.end ?? "")), 100);
              return <div class="range" data-testid="range" style={{ insetInlineStart: `${a}%`, width: `${Math.max(b - a, 0.3)}%` }} />;
            })}
            {marks.map((m) => (
              <div class={`mark sev-${m.severity}`} data-testid="mark" title={`${m.type} ${fmt((m.time ?? 0) * 1000)} (${utc((m.time ?? 0) * 1000)})`} style={{ insetInlineStart: `${pos((m.time ?? 0) * 1000)}%` }} />
            ))}
            {sel && <div class="selection" style={{ insetInlineStart: `${pos(sel[0])}%`, width: `${pos(sel[1]) - pos(sel[0])}%` }} />}
          </div>
          <div class="row">
            <label>
              {t("from")} ({zone()})
              <input type="datetime-local" step={1} data-testid="sel-from" value={sel ? toZoneInput(sel[0]) : ""} onInput={(e) => setSel([fromZoneInput((e.target as HTMLInputElement).value), sel?.[1] ?? Date.now()])} />
            </label>
            <label>
              {t("to")} ({zone()})
              <input type="datetime-local" step={1} data-testid="sel-to" value={sel ? toZoneInput(sel[1]) : ""} onInput={(e) => setSel([sel?.[0] ?? Date.now(), fromZoneInput((e.target as HTMLInputElement).value)])} />
            </label>
            {can("export_clip") && (
              <button type="button" disabled={!sel || !!busy} data-testid="export" onClick={() => sel && void doExport(sel)}>
                {t("export")}
              </button>
            )}
            {busy && <span role="status">{busy}</span>}
            {clipUrl && (
              <a href={clipUrl} data-testid="download" download>
                {t("download")}
              </a>
            )}
          </div>
          <p>
            {timeline ? t("recordedSummary", { s: Math.round(timeline.recorded_s), n: timeline.segments }) : ""}
          </p>
          {playUrl && <video class="playback" src={playUrl} controls autoPlay muted aria-label={t("playback")} />}
          {error && <p class="error" role="alert">{error}</p>}
        </>
      )}
    </section>
  );
}
