"""Downloads: signed short-lived URLs, Range, safe names, nothing outside the storage roots reachable."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from camera_service.recordings.models import Snapshot
from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("dl")
    overrides = {"recordings": {"segment_duration_s": 2, "download_url_ttl_s": 60}}
    async with run_service(service_config(data, overrides=overrides)) as running:
        rpc = await running.client()
        await rpc.call("add_camera", {"id": "cam1", "name": "one", "source": "publisher"})
        cam = TestCamera(
            await running.publish_url("cam1"), width=320, height=240, fps=25, gop=25, log_path=data / "c.log"
        )
        await cam.start()
        try:
            # The tests start recordings (a path config change): MediaMTX refuses a publisher whose path
            # config changed between its ANNOUNCE and RECORD, and ffmpeg does not retry.
            await wait_camera(rpc, "cam1", status="ONLINE")
            yield running
        finally:
            await cam.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(svc: RunningService) -> RpcClient:
    return await svc.client()


async def get(url: str | URL, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as r:
        return r.status, await r.read(), r.headers


async def a_snapshot(client: RpcClient) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        try:
            return dict(await client.call("take_snapshot", {"camera": "cam1"}))
        except RpcCallError:
            return None

    result: dict[str, Any] = await wait_for(attempt, 20, 0.3)
    return result


async def test_range_requests_return_exactly_the_asked_bytes(svc: RunningService, client: RpcClient) -> None:
    await client.call("start_recording", {"camera": "cam1", "duration_s": 3})

    async def a_segment() -> dict[str, Any] | None:
        files = (await client.call("list_recordings", {"camera": "cam1"}))["files"]
        return files[0] if files else None

    seg = await wait_for(a_segment, 20, 0.3)
    data = (svc.settings.storage.recordings_path / seg["filename"]).read_bytes()
    status, body, headers = await get(seg["download_url"])
    assert status == 200 and body == data
    assert headers["Content-Disposition"].startswith('attachment; filename="cam1_')
    assert "/" not in headers["Content-Disposition"].split("filename=")[1]
    status, body, headers = await get(seg["download_url"], {"Range": "bytes=100-1123"})
    assert status == 206 and body == data[100:1124]
    assert headers["Content-Range"] == f"bytes 100-1123/{len(data)}"
    status, body, _ = await get(seg["download_url"], {"Range": "bytes=-77"})
    assert status == 206 and body == data[-77:]
    info = await client.call("get_recording_info", {"id": seg["id"]})
    assert info["download_url"].split("?")[0] == seg["download_url"].split("?")[0]
    # The compat `filename` shape answers the old clients' relative /files path (issue 17, ADR 0012).
    info = await client.call("get_recording_info", {"filename": seg["filename"]})
    assert info["download_url"] == "/files/recordings/" + seg["filename"]


async def test_expired_forged_or_missing_signatures_get_403(svc: RunningService, client: RpcClient) -> None:
    snap = await a_snapshot(client)
    url = snap["download_url"]
    assert (await get(url))[0] == 200
    signer = svc.app.services.recordings.signer
    base = svc.http_url
    expired = signer.sign("snapshots", snap["filename"], now=time.time() - 3600)
    assert (await get(base + expired))[0] == 403
    head, sig = url.rsplit("sig=", 1)
    forged = head + "sig=" + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert (await get(forged))[0] == 403
    assert (await get(url.split("?")[0]))[0] == 403
    # A valid signature of another file does not open this one.
    other = await a_snapshot(client)
    assert (await get(other["download_url"].split("?")[0] + "?" + url.split("?")[1]))[0] == 403
    # A later expiry with the old signature is a forgery too.
    exp = int(url.split("expires=")[1].split("&")[0])
    assert (await get(url.replace(f"expires={exp}", f"expires={exp + 1000}")))[0] == 403


async def test_a_chosen_filename_names_the_download_and_a_bad_one_is_refused(
    svc: RunningService, client: RpcClient
) -> None:
    snap = await a_snapshot(client)
    ext = PurePosixPath(snap["filename"]).suffix
    name = f"cam1_2026-11-30_19-05-00+0100{ext}"  # what the console asks for (site time zone)
    url = URL(snap["download_url"], encoded=True)
    status, _, headers = await get(url.update_query(filename=name))
    assert status == 200
    assert (
        headers["Content-Disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    )
    for bad in ("x.exe", f"../x{ext}", f"a/b{ext}", f'a"b{ext}', f"a b{ext}", f"{'a' * 201}{ext}"):
        status, body, _ = await get(url.update_query(filename=bad))
        assert status == 400 and b"invalid filename" in body, bad


async def test_traversal_absolute_encoded_and_symlinks_are_refused(
    svc: RunningService, client: RpcClient
) -> None:
    signer = svc.app.services.recordings.signer
    data_dir = svc.settings.storage.data_dir
    (data_dir / "secret.txt").write_text("secret")
    attempts = [
        "../secret.txt",
        "../../secret.txt",
        "/etc/passwd",
        "cam1/../../secret.txt",
        "..%2fsecret.txt",
        "cam1\\..\\..\\secret.txt",
        "./cam1",
        "cam1//x.jpg",
        "%2e%2e/secret.txt",
    ]
    for rel in attempts:
        qs = signer.sign("snapshots", rel).split("?")[1]  # signed correctly: refusal is not the signature
        for raw in (rel, rel.replace("/", "%2F"), rel.replace(".", "%2E")):
            url = URL(f"{svc.http_url}/downloads/snapshots/{raw}?{qs}", encoded=True)
            status, body, _ = await get(url)
            assert status in (400, 403, 404), (raw, status)
            assert b"secret" not in body
    # Symlinks out of the root: a file link and a directory link, even when indexed and signed.
    root = svc.settings.storage.snapshots_path
    (root / "cam1").mkdir(exist_ok=True)
    os.symlink(data_dir / "secret.txt", root / "cam1" / "evil.jpg")
    os.symlink(data_dir, root / "linkdir")
    store = svc.app.services.recordings.store
    for rel in ("cam1/evil.jpg", "linkdir/secret.txt"):
        await store.insert_snapshot(
            Snapshot(
                id=rel.replace("/", "-"),
                camera="cam1",
                path=rel,
                format="jpeg",
                width=1,
                height=1,
                size=6,
                created_at=time.time(),
            )
        )
        status, body, _ = await get(svc.http_url + signer.sign("snapshots", rel))
        assert status == 404 and b"secret" not in body
    # Unknown kinds and files outside the index.
    assert (await get(svc.http_url + signer.sign("data", "secret.txt")))[0] == 404
    (root / "cam1" / "stray.jpg").write_bytes(b"x")
    assert (await get(svc.http_url + signer.sign("snapshots", "cam1/stray.jpg")))[0] == 404
    with pytest.raises(RpcCallError) as err:
        await client.call("get_snapshot_info", {"filename": "../secret.txt"})
    assert err.value.code == -32004
