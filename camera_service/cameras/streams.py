"""Client-facing stream URLs, built from the configured public host/scheme and MediaMTX's ports."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field

from camera_service.cameras.models import substream_path
from camera_service.config.sections import MediaMTXConfig, ServerConfig


class SubstreamUrls(BaseModel):
    rtsp: str = Field(description="RTSP URL of the substream.")
    hls: str | None = Field(None, description="HLS playlist URL; null when HLS is off.")
    whep: str | None = Field(None, description="WHEP endpoint; null when WebRTC is off.")


class StreamUrls(BaseModel):
    camera: str = Field(description="The camera.")
    rtsp: str = Field(description="RTSP URL (always on).")
    hls: str | None = Field(None, description="HLS playlist URL; null when HLS is off.")
    webrtc: str | None = Field(None, description="WebRTC player page; null when WebRTC is off.")
    whep: str | None = Field(None, description="WHEP endpoint (WebRTC playback); null when WebRTC is off.")
    rtmp: str | None = Field(None, description="RTMP URL; null when RTMP is off.")
    srt: str | None = Field(None, description="SRT URL (streamid read:<path>); null when SRT is off.")
    substream: SubstreamUrls | None = Field(
        None, description="The camera's substream (lighter, for grids); null when it has none."
    )
    token: str | None = Field(
        None,
        description=(
            "Short-lived stream token already in every URL (`?token=`; SRT: the streamid password); "
            "null when "
            "security is off. Get fresh URLs before it expires."
        ),
    )
    token_expires_at: str | None = Field(None, description="ISO 8601 expiry of `token`.")


def with_stream_token(urls: StreamUrls, token: str, expires_at: float) -> StreamUrls:
    """The same URLs carrying a stream token (see camera_service/auth/mediamtx_auth.py)."""
    from datetime import UTC, datetime

    def add(url: str | None) -> str | None:
        if url is None:
            return None
        return f"{url}{'&' if '?' in url else '?'}token={token}"

    srt = f"{urls.srt}:token:{token}" if urls.srt else None  # streamid read:<path>:<user>:<pass>
    sub = urls.substream
    if sub is not None:  # the same token opens the substream's path (auth maps it to the camera)
        sub = SubstreamUrls(rtsp=add(sub.rtsp) or sub.rtsp, hls=add(sub.hls), whep=add(sub.whep))
    return urls.model_copy(
        update={
            "substream": sub,
            "rtsp": add(urls.rtsp),
            "hls": add(urls.hls),
            "webrtc": add(urls.webrtc),
            "whep": add(urls.whep),
            "rtmp": add(urls.rtmp),
            "srt": srt,
            "token": token,
            "token_expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
        }
    )


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def build_stream_urls(
    camera_id: str, server: ServerConfig, mtx: MediaMTXConfig, *, substream: bool = False
) -> StreamUrls:
    host = _host(server.public_host)
    web = server.public_scheme
    path = quote(camera_id, safe="/")
    sub = None
    if substream:
        spath = quote(substream_path(camera_id), safe="/")
        sub = SubstreamUrls(
            rtsp=f"rtsp://{host}:{mtx.rtsp_port}/{spath}",
            hls=f"{web}://{host}:{mtx.hls_port}/{spath}/index.m3u8" if mtx.enable_hls else None,
            whep=f"{web}://{host}:{mtx.webrtc_port}/{spath}/whep" if mtx.enable_webrtc else None,
        )
    return StreamUrls(
        substream=sub,
        camera=camera_id,
        rtsp=f"rtsp://{host}:{mtx.rtsp_port}/{path}",
        hls=f"{web}://{host}:{mtx.hls_port}/{path}/index.m3u8" if mtx.enable_hls else None,
        webrtc=f"{web}://{host}:{mtx.webrtc_port}/{path}" if mtx.enable_webrtc else None,
        whep=f"{web}://{host}:{mtx.webrtc_port}/{path}/whep" if mtx.enable_webrtc else None,
        rtmp=f"rtmp://{host}:{mtx.rtmp_port}/{path}" if mtx.enable_rtmp else None,
        srt=f"srt://{host}:{mtx.srt_port}?streamid=read:{path}" if mtx.enable_srt else None,
    )
