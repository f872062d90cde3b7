"""GET /files/{recordings|snapshots}/{name}: the old protocol's download paths, behind a token.

The old server served these without any authentication; here a request must carry a valid JWT or API
key (`Authorization: Bearer <token>`, or `?token=` / `?auth_token=` for players that cannot set
headers). Stream tokens are refused (they open streams only). Without a valid token: 401 with a clear
message, never a file. The name is what a compat result returned (`<camera>/<file>`, or a session's
`filename`) or the old flat form (`<camera>_<file>`); it resolves through the recordings index only, and
the file must lie inside its storage root (no traversal, no symlink out; downloads.resolve_inside).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from camera_service.auth.identity import ANONYMOUS
from camera_service.auth.scopes import in_scope
from camera_service.auth.tokens import TokenError
from camera_service.auth.transport import bearer_token
from camera_service.recordings import compat_names, compat_sessions
from camera_service.recordings.downloads import content_disposition, resolve_inside, safe_relative
from camera_service.rpc.errors import CALL_FAILURES, to_rpc_error

if TYPE_CHECKING:
    from camera_service.auth.identity import Identity
    from camera_service.auth.service import AuthService
    from camera_service.cameras.service import CameraService
    from camera_service.recordings.service import RecordingsService

log = logging.getLogger("camera_service.compat.files")

KINDS = ("recordings", "snapshots")
_MAX_NAME = 1024


def _unauthorized(message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(text=message, headers={"WWW-Authenticate": 'Bearer realm="camera-service"'})


async def request_identity(auth: AuthService, request: web.Request) -> Identity:
    """The identity of an HTTP request's token (header first, then ?token= / ?auth_token=).

    Raises 401 (missing or invalid token) or 429 (too many failed attempts from this address)."""
    if not auth.enabled:
        return ANONYMOUS
    token = bearer_token(request) or request.query.get("token") or request.query.get("auth_token")
    if not token:
        raise _unauthorized(
            "authentication required: send Authorization: Bearer <JWT or API key>, or ?token=<token>"
        )
    remote = request.remote or ""
    wait = auth.auth_attempts.peek(remote)  # a valid token still passes (security L7)
    try:
        identity = await auth.authenticate_token(token, allow_stream=False)
    except TokenError as exc:
        if wait:
            raise web.HTTPTooManyRequests(
                text="too many failed authentication attempts", headers={"Retry-After": str(int(wait) + 1)}
            ) from None
        auth.auth_attempts.take(remote)
        raise _unauthorized(f"authentication failed: {exc}") from None
    return identity


_CHUNK = 256 * 1024


def _headers(download_name: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition("file", download_name),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _file(path: Path, download_name: str) -> web.FileResponse:
    return web.FileResponse(path, chunk_size=_CHUNK, headers=_headers(download_name))


async def _send_then_delete(request: web.Request, path: Path, download_name: str) -> web.StreamResponse:
    """Sends a temporary file whole before its caller deletes it. Not a FileResponse: aiohttp prepares the
    returned response again after the handler, and a FileResponse then stats its file anew; the file is gone
    by then, and the error aborted the connection with part of the body unsent (a truncated download)."""
    response = web.StreamResponse(headers={**_headers(download_name), "Content-Type": "video/mp4"})
    with await asyncio.to_thread(path.open, "rb") as f:
        response.content_length = os.fstat(f.fileno()).st_size
        await response.prepare(request)
        if request.method != "HEAD":
            while chunk := await asyncio.to_thread(f.read, _CHUNK):
                await response.write(chunk)
    await response.write_eof()
    return response


class CompatFiles:
    def __init__(self, auth: AuthService, recordings: RecordingsService, cameras: CameraService) -> None:
        self.auth = auth
        self.recordings = recordings
        self.cameras = cameras

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/files/{kind}/{name:.+}", self.handle, allow_head=True)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind not in KINDS:
            raise web.HTTPNotFound(text="unknown file kind: use /files/recordings/ or /files/snapshots/")
        identity = await request_identity(self.auth, request)  # before any lookup: no probing by name
        name = request.match_info["name"]
        if len(name) > _MAX_NAME or safe_relative(name) is None:
            log.warning("compat file refused: unsafe name", extra={"kind": kind, "path": name[:200]})
            raise web.HTTPBadRequest(text="invalid file name")
        found = await self._find(kind, name)
        if found is None and kind == "recordings":
            return await self._session(request, name, identity)
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        camera_id, path = found
        if not self._visible(camera_id, identity):
            raise web.HTTPNotFound(text="no such file")  # outside the caller's scope looks the same
        return _file(path, path.name)

    async def _session(self, request: web.Request, name: str, identity: Identity) -> web.StreamResponse:
        """A recording session's compat filename: its one segment, or its segments stitched into one MP4
        by MediaMTX's playback server (written to a temporary file, deleted after sending)."""
        svc = self.recordings
        session = await compat_sessions.find_session(svc, name)
        if session is None or not self._visible(session.camera, identity):
            raise web.HTTPNotFound(text="no such file")
        segs = await compat_sessions.segments(svc, session)
        download_name = name.rsplit("/", 1)[-1]
        if not download_name.endswith(".mp4"):
            download_name += ".mp4"
        if len(segs) == 1:
            found = await self._find("recordings", segs[0].path)
            if found is None:
                raise web.HTTPNotFound(text="no such file")
            return _file(found[1], download_name)
        if not segs:
            raise web.HTTPNotFound(text="nothing recorded yet")
        with tempfile.TemporaryDirectory(prefix="compat-session-") as tmp:
            dest = Path(tmp) / "session.mp4"
            try:
                await svc.exporter.export(
                    session.camera, segs[0].start, segs[-1].end, dest, svc.cfg.export_timeout_s
                )
            except CALL_FAILURES as failure:
                exc = to_rpc_error(failure)
                log.warning("session download failed: %s", exc.message, extra={"session": session.id})
                raise web.HTTPBadGateway(text="the recording could not be assembled; retry") from exc
            return await _send_then_delete(request, dest, download_name)

    async def _find(self, kind: str, name: str) -> tuple[str, Path] | None:
        svc = self.recordings
        item: Any
        if kind == "recordings":
            item = await compat_names.find_segment(svc, name)
        else:
            item = await compat_names.find_snapshot(svc, name)
        if item is None:
            return None
        rel = safe_relative(item.path)
        path = resolve_inside(svc.roots[kind], rel) if rel is not None else None
        return (item.camera, path) if path is not None else None

    def _visible(self, camera_id: str, identity: Identity) -> bool:
        if identity.unrestricted:
            return True
        try:
            camera = self.cameras.get_cached(camera_id)
        except Exception:
            return False  # a removed camera's files: unrestricted callers only
        return in_scope(camera, identity)
