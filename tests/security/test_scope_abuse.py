"""Hostile insiders against the real service: a scoped viewer, operator and admin (camera `cam1` only) try to
reach cameras, rules and evidence outside their scope (security issue 18: H3, H4, M1, M6, L4, L13). One
service for the module; every test also checks that the unscoped admin is still served.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from camera_service.recordings.models import Clip, Snapshot
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import RunningService, run_service, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SCOPE = {"cameras": ["cam1"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    overrides = {"recordings": {"retention": {"enabled": False}}}
    async with run_service(service_config(tmp_path_factory.mktemp("scope"), overrides=overrides)) as running:
        admin = await running.client()
        for cam in ("cam1", "cam2"):
            await admin.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        yield running


async def _code(rpc: RpcClient, method: str, params: dict[str, Any] | None = None) -> int:
    with pytest.raises(RpcCallError) as exc:
        await rpc.call(method, params)
    return exc.value.code


async def _events_of(admin: RpcClient, camera: str) -> int:
    return len((await admin.call("list_events", {"camera": camera, "limit": 1000}))["events"])


async def test_h3_create_event_out_of_scope_is_refused_before_storing(svc: RunningService) -> None:
    admin = await svc.client()
    op = await svc.client("operator", scopes=SCOPE)
    watch = await admin.call(
        "add_rule",
        {"name": "admin-watch", "trigger": {"topics": ["alarm.*"]}, "actions": [{"type": "notify"}]},
    )
    runs_before = len(await admin.call("list_rule_runs", {"rule": watch["id"]}))
    before = await _events_of(admin, "cam2")
    clip = {"pre_s": 1, "post_s": 1}
    assert await _code(op, "create_event", {"type": "alarm.x", "camera": "cam2", "clip": clip}) == -32004
    # L13: a camera-less event from a scoped identity is refused too (it could never read it back).
    assert await _code(op, "create_event", {"type": "alarm.x"}) == -32602
    assert await _events_of(admin, "cam2") == before
    # In scope: stored, and the admin's rule runs for it (rules are made to react to operators' events).
    mine = await op.call("create_event", {"type": "alarm.ok", "camera": "cam1"})
    assert mine["camera"] == "cam1"

    async def ran() -> bool:
        return len(await admin.call("list_rule_runs", {"rule": watch["id"]})) == runs_before + 1

    await wait_for(ran, timeout=30)
    assert await _events_of(admin, "cam2") == before
    await admin.call("remove_rule", {"id": watch["id"]})


async def test_h3_rules_act_with_their_creators_scope(svc: RunningService) -> None:
    admin = await svc.client()
    op = await svc.client("operator", scopes=SCOPE)
    notify = [{"type": "notify", "params": {"message": "m"}}]
    base = {"name": "op-rule", "actions": notify}
    # Saving: only own cameras, listed; no webhooks.
    assert await _code(op, "add_rule", {**base, "trigger": {"topics": ["alarm.*"]}}) == -32602
    hidden = {**base, "trigger": {"topics": ["alarm.*"], "cameras": ["cam2"]}}
    assert await _code(op, "add_rule", hidden) == -32004
    record_other = {
        "name": "r",
        "trigger": {"topics": ["alarm.*"], "cameras": ["cam1"]},
        "actions": [{"type": "record", "params": {"camera": "cam2", "duration_s": 1}}],
    }
    assert await _code(op, "add_rule", record_other) == -32004
    hook = {**base, "trigger": {"topics": ["alarm.*"], "cameras": ["cam1"]}}
    hook["actions"] = [{"type": "webhook", "params": {"id": "wh_any"}}]
    assert await _code(op, "add_rule", hook) == -32602
    rule = await op.call("add_rule", {**base, "trigger": {"topics": ["alarm.*"], "cameras": ["cam1"]}})
    assert rule["owner"]["subject"] == "test-operator" and rule["owner"]["cameras"] == ["cam1"]
    # Running: even when an unscoped admin widens it, it never fires for, nor acts on, a hidden camera.
    await admin.call(
        "update_rule",
        {
            "id": rule["id"],
            "trigger": {"topics": ["alarm.*"], "cameras": ["cam1", "cam2"]},
            "actions": [*notify, {"type": "record", "params": {"camera": "cam2", "duration_s": 1}}],
        },
    )
    await admin.call("create_event", {"type": "alarm.other", "camera": "cam2"})
    await admin.call("create_event", {"type": "alarm.mine", "camera": "cam1"})

    async def one_run() -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = await admin.call("list_rule_runs", {"rule": rule["id"]})
        return runs or None

    await wait_for(one_run, timeout=30)  # the cam2 event, published first, would have run first
    runs = await admin.call("list_rule_runs", {"rule": rule["id"]})
    assert [r["camera"] for r in runs] == ["cam1"]
    outcomes = {a["type"]: a for a in runs[0]["actions"]}
    assert outcomes["notify"]["ok"] is True
    assert outcomes["record"]["ok"] is False and "outside the scope" in outcomes["record"]["error"]
    assert await admin.call("ping") == "pong"


async def test_h3_m1_scoped_callers_cannot_see_or_change_other_rules(svc: RunningService) -> None:
    admin = await svc.client()
    op = await svc.client("operator", scopes=SCOPE)
    viewer = await svc.client("viewer", scopes=SCOPE)
    system = await admin.call(
        "add_rule",
        {"name": "system", "trigger": {"topics": ["alarm.*"]}, "actions": [{"type": "notify"}]},
    )
    await admin.call("create_event", {"type": "alarm.sys", "camera": "cam1"})

    async def fired() -> bool:
        return bool(await admin.call("list_rule_runs", {"rule": system["id"]}))

    await wait_for(fired, timeout=30)
    assert await _code(op, "update_rule", {"id": system["id"], "enabled": False}) == -32004
    assert await _code(op, "remove_rule", {"id": system["id"]}) == -32004
    for who in (op, viewer):
        assert system["id"] not in {r["id"] for r in await who.call("list_rules")}
        runs = await who.call("list_rule_runs", {"limit": 1000})
        assert all(r["rule_id"] != system["id"] and r["camera"] == "cam1" for r in runs)
        assert await who.call("list_rule_runs", {"rule": system["id"]}) == []
    still = {r["id"]: r for r in await admin.call("list_rules")}
    assert still[system["id"]]["enabled"] is True


async def test_h4_scoped_admin_cannot_touch_retention(svc: RunningService) -> None:
    admin = await svc.client()
    scoped = await svc.client("admin", scopes=SCOPE)
    settings = {"settings": {"per_camera": {"cam2": {"max_age_days": 1}}}}
    assert await _code(scoped, "get_retention_settings") == -32003
    assert await _code(scoped, "set_retention_settings", settings) == -32003
    assert await _code(scoped, "run_retention", {"dry_run": False}) == -32003
    assert "cam2" not in (await admin.call("get_retention_settings")).get("per_camera", {})
    assert (await admin.call("run_retention", {"dry_run": True}))["dry_run"] is True


async def test_m6_archive_lists_count_only_visible_items(svc: RunningService) -> None:
    store = svc.app.services.recordings.store
    at = time.time() - 60
    for cam, n in (("cam1", 2), ("cam2", 10)):
        for i in range(n):  # the hidden camera's items are the newest
            t = at + i + (100 if cam == "cam2" else 0)
            await store.insert_snapshot(
                Snapshot(
                    id=uuid.uuid4().hex,
                    camera=cam,
                    path=f"{cam}/m6-{i}.jpg",
                    format="jpeg",
                    width=1,
                    height=1,
                    size=1,
                    created_at=t,
                )
            )
            await store.insert_clip(
                Clip(
                    id=uuid.uuid4().hex,
                    camera=cam,
                    name=f"m6-{cam}-{i}",
                    start=t,
                    end=t + 1,
                    path=f"{cam}/m6-{i}.mp4",
                    created_at=t,
                )
            )
    viewer = await svc.client("viewer", scopes=SCOPE)
    for method, key in (("list_snapshots", "files"), ("list_clips", "clips")):
        page = await viewer.call(method, {"limit": 1})
        assert page["total"] == 2 and len(page[key]) == 1 and page[key][0]["camera"] == "cam1"
        second = await viewer.call(method, {"limit": 1, "offset": 1})
        assert len(second[key]) == 1 and second[key][0]["camera"] == "cam1"
    admin = await svc.client()
    assert (await admin.call("list_snapshots", {"limit": 1}))["total"] >= 12


async def test_l4_camera_less_events_do_not_reach_scoped_subscribers(svc: RunningService) -> None:
    admin = await svc.client()
    viewer = await svc.client("viewer", scopes=SCOPE)
    await viewer.call("subscribe_events", {"topics": ["alarm.*"]})
    await admin.call("create_event", {"type": "alarm.global"})
    mine = await admin.call("create_event", {"type": "alarm.cam1", "camera": "cam1"})
    note = await viewer.next_notification("event", timeout=30)
    assert note["params"]["event"]["id"] == mine["id"]  # the camera-less one, published first, never came
    assert await admin.call("ping") == "pong"


async def _fetch(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        await resp.read()
        return resp.status


async def test_l17_download_urls_die_with_the_key_that_minted_them(svc: RunningService) -> None:
    """A signed URL made for an API key stops working when the key is revoked, and no URL outlives the
    identity that asked for it; URLs of other identities keep working."""
    root = svc.settings.storage.snapshots_path
    (root / "cam1").mkdir(parents=True, exist_ok=True)
    (root / "cam1" / "l17.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    await svc.app.services.recordings.store.insert_snapshot(
        Snapshot(
            id=uuid.uuid4().hex,
            camera="cam1",
            path="cam1/l17.jpg",
            format="jpeg",
            width=1,
            height=1,
            size=4,
            created_at=time.time(),
        )
    )

    async def url_for(rpc: RpcClient) -> str:
        files = (await rpc.call("list_snapshots", {"camera": "cam1", "limit": 100}))["files"]
        return next(f["download_url"] for f in files if f["filename"].endswith("l17.jpg"))

    admin = await svc.client()
    created = await admin.call("create_api_key", {"name": "l17", "role": "viewer"})
    async with await RpcClient.connect(
        svc.ws_url, additional_headers={"Authorization": f"Bearer {created['key']}"}
    ) as keyed:
        keyed_url = await url_for(keyed)
    admin_url = await url_for(admin)
    assert f"kid={created['key_id']}" in keyed_url and "kid=" not in admin_url
    assert await _fetch(keyed_url) == 200
    # The kid is covered by the signature: dropping or swapping it breaks the URL.
    assert await _fetch(keyed_url.replace(f"&kid={created['key_id']}", "")) == 403
    await admin.call("revoke_api_key", {"key_id": created["key_id"]})
    assert await _fetch(keyed_url) == 403
    assert await _fetch(admin_url) == 200
    # A URL asked for by a token that expires in 60 s expires with it, not an hour later.
    short_token = svc.token("viewer", ttl_s=60)
    async with await RpcClient.connect(
        svc.ws_url, additional_headers={"Authorization": f"Bearer {short_token}"}
    ) as short:
        short_url = await url_for(short)
    expires = int(short_url.split("expires=")[1].split("&")[0])
    assert expires <= time.time() + 61
