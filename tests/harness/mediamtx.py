"""Run a REAL MediaMTX for tests, from inline YAML, on free ports, isolated in a work directory."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.harness.ports import free_ports
from tests.harness.procs import ManagedProcess

MEDIAMTX_VERSION = "v1.20.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 20.0

#: Used when ``run_mediamtx`` gets no YAML: every path accepts publishers.
DEFAULT_YAML = "paths:\n  all_others:\n"

# Config keys holding listen addresses -> the name used in ``MediaMTXInstance.ports``.
_ADDRESS_KEYS: dict[str, str] = {
    "apiAddress": "api",
    "metricsAddress": "metrics",
    "pprofAddress": "pprof",
    "playbackAddress": "playback",
    "rtspAddress": "rtsp",
    "rtspsAddress": "rtsps",
    "rtpAddress": "rtp",
    "rtcpAddress": "rtcp",
    "srtpAddress": "srtp",
    "srtcpAddress": "srtcp",
    "rtmpAddress": "rtmp",
    "rtmpsAddress": "rtmps",
    "hlsAddress": "hls",
    "webrtcAddress": "webrtc",
    "webrtcLocalUDPAddress": "webrtc_udp",
    "srtAddress": "srt",
    "moqHTTP2Address": "moq_http2",
    "moqHTTP3Address": "moq_http3",
    "moqQUICAddress": "moq_quic",
}
# Listener name -> the config switch that enables it.
_ENABLED_BY: dict[str, str] = {
    "api": "api",
    "metrics": "metrics",
    "pprof": "pprof",
    "playback": "playback",
    "rtsp": "rtsp",
    "rtsps": "rtsp",
    "rtp": "rtsp",
    "rtcp": "rtsp",
    "srtp": "rtsp",
    "srtcp": "rtsp",
    "rtmp": "rtmp",
    "rtmps": "rtmp",
    "hls": "hls",
    "webrtc": "webrtc",
    "webrtc_udp": "webrtc",
    "srt": "srt",
    "moq_http2": "moq",
    "moq_http3": "moq",
    "moq_quic": "moq",
}
# UDP listeners that serve other hosts' addresses (ICE candidates list interface IPs): bind all.
_ALL_INTERFACES = ("webrtcLocalUDPAddress", "srtAddress")
_MULTICAST_PORT_KEYS = ("multicastRTPPort", "multicastRTCPPort", "multicastSRTPPort", "multicastSRTCPPort")


class MediaMTXNotFoundError(RuntimeError):
    pass


class MediaMTXStartError(RuntimeError):
    pass


def mediamtx_binary() -> str:
    """Path of the MediaMTX binary: $MEDIAMTX_BIN, else ``mediamtx`` on PATH, else the repo's build."""
    env = os.environ.get("MEDIAMTX_BIN")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise MediaMTXNotFoundError(f"MEDIAMTX_BIN={env!r} is not an executable file")
    on_path = shutil.which("mediamtx")
    if on_path:
        return on_path
    built = REPO_ROOT / ".cache" / "mediamtx" / MEDIAMTX_VERSION / "mediamtx"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    raise MediaMTXNotFoundError(
        "MediaMTX binary not found: set MEDIAMTX_BIN, put `mediamtx` on PATH, or run "
        f"`bash scripts/setup.sh` (builds {built})"
    )


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _listener_enabled(name: str, config: Mapping[str, Any]) -> bool:
    if config.get(_ENABLED_BY[name]) is not True:
        return False
    if name in ("rtp", "rtcp", "srtp", "srtcp"):
        transports = config.get("rtspTransports") or []
        if "udp" not in transports:
            return False
        encryption = str(config.get("rtspEncryption", "no"))
        return encryption not in ("strict",) if name in ("rtp", "rtcp") else encryption != "no"
    if name in ("rtsps", "rtmps"):
        return str(config.get(name[:-1] + "Encryption", "no")) in ("optional", "strict")
    if name == "rtsp":
        return str(config.get("rtspEncryption", "no")) != "strict"
    if name == "rtmp":
        return str(config.get("rtmpEncryption", "no")) != "strict"
    return True


def _port_of(address: Any) -> int | None:
    if not isinstance(address, str) or ":" not in address:
        return None
    try:
        return int(address.rsplit(":", 1)[1])
    except ValueError:
        return None


def build_config(
    yaml_text: str | None, *, workdir: Path, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The full MediaMTX config: harness defaults, then ``yaml_text``, then ``extra`` (deep-merged)."""
    n = len(_ADDRESS_KEYS) + len(_MULTICAST_PORT_KEYS)
    ports = iter(free_ports(n))
    base: dict[str, Any] = {
        "logLevel": "info",
        "logDestinations": ["stdout"],
        "api": True,
        "metrics": True,
        "playback": True,
        "pprof": False,
        "rtsp": True,
        "rtspTransports": ["tcp"],
        "rtmp": False,
        "hls": False,
        "webrtc": False,
        "srt": False,
        "moq": False,
        "pathDefaults": {
            "recordPath": str(workdir / "recordings" / "%path" / "%Y-%m-%d_%H-%M-%S-%f"),
        },
    }
    for key in _ADDRESS_KEYS:
        base[key] = f"{'' if key in _ALL_INTERFACES else '127.0.0.1'}:{next(ports)}"
    for key in _MULTICAST_PORT_KEYS:
        base[key] = next(ports)
    user = yaml.safe_load(yaml_text if yaml_text is not None else DEFAULT_YAML) or {}
    if not isinstance(user, Mapping):
        raise ValueError("MediaMTX YAML must be a mapping")
    config = _deep_merge(base, user)
    if extra:
        config = _deep_merge(config, extra)
    return config


class MediaMTXInstance:
    """A MediaMTX process plus the addresses it listens on."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        workdir: Path,
        binary: str | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.binary = binary or mediamtx_binary()
        self.ready_timeout = ready_timeout
        self.config_path = self.workdir / "mediamtx.yml"
        self.log_path = self.workdir / "mediamtx.log"
        #: every configured listen port, enabled or not
        self.all_ports: dict[str, int] = {}
        for key, name in _ADDRESS_KEYS.items():
            port = _port_of(config.get(key))
            if port is not None:
                self.all_ports[name] = port
        #: ports of the enabled servers only (e.g. "api", "metrics", "playback", "rtsp")
        self.ports: dict[str, int] = {
            name: port for name, port in self.all_ports.items() if _listener_enabled(name, config)
        }
        self.process: ManagedProcess | None = None

    # ------------------------------------------------------------------ addresses
    def _http_url(self, key: str) -> str:
        addr = str(self.config[key])
        host, port = addr.rsplit(":", 1)
        if host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        scheme = "https" if self.config.get(key.replace("Address", "Encryption")) is True else "http"
        return f"{scheme}://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self._http_url("apiAddress")

    @property
    def metrics_url(self) -> str:
        return self._http_url("metricsAddress")

    @property
    def playback_url(self) -> str:
        return self._http_url("playbackAddress")

    @property
    def hls_url(self) -> str:
        return self._http_url("hlsAddress")

    @property
    def webrtc_url(self) -> str:
        return self._http_url("webrtcAddress")

    @property
    def rtsp_port(self) -> int:
        return self.all_ports["rtsp"]

    def rtsp_url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.rtsp_port}/{path.lstrip('/')}"

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def output(self, last: int | None = None) -> str:
        return self.process.output(last) if self.process else ""

    async def start(self) -> MediaMTXInstance:
        if self.running:
            raise RuntimeError("MediaMTX is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MTX_")}  # MTX_* would override
        env["TZ"] = "UTC"
        self.process = ManagedProcess(
            [self.binary, str(self.config_path)],
            name="mediamtx",
            cwd=self.workdir,
            env=env,
            log_path=self.log_path,
        )
        await self.process.start()
        try:
            await self.wait_ready(self.ready_timeout)
        except BaseException:
            await self.process.stop()
            raise
        return self

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        """Wait until GET /v3/info answers 200; returns its JSON. Fails fast if the process exits."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if not self.process.running:
                    await self.process.wait(5)
                    raise MediaMTXStartError(
                        f"MediaMTX exited with code {self.process.returncode} before its API answered.\n"
                        f"--- config {self.config_path} ---\n{self.config_path.read_text()}"
                        f"--- output ---\n{self.process.output()}"
                    )
                try:
                    async with http.get(f"{self.api_url}/v3/info") as resp:
                        if resp.status == 200:
                            info: dict[str, Any] = await resp.json()
                            return info
                        last_error = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last_error = repr(exc)
                if loop.time() >= deadline:
                    raise MediaMTXStartError(
                        f"MediaMTX API {self.api_url}/v3/info not ready within {timeout:.0f}s "
                        f"(last: {last_error}).\n--- output ---\n{self.process.output()}"
                    )
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL MediaMTX now (crash simulation); it is reaped by ``stop()`` / on context exit."""
        if self.process is not None:
            self.process.kill()

    async def stop(self, timeout: float = 5.0) -> int | None:
        if self.process is None:
            return None
        return await self.process.stop(timeout)

    async def restart(self) -> MediaMTXInstance:
        """Stop (if running) and start again with the same config and ports."""
        await self.stop()
        return await self.start()

    def __repr__(self) -> str:
        return (
            f"<MediaMTXInstance api={self.api_url} rtsp={self.all_ports.get('rtsp')} running={self.running}>"
        )


@contextlib.asynccontextmanager
async def run_mediamtx(
    yaml_text: str | None = None,
    *,
    workdir: Path,
    extra: Mapping[str, Any] | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> AsyncIterator[MediaMTXInstance]:
    """Start MediaMTX from inline YAML (merged over the harness defaults) and stop it on exit.

    Harness defaults: API/metrics/playback on 127.0.0.1 free ports, RTSP over TCP only, RTMP/HLS/
    WebRTC/SRT/MoQ off (the YAML may turn them on: they already have free ports), recordings under
    ``workdir/recordings``, TZ=UTC, cwd=workdir. ``extra`` is deep-merged last.
    """
    workdir = Path(workdir)
    config = build_config(yaml_text, workdir=workdir, extra=extra)
    instance = MediaMTXInstance(config, workdir=workdir, ready_timeout=ready_timeout)
    try:
        await instance.start()
        yield instance
    finally:
        await instance.stop()
