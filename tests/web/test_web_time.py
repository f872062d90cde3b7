"""Time in the console (real browser, real service): the site time zone from the server with a per-device
override in the events feed and on the timeline, jumping to a date/time, and the access token renewed
silently (a 12 s access JWT: the console keeps working past its first token's expiry)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.web.browser import ConsolePage, poll, web_env

pytestmark = pytest.mark.integration

SITE = "Asia/Dubai"  # UTC+4 all year (no daylight saving time)
EVENT_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # 07:04:05 in Dubai
TTL_S = 12  # security.access_token_ttl_s: the console's access JWT


async def _text(page: ConsolePage, selector: str) -> str:
    return await page.page.inner_text(selector)


async def test_site_time_zone_jump_and_silent_token_renewal(tmp_path: Path) -> None:
    overrides = {"server": {"time_zone": SITE}, "security": {"access_token_ttl_s": TTL_S}}
    async with web_env(tmp_path, overrides) as env:
        admin = await env.service.client()
        assert (await admin.call("get_server_info"))["time_zone"] == SITE
        await admin.call("add_camera", {"id": "cam1", "name": "Gate", "source": "publisher"})
        event = await admin.call(
            "create_event",
            {"type": "door.forced", "severity": "high", "camera": "cam1", "time": EVENT_AT.isoformat()},
        )
        page = await env.page()
        await page.goto("/")
        await page.login("admin", env.admin_password)
        signed_in = time.monotonic()
        signed_in_at = time.time()
        await page.page.locator('[data-nav="live"]').wait_for()

        # Events feed: the event's time in the site zone, UTC on hover.
        await page.page.click('[data-nav="events"]')
        cell = f'tr[data-event="{event["id"]}"] td:nth-child(2)'
        await page.page.locator(cell).wait_for()
        await poll(lambda: _has(page, cell, "07:04:05"), 10, "event time shown in Asia/Dubai")
        assert (await page.page.get_attribute(cell, "title")) == "2026-01-02T03:04:05.000Z"
        assert SITE in await page.page.inner_text('[data-testid="tz"] option[value=""]')
        # This device overrides the site zone (kept across a reload), then follows the site again.
        await page.page.select_option('[data-testid="tz"]', "UTC")
        await poll(lambda: _has(page, cell, "03:04:05"), 10, "event time shown in UTC (device override)")
        await page.page.select_option('[data-testid="tz"]', "America/New_York")
        await poll(lambda: _has(page, cell, "22:04:05"), 10, "event time in New York (the day before)")
        await page.page.select_option('[data-testid="tz"]', "")
        await poll(lambda: _has(page, cell, "07:04:05"), 10, "back to the site zone")
        await page.shot("events-site-time-zone")

        # Timeline: jump to a date/time typed in the site zone; the window is centred on it (15 min span)
        # and the event's mark is on it.
        await page.goto("/#/recordings/cam1")
        await page.page.get_by_test_id("jump-to").fill("2026-01-02T07:04:05")
        await page.page.get_by_test_id("jump").click()
        await poll(lambda: _has(page, '[data-testid="axis-start"]', "06:56:35"), 10, "window start (Dubai)")
        assert "07:11:35" in await _text(page, '[data-testid="axis-end"]')
        assert (
            await page.page.get_attribute('[data-testid="axis-start"]', "title") == "2026-01-02T02:56:35.000Z"
        )
        mark = page.page.get_by_test_id("mark")
        await mark.first.wait_for()
        assert await mark.count() == 1
        assert "07:04:05" in (await mark.first.get_attribute("title") or "")
        # The export range is typed in the site zone too: 07:05:00 in Dubai is 03:05:00 UTC.
        await page.page.get_by_test_id("sel-from").fill("2026-01-02T07:05:00")
        chosen = await page.page.get_attribute('[data-testid="timeline"]', "aria-valuenow")
        assert int(float(chosen or 0)) == int(datetime(2026, 1, 2, 3, 5, tzinfo=UTC).timestamp() * 1000)
        await page.shot("recordings-jump-site-zone")
        assert await page.axe() == []

        # The access token lives 12 s: past that, calls from the console still work because it was
        # renewed (refresh) in the background; the sign-in form never came back.
        await page.page.click('[data-nav="events"]')
        wait = TTL_S + 3 - (time.monotonic() - signed_in)
        if wait > 0:
            await page.page.wait_for_timeout(wait * 1000)
        later = await admin.call("create_event", {"type": "door.forced", "severity": "critical"})
        row = page.page.locator(f'tr[data-event="{later["id"]}"]')
        await row.wait_for(timeout=10_000)
        await row.get_by_role("button", name="Acknowledge").click()

        async def acked() -> bool:
            return (await admin.call("get_event", {"id": later["id"]}))["status"] == "acknowledged"

        await poll(acked, 10, "acknowledged from the console after the first token expired")
        assert await page.page.get_by_role("button", name="Sign in").count() == 0
        # The tab's connection now holds a renewed token: it expires later than any token of the sign-in.
        browser = [
            c.identity
            for c in env.service.app.services.connections
            if c.identity and c.identity.subject == "admin"
        ]
        assert browser and all(i.expires_at and i.expires_at > signed_in_at + TTL_S for i in browser)
        page.check_clean()


async def _has(page: ConsolePage, selector: str, text: str) -> bool:
    return text in await page.page.inner_text(selector)
