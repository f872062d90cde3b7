"""Rules edited in the console (conditions and actions, real browser, real service), and what a rule
makes shown in the events feed: the event's snapshot and its clip, both decoded by the browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.browser import ConsolePage, WebEnv, poll, publisher_camera, web_env

if TYPE_CHECKING:  # playwright is imported when a browser starts, not at collection
    from playwright.async_api import Locator

pytestmark = pytest.mark.integration


async def _rule(env: WebEnv, name: str) -> dict[str, Any] | None:
    admin = await env.service.client()
    return next((r for r in await admin.call("list_rules") if r["name"] == name), None)


def _action(form: Locator, i: int) -> Locator:
    return form.locator(f'fieldset.action[data-action="{i}"]')


async def _text_is(locator: Locator, text: str) -> bool:
    return await locator.count() == 1 and await locator.inner_text() == text


async def _edit_rule_in_console(page: ConsolePage, env: WebEnv) -> str:
    p = page.page
    # A rule made through the API with what the editor keeps as it is (schedule, data conditions).
    admin = await env.service.client()
    night = await admin.call(
        "add_rule",
        {
            "name": "night",
            "trigger": {
                "topics": ["never.happens"],
                "conditions": {"data": {"zone": "north"}},
                "schedule": {"days": [0, 4], "start": "22:00", "end": "06:00"},
                "cooldown_s": 30,
            },
            "actions": [{"type": "notify", "params": {}}],
        },
    )
    await p.click('[data-nav="admin"]')
    await p.click('button[data-tab="rules"]')
    night_trigger = p.locator(f'tr[data-rule="{night["id"]}"] [data-testid="rule-trigger"]')
    expected = (
        "Topics: never.happens · Data: zone=north · Schedule: 22:00\u201306:00 (Mon, Fri) · Cooldown (s): 30"
    )
    await poll(lambda: _text_is(night_trigger, expected), 10, "an API rule's trigger in words")
    await p.get_by_test_id("rule-new").click()
    form = p.locator("form.rule-editor")
    await form.get_by_label("Name").fill("gate")
    await form.get_by_label("Topics").fill("door.forced")
    await form.get_by_label("Cameras").fill("cam1")
    await form.get_by_label("Minimum severity").select_option("high")
    for i, kind in enumerate(("snapshot", "clip", "notify")):
        await p.get_by_test_id("rule-add-action").click()
        await _action(form, i).get_by_label("Type").select_option(kind)
    # Each parameter is labelled by its schema title (never the raw key), its default is the placeholder
    # and its description the hint announced with it.
    labels = await form.evaluate(
        """f => [...f.querySelectorAll('fieldset.action input, fieldset.action select')].map(e => [
            e.labels[0].firstChild.textContent, e.placeholder ?? null,
            document.getElementById(e.getAttribute('aria-describedby'))?.textContent ?? null])"""
    )
    assert labels == [
        ["Type", None, None],
        ["Camera", "", "Camera id to snapshot; empty: the event's camera."],
        ["Image format", "jpeg", "jpeg or png."],
        ["Type", None, None],
        [
            "Seconds before the event",
            "",
            "0 to 3600; empty: the configured events.clip_pre_s (10 s by default).",
        ],
        [
            "Seconds after the event",
            "",
            "0 to 3600; empty: the configured events.clip_post_s (10 s by default).",
        ],
        ["Type", None, None],
        ["Severity", None, "Severity of the rule.notification event."],
        ["Message", "", "Text for the operators."],
    ], labels
    # A required parameter (record's duration) is marked required: an empty one blocks saving.
    await p.get_by_test_id("rule-add-action").click()
    await _action(form, 3).get_by_label("Type").select_option("record")
    duration = _action(form, 3).get_by_label("Seconds to record")
    assert await duration.evaluate("e => e.required && e.validity.valueMissing")
    await form.get_by_role("button", name="Remove action 4").click()
    assert await _action(form, 3).count() == 0
    severity = _action(form, 2).get_by_label("Severity")
    assert await severity.locator("option").first.inner_text() == "Default: high"
    await _action(form, 1).get_by_label("Seconds before the event").fill("3")
    await _action(form, 1).get_by_label("Seconds after the event").fill("3")
    await _action(form, 2).get_by_label("Message").fill("check the gate")
    await page.shot("admin-rule-editor")
    assert await page.axe() == []
    await p.get_by_test_id("rule-save").click()

    async def created() -> bool:
        return await _rule(env, "gate") is not None

    await poll(created, 10, "rule created from the console")
    rule = await _rule(env, "gate")
    assert rule is not None
    # The rules table reads as words, not the trigger's JSON.
    trigger = p.locator(f'tr[data-rule="{rule["id"]}"] [data-testid="rule-trigger"]')
    expected = "Topics: door.forced · Cameras: cam1 · Minimum severity: high"
    await poll(lambda: _text_is(trigger, expected), 10, "the new rule's trigger in words")
    assert rule["trigger"]["topics"] == ["door.forced"] and rule["trigger"]["cameras"] == ["cam1"]
    assert rule["trigger"]["conditions"]["min_severity"] == "high"
    assert [a["type"] for a in rule["actions"]] == ["snapshot", "clip", "notify"]
    assert rule["actions"][1]["params"] == {"pre_s": 3.0, "post_s": 3.0}
    assert rule["actions"][2]["params"]["message"] == "check the gate"

    # Edit it: a stricter condition, one action fewer.
    await p.locator(f'tr[data-rule="{rule["id"]}"]').get_by_role("button", name="Edit").click()
    assert await _action(form, 1).get_by_label("Seconds before the event").input_value() == "3"
    await form.get_by_label("Minimum severity").select_option("critical")
    await form.get_by_role("button", name="Remove action 3").click()
    await p.get_by_test_id("rule-save").click()

    async def edited() -> bool:
        r = await _rule(env, "gate")
        return (
            r is not None
            and r["trigger"]["conditions"]["min_severity"] == "critical"
            and [a["type"] for a in r["actions"]] == ["snapshot", "clip"]
        )

    await poll(edited, 10, "rule edited from the console")
    return str(rule["id"])


async def test_rule_editor_and_event_snapshot_and_clip(tmp_path: Path, test_camera_factory: Any) -> None:
    async with web_env(tmp_path) as env:
        admin = await env.service.client()
        await publisher_camera(env, test_camera_factory, "cam1")
        await admin.call("start_recording", {"camera": "cam1"})
        page = await env.page()
        await page.goto("/")
        await page.login("admin", env.admin_password)
        rule_id = await _edit_rule_in_console(page, env)

        async def recorded() -> bool:
            now = datetime.now(UTC)
            window = {
                "camera": "cam1",
                "start": (now - timedelta(hours=1)).isoformat(),
                "end": now.isoformat(),
            }
            return (await admin.call("get_timeline", window))["recorded_s"] >= 6

        await poll(recorded, 90, "6 s recorded", step=0.5)
        await page.page.click('[data-nav="events"]')
        await page.page.locator("section.events table").wait_for()
        # Below the edited rule's severity: no run. At it: a snapshot and a clip.
        quiet = await admin.call(
            "create_event", {"type": "door.forced", "severity": "high", "camera": "cam1"}
        )
        data = {"zone": "north gate", "count": 2, "box": [1, 2, 3, 4]}
        event = await admin.call(
            "create_event", {"type": "door.forced", "severity": "critical", "camera": "cam1", "data": data}
        )
        # An event without data says so (no "{}"); one with data lists it as key/value pairs.
        row = page.page.locator(f'tr[data-event="{quiet["id"]}"]')
        await row.wait_for(timeout=10_000)
        await row.locator("td").nth(3).click()
        detail = page.page.locator("tr.detail")
        await detail.get_by_test_id("event-no-data").wait_for(timeout=10_000)
        assert await detail.get_by_test_id("event-no-data").inner_text() == "No details"
        assert "{}" not in await detail.inner_text()
        row = page.page.locator(f'tr[data-event="{event["id"]}"]')
        await row.wait_for(timeout=10_000)
        await row.locator("td").nth(3).click()
        await detail.get_by_test_id("event-data").wait_for(timeout=10_000)
        pairs = await detail.get_by_test_id("event-data").evaluate(
            "dl => [...dl.querySelectorAll('dt')].map(t => [t.textContent, t.nextElementSibling.textContent])"
        )
        assert pairs == [["zone", "north gate"], ["count", "2"], ["box", "[1,2,3,4]"]], pairs
        snapshot = page.page.get_by_test_id("event-snapshot")
        await snapshot.wait_for(timeout=30_000)

        seen: list[Any] = []

        async def snapshot_decoded() -> bool:
            seen[:] = await snapshot.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight, i.src]")
            return bool(seen[0]) and (seen[1], seen[2]) == (320, 240)

        try:
            await poll(snapshot_decoded, 15, "the event's snapshot decoded at 320x240")
        except AssertionError:
            raise AssertionError(f"snapshot {seen}; console: {page.errors}") from None
        clip = page.page.get_by_test_id("event-clip")
        await clip.wait_for(timeout=60_000)

        async def clip_plays() -> bool:
            return bool(await clip.evaluate("v => v.currentTime > 0.5 && v.videoWidth === 320"))

        await poll(clip_plays, 30, "the event's clip playing")
        runs = await admin.call("list_rule_runs", {"rule": rule_id})
        assert [r["event_id"] for r in runs] == [event["id"]]
        await page.shot("events-snapshot-and-clip")
        assert await page.axe() == []
        page.check_clean()
