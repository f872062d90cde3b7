"""Routing: which instance owns a camera now, and stream URLs pointed at that instance's MediaMTX.

The cluster service refreshes the table every ownership round from the heartbeat and lease rows; the
cameras domain gets `route` as a plain callable (get_stream_urls, compat URLs)."""

from __future__ import annotations

from collections.abc import Mapping

from camera_service.cameras.streams import StreamUrls
from camera_service.cluster.config import ClusterConfig
from camera_service.cluster.store import Member
from camera_service.config.sections import MediaMTXConfig, ServerConfig


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def advertised(cfg: ClusterConfig, server: ServerConfig, mtx: MediaMTXConfig, ws_port: int) -> Member:
    """This instance as the others and clients reach it: configured URLs, else built like its own
    stream URLs (server.public_host, MediaMTX's ports). `ws_port`: the port the server listens on."""
    host = _host(server.public_host)
    web = server.public_scheme
    ws = "wss" if web == "https" else "ws"
    return Member(
        id=cfg.instance_id or "",
        ws_url=cfg.advertised_ws_url or f"{ws}://{host}:{ws_port}{server.ws_path}",
        rtsp_url=cfg.advertised_rtsp_url or f"rtsp://{host}:{mtx.rtsp_port}",
        hls_url=cfg.advertised_hls_url or f"{web}://{host}:{mtx.hls_port}",
        webrtc_url=cfg.advertised_webrtc_url or f"{web}://{host}:{mtx.webrtc_port}",
        rtmp_url=cfg.advertised_rtmp_url or f"rtmp://{host}:{mtx.rtmp_port}",
        srt_url=cfg.advertised_srt_url or f"srt://{host}:{mtx.srt_port}",
    )


def _rebase(url: str | None, local: str | None, remote: str | None) -> str | None:
    """`url` under the `local` base moved to the `remote` base (a path or, for SRT, a query follows)."""
    if url is None or not local or not remote or not url.startswith(local):
        return url
    rest = url[len(local) :]
    return remote + rest if rest[:1] in ("/", "?") else url


class Directory:
    def __init__(self, me: Member) -> None:
        self.me = me
        self._members: dict[str, Member] = {}
        self._owners: dict[str, str] = {}

    def update(self, members: Mapping[str, Member], owners: Mapping[str, str]) -> None:
        """Live members (by id) and camera -> owning instance, from the latest ownership round."""
        self._members = dict(members)
        self._owners = dict(owners)

    def owner(self, camera_id: str) -> Member | None:
        """The live instance that owns the camera, or None (no owner yet, or it is this one unknown)."""
        inst = self._owners.get(camera_id)
        if inst is None:
            return None
        if inst == self.me.id:
            return self.me
        return self._members.get(inst)

    def owners(self) -> dict[str, str]:
        return dict(self._owners)

    def route(self, urls: StreamUrls) -> StreamUrls:
        """`urls` (built for this instance) pointed at the MediaMTX of the camera's owner."""
        owner = self.owner(urls.camera)
        if owner is None or owner.id == self.me.id:
            return urls
        me = self.me
        sub = urls.substream
        if sub is not None:  # the substream's path lives with the camera's
            sub = sub.model_copy(
                update={
                    "rtsp": _rebase(sub.rtsp, me.rtsp_url, owner.rtsp_url) or sub.rtsp,
                    "hls": _rebase(sub.hls, me.hls_url, owner.hls_url),
                    "whep": _rebase(sub.whep, me.webrtc_url, owner.webrtc_url),
                }
            )
        return urls.model_copy(
            update={
                "rtsp": _rebase(urls.rtsp, me.rtsp_url, owner.rtsp_url) or urls.rtsp,
                "hls": _rebase(urls.hls, me.hls_url, owner.hls_url),
                "webrtc": _rebase(urls.webrtc, me.webrtc_url, owner.webrtc_url),
                "whep": _rebase(urls.whep, me.webrtc_url, owner.webrtc_url),
                "rtmp": _rebase(urls.rtmp, me.rtmp_url, owner.rtmp_url),
                "srt": _rebase(urls.srt, me.srt_url, owner.srt_url),
                "substream": sub,
            }
        )
