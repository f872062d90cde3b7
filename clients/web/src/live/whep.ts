// A small WHEP client modelled on MediaMTX's reader.js (MIT): POST the offer, DELETE the session on close. The
// stream token is the Bearer. No trickle ICE: the offer goes out once candidate gathering is complete (host
// candidates only, no STUN: a few milliseconds), so there is no PATCH that can reach a session the server has
// already closed (a path reload ends WHEP readers; a late PATCH then answers 404 in the browser console).

export class StreamError extends Error {
  constructor(
    public kind: "offline" | "denied" | "error",
    message: string,
  ) {
    super(message);
  }
}

/** Resolves when ICE gathering is complete, or after `capMs` (the candidates gathered so far are in the local
 * description either way; the server's own candidates are enough to connect). */
function gathered(pc: RTCPeerConnection, capMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, capMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export class WhepSession {
  pc: RTCPeerConnection | null = null;
  private sessionUrl: string | null = null;
  private closed = false;

  constructor(
    private url: string,
    private token: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async start(onStream: (s: MediaStream) => void): Promise<void> {
    const pc = (this.pc = new RTCPeerConnection({ iceServers: [] }));
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (ev) => onStream(ev.streams[0]);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 1000);
    if (this.closed) return;
    performance.mark("whep-offer");
    const res = await fetch(this.url, {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/sdp" }),
      body: pc.localDescription?.sdp ?? "",
    });
    if (res.status === 404) throw new StreamError("offline", "no video on the server (camera not publishing)");
    if (res.status === 401 || res.status === 403) throw new StreamError("denied", "stream access refused");
    if (res.status !== 201) throw new StreamError("error", `WHEP answered ${res.status}`);
    const location = res.headers.get("Location");
    this.sessionUrl = location ? new URL(location, this.url).toString() : null;
    const answer = await res.text();
    performance.mark("whep-answer");
    if (this.closed) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  }

  /** Decoded video frames so far (getStats inbound-rtp), the honest "is it playing" signal. */
  async framesDecoded(): Promise<number> {
    if (!this.pc) return 0;
    let frames = 0;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded ?? 0;
    });
    return frames;
  }

  /** Close; `release` also DELETEs the server session first (closing the peer connection first would end
   * the session on the server, and the DELETE would then answer 404). */
  close(release: boolean): void {
    this.closed = true;
    const pc = this.pc;
    this.pc = null;
    const url = this.sessionUrl;
    this.sessionUrl = null;
    if (release && url && pc?.connectionState === "connected") {
      void fetch(url, { method: "DELETE", headers: this.headers() })
        .catch(() => undefined)
        .finally(() => pc.close());
    } else pc?.close();
  }
}
