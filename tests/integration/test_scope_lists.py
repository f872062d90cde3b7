"""One camera-scope policy: five cameras, a viewer scoped to two. Every list method returns full pages of
in-scope items and a total that counts only them (the scope is pushed into the store queries, pages and
totals alike); a hidden camera is NOT_FOUND; system-wide lists (audit) need an unscoped identity.

The archive rows (segments, clips, snapshots) are written through the recordings store, as the indexer
and the exporter would: the queries under test are the same, and no media is needed for them. The rows of
the out-of-scope cameras are the NEWEST, so a filter applied after LIMIT/OFFSET would return empty pages.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from camera_service.recordings.models import Clip, Segment, Snapshot
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CAMERAS = ["cam1", "cam2", "cam3", "cam4", "cam5"]
SCOPED = {"cam2", "cam4"}
PER_CAMERA = 3
T0 = time.time() - 3600


def _age(cam: str, i: int) -> float:
    """Out-of-scope cameras' rows are newer than every in-scope row (newest-first pages start there)."""
    return T0 + (100 if cam not in SCOPED else 0) + CAMERAS.index(cam) * 10 + i


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("scope")
    overrides = {"recordings": {"retention": {"enabled": False}}}
    async with run_service(service_config(data, overrides=overrides)) as running:
        admin = await running.client()
        store = running.app.services.recordings.store
        for cam in CAMERAS:
            await admin.call("add_camera", {"id": cam, "name": cam, "source": "publisher", "tags": [cam]})
            for i in range(PER_CAMERA):
                at = _age(cam, i)
                await store.upsert_segment(
                    Segment(id=0, camera=cam, path=f"{cam}/seg{i}.mp4", start=at, duration_s=4, size=1000)
                )
                await store.insert_clip(
                    Clip(
                        id=uuid.uuid4().hex,
                        camera=cam,
                        name=f"{cam}-{i}",
                        start=at,
                        end=at + 4,
                        path=f"{cam}/clip{i}.mp4",
                        created_at=at,
                    )
                )
                await store.insert_snapshot(
                    Snapshot(
                        id=uuid.uuid4().hex,
                        camera=cam,
                        path=f"{cam}/snap{i}.jpg",
                        format="jpeg",
                        width=320,
                        height=240,
                        size=100,
                        created_at=at,
                    )
                )
                await admin.call(
                    "create_event", {"type": "alarm.test", "camera": cam, "time": at, "data": {"i": i}}
                )
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def viewer(svc: RunningService) -> RpcClient:
    return await svc.client("viewer", scopes={"cameras": sorted(SCOPED)})


async def _pages(rpc: RpcClient, method: str, key: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of an offset-paged list, asserting that each page but the last is full."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        res = await rpc.call(method, {**params, "limit": limit, "offset": offset})
        page = res[key]
        assert res["total"] == PER_CAMERA * len(SCOPED), (method, res["total"])
        items += page
        if offset + limit >= res["total"]:
            assert len(page) == res["total"] - offset
            return items
        assert len(page) == limit, (method, offset, len(page))
        offset += limit


async def test_cameras(viewer: RpcClient) -> None:
    page = await viewer.call("list_cameras", {"limit": 1})
    assert page["total"] == len(SCOPED) and len(page["cameras"]) == 1
    second = await viewer.call("list_cameras", {"limit": 1, "cursor": page["next_cursor"]})
    assert {c["id"] for c in page["cameras"] + second["cameras"]} == SCOPED
    compat = await viewer.call("get_camera_list")
    assert compat["total"] == len(SCOPED)
    with pytest.raises(RpcCallError) as err:
        await viewer.call("get_camera", {"camera": "cam1"})
    assert err.value.code == -32004


@pytest.mark.parametrize(
    ("method", "key"), [("list_recordings", "files"), ("list_clips", "clips"), ("list_snapshots", "files")]
)
async def test_archive_lists(svc: RunningService, viewer: RpcClient, method: str, key: str) -> None:
    items = await _pages(viewer, method, key, 2)
    assert len(items) == PER_CAMERA * len(SCOPED)
    assert {i["camera"] for i in items} == SCOPED
    # One in-scope camera: the same query narrowed; an out-of-scope one is an unknown camera.
    one = await viewer.call(method, {"camera": "cam4", "limit": 100})
    assert one["total"] == PER_CAMERA and {i["camera"] for i in one[key]} == {"cam4"}
    with pytest.raises(RpcCallError) as err:
        await viewer.call(method, {"camera": "cam1"})
    assert err.value.code == -32004
    # An unscoped caller sees every camera's rows in the same lists.
    admin = await svc.client()
    assert (await admin.call(method, {"limit": 1}))["total"] == PER_CAMERA * len(CAMERAS)


async def test_events(viewer: RpcClient) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await viewer.call("list_events", {"type": "alarm.*", "limit": 2, "cursor": cursor})
        seen += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["events"]) == 2
    assert len(seen) == PER_CAMERA * len(SCOPED) and {e["camera"] for e in seen} == SCOPED
    with pytest.raises(RpcCallError) as err:
        await viewer.call("subscribe_events", {"cameras": ["cam2", "cam3"]})
    assert err.value.code == -32004


async def test_timeline(viewer: RpcClient) -> None:
    window = {
        "start": datetime.fromtimestamp(T0 - 10, UTC).isoformat(),
        "end": datetime.fromtimestamp(T0 + 300, UTC).isoformat(),
    }
    timeline = await viewer.call("get_timeline", {"camera": "cam2", **window})
    assert timeline["segments"] == PER_CAMERA
    with pytest.raises(RpcCallError) as err:
        await viewer.call("get_timeline", {"camera": "cam3", **window})
    assert err.value.code == -32004


async def test_storage_usage_counts_only_visible_cameras(viewer: RpcClient) -> None:
    info = await viewer.call("get_storage_info")
    assert set(info["per_camera"]) == SCOPED
    assert info["per_kind"]["snapshots"]["files"] == PER_CAMERA * len(SCOPED)


async def test_audit_is_visible_only_without_a_camera_scope(svc: RunningService) -> None:
    scoped_admin = await svc.client("admin", scopes={"cameras": sorted(SCOPED)})
    with pytest.raises(RpcCallError) as err:
        await scoped_admin.call("list_audit", {"limit": 5})
    assert err.value.code == -32003 and err.value.data["reason"] == "unrestricted_scope_required"
    admin = await svc.client()
    audit = await admin.call("list_audit", {"method": "add_camera", "limit": 2})
    assert len(audit["entries"]) == 2 and audit["total"] >= len(CAMERAS)
