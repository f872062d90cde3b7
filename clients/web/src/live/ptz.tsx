// PTZ from the live view: press-and-hold = continuous move, released (or focus lost) = stop; arrow keys
// likewise; home and presets. Shown only to roles the server lets call `ptz`.
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { rpc } from "../session";

type Vec = { pan: number; tilt: number; zoom: number };
const SPEED = 0.5;
const KEYS: Record<string, Vec> = {
  ArrowLeft: { pan: -SPEED, tilt: 0, zoom: 0 },
  ArrowRight: { pan: SPEED, tilt: 0, zoom: 0 },
  ArrowUp: { pan: 0, tilt: SPEED, zoom: 0 },
  ArrowDown: { pan: 0, tilt: -SPEED, zoom: 0 },
  "+": { pan: 0, tilt: 0, zoom: SPEED },
  "-": { pan: 0, tilt: 0, zoom: -SPEED },
};

export function PtzPanel({ camera }: { camera: string }) {
  const moving = useRef(false);
  const [presets, setPresets] = useState<Array<{ token: string; name: string }>>([]);
  const [preset, setPreset] = useState("");
  const [newName, setNewName] = useState("");
  const [error, setError] = useState("");

  const run = async (params: Parameters<typeof rpc.call<"ptz">>[1]) => {
    try {
      setError("");
      return await rpc.call("ptz", params);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return null;
    }
  };
  const move = (v: Vec) => {
    moving.current = true;
    void run({ camera, action: "continuous_move", ...v, timeout_s: 10 });
  };
  const stop = () => {
    if (!moving.current) return;
    moving.current = false;
    void run({ camera, action: "stop" });
  };
  const loadPresets = async () => {
    const r = await run({ camera, action: "get_presets" });
    const list = Array.isArray(r?.result) ? r!.result : ((r?.result as any)?.presets ?? []);
    setPresets(list.map((p: any) => ({ token: String(p.token ?? p.preset ?? p.name), name: String(p.name ?? p.token) })));
  };

  useEffect(() => {
    void loadPresets();
    window.addEventListener("blur", stop);
    return () => {
      window.removeEventListener("blur", stop);
      stop();
    };
  }, [camera]);

  const hold = (v: Vec, label: string, glyph: string) => (
    <button
      type="button"
      class="ptz-btn"
      aria-label={label}
      data-ptz={label}
      onPointerDown={(e) => {
        (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
        move(v);
      }}
      onPointerUp={stop}
      onPointerCancel={stop}
      onBlur={stop}
      onKeyDown={(e) => (e.key === " " || e.key === "Enter") && !e.repeat && move(v)}
      onKeyUp={(e) => (e.key === " " || e.key === "Enter") && stop()}
    >
      {glyph}
    </button>
  );

  return (
    <section
      class="ptz"
      aria-label={t("ptz")}
      tabIndex={0}
      onKeyDown={(e) => {
        const v = KEYS[e.key];
        if (v && !e.repeat) {
          e.preventDefault();
          move(v);
        }
      }}
      onKeyUp={(e) => KEYS[e.key] && stop()}
      onBlur={stop}
    >
      <h3>{t("ptz")}</h3>
      <div class="joystick">
        <span />
        {hold({ pan: 0, tilt: SPEED, zoom: 0 }, t("up"), "▲")}
        <span />
        {hold({ pan: -SPEED, tilt: 0, zoom: 0 }, t("left"), "◀")}
        <button type="button" class="ptz-btn" aria-label={t("home")} onClick={() => void run({ camera, action: "home" })}>
          ⌂
        </button>
        {hold({ pan: SPEED, tilt: 0, zoom: 0 }, t("right"), "▶")}
        {hold({ pan: 0, tilt: 0, zoom: -SPEED }, t("zoomOut"), "−")}
        {hold({ pan: 0, tilt: -SPEED, zoom: 0 }, t("down"), "▼")}
        {hold({ pan: 0, tilt: 0, zoom: SPEED }, t("zoomIn"), "+")}
      </div>
      <div class="row">
        <label>
          {t("presets")}
          <select value={preset} onChange={(e) => setPreset((e.target as HTMLSelectElement).value)}>
            <option value="">—</option>
            {presets.map((p) => (
              <option value={p.token}>{p.name}</option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!preset} onClick={() => void run({ camera, action: "goto_preset", preset })}>
          {t("goPreset")}
        </button>
      </div>
      <div class="row">
        <label>
          {t("name")}
          <input value={newName} onInput={(e) => setNewName((e.target as HTMLInputElement).value)} />
        </label>
        <button
          type="button"
          disabled={!newName}
          onClick={async () => {
            await run({ camera, action: "set_preset", name: newName });
            setNewName("");
            await loadPresets();
          }}
        >
          {t("savePreset")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
