"""Shared pieces of the analytics integration tests: models, photo cameras, polling."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.harness.ffmpeg import even_size_filter, image_loop_args

REPO_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def models_dir() -> Path:
    """The models folder made by scripts/install-models.sh (run it when missing: fast when cached)."""
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install-models.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def photo(name: str) -> Path:
    return models_dir() / "testdata" / f"{name}.png"


def overrides(**analytics: Any) -> dict[str, Any]:
    return {"analytics": {"models_dir": str(models_dir()), **analytics}}


async def photo_camera(factory: Any, url: str, name: str, fps: int = 5) -> Any:
    """Publish a looped still photo to `url` (keyframe every 0.5 s)."""
    return await factory(
        url,
        fps=fps,
        gop=max(1, fps // 2),
        input_args=image_loop_args(photo(name), fps),
        extra_args=even_size_filter(),
    )


async def wait_for(
    probe: Callable[[], Awaitable[Any]], timeout: float = 60.0, interval: float = 0.3, what: str = ""
) -> Any:
    """Poll `probe` until it returns something truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: last={last!r}")
