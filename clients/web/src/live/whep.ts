// A small WHEP client modelled on MediaMTX's reader.js (MIT): POST the offer, trickle ICE candidates with
// PATCH (application/trickle-ice-sdpfrag), DELETE the session on close. The stream token is the Bearer.

export class StreamError extends Error {
  constructor(
    public kind: "offline" | "denied" | "error",
    message: string,
  ) {
    super(message);
  }
}

type Offer = { iceUfrag: string; icePwd: string; medias: string[] };

function parseOffer(sdp: string): Offer {
  const out: Offer = { iceUfrag: "", icePwd: "", medias: [] };
  for (const line of sdp.split("\r\n")) {
    if (line.startsWith("m=")) out.medias.push(line.slice(2));
    else if (!out.iceUfrag && line.startsWith("a=ice-ufrag:")) out.iceUfrag = line.slice(12);
    else if (!out.icePwd && line.startsWith("a=ice-pwd:")) out.icePwd = line.slice(10);
  }
  return out;
}

function sdpFragment(offer: Offer, candidates: RTCIceCandidate[]): string {
  const byMedia = new Map<number, RTCIceCandidate[]>();
  for (const c of candidates) {
    const mid = c.sdpMLineIndex ?? 0;
    byMedia.set(mid, [...(byMedia.get(mid) ?? []), c]);
  }
  let frag = `a=ice-ufrag:${offer.iceUfrag}\r\na=ice-pwd:${offer.icePwd}\r\n`;
  offer.medias.forEach((media, mid) => {
    const list = byMedia.get(mid);
    if (!list) return;
    frag += `m=${media}\r\na=mid:${mid}\r\n`;
    for (const c of list) frag += `a=${c.candidate}\r\n`;
  });
  return frag;
}

export class WhepSession {
  pc: RTCPeerConnection | null = null;
  private sessionUrl: string | null = null;
  private queued: RTCIceCandidate[] = [];
  private offer: Offer | null = null;
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
    pc.onicecandidate = (ev) => {
      if (!ev.candidate) return;
      this.queued.push(ev.candidate);
      if (this.sessionUrl) void this.sendCandidates();
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.offer = parseOffer(offer.sdp ?? "");
    performance.mark("whep-offer");
    const res = await fetch(this.url, {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/sdp" }),
      body: offer.sdp,
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
    if (this.queued.length) await this.sendCandidates();
  }

  private async sendCandidates(): Promise<void> {
    if (!this.sessionUrl || !this.offer || !this.queued.length || this.closed) return;
    // Once ICE is up, late candidates are not needed (and the session may be gone: a 404 in the console).
    const ice = this.pc?.iceConnectionState;
    if (ice === "connected" || ice === "completed") return;
    const batch = this.queued;
    this.queued = [];
    try {
      await fetch(this.sessionUrl, {
        method: "PATCH",
        headers: this.headers({ "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" }),
        body: sdpFragment(this.offer, batch),
      });
    } catch {
      /* the session may be gone; the tile's frame check notices */
    }
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
