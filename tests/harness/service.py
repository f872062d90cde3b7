"""Run the real camera-service (in-process, or as a child process) on free ports with its own MediaMTX."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
import yaml

from camera_service.app import Application
from camera_service.cameras.models import camera_of_path
from camera_service.config.settings import Settings
from camera_service.core.clock import Clock
from camera_service.core.dicts import deep_merge
from tests.harness.mediamtx import REPO_ROOT, mediamtx_binary
from tests.harness.ports import free_ports
from tests.harness.procs import ManagedProcess, wait_for
from tests.harness.rpc_client import RpcClient

# Security is ON in every test service (as in production). Tests mint tokens with this secret;
# `service.client()` connects as admin, `service.client(role=None)` unauthenticated.
TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdef-0123456789abcdef"


def service_config(
    data_dir: Path, *, demo: bool = False, server_port: int = 0, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Config (as plain data) for a test instance: every port free, data under data_dir."""
    api, playback, metrics, rtsp, rtmp, hls, webrtc, ice, srt = free_ports(9)
    base: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": server_port, "public_host": "127.0.0.1"},
        "mediamtx": {
            "managed": True,
            "binary": mediamtx_binary(),
            "config_template": str(REPO_ROOT / "config" / "mediamtx.yml"),
            "api_port": api,
            "playback_port": playback,
            "metrics_port": metrics,
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
            "health_interval_s": 0.2,
            "restart_backoff_initial_s": 0.2,
        },
        "storage": {"data_dir": str(data_dir)},
        # The low-disk guard measures the real disk, whose free space is the machine's: its percent thresholds
        # are off so that no test depends on it; the disk-guard tests set their own thresholds.
        "recordings": {"retention": {"warn_free_percent": 0, "block_free_percent": 0}},
        "logging": {"level": "INFO", "format": "console"},
        "demo": {"enabled": demo, "width": 320, "height": 240, "fps": 25, "gop": 25},
        # The tests' webhook receivers listen on loopback, which webhooks refuse by default (security L9).
        "events": {"webhooks": {"allowed_networks": ["127.0.0.0/8", "::1/128"]}},
        # Limits far above what functional tests do; the security tests set their own.
        "security": {
            "enabled": True,
            "jwt_secret": TEST_JWT_SECRET,
            "bootstrap_admin_key": False,
            "rate_limit_connection": {"per_second": 1_000_000, "burst": 1_000_000},
            "rate_limit_identity": {"per_second": 1_000_000, "burst": 1_000_000},
            "auth_attempts": {"per_second": 1_000, "burst": 1_000},
        },
    }
    return deep_merge(base, overrides or {})


_PUBLISH_URLS: weakref.WeakKeyDictionary[Application, dict[str, str]] = weakref.WeakKeyDictionary()


async def publish_url(app: Application, path: str) -> str:
    """The publish URL of publisher camera `path`, with the credential an admin gets from
    create_publish_url (issued once per app and path, then reused; the camera need not exist yet).
    Without security: the plain URL (MediaMTX admits everyone)."""
    camera = camera_of_path(path)  # a substream "<id>.sub" publishes with its camera's credential
    cache = _PUBLISH_URLS.setdefault(app, {})
    if camera not in cache:
        if app.settings.security.enabled:
            _user, _password, url = await app.services.auth.issue_publish_url(camera, created_by="test")
        else:
            url = f"rtsp://127.0.0.1:{app.settings.mediamtx.rtsp_port}/{camera}"
        cache[camera] = url
    return cache[camera] + path.removeprefix(camera)


@dataclass
class RunningService:
    app: Application
    settings: Settings
    clients: list[RpcClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.app.http.port

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.settings.server.ws_path}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rtsp_url(self, path: str) -> str:
        """The service's INTERNAL reader URL (MediaMTX admits it for read/playback whatever the path's
        scope; it cannot publish). Use public_rtsp_url to test access control, publish_url to publish."""
        return self.app.services.readers.rtsp_url(path)

    async def publish_url(self, path: str) -> str:
        """An RTSP URL that may publish into publisher camera `path` (security M7): see publish_url()."""
        return await publish_url(self.app, path)

    def public_rtsp_url(self, path: str, token: str | None = None) -> str:
        url = f"rtsp://127.0.0.1:{self.settings.mediamtx.rtsp_port}/{path}"
        return f"{url}?token={token}" if token else url

    def token(
        self, role: str = "admin", subject: str | None = None, ttl_s: float = 3600, **scopes: list[str]
    ) -> str:
        """A JWT signed with the test service's secret."""
        from camera_service.auth.roles import Role
        from camera_service.auth.tokens import mint_token

        return mint_token(
            TEST_JWT_SECRET.encode(),
            subject=subject or f"test-{role}",
            role=Role[role.upper()],
            ttl_s=ttl_s,
            **cast("dict[str, Any]", scopes),
        )

    async def client(
        self, role: str | None = "admin", *, scopes: dict[str, list[str]] | None = None, **kwargs: Any
    ) -> RpcClient:
        """A connected client; authenticated at the handshake as `role` (None: unauthenticated)."""
        if role is not None and self.settings.security.enabled:
            headers = dict(kwargs.pop("additional_headers", None) or {})
            headers["Authorization"] = f"Bearer {self.token(role, **cast('dict[str, Any]', scopes or {}))}"
            kwargs["additional_headers"] = headers
        client = await RpcClient.connect(self.ws_url, **kwargs)
        self.clients.append(client)
        return client

    async def http_get(self, path: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as session, session.get(self.http_url + path) as resp:
            body = await resp.read()
            try:
                return resp.status, yaml.safe_load(body) if body else None
            except yaml.YAMLError:
                return resp.status, body


@contextlib.asynccontextmanager
async def run_service(config: dict[str, Any], *, clock: Clock | None = None) -> AsyncIterator[RunningService]:
    """Start the Application in this event loop (on `clock`, default the real one); stop it (and its
    MediaMTX) afterwards."""
    settings = Settings(**config)
    app = Application(settings, clock=clock)
    await app.start()
    running = RunningService(app=app, settings=settings)
    try:
        yield running
    finally:
        for client in running.clients:
            with contextlib.suppress(Exception):
                await client.close()
        await app.stop()


class ServiceProcess:
    """The service as a real child process (`python -m camera_service serve`), for crash/restart tests."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        if not config["server"].get("port"):
            raise ValueError("a child service needs a fixed server.port")
        self.config = config
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "service.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
        self.proc = ManagedProcess(
            [sys.executable, "-m", "camera_service", "-c", str(self.config_path), "serve"],
            name="camera-service",
            cwd=str(REPO_ROOT),
            env=env,
            log_path=workdir / "service.log",
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.config['server']['port']}/ws"

    async def client(self, role: str | None = "admin", **kwargs: Any) -> RpcClient:
        """A client of the child service, authenticated at the handshake as `role` (None: anonymous)."""
        security = self.config.get("security") or {}
        if role is not None and security.get("enabled", True) and security.get("jwt_secret"):
            from camera_service.auth.roles import Role
            from camera_service.auth.tokens import mint_token

            token = mint_token(
                str(security["jwt_secret"]).encode(),
                subject=f"test-{role}",
                role=Role[role.upper()],
                ttl_s=3600,
            )
            kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
        return await RpcClient.connect(self.ws_url, **kwargs)

    async def start(self, timeout: float = 30.0) -> None:
        await self.proc.start()

        async def ready() -> bool:
            async with (
                aiohttp.ClientSession() as s,
                s.get(f"http://127.0.0.1:{self.config['server']['port']}/health/ready") as r,
            ):
                return r.status == 200

        await wait_for(ready, timeout, 0.2, message=lambda: self.proc.output(50))

    async def stop(self) -> None:
        await self.proc.stop()

    def kill(self) -> None:
        """SIGKILL the service only (its MediaMTX child is in its own group and survives briefly)."""
        if self.proc.proc is not None:
            self.proc.proc.kill()

    async def wait_exit(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.proc.wait(), timeout)
