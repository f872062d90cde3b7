"""The scripts in docs/client.md, run as they are against the real service (demo camera)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from camera_service.client import CameraServiceClient
from tests.harness.mediamtx import REPO_ROOT
from tests.harness.procs import wait_for
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration

DOC = REPO_ROOT / "docs" / "client.md"


def scripts() -> dict[str, str]:
    """Section title -> the Python block under it."""
    found: dict[str, str] = {}
    for m in re.finditer(r"^### (.+?)\n\n```python\n(.*?)```", DOC.read_text(), re.S | re.M):
        found[m[1]] = m[2]
    return found


@pytest.fixture
async def demo(service_factory: Any) -> AsyncIterator[RunningService]:
    async with service_factory(demo=True) as svc:
        async with CameraServiceClient(svc.ws_url, token=svc.token("viewer")) as cs:

            async def online() -> bool:
                return (await cs.cameras.get("demo")).status == "ONLINE"

            await wait_for(online, 30, 0.2, message="demo camera never came online")
        yield svc


async def _start(svc: RunningService, title: str, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
    env.update(CAMERA_SERVICE_URL=svc.ws_url, CAMERA_SERVICE_TOKEN=svc.token("admin"))
    env["PYTHONPATH"] = str(REPO_ROOT)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        scripts()[title],
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run(svc: RunningService, title: str, cwd: Path) -> str:
    proc = await _start(svc, title, cwd)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def test_every_common_task_has_a_short_script() -> None:
    found = scripts()
    for title in (
        "List cameras",
        "Take a snapshot and save it",
        "Record N seconds",
        "Follow events",
        "Export yesterday 14:00\N{EN DASH}14:05",
    ):
        assert title in found
        compile(found[title], title, "exec")
        assert len([ln for ln in found[title].splitlines() if ln.strip()]) <= 16, title


async def test_list_snapshot_and_record_scripts(demo: RunningService, tmp_path: Path) -> None:
    assert (await _run(demo, "List cameras", tmp_path)).split()[:2] == ["demo", "ONLINE"]
    out = await _run(demo, "Take a snapshot and save it", tmp_path)
    assert out.split()[0] == "demo.jpg" and (tmp_path / "demo.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    out = await _run(demo, "Record N seconds", tmp_path)
    status, path, duration = out.split()
    assert status == "STARTED" and path.startswith("demo/") and float(duration) > 1.0, out


async def test_follow_events_script(service: RunningService, tmp_path: Path) -> None:
    proc = await _start(service, "Follow events", tmp_path)
    try:
        assert proc.stdout is not None
        async with CameraServiceClient(service.ws_url, token=service.token("operator")) as cs:
            line = b""

            async def printed() -> bool:  # the script subscribes after start-up: repeat until seen
                nonlocal line
                await cs.events.create(type="alarm.doc_test")
                try:
                    line = await asyncio.wait_for(proc.stdout.readline(), 1)  # type: ignore[union-attr]
                except TimeoutError:
                    return False
                return True

            await wait_for(printed, 60, 0.1, message="the follow script printed nothing")
        assert b"alarm.doc_test" in line
    finally:
        proc.kill()
        await proc.wait()
