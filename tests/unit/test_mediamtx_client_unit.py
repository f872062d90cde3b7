"""MediaMTX client, errors and config rendering against a small fake API (no binary needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.mediamtx import (
    MediaMTXClient,
    MediaMTXError,
    MediaMTXNotFound,
    MediaMTXRejected,
    MediaMTXUnavailable,
    mask_url_credentials,
    render_mediamtx_config,
)
from camera_service.rpc.errors import ErrorCode, to_rpc_error

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[MediaMTXClient, list[str]]]:
    seen: list[str] = []
    names = [f"p{i:04d}" for i in range(2500)]

    async def paths_list(req: web.Request) -> web.Response:
        seen.append(str(req.rel_url))
        per, page = int(req.query["itemsPerPage"]), int(req.query["page"])
        items = [{"name": n, "unknownFutureField": 1} for n in names[page * per : (page + 1) * per]]
        return web.json_response(
            {"itemCount": len(names), "pageCount": -(-len(names) // per), "items": items}
        )

    async def get_conf(req: web.Request) -> web.Response:
        seen.append(req.raw_path)
        name = req.match_info["name"]
        if name == "missing":
            return web.json_response({"status": "error", "error": "path configuration not found"}, status=404)
        if name == "bad":
            return web.json_response(
                {"status": "error", "error": "invalid source: rtsp://admin:hunter2@cam/x"}, status=400
            )
        if name == "boom":
            return web.json_response({"status": "error", "error": "internal"}, status=500)
        return web.json_response({"name": name})

    async def playback(req: web.Request) -> web.Response:
        return web.json_response({"status": "error", "error": "no recording segments found"}, status=404)

    app = web.Application()
    app.router.add_get("/v3/paths/list", paths_list)
    app.router.add_get("/v3/config/paths/get/{name:.*}", get_conf)
    app.router.add_get("/list", playback)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = MediaMTXClient(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", timeout_s=2)
    try:
        yield client, seen
    finally:
        await client.close()
        await runner.cleanup()


async def test_list_paths_reads_every_page(fake_api: tuple[MediaMTXClient, list[str]]) -> None:
    client, seen = fake_api
    paths = await client.list_paths()
    assert len(paths) == 2500 and paths[-1].name == "p2499"
    assert len(seen) == 3 and all("itemsPerPage=1000" in s for s in seen)


async def test_error_mapping_and_quoting(fake_api: tuple[MediaMTXClient, list[str]]) -> None:
    client, seen = fake_api
    assert (await client.get_path_config("site/front door"))["name"] == "site/front door"
    assert seen[-1] == "/v3/config/paths/get/site/front%20door"
    with pytest.raises(MediaMTXNotFound):
        await client.get_path_config("missing")
    with pytest.raises(MediaMTXRejected) as ei:
        await client.get_path_config("bad")
    assert "hunter2" not in str(ei.value) and "admin:***@" in ei.value.message
    with pytest.raises(MediaMTXError) as e2:
        await client.get_path_config("boom")
    assert e2.value.status == 500 and type(e2.value) is MediaMTXError
    assert await client.playback_list("cam1") == []
    url = client.playback_get_url("cam/1", "2026-01-01T00:00:00Z", 12.5)
    assert url.endswith("/get?path=cam%2F1&start=2026-01-01T00%3A00%3A00Z&duration=12.5&format=mp4")


def test_mask_and_rpc_mapping() -> None:
    assert mask_url_credentials("x rtsp://u:p@h:554/a and srt://h") == "x rtsp://u:***@h:554/a and srt://h"
    assert mask_url_credentials("http://user@h/") == "http://user@h/"
    unavailable = to_rpc_error(MediaMTXUnavailable("refused"))
    assert unavailable.code == ErrorCode.MEDIAMTX_UNAVAILABLE and unavailable.data == {"upstream": "mediamtx"}
    assert to_rpc_error(MediaMTXNotFound("path not found", 404)).code == ErrorCode.NOT_FOUND
    rejected = to_rpc_error(MediaMTXRejected("bad rtsp://a:b@c", 400))
    assert rejected.code == ErrorCode.UPSTREAM_ERROR
    assert rejected.data == {"upstream": "mediamtx", "detail": "bad rtsp://a:***@c"}


def test_render_config(tmp_path: Path) -> None:
    cfg = MediaMTXConfig(
        api_port=1001, playback_port=1002, rtsp_port=1003, enable_hls=False, log_level="debug"
    )
    extra: dict[str, Any] = {"pathDefaults": {"runOnReady": "x"}, "authMethod": "http"}
    text = render_mediamtx_config(REPO / "config/mediamtx.yml", cfg, StorageConfig(data_dir=tmp_path), extra)
    conf = yaml.safe_load(text)
    assert conf["apiAddress"] == "127.0.0.1:1001" and conf["playbackAddress"] == "127.0.0.1:1002"
    assert conf["rtspAddress"] == ":1003" and conf["hls"] is False and conf["logLevel"] == "debug"
    assert conf["moq"] is False and conf["rtspTransports"] == ["tcp"] and conf["paths"] == {}
    assert conf["pathDefaults"]["recordPath"] == f"{tmp_path.resolve()}/recordings/%path/%Y-%m-%d_%H-%M-%S-%f"
    assert conf["pathDefaults"]["recordFormat"] == "fmp4" and conf["pathDefaults"]["runOnReady"] == "x"
    assert conf["authMethod"] == "http"


async def test_unreachable() -> None:
    async with MediaMTXClient("http://127.0.0.1:1", timeout_s=1) as c:
        with pytest.raises(MediaMTXUnavailable):
            await c.info()


async def test_config_writes_are_published_before_they_return() -> None:
    """MediaMTX replies to a config write before it publishes the new config (core.go: `req.res <- err`,
    then reloadConf), and applies writes one at a time. This fake does the same: a write is published
    only when the next write arrives. Each write must return only once readers see it."""
    published: set[str] = set()
    pending: list[tuple[str, bool]] = []  # the write being applied: (name, present afterwards)
    writes: list[str] = []

    def apply_pending() -> None:
        for name, present in pending:
            (published.add if present else published.discard)(name)
        pending.clear()

    async def path_write(req: web.Request) -> web.Response:
        apply_pending()
        pending.append((req.match_info["name"], req.method != "DELETE"))
        writes.append(req.path)
        return web.json_response({"status": "ok"})

    async def global_patch(req: web.Request) -> web.Response:
        apply_pending()
        assert await req.json() == {}
        writes.append(req.path)
        return web.json_response({"status": "ok"})

    async def list_conf(req: web.Request) -> web.Response:
        items = [{"name": n} for n in sorted(published)]
        return web.json_response({"itemCount": len(items), "pageCount": 1, "items": items})

    app = web.Application()
    app.router.add_post("/v3/config/paths/add/{name:.*}", path_write)
    app.router.add_post("/v3/config/paths/replace/{name:.*}", path_write)
    app.router.add_patch("/v3/config/paths/patch/{name:.*}", path_write)
    app.router.add_delete("/v3/config/paths/delete/{name:.*}", path_write)
    app.router.add_patch("/v3/config/global/patch", global_patch)
    app.router.add_get("/v3/config/paths/list", list_conf)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    client = MediaMTXClient(f"http://127.0.0.1:{runner.addresses[0][1]}", timeout_s=2)
    try:
        await client.add_path_config("a", {})
        assert {c["name"] for c in await client.list_path_configs()} == {"a"}
        await client.replace_path_config("b", {})
        await client.patch_path_config("b", {"record": True})
        assert {c["name"] for c in await client.list_path_configs()} == {"a", "b"}
        await client.delete_path_config("a")
        assert {c["name"] for c in await client.list_path_configs()} == {"b"}
        # Every path write is followed by exactly one empty global patch (the barrier).
        assert writes[1::2] == ["/v3/config/global/patch"] * 4
    finally:
        await client.close()
        await runner.cleanup()
