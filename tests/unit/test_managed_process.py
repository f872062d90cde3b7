"""ManagedProcess with tiny `sh -c` children and a fake clock (backoff without real sleeping)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from camera_service.mediamtx.process import ManagedProcess


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_restarts_after_exit_with_growing_backoff() -> None:
    clock = FakeClock()
    lines: list[str] = []
    p = ManagedProcess(
        "t",
        ["sh", "-c", "echo hello; exit 3"],
        log_lines=lines.append,
        backoff_initial_s=0.5,
        backoff_max_s=2.0,
        clock=clock,
    )
    exits: list[int | None] = []
    p.on_exit = exits.append
    await p.start()
    try:
        await wait_for(lambda: p.restarts >= 4)
    finally:
        await p.stop()
    assert clock.sleeps[:4] == [0.5, 1.0, 2.0, 2.0]
    assert 3 in exits and "hello" in lines
    assert not p.supervising


async def test_backoff_resets_after_stable_run() -> None:
    clock = FakeClock()
    p = ManagedProcess(
        "t",
        ["sh", "-c", "exit 1"],
        backoff_initial_s=1.0,
        backoff_max_s=8.0,
        stable_after_s=30.0,
        clock=clock,
    )

    async def on_start(_pid: int) -> None:
        if p.restarts == 2:
            clock.now += 60  # pretend the third run stayed up for a minute

    p.on_start = on_start
    await p.start()
    try:
        await wait_for(lambda: len(clock.sleeps) >= 4)
    finally:
        await p.stop()
    assert clock.sleeps[:4] == [1.0, 2.0, 1.0, 2.0]


async def test_no_restart_when_disabled() -> None:
    p = ManagedProcess("t", ["sh", "-c", "exit 0"], restart=False)
    await p.start()
    await wait_for(lambda: not p.supervising)
    assert p.restarts == 0 and p.last_returncode == 0 and not p.running
    await p.stop()


async def test_stop_kills_process_group() -> None:
    lines: list[str] = []
    # The shell ignores SIGTERM and its child sleeps: stop must escalate and reach the grandchild.
    p = ManagedProcess("t", ["sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait"], log_lines=lines.append)
    await p.start()
    await wait_for(lambda: bool(lines))
    grandchild = int(lines[0])
    pid = p.pid
    assert pid is not None and p.running and alive(grandchild)
    t0 = time.monotonic()
    await p.stop(timeout=0.5)
    assert time.monotonic() - t0 < 3
    assert (p.running, p.pid, p.restarts) == (False, None, 0)
    await wait_for(lambda: not alive(grandchild), 2.0)


async def test_sigkill_is_restarted_and_stop_during_backoff() -> None:
    p = ManagedProcess("t", ["sh", "-c", "exec sleep 60"], backoff_initial_s=0.05)
    await p.start()
    first = p.pid
    assert first is not None
    os.kill(first, 9)
    await wait_for(lambda: p.restarts == 1 and p.running)
    assert p.pid != first and p.last_returncode == -9
    await p.stop()
    slow = ManagedProcess("t", ["sh", "-c", "exit 1"], backoff_initial_s=30.0)
    await slow.start()
    await wait_for(lambda: slow.last_backoff_s is not None)
    t0 = time.monotonic()
    await slow.stop()  # cancels the 30 s backoff at once
    assert time.monotonic() - t0 < 1 and not slow.supervising


async def test_missing_binary_raises_on_start() -> None:
    p = ManagedProcess("t", ["/nonexistent/binary"])
    with pytest.raises(FileNotFoundError):
        await p.start()


async def test_long_lines_do_not_stall() -> None:
    lines: list[str] = []
    p = ManagedProcess(
        "t",
        ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo; echo done"],
        log_lines=lines.append,
        restart=False,
    )
    await p.start()
    await wait_for(lambda: not p.supervising)
    assert lines[-1] == "done" and sum(len(x) for x in lines[:-1]) == 200000


async def test_output_to_a_file_is_appended_not_piped(tmp_path: Path) -> None:
    out = tmp_path / "child.log"
    out.write_text("before\n")
    lines: list[str] = []
    p = ManagedProcess(
        "t",
        ["sh", "-c", "echo out; echo err >&2; exit 0"],
        log_lines=lines.append,
        output_path=out,
        restart=False,
    )
    await p.start()
    await wait_for(lambda: not p.supervising)
    assert out.read_text().splitlines() == ["before", "out", "err"]
    assert lines == []  # nothing is captured: the file is the only output
    fds = ManagedProcess("t", ["sh", "-c", "ls -l /proc/$$/fd/1"], output_path=out, restart=False)
    await fds.start()
    await wait_for(lambda: not fds.supervising)
    assert out.read_text().splitlines()[-1].endswith(f"-> {out}")  # stdout is the file itself


async def test_before_start_runs_before_every_spawn(tmp_path: Path) -> None:
    """before_start (e.g. re-render a config) runs before the first spawn and before each restart; the
    child sees what it wrote. A failing hook is logged and the child still starts."""
    conf = tmp_path / "conf"
    out = tmp_path / "out"
    clock = FakeClock()
    p = ManagedProcess("t", ["sh", "-c", f"cat {conf} >> {out}; exit 1"], clock=clock)
    n = 0

    async def render() -> None:
        nonlocal n
        n += 1
        if n == 3:
            raise RuntimeError("render failed")
        conf.write_text(f"v{n}\n")

    p.before_start = render
    await p.start()
    try:
        await wait_for(lambda: p.restarts >= 3 and out.exists() and len(out.read_text().split()) >= 4)
    finally:
        await p.stop()
    assert out.read_text().split()[:4] == ["v1", "v2", "v2", "v4"]
