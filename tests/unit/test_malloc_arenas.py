"""The service caps glibc's malloc arenas at start-up, unless the operator chose a value."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = "from camera_service.core.malloc import limit_malloc_arenas; print(limit_malloc_arenas())"


def _run(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env_extra
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_applied_on_glibc() -> None:
    # This project's machines and image are Debian (glibc): the cap must take effect there.
    assert _run({}) == "True"


def test_operator_value_wins() -> None:
    assert _run({"MALLOC_ARENA_MAX": "4"}) == "False"
