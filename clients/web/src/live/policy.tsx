// Recording policy of one camera: off / continuous / scheduled (weekly windows) / events (pre-buffer).
import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";
import { term } from "../i18n_terms";
import { rpc } from "../session";

const MODES = ["off", "continuous", "scheduled", "events"];

export function PolicyEditor({ camera }: { camera: string }) {
  const [mode, setMode] = useState("off");
  const [schedule, setSchedule] = useState('[{"days": ["mon","tue","wed","thu","fri"], "start": "08:00", "end": "18:00"}]');
  const [buffer, setBuffer] = useState("10");
  const [msg, setMsg] = useState("");
  const [error, setError] = useState("");
  // The form stays disabled until the camera's policy has loaded: a choice made before that would be
  // overwritten by the loaded policy (and the field being edited would vanish under the user).
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    setLoaded(false);
    void rpc.call("get_recording_status", { camera }).then((s) => {
      const p = s.policy as { mode?: string; schedule?: unknown[]; buffer_s?: number };
      setMode(p.mode ?? "off");
      if (p.schedule?.length) setSchedule(JSON.stringify(p.schedule));
      if (p.buffer_s) setBuffer(String(p.buffer_s));
      setLoaded(true);
    });
  }, [camera]);
  const save = async () => {
    setError("");
    setMsg("");
    try {
      const policy: Record<string, unknown> = { mode };
      if (mode === "scheduled") policy.schedule = JSON.parse(schedule);
      if (mode === "events") policy.buffer_s = Number(buffer);
      await rpc.call("set_recording_policy", { camera, policy });
      setMsg(t("save") + " ✓");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section class="policy" aria-label={t("recordingPolicy")}>
      <h3>{t("recordingPolicy")}</h3>
      <label>
        {t("mode")}
        <select value={mode} data-testid="policy-mode" disabled={!loaded} onChange={(e) => setMode((e.target as HTMLSelectElement).value)}>
          {MODES.map((m) => (
            <option value={m}>{term(m)}</option>
          ))}
        </select>
      </label>
      {mode === "scheduled" && (
        <label>
          {t("scheduleJson")}
          <input type="text" value={schedule} onInput={(e) => setSchedule((e.target as HTMLInputElement).value)} />
        </label>
      )}
      {mode === "events" && (
        <label>
          {t("preBuffer")}
          <input type="number" min={0} value={buffer} onInput={(e) => setBuffer((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <button type="button" data-testid="policy-save" disabled={!loaded} onClick={() => void save()}>
        {t("save")}
      </button>
      {msg && <p role="status">{msg}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
