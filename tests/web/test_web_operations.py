"""Operator work in the console (real browser, real service): recording + timeline + export, the live
events feed with acknowledge, the admin pages, and PTZ press-and-hold against the ONVIF simulator."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import av
import pytest

from tests.harness.onvif_net import onvif_network, start_sim
from tests.web.browser import ConsolePage, first_seen, poll, stamp_first_seen, wait_online, web_env

if TYPE_CHECKING:  # playwright is imported when a browser starts, not at collection
    from playwright.async_api import Locator

pytestmark = pytest.mark.integration

BASELINE = ["-profile:v", "baseline", "-bf", "0"]
SITE = ZoneInfo("Asia/Kolkata")  # UTC+05:30 all year: the download's name shows the minutes of the offset


async def _signed_in(env: Any) -> ConsolePage:
    page = await env.page()
    await page.goto("/")
    await page.login("admin", env.admin_password)
    await page.page.locator('[data-nav="live"]').wait_for()
    return page


async def _texts_are(locator: Locator, want: list[str]) -> bool:
    return await locator.all_inner_texts() == want


def _local(ts: datetime) -> str:
    """A From/To value: wall-clock time in the site zone (the console reads it there)."""
    return ts.astimezone(SITE).strftime("%Y-%m-%dT%H:%M:%S")


async def test_record_timeline_export(tmp_path: Path, test_camera_factory: Any) -> None:
    async with web_env(tmp_path, {"server": {"time_zone": str(SITE)}}) as env:
        admin = await env.service.client()
        await admin.call("add_camera", {"id": "cam1", "name": "Gate", "source": "publisher"})
        url = await env.service.publish_url("cam1")
        await test_camera_factory(url, width=320, height=240, fps=15, gop=15, extra_args=BASELINE)
        # ONLINE before the recording is toggled: MediaMTX refuses a publisher whose path config changed
        # between its ANNOUNCE and RECORD, and ffmpeg does not retry.
        await wait_online(env, "cam1")
        page = await _signed_in(env)
        await page.page.click('button[data-layout="1"]')
        await page.page.click('.tile[data-camera="cam1"]')
        await page.page.get_by_test_id("rec-toggle").click()
        await page.page.get_by_test_id("rec-badge").wait_for()

        async def recorded_enough() -> bool:
            now = datetime.now(UTC)
            tl = await admin.call(
                "get_timeline",
                {"camera": "cam1", "start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()},
            )
            return tl["recorded_s"] >= 16

        await poll(recorded_enough, 90, "16 s recorded", step=0.5)
        await page.page.get_by_test_id("rec-toggle").click()
        await page.page.get_by_test_id("rec-badge").wait_for(state="detached")

        await page.goto("/#/recordings/cam1")
        await page.page.get_by_test_id("range").first.wait_for()
        now = datetime.now(UTC)
        tl = await admin.call(
            "get_timeline",
            {"camera": "cam1", "start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()},
        )
        start = datetime.fromisoformat(tl["ranges"][0]["start"]) + timedelta(seconds=3)
        await page.page.get_by_test_id("sel-from").fill(_local(start))
        await page.page.get_by_test_id("sel-to").fill(_local(start + timedelta(seconds=10)))
        await page.shot("recordings-timeline")
        assert await page.axe() == []
        async with page.page.expect_download(timeout=120_000) as download_info:
            await page.page.get_by_test_id("export").click()
        download = await download_info.value
        # Named by the selection's start in the site zone, with its offset (docs/web-console.md).
        assert download.suggested_filename == f"cam1_{start.astimezone(SITE):%Y-%m-%d_%H-%M-%S}+0530.mp4"
        target = tmp_path / "export.mp4"
        await download.save_as(target)
        with av.open(str(target)) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            duration = float(container.duration or 0) / av.time_base
        assert frames > 0
        assert abs(duration - 10.0) <= 1.0, duration

        # A click on the recorded range plays from there (a short clip of that point).
        box = await page.page.get_by_test_id("range").first.bounding_box()
        assert box is not None
        await page.page.mouse.click(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
        await page.page.locator("video.playback").wait_for(timeout=60_000)

        async def plays() -> bool:
            return bool(await page.page.eval_on_selector("video.playback", "v => v.currentTime > 0.5"))

        await poll(plays, 30, "recorded video playing")

        # Recording policy editor (live view side panel).
        await page.goto("/#/live")
        await page.page.click('.tile[data-camera="cam1"]')
        await page.page.get_by_test_id("policy-mode").select_option("scheduled")
        await page.page.get_by_label("Schedule (JSON)").fill(
            '[{"days": ["sun"], "start": "00:00", "end": "00:01"}]'
        )
        await page.page.get_by_test_id("policy-save").click()

        async def scheduled() -> bool:
            policy = (await admin.call("get_recording_status", {"camera": "cam1"}))["policy"]
            return policy.get("mode") == "scheduled" and policy["schedule"][0]["days"] == ["sun"]

        await poll(scheduled, 10, "policy saved from the console")
        page.check_clean()


async def test_events_feed_ack_and_admin_pages(tmp_path: Path) -> None:
    async with web_env(tmp_path) as env:
        admin = await env.service.client()
        page = await _signed_in(env)
        await page.page.click('[data-nav="events"]')
        await page.page.locator("section.events table").wait_for()

        # The feed subscribes after the page mounts (the API client here subscribes to nothing).
        async def subscribed() -> bool:
            return len(env.service.app.services.events.subscriptions) >= 1

        await poll(subscribed, 20, "the events feed's subscription")
        # When the row appeared is noted by the page itself (Playwright's waits poll every 500 ms).
        await stamp_first_seen(page, "tr[data-event]", "data-event")
        sent = time.time()
        event = await admin.call("create_event", {"type": "door.forced", "severity": "high"})
        row = page.page.locator(f'tr[data-event="{event["id"]}"]')
        await row.wait_for(timeout=20_000)
        shown = await first_seen(page, "tr[data-event]", event["id"])
        assert shown is not None
        took = shown - sent
        print(f"event row shown {took:.3f} s after create_event was sent")
        assert took < 1.0, f"event shown after {took:.2f} s"
        await row.get_by_role("button", name="Acknowledge").click()

        async def acked() -> bool:
            return (await admin.call("get_event", {"id": event["id"]}))["status"] == "acknowledged"

        await poll(acked, 10, "acknowledged through the API")
        # Bulk: two more, both selected, one click.
        low = {"type": "motion.detected", "severity": "low"}
        ids = [(await admin.call("create_event", low))["id"] for _ in range(2)]
        for eid in ids:
            await page.page.locator(f'tr[data-event="{eid}"] input[type="checkbox"]').check()
        await page.page.get_by_test_id("ack-selected").click()

        async def all_acked() -> bool:
            events = [await admin.call("get_event", {"id": eid}) for eid in ids]
            return all(e["status"] == "acknowledged" for e in events)

        await poll(all_acked, 10, "bulk acknowledge")

        # Tags and notes, then false positive, from the row's detail.
        await page.page.locator(f'tr[data-event="{ids[0]}"] td').nth(3).click()
        detail = page.page.locator(".event-detail")
        await detail.get_by_label("Tags").fill("night, gate")
        await detail.get_by_label("Notes").fill("checked on camera")
        await detail.get_by_role("button", name="Save").click()

        async def tagged() -> bool:
            e = await admin.call("get_event", {"id": ids[0]})
            return sorted(e["tags"]) == ["gate", "night"] and e["notes"] == "checked on camera"

        await poll(tagged, 10, "tags and notes saved")
        await detail.get_by_role("button", name="False positive").click()

        async def false_positive() -> bool:
            return (await admin.call("get_event", {"id": ids[0]}))["status"] == "false_positive"

        await poll(false_positive, 10, "marked false positive")

        # The service drops the tab's WebSocket: it reconnects, signs in again and re-subscribes by itself.
        browser_conns = [
            c for c in env.service.app.services.connections if c.identity and c.identity.subject == "admin"
        ]
        assert browser_conns  # the API client here is "test-admin"
        for conn in browser_conns:
            await conn.close(4000, "test: dropped")
        await page.page.locator(".conn-closed, .conn-connecting").first.wait_for(timeout=5000)
        await page.page.locator(".conn-open").wait_for(timeout=20_000)
        again = await admin.call("create_event", {"type": "door.forced", "severity": "critical"})
        await page.page.locator(f'tr[data-event="{again["id"]}"]').wait_for(timeout=10_000)
        await page.shot("events")
        assert await page.axe() == []

        await page.page.click('[data-nav="admin"]')
        for tab in ("cameras", "users", "apiKeys", "webhooks", "rules", "retention", "health", "audit"):
            await page.page.click(f'button[data-tab="{tab}"]')
            await page.page.wait_for_timeout(200)
            assert await page.axe() == [], tab
            await page.shot(f"admin-{tab}")
        # An empty table says so in words (not bare headers).
        empty = {
            "cameras": ["No cameras."],
            "webhooks": ["No webhooks yet: add a URL above.", "No deliveries yet."],
            "rules": ["No rules yet: New rule makes one."],
        }
        for tab, want in empty.items():
            await page.page.click(f'button[data-tab="{tab}"]')
            await poll(partial(_texts_are, page.page.get_by_test_id("empty"), want), 10, f"{tab}: empty")
        # Health reads as a table (one row per component: ✓/✗ and its status), not get_status' JSON.
        await page.page.click('button[data-tab="health"]')
        health = page.page.get_by_test_id("health")

        async def health_matches() -> bool:
            want = {
                name: f"{'✓' if c['healthy'] else '✗'} {c['status']}"
                for name, c in (await admin.call("get_status"))["components"].items()
            }
            shown = await health.locator("tr[data-component]").evaluate_all(
                "rows => rows.map(r => [r.dataset.component, r.querySelector('td').textContent])"
            )
            return bool(want) and dict(shown) == want

        await poll(health_matches, 10, "every component's health shown as in get_status")
        summary = await health.get_by_test_id("health-summary").inner_text()
        overall = "Healthy" if (await admin.call("get_status"))["status"] == "healthy" else "Degraded"
        assert summary.startswith(f"{overall} · Version ") and "Connections: " in summary, summary
        await page.shot("admin-health")
        # Storage in words and a table per kind (all cameras), the retention run's result in words.
        await page.page.click('button[data-tab="retention"]')
        storage = page.page.get_by_test_id("storage")
        await storage.wait_for(timeout=10_000)
        info = await admin.call("get_storage_info")
        summary = await storage.get_by_test_id("storage-summary").inner_text()
        assert re.fullmatch(rf"Disk: .+ used of .+ \(\d+ %\), .+ free · level {info['level']}", summary), (
            summary
        )
        kinds = await storage.locator('tr[data-camera="All"]').evaluate_all(
            "rows => rows.map(r => [r.dataset.kind, r.children[2].textContent])"
        )
        assert dict(kinds) == {k: str(u["files"]) for k, u in info["per_kind"].items()}, kinds
        await page.page.get_by_role("button", name="Run retention now").click()
        done = page.page.get_by_role("status").filter(has_text="Retention: ")
        await done.wait_for(timeout=20_000)
        assert re.fullmatch(
            r"Retention: \d+ files deleted \(.+\), \d+ protected kept", await done.inner_text()
        )
        await page.shot("admin-retention")
        await page.page.click('button[data-tab="audit"]')
        heads = await page.page.locator(".admin table th").all_inner_texts()
        assert heads == ["Time", "Actor", "Method", "Outcome", "Address"], heads
        await page.page.click('button[data-tab="users"]')
        await page.page.get_by_label("User name").fill("otto")
        await page.page.get_by_label("Password").fill("operator-pass-1")
        await page.page.get_by_role("button", name="Create").click()

        async def created() -> bool:
            users = (await admin.call("list_users"))["users"]
            return any(u["username"] == "otto" and u["role"] == "viewer" for u in users)

        await poll(created, 10, "user created from the admin page")
        page.check_clean()


async def test_ptz_press_and_hold_and_preset(tmp_path: Path) -> None:
    async with onvif_network() as netns:
        sim = await start_sim(
            netns, discovery=True, velocity_range=[-0.8, 0.8], main_uri="rtsp://127.0.0.1:9/unused"
        )
        try:
            async with web_env(tmp_path, {"onvif": {"call_timeout_s": 3.0}}) as env:
                admin = await env.service.client()
                page = await _signed_in(env)
                # Administration: discover the camera (unicast probe) and import it.
                await page.page.click('[data-nav="admin"]')
                await page.page.get_by_label("Discovery hosts (optional)").fill(netns.ns_ip)
                await page.page.get_by_test_id("discover").click()
                await page.page.locator("tr[data-device]").first.get_by_role("button", name="Select").click()
                form = page.page.locator('form:has(button:text("ONVIF import"))')
                assert await form.get_by_label("ONVIF xaddr").input_value() == sim.xaddr
                await form.get_by_label("User name").fill("admin")
                await form.get_by_label("Password").fill("secret")
                await form.get_by_label("ID").fill("ptzcam")
                await form.get_by_role("button", name="ONVIF import").click()

                async def imported() -> bool:
                    page_ = await admin.call("list_cameras", {})
                    return any(c["id"] == "ptzcam" for c in page_["cameras"])

                await poll(imported, 30, "camera imported from the console")
                # Said in words (not the result's JSON), and the camera list above shows it without a reload.
                note = page.page.get_by_role("status").filter(has_text="Imported: ptzcam")
                await note.wait_for(timeout=10_000)
                text = await note.inner_text()
                assert text == "Imported: ptzcam (CameraService SimPTZ-1) · rtsp://127.0.0.1:9/unused", text
                await page.page.locator('tr[data-camera-row="ptzcam"]').wait_for(timeout=10_000)
                assert "secret" not in await page.page.content()  # the password is write-only
                await page.shot("admin-onvif-import")
                assert await page.axe() == []
                await admin.call("update_camera", {"camera": "ptzcam", "enabled": False})  # no video needed
                saved = await admin.call("ptz", {"camera": "ptzcam", "action": "set_preset", "name": "door"})
                await sim.reset()
                await page.page.click('[data-nav="live"]')
                await page.page.click('.tile[data-camera="ptzcam"]')
                right = page.page.locator('[data-ptz="Right"]')
                await right.wait_for()
                await right.hover()
                await page.page.mouse.down()

                async def moving() -> bool:
                    return "ContinuousMove" in await sim.ops()

                await poll(moving, 10, "ContinuousMove at the camera")
                move = next(c for c in await sim.calls("ptz_service") if c["op"] == "ContinuousMove")
                assert float(move["args"]["Velocity"]["PanTilt"]["x"]) > 0
                assert float(move["args"]["Velocity"]["PanTilt"]["y"]) == 0
                assert "Stop" not in await sim.ops()  # still held: continuous
                await page.page.mouse.up()

                async def stopped() -> bool:
                    return (await sim.ops())[-1:] == ["Stop"]

                await poll(stopped, 10, "Stop at the camera on release")
                # Arrow keys while the PTZ panel has focus: held = continuous move left, released = stop.
                await sim.reset()
                await page.page.locator("section.ptz").focus()
                await page.page.keyboard.down("ArrowLeft")
                await poll(moving, 10, "ContinuousMove from the arrow key")
                move = next(c for c in await sim.calls("ptz_service") if c["op"] == "ContinuousMove")
                assert float(move["args"]["Velocity"]["PanTilt"]["x"]) < 0
                await page.page.keyboard.up("ArrowLeft")
                await poll(stopped, 10, "Stop when the arrow key is released")
                await page.page.get_by_label("Presets").select_option(saved["result"]["preset"])
                await page.page.get_by_role("button", name="Go to preset").click()

                async def went() -> bool:
                    return "GotoPreset" in await sim.ops()

                await poll(went, 10, "GotoPreset at the camera")
                await page.shot("live-ptz")
                assert await page.axe() == []
                page.check_clean()
        finally:
            await sim.close()
