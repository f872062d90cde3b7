"""Desired MediaMTX path configs of cameras, and the reconciler that makes MediaMTX equal to them.

The registry is the source of truth. Configs are pushed with `replace` (an upsert), so a password is
never read back from MediaMTX and patched in (MediaMTX redacts some secrets on GET).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.models import Camera, substream_path
from camera_service.cameras.ports import PathContributor
from camera_service.cameras.urls import RTSP_SCHEMES, mask_credentials, with_credentials
from camera_service.core.errors import invalid_input
from camera_service.core.hooks import HookHost
from camera_service.core.types import JsonObject, JsonValue
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.errors import MediaMTXError, MediaMTXNotFound, MediaMTXUnavailable

log = logging.getLogger("camera_service.cameras")

HOOK_ONLINE = "camera_online"
HOOK_OFFLINE = "camera_offline"


def source_url_with_credentials(camera: Camera) -> str:
    return with_credentials(
        camera.source,
        camera.username,
        camera.password.get_secret_value() if camera.password else None,
        {k: v.get_secret_value() for k, v in camera.secret_query.items()},
    )


class PathConfigBuilder:
    """Pure function camera -> MediaMTX path config (None: the camera must have no path)."""

    def __init__(
        self,
        cfg: CamerasConfig,
        internal: HookHost,
        owns: Callable[[str], bool] | None = None,
        publisher_userinfo: Callable[[str], str] | None = None,
    ) -> None:
        """`owns`: camera id -> whether this instance owns the camera now (a cluster's lease); None:
        it owns every camera. A camera another instance owns has no path here (no pull, no recording).
        `publisher_userinfo`: camera id -> "user:password@" the device publisher MediaMTX runs presents
        (security M7)."""
        self.cfg = cfg
        self.internal = internal
        self.owns = owns
        self.publisher_userinfo = publisher_userinfo or (lambda _camera_id: "")
        self.contributors: list[PathContributor] = []

    def wanted(self, camera: Camera) -> bool:
        """Whether the camera should have a MediaMTX path on this instance."""
        if not camera.enabled or camera.credentials_error:
            return False
        return self.owns is None or self.owns(camera.id)

    def desired(self, camera: Camera) -> JsonObject | None:
        if not self.wanted(camera):
            return None
        conf: JsonObject
        kind = camera.source_kind
        if kind == "publisher":
            conf = {"source": "publisher"}
        elif kind == "device":
            argv = [
                self.cfg.device_ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "v4l2",
                "-i",
                camera.source,
                *shlex.split(self.cfg.device_encoder_args),
                "-f",
                "rtsp",
                "-rtsp_transport",
                "tcp",
            ]
            # MediaMTX expands $RTSP_PORT/$MTX_PATH itself (no shell).
            userinfo = self.publisher_userinfo(camera.id)
            conf = {
                "source": "publisher",
                "runOnDemand": shlex.join(argv) + f" rtsp://{userinfo}127.0.0.1:$RTSP_PORT/$MTX_PATH",
                "runOnDemandRestart": True,
            }
        else:
            conf = {"source": source_url_with_credentials(camera), "sourceOnDemand": camera.on_demand}
            if camera.source.split("://", 1)[0] in RTSP_SCHEMES:
                conf["rtspTransport"] = camera.rtsp_transport or self.cfg.default_rtsp_transport
        conf["runOnOnline"] = self.internal.hook_command(
            HOOK_ONLINE, path="$MTX_PATH", source_type="$MTX_SOURCE_TYPE"
        )
        conf["runOnOffline"] = self.internal.hook_command(HOOK_OFFLINE, path="$MTX_PATH")
        for contribute in self.contributors:
            try:
                conf.update(contribute(camera))
            except Exception:
                log.exception("path contributor failed", extra={"camera": camera.id})
        if kind == "device" and conf.get("record"):
            # MediaMTX's recorder is not a reader, so runOnDemand would never fire: while recording,
            # run the device publisher with the path (runOnInit) instead.
            conf["runOnInit"] = conf.pop("runOnDemand")
            conf["runOnInitRestart"] = conf.pop("runOnDemandRestart")
        return conf

    def desired_substream(self, camera: Camera) -> JsonObject | None:
        """The substream's path: its source only (no hooks, no recording: status and recordings follow
        the main stream). A pulled substream uses the camera's credentials."""
        if not camera.substream or not self.wanted(camera):
            return None
        if camera.substream == "publisher":
            return {"source": "publisher"}
        password = camera.password.get_secret_value() if camera.password else None
        conf: JsonObject = {
            "source": with_credentials(camera.substream, camera.username, password, {}),
            "sourceOnDemand": camera.on_demand,
        }
        if camera.substream.split("://", 1)[0] in RTSP_SCHEMES:
            conf["rtspTransport"] = camera.rtsp_transport or self.cfg.default_rtsp_transport
        return conf

    def paths(self, camera: Camera) -> dict[str, JsonObject | None]:
        """MediaMTX path name -> desired config (None: must not exist) of everything the camera owns.
        The substream's path is named only when the camera has one: deleting a path MediaMTX never had
        makes it log an error ("path not found") on every add, update and removal."""
        paths = {camera.id: self.desired(camera)}
        if camera.substream:
            paths[substream_path(camera.id)] = self.desired_substream(camera)
        return paths

    def startup_paths(self, cameras: list[Camera], secrets_allowed: bool) -> dict[str, JsonObject]:
        """Desired configs of every camera that has a path (what a reconcile applies). Without
        `secrets_allowed`, configs holding any of the camera's secrets are left out."""
        out: dict[str, JsonObject] = {}
        for camera in cameras:
            for name, conf in self.paths(camera).items():
                if conf is None:
                    continue
                if not secrets_allowed:
                    text = json.dumps(conf)
                    if any(secret and secret in text for secret in camera.secrets()):
                        continue
                out[name] = conf
        return out


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s|d)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration_s(value: str) -> float | None:
    parts = _DURATION_RE.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def values_equal(want: JsonValue, have: JsonValue) -> bool:
    if want == have:
        return True
    if isinstance(want, str) and isinstance(have, str):
        # "1h" == "1h0m0s"; MediaMTX reports a zero duration ("0s", e.g. recordDeleteAfter) as "".
        a, b = _duration_s(want) if want else 0.0, _duration_s(have) if have else 0.0
        return a is not None and a == b
    return False


def config_matches(desired: JsonObject, actual: JsonObject) -> bool:
    return all(values_equal(v, actual.get(k)) for k, v in desired.items())


@dataclass
class ReconcileReport:
    applied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0


class Provisioner:
    """Serialises every path-config change; one reconcile (or single-path change) at a time."""

    def __init__(self, client: MediaMTXClient, concurrency: int) -> None:
        self.client = client
        self.concurrency = concurrency
        self.lock = asyncio.Lock()
        self.errors: dict[str, str] = {}  # camera id -> why MediaMTX refused its config
        self.reconciles = 0
        self.writes = 0  # replace/delete calls made (a reconcile that finds MediaMTX right makes none)

    async def apply(self, camera_id: str, desired: JsonObject | None) -> None:
        """Push one camera's config (or remove its path). Raises MediaMTXError."""
        async with self.lock:
            await self._apply_locked(camera_id, desired)

    async def _apply_locked(self, camera_id: str, desired: JsonObject | None) -> None:
        self.writes += 1
        try:
            if desired is None:
                with contextlib.suppress(MediaMTXNotFound):
                    await self.client.delete_path_config(camera_id)
            else:
                await self.client.replace_path_config(camera_id, desired)
        except MediaMTXUnavailable:
            raise
        except MediaMTXError as exc:
            self.errors[camera_id] = exc.message
            raise
        self.errors.pop(camera_id, None)

    async def reconcile(self, desired: dict[str, JsonObject | None]) -> ReconcileReport:
        """Make MediaMTX's path configs equal to `desired` (id -> config; None = must not exist).

        Paths MediaMTX has that are not in `desired` were made behind our back: they are deleted.
        """
        started = time.perf_counter()
        report = ReconcileReport()
        async with self.lock:
            actual = {str(c.get("name")): c for c in await self.client.list_path_configs()}
            todo: list[tuple[str, JsonObject | None]] = []
            for cid, conf in desired.items():
                have = actual.get(cid)
                if conf is None:
                    if have is not None:
                        todo.append((cid, None))
                elif have is None or not config_matches(conf, have):
                    todo.append((cid, conf))
                else:
                    report.unchanged += 1
                    self.errors.pop(cid, None)
            todo += [(name, None) for name in actual if name not in desired]
            sem = asyncio.Semaphore(self.concurrency)

            async def one(cid: str, conf: JsonObject | None) -> None:
                async with sem:
                    try:
                        await self._apply_locked(cid, conf)
                    except MediaMTXUnavailable:
                        raise
                    except MediaMTXError as exc:
                        report.failed[cid] = exc.message
                        return
                (report.applied if conf is not None else report.deleted).append(cid)

            results = await asyncio.gather(*(one(cid, conf) for cid, conf in todo), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # MediaMTX went away mid-way: the next on_ready reconciles again
        self.reconciles += 1
        report.duration_s = time.perf_counter() - started
        return report


def apply_error(camera: Camera, exc: MediaMTXError) -> Exception:
    """The error of a path config MediaMTX did not take: unreachable passes through (rpc/errors.py maps it
    like every other MediaMTX failure); a refused config is the camera's `source` MediaMTX did not accept."""
    if isinstance(exc, MediaMTXUnavailable):
        return exc
    return invalid_input(
        "source",
        "MediaMTX refused the camera's configuration: " + mask_credentials(exc.message, camera.secrets()),
    )
