"""Camera methods: list/get/add/update/remove/probe and stream URLs.

Roles: reading (list_cameras, get_camera, get_stream_urls) = viewer; probe_camera = operator (it opens
a connection to the device); add/update/remove = admin (camera administration).
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from camera_service.auth.roles import Role
from camera_service.cameras.edit import apply_update, camera_from_add
from camera_service.cameras.models import Camera
from camera_service.cameras.probe import ProbeFailed, probe_stream
from camera_service.cameras.schemas import (
    AddCameraParams,
    CameraIdParams,
    CameraInfo,
    CameraPage,
    ListCamerasParams,
    ProbeCameraParams,
    ProbeCameraResult,
    RemoveResult,
    UpdateCameraParams,
)
from camera_service.cameras.streams import StreamUrls, with_stream_token
from camera_service.cameras.urls import mask_credentials, parse_source, with_credentials
from camera_service.core.errors import Forbidden, NotFound
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry
from camera_service.rpc.scope import CameraScope

if TYPE_CHECKING:
    from camera_service.auth.ports import StreamAccess
    from camera_service.cameras.service import CameraService

router = MethodRegistry(tag="cameras")

_READ_ERRORS = (ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS)
_WRITE_ERRORS = (
    ErrorCode.INVALID_PARAMS,
    ErrorCode.NOT_FOUND,
    ErrorCode.CONFLICT,
    ErrorCode.MEDIAMTX_UNAVAILABLE,
)
# A scoped admin's camera must stay inside its scope (security L12).
_SCOPED_WRITE_ERRORS = (*_WRITE_ERRORS, ErrorCode.PERMISSION_DENIED)


@dataclass(frozen=True)
class CameraApi:
    """What the camera methods (and their compat aliases) need, bound in app.py."""

    cameras: CameraService
    streams: StreamAccess  # live-view quota and stream tokens (security)


def _visible(api: CameraApi, ctx: CallContext, camera_id: str) -> Camera:
    """The camera, or NOT_FOUND when it does not exist or is outside the caller's scope."""
    svc = api.cameras
    camera = svc.get_cached(camera_id)
    if not ctx.scope.sees(camera):
        raise not_found("camera", camera_id)
    return camera


def _matches(camera: Camera, status: str, p: ListCamerasParams) -> bool:
    if p.status is not None and status != p.status:
        return False
    if p.tag is not None and p.tag not in camera.tags:
        return False
    if p.group is not None and camera.group != p.group:
        return False
    if p.agency is not None and camera.agency != p.agency:
        return False
    if p.site is not None and camera.site != p.site:
        return False
    if p.text:
        needle = p.text.lower()
        hay = [camera.id, camera.name, camera.site or "", camera.zone or "", camera.group or "", *camera.tags]
        return any(needle in h.lower() for h in hay)
    return True


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.INVALID_PARAMS,))
async def list_cameras(api: CameraApi, ctx: CallContext, params: ListCamerasParams) -> CameraPage:
    """Cameras with their live status, filtered and paginated in a stable order (by id).

    Role: viewer. Filters combine with AND. Use `cursor` (the previous page's `next_cursor`) for
    stable paging while cameras are added; `offset` works too. Cameras outside the caller's scope are
    not listed.
    """
    svc = api.cameras
    matches = [c for c in svc.cameras() if ctx.scope.sees(c) and _matches(c, svc.status(c.id).status, params)]
    start = params.offset
    if params.cursor is not None:
        start = next((i for i, c in enumerate(matches) if c.id > params.cursor), len(matches))
    page = matches[start : start + params.limit]
    more = start + params.limit < len(matches)
    return CameraPage(
        cameras=[CameraInfo.of(c, svc.status(c.id)) for c in page],
        total=len(matches),
        limit=params.limit,
        offset=start,
        next_cursor=page[-1].id if more and page else None,
    )


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=_READ_ERRORS)
async def get_camera(api: CameraApi, ctx: CallContext, params: CameraIdParams) -> CameraInfo:
    """One camera with its live status (credentials are never returned: see `has_credentials`).

    Role: viewer.
    """
    camera = _visible(api, ctx, params.camera)
    return CameraInfo.of(camera, api.cameras.status(camera.id))


def _derive_id(svc: CameraService, name: str) -> str:
    base = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:56] or "camera"
    if not base[0].isalnum():
        base = "c" + base
    candidate, n = base, 2
    while True:
        try:
            svc.get_cached(candidate)
        except NotFound:
            return candidate
        candidate, n = f"{base}-{n}", n + 1


def _stays_in_scope(ctx: CallContext, camera: Camera) -> None:
    """A scoped admin adds and changes only cameras its own scope covers (security L12)."""
    if not ctx.scope.unrestricted and not ctx.scope.sees(camera):
        raise Forbidden(
            f"camera '{camera.id}' would be outside your camera scope (set its group, tags or agency to "
            "ones your scope names)",
            {"reason": "outside_scope", "camera": camera.id},
        )


@router.method(scope=CameraScope.CAMERAS, role=Role.ADMIN, mutating=True, errors=_SCOPED_WRITE_ERRORS)
async def add_camera(api: CameraApi, ctx: CallContext, params: AddCameraParams) -> CameraInfo:
    """Register a camera and provision its MediaMTX path; persisted across restarts.

    Role: admin. Credentials go in the URL (rtsp://user:pass@host/...) or in `username`/`password`;
    both are stored encrypted and never returned. Errors: CONFLICT (`data.reason` "exists") for a
    duplicate id; INVALID_PARAMS (`data.errors[].field`) for a malformed id or source or when MediaMTX
    refuses the configuration. If MediaMTX is down the camera is stored and provisioned when it is back.
    Bad input changes nothing.
    """
    svc = api.cameras
    camera_id = params.id or _derive_id(svc, params.name or "camera")
    camera = camera_from_add(camera_id, params)
    _stays_in_scope(ctx, camera)
    added = await svc.add(camera)
    return CameraInfo.of(added, svc.status(added.id))


@router.method(scope=CameraScope.CAMERAS, role=Role.ADMIN, mutating=True, errors=_SCOPED_WRITE_ERRORS)
async def update_camera(api: CameraApi, ctx: CallContext, params: UpdateCameraParams) -> CameraInfo:
    """Change some fields of a camera (only the fields given change); a new source re-provisions it.

    Role: admin. Credentials: a URL with credentials or `username`/`password` replace the stored ones;
    a new URL without credentials keeps them; `username: null` (or "") clears them. A `recording` policy
    is changed through the recording methods. MediaMTX refusing the change rolls it back.
    """
    svc = api.cameras
    old = _visible(api, ctx, params.camera)
    new, keep_secrets = apply_update(old, params)
    _stays_in_scope(ctx, new)
    updated = await svc.replace(new, keep_secrets=keep_secrets)
    return CameraInfo.of(updated, svc.status(updated.id))


@router.method(scope=CameraScope.CAMERAS, role=Role.ADMIN, mutating=True, errors=_READ_ERRORS)
async def remove_camera(api: CameraApi, ctx: CallContext, params: CameraIdParams) -> RemoveResult:
    """Remove a camera and its MediaMTX path. Role: admin. Recordings already made are kept."""
    camera = _visible(api, ctx, params.camera)
    await api.cameras.remove(camera.id)
    return RemoveResult(id=camera.id, removed=True)


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(*_READ_ERRORS, ErrorCode.QUOTA_EXCEEDED))
async def get_stream_urls(api: CameraApi, ctx: CallContext, params: CameraIdParams) -> StreamUrls:
    """Live-view URLs of a camera (RTSP, HLS, WebRTC page, WHEP, RTMP, SRT) for clients.

    Role: viewer. Built from `server.public_host` / `server.public_scheme` and MediaMTX's ports; a
    protocol that is switched off is null.
    """
    camera = _visible(api, ctx, params.camera)
    urls = api.cameras.stream_urls(camera.id)
    auth = api.streams
    if not auth.enabled:
        return urls
    # Security: over the agency's live-view quota -> QUOTA_EXCEEDED; otherwise every URL carries a
    # short-lived stream token that MediaMTX's http auth accepts for this camera only.
    await auth.check_live_quota(camera)
    token, expires = auth.stream_token(ctx.connection.identity, camera.id)
    return with_stream_token(urls, token, expires)


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    errors=(ErrorCode.INVALID_PARAMS, ErrorCode.NOT_FOUND, ErrorCode.CAMERA_UNAVAILABLE, ErrorCode.TIMEOUT),
)
async def probe_camera(api: CameraApi, ctx: CallContext, params: ProbeCameraParams) -> ProbeCameraResult:
    """Open a stream and report codec, profile, resolution, fps, bitrate and audio.

    Role: operator. Give `camera` (a registered camera: its pull source directly, or its MediaMTX
    path for publisher and local-device cameras) or `source` (+ `username`/`password`) to try a URL
    before adding it. Errors: CAMERA_UNAVAILABLE (`data.reason`) when the stream cannot be opened or
    read; TIMEOUT (`data.timeout_s`) when nothing arrived in time.
    """
    svc = api.cameras
    if (params.camera is None) == (params.source is None):
        raise invalid_params("camera", "give exactly one of camera or source")
    secrets: tuple[str | None, ...]
    if params.camera is not None:
        camera = _visible(api, ctx, params.camera)
        shown = camera.source
        url = (
            svc.local_rtsp_url(camera.id)
            if camera.source_kind != "pull"
            else svc.source_url_with_credentials(camera)
        )
        secrets = (*camera.secrets(), camera.username)  # L15: nor the stored user name
    else:
        assert params.source is not None
        parsed = parse_source(params.source)
        if parsed.kind == "publisher":
            raise invalid_params("source", "a publisher has nothing to probe until it publishes")
        shown = parsed.source
        password = params.password if params.password is not None else parsed.password
        url = with_credentials(
            parsed.source, params.username or parsed.username, password, parsed.secret_query
        )
        secrets = (password, params.username or parsed.username, *parsed.secret_query.values())
    timeout = min(params.timeout_s or svc.cfg.probe_timeout_s, svc.cfg.probe_timeout_s)
    started = time.perf_counter()
    try:
        identity = ctx.connection.identity
        result = await svc.probes.run(
            identity.subject if identity else ctx.connection.remote,
            functools.partial(
                probe_stream, url, timeout_s=timeout, sample_s=params.sample_s, device=url.startswith("/dev/")
            ),
            timeout + 2.0,
        )
    except (TimeoutError, ProbeFailed) as exc:
        timed_out = isinstance(exc, TimeoutError) or exc.timed_out
        if timed_out:
            raise RpcError(
                ErrorCode.TIMEOUT,
                f"no stream from the source within {timeout:g} s",
                {"timeout_s": timeout, "camera": params.camera},
            ) from None
        assert isinstance(exc, ProbeFailed)
        reason = mask_credentials(exc.reason, secrets)
        raise RpcError(
            ErrorCode.CAMERA_UNAVAILABLE,
            f"cannot open the stream: {reason}",
            {"camera": params.camera, "reason": reason},
        ) from None
    return ProbeCameraResult(
        camera=params.camera,
        source=shown,
        codec=result.codec,
        profile=result.profile,
        width=result.width,
        height=result.height,
        fps=result.fps,
        bitrate_kbps=result.bitrate_kbps,
        audio_codec=result.audio_codec,
        audio_sample_rate=result.audio_sample_rate,
        audio_channels=result.audio_channels,
        sampled_s=result.sampled_s,
        elapsed_s=round(time.perf_counter() - started, 3),
    )
