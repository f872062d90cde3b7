"""Taking over a MediaMTX left running by a previous run of the service (see ADR 0011).

The supervisor records its MediaMTX in <runtime_dir>/mediamtx.pid (JSON, mode 0600): the MediaMTX pid, its
API port, the service's own pid (the owner), and the internal callback listener's port and secret that
MediaMTX's config points at. A restarted service reuses that listener port and secret, so the config it
renders is the same and the adopted MediaMTX's auth and hook callbacks keep reaching the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from camera_service.core.tasks import cancel_and_wait

log = logging.getLogger("camera_service.mediamtx")

PIDFILE_NAME = "mediamtx.pid"
CONFIG_NAME = "mediamtx.yml"
LOG_NAME = "mediamtx.log"
# Memory-only home of the rendered config (it carries camera passwords in path sources; ADR 0010).
SHM_ROOT = Path("/dev/shm")  # noqa: S108 - ownership and mode are checked in memory_config_dir


@dataclass(frozen=True)
class ConfigLocation:
    path: Path
    in_memory: bool  # on a tmpfs only this user can read: credentials may go in


def memory_dir_name(runtime_dir: Path) -> str:
    """camera-service-<hash of the runtime dir>: one memory-only folder per runtime dir."""
    return "camera-service-" + hashlib.sha256(str(runtime_dir.resolve()).encode()).hexdigest()[:12]


def memory_config_dir(runtime_dir: Path, shm_root: Path = SHM_ROOT) -> Path | None:
    """<shm_root>/camera-service-<hash of the runtime dir>, created 0700 and owned by us; None if unusable.

    The name is predictable and the tmpfs world-writable, so a directory someone else made (or a symlink)
    is refused rather than trusted.
    """
    try:
        root = shm_root.resolve()
        if not root.is_dir() or not os.access(root, os.W_OK | os.X_OK):
            return None
        d = root / memory_dir_name(runtime_dir)
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        st = d.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            log.warning("%s is not a directory of ours: MediaMTX config stays in the runtime dir", d)
            return None
        if stat.S_IMODE(st.st_mode) != 0o700:
            d.chmod(0o700)
        return d
    except OSError:
        return None


def config_location(runtime_dir: Path, shm_root: Path = SHM_ROOT) -> ConfigLocation:
    """Where the managed MediaMTX's config lives: memory-only when possible, else the runtime dir."""
    mem = memory_config_dir(runtime_dir, shm_root)
    if mem is not None:
        return ConfigLocation(mem / CONFIG_NAME, True)
    return ConfigLocation((runtime_dir / CONFIG_NAME).resolve(), False)


def write_private(path: Path, text: str) -> None:
    """Atomically write a 0600 file (a reader never sees half of it)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _without_paths(text: str) -> Any:
    try:
        conf = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if isinstance(conf, dict):
        conf.pop("paths", None)
    return conf


def configs_equivalent(a: str, b: str) -> bool:
    """Equal but for `paths`: those change through the API after a spawn (and are re-applied anyway)."""
    if a == b:
        return True
    left, right = _without_paths(a), _without_paths(b)
    return left is not None and left == right


class CallbackEndpoint(Protocol):
    """The internal listener MediaMTX calls back (camera_service.server.internal.InternalHttpServer)."""

    port: int
    secret: str


@dataclass(frozen=True)
class PidRecord:
    pid: int
    api_port: int
    owner_pid: int
    binary: str
    config: str
    callback_port: int | None = None
    callback_secret: str | None = None


def read_pidfile(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PidRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_pidfile(path: Path, rec: PidRecord) -> None:
    # 0600 and atomic: it holds the callback secret, and a reader never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(rec), f)
    os.replace(tmp, path)


def process_alive(pid: int) -> bool:
    """Running: it exists and is no zombie (an orphan's zombie lingers where nobody reaps it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def is_our_mediamtx(pid: int, binary: Path, config: Path) -> bool:
    """pid runs `binary config` (our binary with our config path), judged from /proc/<pid>/cmdline."""
    if not process_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return False
    if len(argv) != 2 or os.fsdecode(argv[1]) != str(config):
        return False
    want = os.path.realpath(binary)
    if os.path.realpath(os.fsdecode(argv[0])) == want:
        return True
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/exe") == want
    return False


def adoptable_record(runtime_dir: Path) -> PidRecord | None:
    """The pidfile's record if its MediaMTX runs with our runtime config and its service is gone."""
    rec = read_pidfile(runtime_dir / PIDFILE_NAME)
    if rec is None or rec.owner_pid == os.getpid() or process_alive(rec.owner_pid):
        return None
    config = config_location(runtime_dir).path
    if rec.config != str(config) or not is_our_mediamtx(rec.pid, Path(rec.binary), config):
        return None
    return rec


def previous_callback_endpoint(runtime_dir: Path) -> tuple[int, str] | None:
    """(port, secret) of the callback listener an adoptable MediaMTX calls: the new listener's settings."""
    rec = adoptable_record(runtime_dir)
    if rec is None or rec.callback_port is None or rec.callback_secret is None:
        return None
    return rec.callback_port, rec.callback_secret


async def terminate(pid: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a grace period
    """SIGTERM pid's process group (its own session, as we start it), SIGKILL after `timeout`; wait for it."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    for sig in (signal.SIGKILL, None):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if sig is not None else 2.0)
        # Polling: not our child, so there is nothing to wait on.
        while process_alive(pid) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if not process_alive(pid):
            return
        if sig is not None:
            log.warning("MediaMTX (pid %d) did not exit on SIGTERM within %.1fs; killing", pid, timeout)
            send(sig)


class AdoptedProcess:
    """A MediaMTX we did not spawn: liveness by polling (it is not our child), stop by signals."""

    def __init__(
        self, pid: int, binary: Path, config: Path, *, interval_s: float, on_exit: Callable[[], None]
    ) -> None:
        self.pid = pid
        self.binary = binary
        self.config = config
        self.interval_s = interval_s
        self.on_exit = on_exit
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return process_alive(self.pid)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name=f"mediamtx-adopted:{self.pid}")

    async def _watch(self) -> None:
        while process_alive(self.pid):  # noqa: ASYNC110 - not our child: polling is all there is
            await asyncio.sleep(self.interval_s)
        log.warning("adopted MediaMTX (pid %d) exited", self.pid)
        self.on_exit()

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a grace period
        await cancel_and_wait(self._task)
        self._task = None
        # Re-check before signalling: never signal a process that reused the pid.
        if is_our_mediamtx(self.pid, self.binary, self.config):
            await terminate(self.pid, timeout)
