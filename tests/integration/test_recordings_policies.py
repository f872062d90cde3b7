"""Recording policies through the service (no start_recording): continuous, scheduled (weekly windows in a
time zone, re-evaluated by the policy loop) and events (a rolling buffer pruned by retention; a locked
event clip keeps the pre-event seconds). One service for the module: 2 s segments, 320x240 publishers,
policy loop every 0.5 s, retention every 1 s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from camera_service.media.imaging import decode_all, probe_file
from tests.harness.clock import JumpClock
from tests.harness.ffmpeg import TestCamera
from tests.harness.procs import wait_for
from tests.harness.rpc_client import RpcClient
from tests.harness.service import RunningService, run_service, service_config
from tests.integration.cameras_helpers import wait_camera

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SEGMENT_S = 2
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    data = tmp_path_factory.mktemp("policies")
    overrides = {
        "recordings": {
            "segment_duration_s": SEGMENT_S,
            "policy_interval_s": 0.5,
            "retention": {"enabled": True, "interval_s": 1},
        }
    }
    async with run_service(service_config(data, overrides=overrides)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def client(svc: RunningService) -> RpcClient:
    return await svc.client()


@contextlib.asynccontextmanager
async def publishing(svc: RunningService, rpc: RpcClient, *cams: str) -> AsyncIterator[None]:
    """Add publisher cameras, feed them 320x240 at 25 fps with a 1 s GOP and wait until each is ONLINE;
    stop the feeds after. Waiting matters: MediaMTX refuses a publisher whose path config changed between
    its ANNOUNCE and RECORD ("configuration has changed"), and a recording policy set at that moment
    changes it; ffmpeg does not retry (seen in a clean-clone run: no segment in 20 s)."""
    feeds = []
    for cam in cams:
        await rpc.call("add_camera", {"id": cam, "name": cam, "source": "publisher"})
        feeds.append(TestCamera(await svc.publish_url(cam), width=320, height=240, fps=25, gop=25))
    try:
        for f in feeds:
            await f.start()
        for cam in cams:
            await wait_camera(rpc, cam, status="ONLINE")
        yield
    finally:
        for cam in cams:
            with contextlib.suppress(Exception):
                await rpc.call("set_recording_policy", {"camera": cam, "policy": {"mode": "off"}})
        for f in feeds:
            await f.stop()


async def segments(rpc: RpcClient, camera: str) -> list[dict[str, Any]]:
    res = await rpc.call("list_recordings", {"camera": camera, "limit": 1000})
    return sorted(res["files"], key=lambda f: f["start"])


async def at_least(rpc: RpcClient, camera: str, n: int, timeout: float = 20) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        files = await segments(rpc, camera)
        return files if len(files) >= n else None

    result: list[dict[str, Any]] = await wait_for(
        enough, timeout, 0.2, message=f"{camera}: fewer than {n} segments"
    )
    return result


async def final_segments(
    rpc: RpcClient, camera: str, quiet_s: float = 2 * SEGMENT_S + 1
) -> list[dict[str, Any]]:
    """Segments once the index has not changed for `quiet_s` while the camera still publishes: the last
    segment's hook has come, and no new segment began (one would close every SEGMENT_S if recording went
    on). Polled every 0.25 s, so the wait is the quiet time itself, not a multiple of a polling period."""
    previous: list[str] | None = None
    changed = time.monotonic()
    deadline = changed + 30
    while True:
        files = await segments(rpc, camera)
        names = [f["filename"] for f in files]
        now = time.monotonic()
        if names != previous:
            previous, changed = names, now
        elif now - changed >= quiet_s:
            return files
        if now > deadline:
            raise AssertionError(f"segments of {camera} were still changing after 30 s")
        await asyncio.sleep(0.25)


def on_disk(svc: RunningService, camera: str) -> set[str]:
    root = svc.settings.storage.recordings_path
    return {p.relative_to(root).as_posix() for p in (root / camera).glob("*.mp4")}


async def status(rpc: RpcClient, camera: str) -> dict[str, Any]:
    result: dict[str, Any] = await rpc.call("get_recording_status", {"camera": camera})
    return result


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_continuous_policy_records_without_a_session_until_turned_off(
    svc: RunningService, client: RpcClient
) -> None:
    async with publishing(svc, client, "cont"):
        await client.call("set_recording_policy", {"camera": "cont", "policy": {"mode": "continuous"}})
        st = await status(client, "cont")
        assert st["recording"] is True and st["reason"] == "policy" and st["session"] is None
        assert st["policy"]["mode"] == "continuous"
        files = await at_least(client, "cont", 2)
        assert all(f["kind"] == "continuous" and (f["width"], f["height"]) == (320, 240) for f in files)

        off = await client.call("set_recording_policy", {"camera": "cont", "policy": {"mode": "off"}})
        assert off["recording"] is False and off["reason"] is None
        # still publishing: no new segment for 2 segment lengths
        files = await final_segments(client, "cont")
        assert on_disk(svc, "cont") == {f["filename"] for f in files}


def _window_around_now(zone: ZoneInfo, now: datetime) -> tuple[dict[str, Any], float]:
    """A window from an hour before `now` to the second-next minute boundary (local time in `zone`),
    and the unix time it ends."""
    end = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    start = now - timedelta(hours=1)
    window = {"days": ALL_DAYS, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    return window, end.timestamp()


def _window_later(zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    return {"days": ALL_DAYS, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


async def test_scheduled_policy_follows_its_weekly_window(tmp_path: Path) -> None:
    """Its own service on a JumpClock: the window's end (a minute boundary) is a jump of the service's
    clock, not a wait of up to a minute; MediaMTX still really stops recording."""
    zone_name = "Asia/Kolkata"  # +05:30: the windows are read in the policy's zone, not UTC
    zone = ZoneInfo(zone_name)
    clock = JumpClock()
    overrides = {"recordings": {"segment_duration_s": SEGMENT_S, "policy_interval_s": 0.5}}
    async with run_service(service_config(tmp_path / "svc", overrides=overrides), clock=clock) as svc:
        client = await svc.client()
        now = datetime.fromtimestamp(clock.time(), zone)
        inside, ends_at = _window_around_now(zone, now)
        async with publishing(svc, client, "sin", "sout"):
            await client.call(
                "set_recording_policy",
                {
                    "camera": "sin",
                    "policy": {"mode": "scheduled", "timezone": zone_name, "schedule": [inside]},
                },
            )
            later = {"mode": "scheduled", "timezone": zone_name, "schedule": [_window_later(zone, now)]}
            await client.call("set_recording_policy", {"camera": "sout", "policy": later})
            st_in, st_out = await status(client, "sin"), await status(client, "sout")
            assert st_in["recording"] is True and st_in["reason"] == "policy"
            assert st_out["recording"] is False and st_out["reason"] is None
            await at_least(client, "sin", 2)
            assert await segments(client, "sout") == [] and on_disk(svc, "sout") == set()
            assert (await status(client, "sin"))["recording"] is True  # still inside the window

            # The window closes at a minute boundary: jump there; the policy loop stops the recording.
            clock.jump(ends_at - clock.time() + 0.05)
            jumped_at = time.time()

            async def stopped() -> bool:
                return (await status(client, "sin"))["recording"] is False

            await wait_for(stopped, 10, 0.2, message="scheduled recording did not stop at the window's end")
            # still publishing: no new segment for 2 segment lengths
            files = await final_segments(client, "sin")
            assert ts(files[-1]["start"]) < jumped_at + 2  # segment times are MediaMTX's (real) clock
            assert await segments(client, "sout") == []


async def test_events_policy_keeps_a_rolling_buffer_and_a_locked_clip_keeps_its_seconds(
    svc: RunningService, client: RpcClient
) -> None:
    buffer_s = 6.0
    async with publishing(svc, client, "ev"):
        res = await client.call(
            "set_recording_policy", {"camera": "ev", "policy": {"mode": "events", "buffer_s": buffer_s}}
        )
        assert res["recording"] is True and res["reason"] == "policy"
        first = (await at_least(client, "ev", 1))[0]
        assert first["kind"] == "buffer"

        # Retention drops buffer segments older than buffer_s while recording goes on.
        async def pruned() -> bool:
            return first["filename"] not in {f["filename"] for f in await segments(client, "ev")}

        await wait_for(pruned, buffer_s + 15, 0.3, message="buffer segment never pruned")
        assert first["filename"] not in on_disk(svc, "ev")
        files = await segments(client, "ev")
        assert files and all(f["kind"] == "buffer" for f in files)
        slack = SEGMENT_S + 3  # loop period, hook latency
        assert min(ts(f["end"]) for f in files) >= time.time() - buffer_s - slack

        # An event now: its clip takes the 4 pre-event seconds from the buffer (locked: evidence).
        t_event = time.time()
        pre, post = 4.0, 1.0
        clip = await client.call(
            "export_clip",
            {"camera": "ev", "start": t_event - pre, "end": t_event + post, "name": "event", "lock": True},
            timeout=60,
        )
        assert clip["locked"] is True
        assert abs(ts(clip["start"]) - (t_event - pre)) <= 1.0, clip
        assert abs(clip["duration_s"] - (pre + post)) <= 0.6, clip
        path: Path = svc.settings.storage.clips_path / clip["filename"]
        frames, span = await asyncio.to_thread(decode_all, path)
        info = await asyncio.to_thread(probe_file, path)
        assert info.codec == "h264" and frames >= (pre + post) * 25 * 0.8 and span >= pre

        covering = [
            f
            for f in await segments(client, "ev")
            if ts(f["start"]) < t_event + post and ts(f["end"]) > t_event - pre
        ]
        assert covering
        # Well past the buffer: the segments under the locked clip stay, later expired ones go.
        await asyncio.sleep(buffer_s + slack + 3 * SEGMENT_S)
        files = await segments(client, "ev")
        listed = time.time()
        names = {f["filename"] for f in files}
        assert {f["filename"] for f in covering} <= names
        disk = on_disk(svc, "ev")
        assert {f["filename"] for f in covering} <= disk
        expired = [
            f for f in files if ts(f["start"]) >= t_event + post and ts(f["end"]) < listed - buffer_s - slack
        ]
        assert not expired, expired

        # Index and disk agree, but for the segment being written (indexed by its completion hook). Read as
        # one consistent pair: a segment closing at a boundary is briefly on disk unindexed next to the new
        # one (its hook is on its way), and retention may delete a listed one between the two reads.
        async def agree() -> bool:
            names = {f["filename"] for f in await segments(client, "ev")}
            disk = on_disk(svc, "ev")
            return names <= disk and len(disk - names) <= 1 and (disk - names) <= {max(disk)}

        await wait_for(agree, 15, 0.2, message="index and disk never agreed")
