import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { downloadName } from "../time";
import { Player, type PlayerStatus } from "./player";

export interface TileProps {
  camera: string;
  name: string;
  recording: boolean;
  serverState: string; // camera_status_update state (ONLINE/OFFLINE/...)
  onDemand: boolean;
  selected: boolean;
  /** Several tiles on screen: play the camera's substream if it has one (fullscreen: the main stream). */
  grid: boolean;
  onSelect: () => void;
}

const STATE_LABEL = { connecting: "connecting", live: "liveState", stale: "stale", offline: "offline" } as const;

export function Tile({ camera, name, recording, serverState, onDemand, selected, grid, onSelect }: TileProps) {
  const box = useRef<HTMLDivElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<Player | null>(null);
  const [status, setStatus] = useState<PlayerStatus>({
    state: "connecting",
    transport: null,
    reason: "",
    frames: 0,
    variant: "main",
  });
  const [full, setFull] = useState(false);
  const [zoom, setZoom] = useState({ scale: 1, x: 50, y: 50 });

  useEffect(() => {
    const p = new Player(camera, video.current!, setStatus);
    p.useSubstream(grid && !full);
    player.current = p;
    // Only tiles on screen stream (a grid stays cheap); scrolled out of view -> stopped.
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) (e.isIntersecting ? p.start() : p.stop());
    });
    io.observe(box.current!);
    return () => {
      io.disconnect();
      p.stop();
    };
  }, [camera]);

  useEffect(() => {
    const f = () => setFull(document.fullscreenElement === box.current);
    document.addEventListener("fullscreenchange", f);
    return () => document.removeEventListener("fullscreenchange", f);
  }, []);
  useEffect(() => player.current?.useSubstream(grid && !full), [grid, full]);

  useEffect(() => {
    // The service's camera status (hook-driven, milliseconds): no stream request while it is not ONLINE,
    // except for on-demand sources, which only come online when someone reads them.
    if (serverState === "ONLINE" || onDemand) player.current?.serverOnline();
    else player.current?.serverOffline(`camera ${serverState.toLowerCase()} (server)`);
  }, [serverState, onDemand]);

  const snapshot = () => {
    const v = video.current!;
    if (!v.videoWidth) return;
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext("2d")!.drawImage(v, 0, 0);
    c.toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = downloadName(camera, Date.now(), "png");
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 5000);
    }, "image/png");
  };

  const fullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void box.current?.requestFullscreen().catch(() => undefined);
  };

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const scale = Math.min(8, Math.max(1, zoom.scale * (e.deltaY < 0 ? 1.25 : 0.8)));
    setZoom({ scale, x: ((e.clientX - r.left) / r.width) * 100, y: ((e.clientY - r.top) / r.height) * 100 });
  };

  useEffect(() => {
    const v = video.current!;
    v.style.transform = `scale(${zoom.scale})`;
    v.style.transformOrigin = `${zoom.x}% ${zoom.y}%`;
  }, [zoom]);

  const via = status.transport === "hls" ? t("viaHls") : status.transport === "webrtc" ? t("viaWebrtc") : "";
  return (
    <div
      ref={box}
      class={`tile state-${status.state}${selected ? " selected" : ""}`}
      data-camera={camera}
      data-state={status.state}
      data-transport={status.transport ?? ""}
      data-stream={status.variant}
      tabIndex={0}
      role="group"
      aria-label={`${name}: ${t(STATE_LABEL[status.state])}`}
      onDblClick={fullscreen}
      onClick={onSelect}
      onKeyDown={(e) => {
        if (e.key === "Enter") onSelect();
        if (e.key === "f") fullscreen();
        if (e.key === "Escape") setZoom({ scale: 1, x: 50, y: 50 });
      }}
    >
      <div class="video-wrap" onWheel={onWheel}>
        <video ref={video} muted playsInline autoPlay aria-label={name} />
      </div>
      <div class="tile-bar">
        <span class="tile-name">{name}</span>
        <span class={`badge st-${status.state}`} data-testid="tile-state">
          {t(STATE_LABEL[status.state])}
        </span>
        {via && <span class="badge transport">{via}</span>}
        {status.variant === "sub" && <span class="badge transport">{t("substream")}</span>}
        {recording && <span class="badge rec" data-testid="rec-badge">{t("recording")}</span>}
        <button type="button" class="icon" data-testid="snapshot" onClick={(e) => (e.stopPropagation(), snapshot())} aria-label={`${t("snapshot")} ${name}`}>
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M4 7h3l2-3h6l2 3h3v13H4zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z" /></svg>
        </button>
        <button type="button" class="icon" onClick={(e) => (e.stopPropagation(), fullscreen())} aria-label={`${t("fullscreen")} ${name}`}>
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M3 3h7v2H5v5H3zm11 0h7v7h-2V5h-5zM3 14h2v5h5v2H3zm16 0h2v7h-7v-2h5z" /></svg>
        </button>
      </div>
      {status.reason && <div class="tile-reason" data-testid="tile-reason">{status.reason}</div>}
    </div>
  );
}
