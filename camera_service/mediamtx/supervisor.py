"""Runs (managed) or watches (unmanaged) MediaMTX and tells other components when it (re)appears.

MediaMTX keeps API-made path configs in RAM only, so every time it becomes reachable again (first
start, crash + restart, external restart, adoption) the `on_ready` listeners are awaited to re-apply state.
A managed MediaMTX also starts with the paths a registered provider gives (set_paths_provider), rendered
into its config before every spawn, kept in /dev/shm when possible as it holds credentials (ADR 0010).

Recordings survive restarts of the service (ADR 0011):
- The managed MediaMTX never writes into a pipe to the service: it logs to <runtime_dir>/mediamtx.log
  (its stdout/stderr, hence its hooks' output, are appended there too) and runs in its own session, so
  neither a SIGKILL of the service nor SIGPIPE ends it. The supervisor tails the file and forwards each
  line into the service log (forward_mediamtx_line). The file is rotated to .1 at each fresh start.
- <runtime_dir>/mediamtx.pid records the child. On a managed start, a MediaMTX named there is adopted
  instead of starting a second one when: its service is gone, /proc/<pid>/cmdline is our binary with our
  config path, its API answers on our port, and the config we would render now equals the file it runs
  with (`paths` aside: they change through the API). Otherwise (config differs, API silent) it is
  terminated and a fresh child started; a dead or foreign pid is ignored. An adopted MediaMTX is watched
  by pid polling plus the API health loop; when it dies our own child replaces it (a restart); stop()
  terminates it like our own child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.core.clock import Clock, SystemClock
from camera_service.core.component import ComponentHealth
from camera_service.core.tasks import cancel_and_wait
from camera_service.core.types import JsonObject
from camera_service.mediamtx.adoption import CallbackEndpoint
from camera_service.mediamtx.binary import (
    MEDIAMTX_VERSION,
    find_mediamtx_binary,
    forward_mediamtx_line,
    resolve_template,
)
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.config_render import render_mediamtx_config
from camera_service.mediamtx.errors import MediaMTXError, mask_url_credentials
from camera_service.mediamtx.managed import ManagedMediaMTX, MediaMTXStartError
from camera_service.observability.metrics import Metrics

log = logging.getLogger("camera_service.mediamtx")

State = Literal["starting", "up", "down"]
Listener = Callable[[], Awaitable[None]]
# secrets_allowed -> path name -> path config for the config a managed MediaMTX starts with. secrets_allowed
# is False when the config file cannot be kept memory-only: paths holding credentials must be left out.
PathsProvider = Callable[[bool], Awaitable[dict[str, JsonObject]]]
__all__ = [
    "MEDIAMTX_VERSION",
    "MediaMTXStartError",
    "MediaMTXSupervisor",
    "find_mediamtx_binary",
    "forward_mediamtx_line",
]


class MediaMTXSupervisor:
    name = "mediamtx"

    def __init__(
        self,
        cfg: MediaMTXConfig,
        storage: StorageConfig,
        runtime_dir: Path,
        metrics: Metrics,
        *,
        binary: Path | None = None,
        forward_logs: bool = True,
        clock: Clock | None = None,
        config_extra: JsonObject | None = None,
        config_contributors: Sequence[Callable[[], JsonObject]] = (),
        api_credentials: tuple[str, str] | None = None,
        callbacks: CallbackEndpoint | None = None,
    ) -> None:
        """`config_contributors` add top-level keys to every rendered config (security routes MediaMTX's
        auth to us); `api_credentials` is the user MediaMTX's API accepts from this service."""
        self.cfg = cfg
        self.storage = storage
        self.runtime_dir = runtime_dir
        self.metrics = metrics
        self._binary = binary if binary is not None else cfg.binary
        self._forward_logs = forward_logs
        self._clock: Clock = clock or SystemClock()
        self.config_extra = config_extra
        self._config_contributors = list(config_contributors)
        self._client = MediaMTXClient(cfg.api_url, cfg.playback_url, cfg.request_timeout_s)
        if api_credentials is not None:
            self._client.set_basic_auth(*api_credentials)
        # callbacks: recorded in the pidfile, so that a restarted service listens there again.
        self._child = ManagedMediaMTX(
            cfg,
            runtime_dir,
            self._client,
            self._clock,
            on_line=self._on_line,
            on_exit=self._on_child_exit,
            callbacks=callbacks,
        )
        self._health_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._exited_before_up = asyncio.Event()
        self._ready_listeners: list[Listener] = []
        self._down_listeners: list[Listener] = []
        self._state: State = "starting"
        self._version: str | None = None
        self._started: str | None = None
        self._verified_started: str | None = None  # `started` of the MediaMTX last checked to be ours
        self._restarts = 0
        self._ever_up = False
        self._last_error: str | None = None
        self._log_tail: deque[str] = deque(maxlen=20)
        self._paths_provider: PathsProvider | None = None

    # ---- public state ----------------------------------------------------------------------------

    @property
    def client(self) -> MediaMTXClient:
        return self._client

    async def reader_ids(self) -> set[str] | None:
        """Ids of every reader of every path now (as in runOnRead's MTX_READER_ID); None when MediaMTX
        does not answer (unknown, not "none")."""
        if not self.is_up:
            return None
        try:
            return {reader.id for path in await self._client.list_paths() for reader in path.readers}
        except Exception:
            return None

    @property
    def state(self) -> State:
        return self._state

    @property
    def is_up(self) -> bool:
        return self._state == "up"

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def started(self) -> str | None:
        """MediaMTX's own start time (from /v3/info)."""
        return self._started

    @property
    def managed(self) -> bool:
        return self.cfg.managed

    @property
    def pid(self) -> int | None:
        return self._child.pid

    @property
    def adopted(self) -> bool:
        """True while the MediaMTX we manage is one a previous run of the service started."""
        return self._child.adopted

    @property
    def pidfile(self) -> Path:
        return self._child.pidfile

    @property
    def log_file(self) -> Path:
        return self._child.log_file

    def on_ready(self, callback: Listener) -> Callable[[], None]:
        """Await `callback` every time MediaMTX becomes reachable (first time and after each restart).

        Not called at registration: a component registering after start() applies its state itself.
        Returns a function that removes the listener.
        """
        self._ready_listeners.append(callback)
        return lambda: self._ready_listeners.remove(callback)

    def set_paths_provider(self, provider: PathsProvider | None) -> None:
        """Called before every spawn of the managed MediaMTX (first start and each restart): the paths it
        returns are in the config MediaMTX starts with, so the on_ready reconcile finds them in place
        instead of adding them one by one (each API path change reloads MediaMTX's whole config)."""
        self._paths_provider = provider

    @property
    def config_in_memory(self) -> bool:
        """True when the managed MediaMTX's config file is on a private tmpfs (credentials allowed)."""
        return self._child.location.in_memory

    @property
    def config_file(self) -> Path:
        return self._child.config_file

    def on_down(self, callback: Listener) -> Callable[[], None]:
        """Await `callback` every time a reachable MediaMTX stops answering."""
        self._down_listeners.append(callback)
        return lambda: self._down_listeners.remove(callback)

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._state == "up",
            status=self._state,
            details={
                "managed": self.managed,
                "state": self._state,
                "version": self._version,
                "restarts": self._restarts,
                "pid": self.pid,
                "adopted": self.adopted,
                "api_url": self.cfg.api_url,
                "last_error": self._last_error,
            },
        )

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._client.start()
        if self.managed:
            await self._start_child()
        self._health_task = asyncio.create_task(self._health_loop(), name="mediamtx-health")
        if not self.managed:
            # Attach mode never fails start: report down and keep polling.
            if not await self.wait_ready(min(self.cfg.request_timeout_s, self.cfg.start_timeout_s)):
                self._state = "down"
                log.warning("MediaMTX at %s not reachable yet: %s", self.cfg.api_url, self._last_error)
            return
        up = asyncio.create_task(self._up.wait())
        died = asyncio.create_task(self._exited_before_up.wait())
        try:
            await asyncio.wait(
                {up, died}, timeout=self.cfg.start_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            await cancel_and_wait(up, died)
        if not self._up.is_set():
            why = (
                "exited"
                if self._exited_before_up.is_set()
                else f"did not answer within {self.cfg.start_timeout_s:g}s"
            )
            await self.stop()  # also reads the rest of its log
            tail = "\n".join(self._log_tail)
            raise MediaMTXStartError(f"MediaMTX {why} (api {self.cfg.api_url}); last output:\n{tail}")

    async def wait_ready(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """True once MediaMTX answers; False if it did not within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._up.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        await cancel_and_wait(self._health_task)
        self._health_task = None
        await self._child.stop()
        await self._client.close()
        self._state = "down"
        self._up.clear()
        self.metrics.mediamtx_up.set(0)

    # ---- internals -------------------------------------------------------------------------------

    async def _start_child(self) -> None:
        binary = find_mediamtx_binary(self._binary).resolve()
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.storage.recordings_path.mkdir(parents=True, exist_ok=True)
        await self._child.start(binary, self._render)

    async def _render(self, secrets_allowed: bool) -> str:
        paths: dict[str, JsonObject] = {}
        if self._paths_provider is not None:
            try:
                paths = await self._paths_provider(secrets_allowed)
            except Exception:
                # Not fatal: the on_ready listeners apply the paths through the API.
                log.exception("MediaMTX paths provider failed; starting without pre-rendered paths")
        template = resolve_template(self.cfg.config_template)
        extra = dict(self.config_extra or {})
        for contribute in self._config_contributors:
            extra.update(contribute())
        # Pure-Python YAML: ~50 ms for 20 cameras, growing with them; off the loop, which is busy
        # with the recovery (restart after a kill) at that moment.
        return await asyncio.to_thread(
            render_mediamtx_config,
            template,
            self.cfg,
            self.storage,
            extra or None,
            log_file=self.log_file.resolve(),
            paths=paths,
        )

    def _on_line(self, line: str) -> None:
        self._log_tail.append(mask_url_credentials(line))
        if self._forward_logs:
            forward_mediamtx_line(line)

    def _on_child_exit(self, why: str, replaced: bool) -> None:
        self._last_error = why
        if not self._ever_up and not replaced:
            self._exited_before_up.set()
        self._wake.set()  # poll now so the loss is seen at once, not a poll interval later

    async def _health_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                info = await self._client.info()
                ours = await self._answers_for_us(info.started)
            except MediaMTXError as exc:
                self._last_error = exc.message
                await self._mark_down()
            else:
                if ours:
                    await self._mark_up(info.version, info.started)
                else:
                    await self._mark_down()
            # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancel that races the wake-up.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.health_interval_s):
                    await self._wake.wait()

    async def _answers_for_us(self, started: str | None) -> bool:
        """Whether the MediaMTX answering at the API address is the one we manage.

        The API port is chosen before MediaMTX binds it, so another MediaMTX (another instance's, a
        test's on the same machine) can hold it: ours then fails to start while the other answers
        every request. Its answers must never count as ours (they once made a deleted path config
        reappear: the other instance was running the same test). The config behind the API names the
        log file, unique to our runtime directory: check it once per MediaMTX start."""
        if not self.managed:
            return True  # attach mode: whatever answers at the configured address is the one
        if started is not None and started == self._verified_started:
            return True
        conf = await self._client.get_global_config()
        mine = str(self.log_file.resolve())
        if conf.get("logFile") != mine:
            self._last_error = (
                f"another MediaMTX answers at {self.cfg.api_url} (its log file is "
                f"{conf.get('logFile')!r}, ours {mine!r}): is the API port taken?"
            )
            return False
        self._verified_started = started
        return True

    async def _mark_up(self, version: str, started: str | None) -> None:
        restarted = self._ever_up and (self._state != "up" or started != self._started)
        first = not self._ever_up
        if not first and not restarted:
            return
        if restarted:
            self._restarts += 1
            self.metrics.mediamtx_restarts.inc()
            log.warning("MediaMTX is back (restart #%d, started %s)", self._restarts, started)
        else:
            log.info("MediaMTX %s is up at %s", version, self.cfg.api_url)
        self._ever_up = True
        self._state = "up"
        self._version = version
        self._started = started
        self._last_error = None
        self._up.set()
        self.metrics.mediamtx_up.set(1)
        await self._notify(self._ready_listeners, "on_ready")

    async def _mark_down(self) -> None:
        if not self._ever_up:
            return  # still starting
        if self._state == "down":
            return
        log.warning("MediaMTX is down: %s", self._last_error)
        self._state = "down"
        self._up.clear()
        self.metrics.mediamtx_up.set(0)
        await self._notify(self._down_listeners, "on_down")

    async def _notify(self, listeners: list[Listener], kind: str) -> None:
        for cb in list(listeners):
            try:
                await cb()
            except Exception:
                log.exception("MediaMTX %s listener %r failed", kind, cb)
