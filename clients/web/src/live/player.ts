// What plays in one tile: WebRTC (WHEP) first; hls.js (loaded only when needed) when no frame was
// decoded within FALLBACK_MS. States: connecting / live / stale (no new frame) / offline (with reason).
// Retries with backoff; the grid stops players that are scrolled out of view.
import type HlsType from "hls.js";
import { rpc } from "../session";
import { StreamError, WhepSession } from "./whep";

export type TileState = "connecting" | "live" | "stale" | "offline";
export type Transport = "webrtc" | "hls" | null;
export type Variant = "main" | "sub";
export interface PlayerStatus {
  state: TileState;
  transport: Transport;
  reason: string;
  frames: number;
  variant: Variant; // what plays: the camera's substream (grids) or its main stream
}

const FALLBACK_MS = 4000;
const STALE_MS = 1000;
const RECONNECT_AFTER_STALE_MS = 1500;
const HLS_START_MS = 20000;
const SUB_RETRY_MS = 60_000;
const preferHls = new Map<string, string>(); // camera path -> why WebRTC did not play (this tab)

function stripQuery(url: string): string {
  const u = new URL(url);
  u.searchParams.delete("token");
  return u.toString();
}

export class Player {
  status: PlayerStatus = { state: "connecting", transport: null, reason: "", frames: 0, variant: "main" };
  private wantSub = false;
  private subDownUntil = 0; // the substream failed: the main stream plays until then
  private active = false;
  private whep: WhepSession | null = null;
  private hls: HlsType | null = null;
  private timer = 0;
  private retryTimer = 0;
  private tokenTimer = 0;
  private backoff = 500;
  private generation = 0;
  private token = "";
  private key = ""; // camera:variant, what preferHls remembers
  private serverDown = false; // the service says the camera is not publishing: no stream request until it is
  private serverReason = "";

  constructor(
    private camera: string,
    private video: HTMLVideoElement,
    private onChange: (s: PlayerStatus) => void,
  ) {}

  private set(patch: Partial<PlayerStatus>) {
    this.status = { ...this.status, ...patch };
    this.onChange(this.status);
  }

  start() {
    if (this.active) return;
    this.active = true;
    void this.attempt();
  }

  stop() {
    this.active = false;
    this.generation++;
    this.cleanup(this.status.state === "live");
    window.clearTimeout(this.retryTimer);
  }

  /** Play the substream (when the camera has one) or the main stream; a change reconnects. */
  useSubstream(sub: boolean) {
    if (sub === this.wantSub) return;
    this.wantSub = sub;
    if (this.active) {
      window.clearTimeout(this.retryTimer);
      void this.attempt();
    }
  }

  /** The server says the camera went offline: show it now, keep retrying. */
  serverOffline(reason: string) {
    this.serverDown = true;
    this.serverReason = reason;
    if (!this.active || this.status.state === "offline") return;
    this.fail(reason);
  }

  /** The server says the camera is back: retry at once. */
  serverOnline() {
    if (!this.serverDown) return;
    this.serverDown = false;
    if (this.active && this.status.state === "offline") {
      window.clearTimeout(this.retryTimer);
      this.backoff = 500;
      void this.attempt();
    }
  }

  private cleanup(release = false) {
    window.clearInterval(this.timer);
    window.clearInterval(this.tokenTimer);
    this.whep?.close(release);
    this.whep = null;
    this.hls?.destroy();
    this.hls = null;
    this.video.srcObject = null;
    this.video.removeAttribute("src");
  }

  private fail(reason: string) {
    if (this.status.variant === "sub" && !this.serverDown && this.active) {
      // The camera is up but its substream does not play: show the main stream for a while instead.
      this.subDownUntil = Date.now() + SUB_RETRY_MS;
      this.set({ variant: "main" });
      void this.attempt();
      return;
    }
    this.generation++;
    this.cleanup();
    this.set({ state: "offline", reason, transport: null });
    window.clearTimeout(this.retryTimer);
    // Offline per the service: wait for its camera_status_update (serverOnline), re-checking now and then.
    const wait = this.serverDown ? 10_000 : this.backoff;
    this.backoff = Math.min(this.backoff * 2, 2000);
    this.retryTimer = window.setTimeout(() => void this.recheck(), wait);
  }

  private async recheck() {
    if (!this.active) return;
    if (this.serverDown) {
      try {
        const cam = await rpc.call("get_camera", { camera: this.camera });
        this.serverDown = cam.status !== "ONLINE";
      } catch {
        /* keep waiting */
      }
      if (this.serverDown) return this.fail(this.status.reason);
    }
    await this.attempt();
  }

  private async attempt() {
    if (!this.active) return;
    const gen = ++this.generation;
    this.cleanup();
    if (this.serverDown) return this.fail(this.serverReason || "camera offline (server)");
    if (this.status.state !== "offline") this.set({ state: "connecting", reason: "" });
    try {
      const urls = await rpc.call("get_stream_urls", { camera: this.camera });
      if (gen !== this.generation) return;
      this.token = urls.token ?? "";
      const subOk = !!urls.substream && Date.now() > this.subDownUntil;
      const variant: Variant = this.wantSub && subOk ? "sub" : "main";
      const src = variant === "sub" ? urls.substream! : urls;
      this.key = `${this.camera}:${variant}`;
      if (variant !== this.status.variant) this.set({ variant });
      const why = preferHls.get(this.key);
      if (why && src.hls) await this.startHls(stripQuery(src.hls), why, gen);
      else if (src.whep) await this.startWebrtc(stripQuery(src.whep), src.hls ? stripQuery(src.hls) : null, gen);
      else if (src.hls) await this.startHls(stripQuery(src.hls), "WebRTC is switched off on the server", gen);
      else throw new StreamError("error", "neither WebRTC nor HLS is enabled on the server");
    } catch (e) {
      if (gen !== this.generation) return;
      this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  private async startWebrtc(whepUrl: string, hlsUrl: string | null, gen: number) {
    const whep = (this.whep = new WhepSession(whepUrl, this.token));
    await whep.start((stream) => {
      this.video.srcObject = stream;
      void this.video.play().catch(() => undefined);
    });
    if (gen !== this.generation) return;
    const started = performance.now();
    let last = 0;
    let progressAt = started;
    this.set({ transport: "webrtc" });
    this.timer = window.setInterval(async () => {
      if (gen !== this.generation) return;
      const frames = await whep.framesDecoded();
      const now = performance.now();
      if (frames > last) {
        last = frames;
        progressAt = now;
        this.backoff = 500;
        if (this.status.state !== "live") this.set({ state: "live", reason: "", frames });
        else this.status.frames = frames;
        return;
      }
      if (last === 0 && now - started > FALLBACK_MS) {
        const why = "no frame decoded over WebRTC in 4 s (H.264 with B-frames or a codec WebRTC cannot carry)";
        if (hlsUrl) {
          preferHls.set(this.key, why);
          this.generation++;
          this.cleanup();
          void this.startHls(hlsUrl, why, this.generation).catch((e) => this.fail(String(e?.message ?? e)));
        } else this.fail(why);
        return;
      }
      if (last > 0 && now - progressAt > STALE_MS && this.status.state === "live") {
        this.set({ state: "stale", reason: "no new frame" });
      }
      if (last > 0 && now - progressAt > RECONNECT_AFTER_STALE_MS) void this.attempt();
    }, 250);
  }

  private async startHls(url: string, why: string, gen: number) {
    const { default: Hls } = await import("hls.js");
    if (gen !== this.generation) return;
    this.video.srcObject = null; // srcObject wins over src: clear it or the dead WebRTC stream stays
    const hls = (this.hls = new Hls({
      enableWorker: false, // CSP: no blob: workers
      liveSyncDurationCount: 2,
      xhrSetup: (xhr) => xhr.setRequestHeader("Authorization", `Bearer ${this.token}`),
    }));
    this.set({ transport: "hls", state: "connecting", reason: why });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal && gen === this.generation) this.fail(`HLS: ${data.details}`);
    });
    hls.loadSource(url);
    hls.attachMedia(this.video);
    void this.video.play().catch(() => undefined);
    // Stream tokens are short-lived and HLS fetches all the time: renew the token while playing.
    this.tokenTimer = window.setInterval(async () => {
      try {
        this.token = (await rpc.call("get_stream_urls", { camera: this.camera })).token ?? this.token;
      } catch {
        /* keep the old one; a fatal error will retry */
      }
    }, 120_000);
    const started = performance.now();
    let last = 0;
    let progressAt = started;
    this.timer = window.setInterval(() => {
      if (gen !== this.generation) return;
      const now = performance.now();
      const t = this.video.currentTime;
      if (t > last) {
        last = t;
        progressAt = now;
        this.backoff = 500;
        if (this.status.state !== "live") this.set({ state: "live", reason: why });
        return;
      }
      if (last === 0 && now - started > HLS_START_MS) this.fail("no video over HLS either");
      else if (last > 0 && now - progressAt > STALE_MS * 2 && this.status.state === "live")
        this.set({ state: "stale", reason: "no new frame" });
      else if (last > 0 && now - progressAt > STALE_MS * 4) void this.attempt();
    }, 250);
  }
}
