"""Camera credentials are used (MediaMTX authenticates the pull) but never leave the service: not in any
RPC result or error, notification, log line, /metrics, nor in any file under the data dir (the database is
encrypted at rest; MediaMTX's config, which holds them, lives on a private tmpfs)."""

from __future__ import annotations

import json
import logging
import stat

import pytest

from tests.harness.procs import wait_for
from tests.integration.cameras_helpers import wait_camera

pytestmark = pytest.mark.integration

PASSWORD = "Pw-9f3kQz-very-secret"
PASSWORD2 = "Second-Pw-77aZ"
WRONG = "Wrong-Pw-31xyz"
ONVIF_PW = "Onvif-Pw-55qq"
SRT_PASS = "SrtPassphrase0987"
SECRETS = (PASSWORD, PASSWORD2, WRONG, ONVIF_PW, SRT_PASS)

AUTH_YAML = f"""
authMethod: internal
authInternalUsers:
  - user: camuser
    pass: "{PASSWORD}"
    permissions: [{{action: publish}}, {{action: read}}]
  - user: cam2
    pass: "{PASSWORD2}"
    permissions: [{{action: read}}]
  - user: any
    pass: ""
    ips: ["127.0.0.1", "::1"]
    permissions: [{{action: api}}, {{action: metrics}}]
paths:
  all_others: {{}}
"""


async def test_credentials_never_leak(service_factory, mediamtx_factory, test_camera_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    upstream = await mediamtx_factory(AUTH_YAML, name="upstream")
    port = upstream.rtsp_port
    await test_camera_factory(f"rtsp://camuser:{PASSWORD}@127.0.0.1:{port}/feed1")
    seen: list[str] = []  # every RPC result, error and notification, as JSON text

    async with service_factory() as svc:
        rpc = await svc.client()

        async def call(method: str, params: dict | None = None) -> dict:  # type: ignore[type-arg]
            reply = await rpc.request(method, params)
            seen.append(json.dumps(reply))
            return reply

        r = await call(
            "add_camera", {"id": "pull1", "source": f"rtsp://camuser:{PASSWORD}@127.0.0.1:{port}/feed1"}
        )
        assert r["result"]["source"] == f"rtsp://127.0.0.1:{port}/feed1" and r["result"]["has_credentials"]
        r = await call(
            "add_camera",
            {
                "id": "pull2",
                "source": f"rtsp://127.0.0.1:{port}/feed1",
                "username": "cam2",
                "password": PASSWORD2,
                "onvif": {"host": "127.0.0.1", "username": "admin", "password": ONVIF_PW},
            },
        )
        assert r["result"]["onvif"]["has_password"] is True and "password" not in r["result"]["onvif"]
        await call("add_camera", {"id": "bad1", "source": f"rtsp://camuser:{WRONG}@127.0.0.1:{port}/feed1"})
        r = await call(
            "add_camera", {"id": "srt1", "source": f"srt://127.0.0.1:9?streamid=read:x&passphrase={SRT_PASS}"}
        )
        assert r["result"]["source"] == "srt://127.0.0.1:9?streamid=read:x"
        # The credentials really are used: MediaMTX upstream only lets authenticated readers in.
        await wait_camera(rpc, "pull1", timeout=40, status="ONLINE", width=320)
        await wait_camera(rpc, "pull2", timeout=40, status="ONLINE", width=320)
        assert (await rpc.call("get_camera", {"camera": "bad1"}))["status"] == "OFFLINE"
        probe = await call("probe_camera", {"camera": "pull1", "sample_s": 0.5})
        assert probe["result"]["codec"] == "h264" and probe["result"]["width"] == 320
        bad = await call("probe_camera", {"camera": "bad1", "timeout_s": 5})
        assert bad["error"]["code"] in (-32009, -32010)
        bad = await call(
            "probe_camera", {"source": f"rtsp://camuser:{WRONG}@127.0.0.1:{port}/nope", "timeout_s": 5}
        )
        assert bad["error"]["code"] in (-32009, -32010)
        # Invalid input echoing must not leak either.
        await call("add_camera", {"id": "Bad Id", "source": f"rtsp://u:{PASSWORD}@h/x"})
        await call("add_camera", {"id": "x1", "source": f"ftp://u:{PASSWORD}@h/x"})
        await call("update_camera", {"camera": "pull2", "name": "Renamed", "tags": ["t"]})
        for method, params in [
            ("list_cameras", {}),
            ("get_camera", {"camera": "pull2"}),
            ("get_camera_list", None),
            ("get_camera_status", {"device": "pull1"}),
            ("get_stream_urls", {"camera": "pull1"}),
            ("get_status", None),
        ]:
            await call(method, params)
        # Status notifications pushed while cameras changed state.
        await call("update_camera", {"camera": "pull1", "enabled": False})
        await wait_for(lambda: not rpc.notifications.empty(), 10, 0.1)
        while not rpc.notifications.empty():
            seen.append(json.dumps(rpc.notifications.get_nowait()))
        status, metrics_body = await svc.http_get("/metrics")
        assert status == 200
        metrics_text = (
            metrics_body if isinstance(metrics_body, str) else json.dumps(metrics_body, default=str)
        )
        # The key file is private; the database holds ciphertext only.
        key_file = svc.settings.storage.data_dir / "secret.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        db_bytes = b"".join(p.read_bytes() for p in svc.settings.storage.data_dir.glob("camera-service.db*"))
        # MediaMTX's config holds credentials once it (re)starts with the paths (test_cameras_bulk_restart),
        # so it lives on a private tmpfs, never under the data dir.
        mtx = svc.app.services.mediamtx
        assert mtx.config_in_memory and mtx.config_file.exists()
        data_dir = svc.settings.storage.data_dir
        assert (data_dir / "run" / "mediamtx.log").exists()
        on_disk = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    # After stop too: whatever the shutdown wrote (WAL checkpoint, log tail).
    on_disk.update({p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()})
    assert not mtx.config_file.exists()

    # Every log record of the process except the test's own WebSocket client (which sends the passwords).
    log_text = "\n".join(
        f"{r.name} {r.getMessage()} {r.__dict__}"
        for r in caplog.records
        if not r.name.startswith("websockets.client")
    )
    assert "camera_status_update" in "".join(seen)
    assert len(log_text) > 1000  # MediaMTX's forwarded log and the service's own lines are in there
    for secret in SECRETS:
        for where, text in (
            ("rpc/notifications", "\n".join(seen)),
            ("log", log_text),
            ("/metrics", metrics_text),
        ):
            assert secret not in text, f"{secret} leaked into {where}"
        assert secret.encode() not in db_bytes, f"{secret} stored in clear"
        leaked = [str(p) for p, data in on_disk.items() if secret.encode() in data]
        assert not leaked, f"{secret} written to {leaked}"
