// The live grid: layouts 1, 2x2, 3x3, 4x4 and 1+5, paged; order by drag and drop; layout and order kept
// per user on this device (localStorage: no secret in it). Status/recording badges follow notifications.
import { useEffect, useMemo, useState } from "preact/hooks";
import type { CameraInfo } from "../api/generated";
import { t } from "../i18n";
import { can, currentUser, rpc } from "../session";
import { PolicyEditor } from "./policy";
import { PtzPanel } from "./ptz";
import { Tile } from "./tile";

export const LAYOUTS = { "1": 1, "2x2": 4, "3x3": 9, "4x4": 16, "1+5": 6 } as const;
export type Layout = keyof typeof LAYOUTS;

function prefKey(what: string) {
  return `${what}:${currentUser()?.username ?? ""}`;
}

export function useCameras() {
  const [cameras, setCameras] = useState<CameraInfo[]>([]);
  const [states, setStates] = useState<Record<string, string>>({});
  const [recording, setRecording] = useState<Record<string, boolean>>({});
  useEffect(() => {
    let alive = true;
    const load = async () => {
      const page = await rpc.call("list_cameras", { limit: 500 });
      performance.mark("cameras-listed");
      if (!alive) return;
      setCameras(page.cameras);
      setStates(Object.fromEntries(page.cameras.map((c) => [c.id, c.status])));
      const rec = await Promise.all(
        page.cameras.map((c) => rpc.call("get_recording_status", { camera: c.id }).catch(() => null)),
      );
      if (alive) setRecording(Object.fromEntries(rec.filter(Boolean).map((r) => [r!.camera, r!.recording])));
    };
    void load().catch(() => undefined);
    const offStatus = rpc.on("camera_status_update", (p) => setStates((s) => ({ ...s, [p.device]: p.state })));
    const offRec = rpc.on("recording_status_update", (p) =>
      setRecording((r) => ({ ...r, [p.camera]: p.status === "STARTED" || p.status === "RECORDING" })),
    );
    const offReady = rpc.onReady(load); // after a reconnect: fresh list and states
    return () => {
      alive = false;
      offStatus();
      offRec();
      offReady();
    };
  }, []);
  return { cameras, states, recording, setRecording };
}

export function LivePage() {
  const { cameras, states, recording, setRecording } = useCameras();
  const [layout, setLayoutState] = useState<Layout>((localStorage.getItem(prefKey("layout")) as Layout) || "2x2");
  const [order, setOrder] = useState<string[]>(JSON.parse(localStorage.getItem(prefKey("order")) || "[]"));
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [dragging, setDragging] = useState<string | null>(null);
  const [error, setError] = useState("");

  const ordered = useMemo(() => {
    const rank = new Map(order.map((id, i) => [id, i]));
    return [...cameras].sort((a, b) => (rank.get(a.id) ?? 1e9) - (rank.get(b.id) ?? 1e9) || a.id.localeCompare(b.id));
  }, [cameras, order]);
  const perPage = LAYOUTS[layout];
  const pages = Math.max(1, Math.ceil(ordered.length / perPage));
  const shown = ordered.slice(page * perPage, page * perPage + perPage);
  const sel = cameras.find((c) => c.id === selected) ?? null;

  const setLayout = (l: Layout) => {
    setLayoutState(l);
    setPage(0);
    localStorage.setItem(prefKey("layout"), l);
  };
  const drop = (target: string) => {
    if (!dragging || dragging === target) return;
    const ids = ordered.map((c) => c.id).filter((id) => id !== dragging);
    ids.splice(ids.indexOf(target), 0, dragging);
    setOrder(ids);
    localStorage.setItem(prefKey("order"), JSON.stringify(ids));
  };
  const toggleRecording = async (cam: string) => {
    try {
      setError("");
      if (recording[cam]) {
        await rpc.call("stop_recording", { camera: cam });
        setRecording((r) => ({ ...r, [cam]: false }));
      } else {
        await rpc.call("start_recording", { camera: cam });
        setRecording((r) => ({ ...r, [cam]: true }));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div class="live">
      <div class="toolbar" role="toolbar" aria-label={t("layout")}>
        {(Object.keys(LAYOUTS) as Layout[]).map((l) => (
          <button type="button" aria-pressed={layout === l} data-layout={l} onClick={() => setLayout(l)}>
            {l}
          </button>
        ))}
        {pages > 1 && (
          <span class="pager">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
              {t("previous")}
            </button>
            {t("page")} {page + 1}/{pages}
            <button type="button" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
              {t("next")}
            </button>
          </span>
        )}
      </div>
      {!cameras.length && <p>{t("noCameras")}</p>}
      <div class={`grid layout-${layout.replace("+", "p")}`} data-testid="grid">
        {shown.map((c) => (
          <div
            class="cell"
            key={c.id}
            draggable
            onDragStart={() => setDragging(c.id)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={() => drop(c.id)}
          >
            <Tile
              camera={c.id}
              name={c.name || c.id}
              recording={!!recording[c.id]}
              serverState={states[c.id] ?? c.status}
              onDemand={c.on_demand}
              selected={selected === c.id}
              grid={perPage > 1}
              onSelect={() => setSelected(c.id)}
            />
          </div>
        ))}
      </div>
      {sel && (
        <aside class="side" aria-label={sel.name || sel.id}>
          <h2>{sel.name || sel.id}</h2>
          {can("start_recording") && (
            <button type="button" data-testid="rec-toggle" onClick={() => void toggleRecording(sel.id)}>
              {recording[sel.id] ? t("stopRec") : t("startRec")}
            </button>
          )}
          <a href={`#/recordings/${encodeURIComponent(sel.id)}`}>{t("recordings")}</a>
          {can("set_recording_policy") && <PolicyEditor camera={sel.id} />}
          {can("ptz") && sel.onvif && <PtzPanel camera={sel.id} />}
          {error && <p class="error" role="alert">{error}</p>}
        </aside>
      )}
    </div>
  );
}
