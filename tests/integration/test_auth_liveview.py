"""MediaMTX asks the service (authMethod: http) before every read: tokens, scopes and agency quotas
against real MediaMTX, ffmpeg publishers and PyAV readers; plus pushes and the no-secret scan."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import aiohttp
import pytest

from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError
from tests.integration.cameras_helpers import read_frame_async, wait_camera

pytestmark = pytest.mark.integration

# PyAV/ffmpeg timeouts above MediaMTX's random 0-4 s delay after a failed authentication.
READ_TIMEOUT = 8.0


async def _refused(url: str) -> str:
    try:
        await read_frame_async(url, READ_TIMEOUT)
    except Exception as exc:
        return str(exc)
    raise AssertionError(f"read of {url.split('?', maxsplit=1)[0]} was allowed")


async def _in_use(client: Any, agency: str) -> int:
    status = await client.call("get_quota_status")
    return next(a["in_use"] for a in status["agencies"] if a["agency"] == agency)


async def _close_hls_sessions(svc: Any, path: str) -> int:
    """Kicks the path's HLS sessions through MediaMTX's Control API; how many there were."""
    mtx = svc.app.services.mediamtx.client
    async with aiohttp.ClientSession(headers=mtx.auth_headers) as http:
        async with http.get(f"{mtx.api_url}/v3/hlssessions/list") as resp:
            assert resp.status == 200
            sessions = [s for s in (await resp.json())["items"] if s["path"] == path]
        for session in sessions:
            async with http.post(f"{mtx.api_url}/v3/hlssessions/kick/{session['id']}") as resp:
                assert resp.status == 200
    return len(sessions)


async def test_live_view_needs_scoped_token_and_respects_quota(
    service_factory: Any, test_camera_factory: Any, tmp_path: Any
) -> None:
    overrides = {"security": {"agency_limits": {"POLICE": 1}}, "mediamtx": {"enable_hls": True}}
    async with service_factory(overrides=overrides) as svc:
        admin = await svc.client("admin")
        anonymous = await svc.client(None)
        police_viewer = await svc.client("viewer", scopes={"agencies": ["POLICE"]})
        await admin.call("add_camera", {"id": "police-cam", "source": "publisher", "agency": "POLICE"})
        await admin.call("add_camera", {"id": "metro-cam", "source": "publisher", "agency": "METRO"})
        # loopback publishers are trusted (no credential), like local encoders and the demo camera
        await test_camera_factory(await svc.publish_url("police-cam"), width=320, height=240, fps=15, gop=15)
        await test_camera_factory(await svc.publish_url("metro-cam"), width=320, height=240, fps=15, gop=15)
        await wait_camera(admin, "police-cam", status="ONLINE")
        await wait_camera(admin, "metro-cam", status="ONLINE")

        # pushes: the admin saw metro-cam come online, the police viewer did not, the anonymous nothing
        await admin.next_notification(
            "camera_status_update", timeout=15, where=lambda p: "metro" in json.dumps(p)
        )
        await police_viewer.next_notification(
            "camera_status_update", timeout=15, where=lambda p: "police" in json.dumps(p)
        )
        pushed = [
            police_viewer.notifications.get_nowait() for _ in range(police_viewer.notifications.qsize())
        ]
        assert all("metro-cam" not in json.dumps(n) for n in pushed)
        assert anonymous.notifications.empty()

        # no token: refused
        await _refused(svc.public_rtsp_url("police-cam"))
        # in-scope stream token from get_stream_urls: PyAV decodes a frame
        urls = await police_viewer.call("get_stream_urls", {"camera": "police-cam"})
        assert "token=" in urls["rtsp"] and urls["token"]
        width, height, _ = await read_frame_async(urls["rtsp"], READ_TIMEOUT)
        assert (width, height) == (320, 240)
        # out of scope: the police token does not open metro-cam, and metro-cam does not exist for it
        token = urls["token"]
        await _refused(svc.public_rtsp_url("metro-cam", token))
        with pytest.raises(RpcCallError) as err:
            await police_viewer.call("get_stream_urls", {"camera": "metro-cam"})
        assert err.value.code == -32004
        # a viewer JWT scoped to POLICE opens police-cam directly too (token as ?token=)
        jwt_police = svc.token("viewer", agencies=["POLICE"])

        async def none_in_use() -> bool:
            return await _in_use(admin, "POLICE") == 0

        async def one_in_use() -> bool:
            return await _in_use(admin, "POLICE") == 1

        await wait_for(none_in_use, 15, 0.2)  # the PyAV reader above has gone (runOnUnread)
        # HLS with and without the token
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            async with http.get(urls["hls"].split("?")[0]) as resp:
                assert resp.status == 401
            async with http.get(urls["hls"]) as resp:
                assert resp.status == 200
        # The HLS session holds the live-view slot until MediaMTX closes it, 30 s after its last request
        # (hard-coded in MediaMTX). Closed now through MediaMTX's API instead of waiting: the same close,
        # whose runOnUnread must release the lease.
        assert await _close_hls_sessions(svc, "police-cam") == 1
        await wait_for(none_in_use, 15, 0.2)

        # quota: one POLICE live view at a time
        second = (await police_viewer.call("create_stream_token", {"camera": "police-cam"}))["token"]
        holder = await asyncio.create_subprocess_exec(
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            svc.public_rtsp_url("police-cam", jwt_police),
            "-f",
            "null",
            "-",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await wait_for(one_in_use, 15, 0.2)
            with pytest.raises(RpcCallError) as err:
                await police_viewer.call("get_stream_urls", {"camera": "police-cam"})
            assert err.value.code == -32011
            assert err.value.data["agency"] == "POLICE" and err.value.data["limit"] == 1
            await _refused(svc.public_rtsp_url("police-cam", second))
            # other agencies are not limited
            metro = await admin.call("get_stream_urls", {"camera": "metro-cam"})
            assert (await read_frame_async(metro["rtsp"], READ_TIMEOUT))[0] == 320
        finally:
            holder.send_signal(signal.SIGTERM)
            await holder.wait()

        await wait_for(none_in_use, 15, 0.2)
        again = await police_viewer.call("get_stream_urls", {"camera": "police-cam"})
        assert (await read_frame_async(again["rtsp"], READ_TIMEOUT))[0] == 320

        # refusals with a credential are audited
        audit = await admin.call("list_audit", {"method": "mediamtx.read"})
        reasons = {e["params"]["reason"] for e in audit["entries"]}
        assert {"not_in_scope", "quota_exceeded"} <= reasons


async def test_no_secret_in_responses_logs_metrics_or_audit(service_factory: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    cam_password = "CamPassw0rd-Zq81"
    hook_secret = "WebhookSecret-9f3b2c7d1e"
    async with service_factory() as svc:
        internal_password = svc.app.services.readers.password
        admin = await svc.client("admin")
        replies: list[Any] = []

        async def call(method: str, params: Any = None) -> Any:
            reply = await admin.request(method, params)
            replies.append(reply)
            return reply

        created = await admin.call("create_api_key", {"name": "scanner", "role": "viewer"})  # shown once
        api_key = created["key"]
        await call(
            "add_camera",
            {"id": "secretcam", "name": "s", "source": f"rtsp://user:{cam_password}@127.0.0.1:9/stream"},
        )
        await call("update_camera", {"camera": "secretcam", "name": "s2"})
        await call("add_webhook", {"url": "http://127.0.0.1:9/hook", "secret": hook_secret})
        for method in ("list_cameras", "list_webhooks", "list_api_keys", "get_status", "get_stream_urls"):
            await call(method, {"camera": "secretcam"} if method == "get_stream_urls" else None)
        await call("get_camera", {"camera": "secretcam"})
        bot = await svc.client(None)
        await bot.call("authenticate", {"auth_token": api_key})
        with pytest.raises(RpcCallError):
            await bot.call("authenticate", {"auth_token": api_key + "x"})
        await call("list_audit", {"limit": 1000})
        audit = replies[-1]
        _, metrics = await svc.http_get("/metrics")
        await asyncio.sleep(1.0)  # let MediaMTX log its failed pulls of the camera source

    secrets_ = {
        "jwt secret": svc.settings.security.jwt_secret.get_secret_value(),  # type: ignore[union-attr]
        "api key": api_key,
        "camera password": cam_password,
        "webhook secret": hook_secret,
        "internal MediaMTX password": internal_password,
    }
    haystacks = {
        "responses": json.dumps(replies),
        "audit": json.dumps(audit),
        "metrics": metrics if isinstance(metrics, str) else json.dumps(metrics, default=str),
        "logs": "\n".join(r.getMessage() + " " + json.dumps(r.__dict__, default=str) for r in caplog.records),
    }
    assert audit["result"]["total"] >= 4 and caplog.records
    leaks = [
        f"{name} in {where}"
        for name, value in secrets_.items()
        for where, text in haystacks.items()
        if value in text
    ]
    assert not leaks, leaks
