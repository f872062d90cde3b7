"""Bad input gets the documented error (code, message, data naming the field or id) and changes nothing:
neither the registry (database) nor MediaMTX's path configs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = pytest.mark.integration

INVALID_PARAMS, NOT_FOUND, CONFLICT = -32602, -32004, -32005


async def _snapshot(service: RunningService) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    rows = await service.app.services.db.fetch_all(
        "SELECT id, seq, doc, secrets, updated_at FROM cameras ORDER BY id"
    )
    confs = await service.app.services.mediamtx.client.list_path_configs()
    return [tuple(r) for r in rows], sorted(confs, key=lambda c: c["name"])


async def _expect(rpc: RpcClient, code: int, method: str, params: Any) -> RpcCallError:
    with pytest.raises(RpcCallError) as info:
        await rpc.call(method, params)
    assert info.value.code == code, (method, params, info.value)
    assert info.value.message
    return info.value


def _fields(err: RpcCallError) -> set[str]:
    return {e["field"] for e in err.data["errors"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def one_good_camera(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningService, RpcClient]]:
    """One service for the malformed-source cases: each is refused and changes nothing, so they can
    share it (11 boots -> 1); every case checks the registry and MediaMTX are unchanged."""
    async with run_service(service_config(tmp_path_factory.mktemp("bad-sources"))) as svc:
        rpc = await svc.client()
        await rpc.call("add_camera", {"id": "good", "source": "publisher"})
        yield svc, rpc


@pytest.mark.parametrize(
    "source",
    [
        "rtsp://",
        "ftp://host/x",
        "http://host/not-a-playlist",
        "rtsp://host:99999/x",
        "rtsp://host:0/x",
        "not a url",
        "rtsp://bad host/x",
        "",
        "/dev/../etc/passwd",
        "rtsp://h/x\nrtsp://evil",
        "x" * 3000,
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_malformed_sources_change_nothing(
    one_good_camera: tuple[RunningService, RpcClient], source: str
) -> None:
    service, rpc = one_good_camera
    before = await _snapshot(service)
    err = await _expect(rpc, INVALID_PARAMS, "add_camera", {"id": "new1", "source": source})
    assert "source" in _fields(err)
    err = await _expect(rpc, INVALID_PARAMS, "update_camera", {"camera": "good", "source": source})
    assert "source" in _fields(err)
    assert await _snapshot(service) == before


async def test_invalid_ids_duplicates_unknown_and_wrong_types(
    service: RunningService, rpc: RpcClient
) -> None:
    await rpc.call(
        "add_camera",
        {"id": "cam1", "name": "One", "source": "rtsp://u:p@10.0.0.1/s", "on_demand": True, "tags": ["x"]},
    )
    before = await _snapshot(service)
    assert [r[0] for r in before[0]] == ["cam1"] and [c["name"] for c in before[1]] == ["cam1"]

    for bad_id in ("Cam1", "-x", "a b", "x" * 65, "../x", "", "cam/1"):
        err = await _expect(rpc, INVALID_PARAMS, "add_camera", {"id": bad_id, "source": "publisher"})
        assert _fields(err) == {"id"}
    err = await _expect(rpc, CONFLICT, "add_camera", {"id": "cam1", "source": "publisher"})
    assert err.data == {"reason": "exists", "id": "cam1"}
    for method, params in (
        ("get_camera", {"camera": "nope"}),
        ("update_camera", {"camera": "nope", "name": "n"}),
        ("remove_camera", {"camera": "nope"}),
        ("get_stream_urls", {"camera": "nope"}),
        ("probe_camera", {"camera": "nope"}),
    ):
        err = await _expect(rpc, NOT_FOUND, method, params)
        assert err.data["resource"] == "camera" and err.data["id"] == params.get(
            "camera", params.get("device")
        )
    # The compat alias answers an unknown device as the established protocol does: a DISCONNECTED result.
    for device in ("nope", "camera7"):
        status = await rpc.call("get_camera_status", {"device": device})
        assert status["status"] == "DISCONNECTED" and status["device"] == device and status["camera"] is None
    wrong_types: list[tuple[str, dict[str, Any], str]] = [
        ("add_camera", {"id": "n1", "source": 5}, "source"),
        ("add_camera", {"id": "n1", "source": "publisher", "enabled": [1]}, "enabled"),
        ("add_camera", {"id": "n1", "source": "publisher", "tags": "x"}, "tags"),
        ("add_camera", {"id": "n1", "source": "publisher", "name": 12}, "name"),
        (
            "add_camera",
            {"id": "n1", "source": "publisher", "rtsp_transport": "carrier-pigeon"},
            "rtsp_transport",
        ),
        ("add_camera", {"id": "n1", "source": "publisher", "color": "red"}, "color"),
        ("add_camera", {"id": "n1"}, "source"),
        ("update_camera", {"camera": "cam1", "on_demand": "maybe"}, "on_demand"),
        ("update_camera", {"camera": "cam1", "name": None}, "name"),
        ("update_camera", {"camera": "cam1", "source": "publisher", "username": "u"}, "username"),
        ("update_camera", {"camera": "cam1", "metadata": [1, 2]}, "metadata"),
        ("list_cameras", {"limit": 0}, "limit"),
        ("list_cameras", {"limit": 1001}, "limit"),
        ("list_cameras", {"status": "SLEEPING"}, "status"),
        ("get_camera_status", {}, "device"),
        ("get_camera_status", {"device": 0}, "device"),
        ("probe_camera", {"camera": "cam1", "source": "publisher"}, "camera"),
    ]
    for method, params, field in wrong_types:
        err = await _expect(rpc, INVALID_PARAMS, method, params)
        assert field in _fields(err), (method, params, err.data)
    assert await _snapshot(service) == before
    # And the good camera is untouched and still works.
    cam = await rpc.call("get_camera", {"camera": "cam1"})
    assert cam["name"] == "One" and cam["has_credentials"] and cam["tags"] == ["x"]


async def test_list_filters_and_pagination(rpc: RpcClient) -> None:
    for i in range(12):
        await rpc.call(
            "add_camera",
            {
                "id": f"c{i:02d}",
                "name": f"Cam {i}",
                "source": "publisher",
                "tags": ["even" if i % 2 == 0 else "odd"],
                "group": f"g{i % 3}",
                "agency": "police" if i < 4 else "city",
                "enabled": i != 11,
            },
        )
    page = await rpc.call("list_cameras", {"limit": 5})
    assert [c["id"] for c in page["cameras"]] == ["c00", "c01", "c02", "c03", "c04"] and page["total"] == 12
    ids = [c["id"] for c in page["cameras"]]
    while page["next_cursor"]:
        page = await rpc.call("list_cameras", {"limit": 5, "cursor": page["next_cursor"]})
        ids += [c["id"] for c in page["cameras"]]
    assert ids == [f"c{i:02d}" for i in range(12)]
    assert [c["id"] for c in (await rpc.call("list_cameras", {"offset": 10}))["cameras"]] == ["c10", "c11"]
    assert (await rpc.call("list_cameras", {"tag": "odd", "agency": "police"}))["total"] == 2
    assert (await rpc.call("list_cameras", {"group": "g0"}))["total"] == 4
    assert [c["id"] for c in (await rpc.call("list_cameras", {"text": "CAM 1"}))["cameras"]] == [
        "c01",
        "c10",
        "c11",
    ]
    assert [c["id"] for c in (await rpc.call("list_cameras", {"status": "DISABLED"}))["cameras"]] == ["c11"]
    # Partial update: only the given fields change.
    before = await rpc.call("get_camera", {"camera": "c03"})
    after = await rpc.call("update_camera", {"camera": "c03", "name": "Renamed"})
    assert after["name"] == "Renamed"
    assert {k: v for k, v in after.items() if k not in ("name", "updated_at", "live", "status")} == {
        k: v for k, v in before.items() if k not in ("name", "updated_at", "live", "status")
    }
    removed = await rpc.call("remove_camera", {"camera": "c03"})
    assert removed == {"id": "c03", "removed": True}
    assert (await rpc.call("list_cameras", {}))["total"] == 11
