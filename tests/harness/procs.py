"""Subprocess helpers for tests: start with captured output, stop reliably, clean up on failure."""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import os
import signal
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Safety net: whatever is still alive when the interpreter exits (e.g. a crashed test session) is killed.
_LIVE: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.kill_sync()


class ManagedProcess:
    """An asyncio subprocess in its own process group whose stdout+stderr are captured.

    The last ``ring_lines`` lines are kept in memory (see :meth:`output`); when ``log_path`` is set,
    everything is also appended to that file for post-mortem debugging.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        ring_lines: int = 500,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.name = name or Path(self.argv[0]).name
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self._ring: collections.deque[str] = collections.deque(maxlen=ring_lines)
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> ManagedProcess:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # own process group: we can signal it and all its children
        )
        _LIVE.add(self)
        self._reader = asyncio.create_task(self._pump(self.proc), name=f"{self.name}-output")
        return self

    async def _pump(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        log = self.log_path.open("a", encoding="utf-8", errors="replace") if self.log_path else None
        try:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                text = line.decode("utf-8", errors="replace").rstrip("\n")
                self._ring.append(text)
                if log is not None:
                    log.write(text + "\n")
                    log.flush()
        finally:
            if log is not None:
                log.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def output(self, last: int | None = None) -> str:
        """The captured output (the last ``last`` lines when given)."""
        lines = list(self._ring)
        if last is not None:
            lines = lines[-last:]
        return "\n".join(lines)

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the whole process group immediately (crash simulation). Does not wait."""
        self._signal_group(signal.SIGKILL)

    async def wait(self, timeout: float | None = None) -> int:
        assert self.proc is not None
        rc = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._drain()
        return rc

    async def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), 2.0)
            if not self._reader.done():
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader

    async def stop(self, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` (SIGTERM) to the process group, SIGKILL after ``timeout``; always reaps."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self._signal_group(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
                await self.proc.wait()
        # Children that ignored SIGTERM while the leader exited still share the group: finish them.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        _LIVE.discard(self)
        await self._drain()
        return self.proc.returncode

    def kill_sync(self) -> None:
        """Last-resort SIGKILL usable outside an event loop (atexit, finalizers)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} rc={self.returncode}>"


async def start_process(argv: Sequence[str], **kwargs: Any) -> ManagedProcess:
    """Start ``argv`` as a :class:`ManagedProcess` (kwargs go to its constructor)."""
    return await ManagedProcess(argv, **kwargs).start()


class ProcessGroupCleanup:
    """Registry of processes that must not outlive a test, even when the test fails.

    Fixtures ``register`` what they start and ``await cleanup.close()`` at teardown; anything still
    running is stopped (SIGTERM, then SIGKILL) in reverse start order.
    """

    def __init__(self) -> None:
        self._procs: list[ManagedProcess] = []

    def register(self, proc: ManagedProcess) -> ManagedProcess:
        self._procs.append(proc)
        return proc

    async def start(self, argv: Sequence[str], **kwargs: Any) -> ManagedProcess:
        proc = ManagedProcess(argv, **kwargs)
        self.register(proc)
        return await proc.start()

    def __len__(self) -> int:
        return len(self._procs)

    async def close(self, timeout: float = 5.0) -> None:
        procs, self._procs = self._procs[::-1], []
        for proc in procs:
            try:
                await proc.stop(timeout)
            except Exception:  # keep going: the others must die too
                proc.kill_sync()

    def kill_all_sync(self) -> None:
        for proc in self._procs:
            proc.kill_sync()
        self._procs.clear()


async def wait_for(
    predicate: Callable[[], Awaitable[Any]] | Callable[[], Any],
    timeout: float,
    interval: float = 0.1,
    *,
    message: str | Callable[[], str] | None = None,
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns a truthy value; return that value.

    Exceptions raised by the predicate count as "not yet" and are reported if the time runs out.
    Raises ``TimeoutError`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last_value: Any = None
    while True:
        try:
            value = predicate()
            if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
                value = await value
            last_value = value
            last_exc = None
            if value:
                return value
        except (AssertionError, Exception) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = message() if callable(message) else message
            parts = [f"condition not met within {timeout:.1f}s"]
            if detail:
                parts.append(detail)
            if last_exc is not None:
                parts.append(f"last error: {last_exc!r}")
            else:
                parts.append(f"last value: {last_value!r}")
            raise TimeoutError("; ".join(parts)) from last_exc
        await asyncio.sleep(interval)
