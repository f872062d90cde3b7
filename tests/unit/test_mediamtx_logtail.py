"""LogTailer follows a file another process appends to: appends, partial lines, truncation, replacement."""

from __future__ import annotations

import os
from pathlib import Path

from camera_service.mediamtx.logtail import LogTailer, rotate


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


async def test_follows_appends_partial_lines_truncation_and_replacement(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    lines: list[str] = []
    t = LogTailer(log, lines.append, interval_s=60)  # polled by hand below
    t.poll()  # no file yet: nothing, no error
    append(log, "one\ntw")
    t.poll()
    assert lines == ["one"]
    append(log, "o\n")
    t.poll()
    assert lines == ["one", "two"]
    os.truncate(log, 0)  # truncated by someone else, then written again
    append(log, "three\n")
    t.poll()
    assert lines[-1] == "three"
    append(log, "four\n")  # the old file gets a last line, then a new file takes its name
    rotate(log)
    append(log, "five\n")
    t.poll()
    assert lines[-2:] == ["four", "five"] and (tmp_path / "m.log.1").exists()
    append(log, "last, no newline")
    await t.stop()
    assert lines[-1] == "last, no newline"


async def test_from_end_skips_old_lines_and_caps_the_size(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    append(log, "old\n")
    lines: list[str] = []
    t = LogTailer(log, lines.append, interval_s=60, from_end=True, max_bytes=10)
    t.poll()
    append(log, "new line 1\n")
    t.poll()
    assert lines == ["new line 1"]
    assert log.stat().st_size == 0  # caught up past max_bytes: truncated
    append(log, "after\n")
    t.poll()
    await t.stop()
    assert lines == ["new line 1", "after"]
