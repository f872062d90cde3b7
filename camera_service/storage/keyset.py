"""Keyset (seek) pagination, newest first, over a table with `time REAL` and an increasing `seq`.

One page is `ORDER BY time DESC, seq DESC LIMIT n+1` after the opaque cursor's (time, seq): stable under
inserts, and an index on (time, seq) serves it on SQLite and PostgreSQL alike. The events and analytics
stores share it (their cursors are the same format, so cursors handed out before stay valid).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from camera_service.storage.database import Database, Row


def encode_cursor(time: float, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{time!r}:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, int]:
    """Raises ValueError for anything that is not a cursor this module issued."""
    try:
        t, s = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return float(t), int(s)
    except Exception as exc:
        raise ValueError("not a valid cursor") from exc


async def newest_first(
    db: Database, table: str, where: Sequence[str], args: Sequence[object], *, cursor: str | None, limit: int
) -> tuple[list[Row], str | None]:
    """One page of `table` (a module constant; `where` holds fixed clauses, values are bound) and the
    next page's cursor (None at the end)."""
    clauses, values = list(where), list(args)
    if cursor:
        t, s = decode_cursor(cursor)
        clauses.append("(time<? OR (time=? AND seq<?))")
        values.extend([t, t, s])
    sql = f"SELECT * FROM {table}"  # noqa: S608 - fixed table and clauses; values are bound
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = await db.fetch_all(sql + " ORDER BY time DESC, seq DESC LIMIT ?", [*values, limit + 1])
    page = rows[:limit]
    nxt = encode_cursor(page[-1]["time"], page[-1]["seq"]) if len(rows) > limit else None
    return page, nxt
