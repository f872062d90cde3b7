"""camctl output: tables for people, JSON for scripts, a progress bar on stderr."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime
from typing import TextIO, TypeGuard

from camera_service.core.types import JsonObject, JsonValue

MAX_COLUMNS = 8
MAX_CELL = 48
MAX_VALUE = 100
# Columns people look for first; the others follow in the result's own order.
PRIORITY = (
    "id",
    "name",
    "username",
    "camera",
    "type",
    "status",
    "state",
    "severity",
    "role",
    "time",
    "start",
)
Scalar = (str, int, float, bool, type(None))


def to_json(value: object) -> str:
    # default=str: whatever is not JSON (a datetime) prints as text
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _readable(key: str, value: JsonValue) -> JsonValue:
    """Unix times (`time`, `*_at`, `last_seen`, ...) as local ISO 8601 for people; --json keeps numbers."""
    timeish = key in ("time", "last_seen", "online_since") or key.endswith("_at")
    if timeish and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 1e9:
        return datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")
    return value


def _cell(value: JsonValue, limit: int = MAX_CELL) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    text = str(text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _columns(rows: list[JsonObject]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    scalar = [k for k in keys if all(isinstance(r.get(k), Scalar) for r in rows)]
    scalar = [k for k in PRIORITY if k in scalar] + [k for k in scalar if k not in PRIORITY]
    if len(scalar) > MAX_COLUMNS:  # URLs and compat duplicates are the least useful on a terminal
        scalar = [k for k in scalar if not k.endswith(("_url", "_time"))] or scalar
    return scalar[:MAX_COLUMNS]


def table(rows: list[JsonObject], out: TextIO) -> None:
    if not rows:
        out.write("(none)\n")
        return
    cols = _columns(rows)
    cells = [[_cell(_readable(c, r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out.write("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _is_rows(value: JsonValue) -> TypeGuard[list[JsonObject]]:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def show(result: JsonValue, *, as_json: bool, out: TextIO | None = None) -> None:
    """Print a method's result: the list in it as a table (other fields below), else key: value lines."""
    out = out or sys.stdout
    if as_json:
        out.write(to_json(result) + "\n")
        return
    if _is_rows(result):
        table(result, out)
        return
    if result == []:
        table([], out)
        return
    if isinstance(result, dict):
        lists = [k for k, v in result.items() if _is_rows(v) or v == []]
        if len(lists) == 1:
            rows = result[lists[0]]
            table(rows if _is_rows(rows) else [], out)
            rest = {k: v for k, v in result.items() if k != lists[0] and v is not None}
            if rest:
                out.write("  ".join(f"{k}: {_cell(v)}" for k, v in rest.items()) + "\n")
            return
        width = max((len(k) for k in result), default=0)
        for key, value in result.items():
            out.write(f"{key.ljust(width)}  {_cell(_readable(key, value), MAX_VALUE)}\n")  # --json: all
        return
    out.write(f"{result}\n")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class ProgressBar:
    """`[#######-----]  58%  1.2 MB / 2.1 MB` redrawn in place on stderr."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 40))
        if total:
            filled = int(width * done / total)
            bar = f"[{'#' * filled}{'-' * (width - filled)}] {100 * done // total:3d}%"
            text = f"\r{self.label} {bar}  {_size(done)} / {_size(total)}"
        else:
            text = f"\r{self.label} {_size(done)}"
        self.stream.write(text)
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
