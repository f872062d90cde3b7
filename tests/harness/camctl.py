"""Run `camctl` as its own process, as a person or a script would (no CAMERA_SERVICE_* leaking in)."""

from __future__ import annotations

import asyncio
import os
import sys

CAMCTL = [sys.executable, "-m", "camera_service.client.camctl"]


def camctl_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
    return {**env, **extra}


async def camctl(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one camctl run."""
    proc = await asyncio.create_subprocess_exec(
        *CAMCTL,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or camctl_env(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
