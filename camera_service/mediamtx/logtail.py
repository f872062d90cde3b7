"""Follow a log file another process appends to (like `tail -F`) and hand on each complete line.

Used for MediaMTX's own log file: MediaMTX must never write into a pipe to the service (it would die of
SIGPIPE when the service is killed), so the service reads the file instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from camera_service.core.tasks import cancel_and_wait

log = logging.getLogger("camera_service.mediamtx")

_READ_CHUNK = 1 << 16
_MAX_READ_PER_POLL = 1 << 20  # keeps one poll short even when a big backlog waits
_LINE_LIMIT = 1 << 16  # a longer line is handed on in pieces


def rotate(path: Path, keep: int = 1) -> None:
    """path -> path.1 (-> path.2 ...), dropping the oldest; a missing file is fine."""
    for i in range(keep, 0, -1):
        src = path if i == 1 else path.with_name(f"{path.name}.{i - 1}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(src, path.with_name(f"{path.name}.{i}"))


class LogTailer:
    """Polls `path` every `interval_s`: new complete lines go to `on_line`.

    Survives the file being replaced (new inode: the rest of the old file is read first) and truncated
    (size below our offset: start over at 0). Once caught up past `max_bytes`, truncates the file itself so
    it cannot grow without bound (the writer must use O_APPEND, as MediaMTX does); lines a writer appends
    between that last read and the truncation are lost, a rare and bounded loss.
    """

    def __init__(
        self,
        path: Path,
        on_line: Callable[[str], None],
        *,
        interval_s: float = 0.2,
        max_bytes: int = 16 << 20,
        from_end: bool = False,
    ) -> None:
        self.path = path
        self.on_line = on_line
        self.interval_s = interval_s
        self.max_bytes = max_bytes
        self._from_end = from_end  # first open only: skip what is already there
        self._file: BinaryIO | None = None
        self._ino: int | None = None
        self._pos = 0
        self._partial = b""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self.poll()
            self._task = asyncio.create_task(self._run(), name="mediamtx-log-tail")

    async def stop(self) -> None:
        """Stop following, after handing on what the file holds now (a last line without newline too)."""
        await cancel_and_wait(self._task)
        self._task = None
        self.poll(max_total=None)
        self._flush_partial()
        if self._file is not None:
            self._file.close()
            self._file = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.poll()
            except Exception:
                log.exception("reading the MediaMTX log %s failed", self.path)

    def poll(self, max_total: int | None = _MAX_READ_PER_POLL) -> None:
        """Read what was appended since the last call (synchronous: a local file, small reads)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if self._file is not None and st.st_ino != self._ino:
            self._read(max_total=None)  # replaced: finish the old file first
            self._flush_partial()
            self._file.close()
            self._file = None
        if self._file is None:
            try:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
            except FileNotFoundError:
                return
            self._ino = os.fstat(self._file.fileno()).st_ino
            self._pos = self._file.seek(0, os.SEEK_END) if self._from_end else 0
            self._from_end = False
        if os.fstat(self._file.fileno()).st_size < self._pos:  # truncated under us
            self._flush_partial()
            self._pos = 0
        self._read(max_total)
        if self.max_bytes and self._pos >= self.max_bytes and not self._partial:
            with contextlib.suppress(OSError):
                os.truncate(self.path, 0)
                self._pos = 0

    def _read(self, max_total: int | None) -> None:
        f = self._file
        assert f is not None
        f.seek(self._pos)
        total = 0
        while max_total is None or total < max_total:
            data = f.read(_READ_CHUNK)
            if not data:
                break
            total += len(data)
            self._pos += len(data)
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        buf = self._partial + data
        *lines, self._partial = buf.split(b"\n")
        for raw in lines:
            self._emit(raw)
        while len(self._partial) > _LINE_LIMIT:
            self._emit(self._partial[:_LINE_LIMIT])
            self._partial = self._partial[_LINE_LIMIT:]

    def _flush_partial(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = b""

    def _emit(self, raw: bytes) -> None:
        try:
            self.on_line(raw.decode("utf-8", "replace").rstrip("\r"))
        except Exception:
            log.exception("MediaMTX log line handler failed")
