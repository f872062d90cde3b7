"""Shared benchmark helpers: start the real service as a child process, percentiles, the results doc."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PERF_DOC = ROOT / "docs" / "performance.md"


BENCH_JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789abcdef"


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def mediamtx_binary() -> str:
    env = os.environ.get("MEDIAMTX_BIN")
    if env:
        return env
    return str(ROOT / ".cache" / "mediamtx" / "v1.20.1" / "mediamtx")


class ServiceUnderTest:
    """camera-service in its own process (with its managed MediaMTX) on free ports."""

    def __init__(
        self, overrides: dict[str, Any] | None = None, demo: bool = False, cpus: set[int] | None = None
    ) -> None:
        """`cpus`: run the service (and MediaMTX, its child) on these CPUs only (`taskset`)."""
        self.cpus = cpus
        self.tmp = Path(tempfile.mkdtemp(prefix="cs-bench-"))
        port, api, pb, met, rtsp, rtmp, hls, webrtc, ice, srt = free_ports(10)
        self.port = port
        self.config: dict[str, Any] = {
            "server": {"host": "127.0.0.1", "port": port, "max_connections": 5000},
            "mediamtx": {
                "binary": mediamtx_binary(),
                "config_template": str(ROOT / "config" / "mediamtx.yml"),
                "api_port": api,
                "playback_port": pb,
                "metrics_port": met,
                "rtsp_port": rtsp,
                "rtmp_port": rtmp,
                "hls_port": hls,
                "webrtc_port": webrtc,
                "webrtc_ice_udp_port": ice,
                "srt_port": srt,
                "enable_rtmp": False,
                "enable_hls": False,
                "enable_webrtc": False,
                "enable_srt": False,
            },
            "storage": {"data_dir": str(self.tmp / "data")},
            "logging": {"level": "WARNING", "format": "json", "forward_mediamtx": False},
            "demo": {"enabled": demo},
            # Local webhook receivers (loopback is refused by default, security L9).
            "events": {"webhooks": {"allowed_networks": ["127.0.0.0/8"]}},
            # Security stays on (as in production); limits are lifted so they do not cap the measurement.
            # Non-public methods need `Authorization: Bearer {self.token()}` at connect (or authenticate).
            "security": {
                "jwt_secret": BENCH_JWT_SECRET,
                "bootstrap_admin_key": False,
                "max_connections_per_address": 100_000,
                "rate_limit_connection": {"per_second": 1_000_000, "burst": 1_000_000},
                "rate_limit_identity": {"per_second": 1_000_000, "burst": 1_000_000},
            },
        }
        for section, values in (overrides or {}).items():
            self.config.setdefault(section, {}).update(values)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def token(self, role: str = "admin") -> str:
        from camera_service.auth.roles import Role
        from camera_service.auth.tokens import mint_token

        secret = BENCH_JWT_SECRET.encode()
        return mint_token(secret, subject=f"bench-{role}", role=Role[role.upper()], ttl_s=86_400)

    def start(self, timeout: float = 60.0) -> None:
        cfg = self.tmp / "config.yaml"
        cfg.write_text(yaml.safe_dump(self.config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
        log = open(self.tmp / "service.log", "wb")  # noqa: SIM115 (the child owns it for its lifetime)
        pin = ["taskset", "-c", ",".join(map(str, sorted(self.cpus)))] if self.cpus else []
        self.proc = subprocess.Popen(
            [*pin, sys.executable, "-m", "camera_service", "-c", str(cfg), "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.tmp / "service.log").read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("service did not become ready")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def write_section(title: str, body: str) -> None:
    """Replace (or add) `## title` in docs/performance.md with `body`."""
    PERF_DOC.parent.mkdir(parents=True, exist_ok=True)
    text = (
        PERF_DOC.read_text()
        if PERF_DOC.exists()
        else (
            "# Performance\n\nMeasured by the scripts in `bench/` (`make bench`). Every target is a ratio "
            "against a reference measured in the same run on the same machine, or an absolute bar "
            "from the issue.\n"
        )
    )
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: section + "\n", text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section
    )
    PERF_DOC.write_text(text.rstrip() + "\n")
