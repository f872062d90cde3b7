"""The event store: every persisted event with its operator state (status, tags, notes) and clip links.

All SQL of the events package's event table lives here (webhooks and rules have their own store modules);
a PostgreSQL backend can implement the same methods later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from camera_service.core.bus import Event
from camera_service.core.jsonlimits import load_stored
from camera_service.events.models import ClipState, EventStatus, StoredEvent
from camera_service.storage.database import Database, Migration, Row
from camera_service.storage.keyset import newest_first

EVENTS_DDL = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    camera TEXT,
    time REAL NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    clip_id TEXT,
    clip_state TEXT,
    clip_pre_s REAL,
    clip_post_s REAL,
    snapshot_id TEXT,
    acknowledged_by TEXT,
    acknowledged_at REAL,
    updated_at REAL,
    source TEXT NOT NULL DEFAULT 'service'
);
CREATE INDEX events_time ON events(time, seq);
CREATE INDEX events_camera_time ON events(camera, time);
CREATE INDEX events_type_time ON events(type, time);
CREATE INDEX events_status ON events(status);
CREATE INDEX events_clip_state ON events(clip_state)
"""
# Scale-out: the instance that claimed a pending clip (cuts it; NULL = not claimed yet). Version 5 of the
# events domain, registered after 2-4 (webhooks, rules, secrets at rest) in events/service.py.
CLIP_OWNER_DDL = "ALTER TABLE events ADD COLUMN clip_owner TEXT"
CLIP_OWNER_VERSION = 5

_INSERT = (
    "INSERT INTO events(id, type, camera, time, severity, severity_rank, data, source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class PendingClip:
    event: StoredEvent
    pre_s: float
    post_s: float
    owner: str | None  # the instance that claimed it; None: nobody yet


@dataclass(frozen=True)
class EventQuery:
    type: str | None = None  # exact type, or a `prefix.*` pattern
    camera: str | None = None
    cameras: frozenset[str] | None = None  # scope restriction (None: any)
    status: EventStatus | None = None
    start: float | None = None
    end: float | None = None
    min_severity_rank: int | None = None
    cursor: str | None = None
    limit: int = 100


def insert_statement(event: Event, source: str = "service") -> tuple[str, Sequence[Any]]:
    """The INSERT for one event, for callers that batch it with other statements in one transaction."""
    return _INSERT, (
        event.id,
        event.type,
        event.camera,
        event.time,
        event.severity.value,
        event.severity.rank,
        json.dumps(event.data, default=str),
        source,
    )


def _row_to_event(row: Row) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        type=row["type"],
        camera=row["camera"],
        time=row["time"],
        severity=row["severity"],
        data=load_stored(row["data"]),
        status=EventStatus(row["status"]),
        tags=json.loads(row["tags"]),
        notes=row["notes"],
        clip_id=row["clip_id"],
        clip_state=ClipState(row["clip_state"]) if row["clip_state"] else None,
        snapshot_id=row["snapshot_id"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        updated_at=row["updated_at"],
        source=row["source"],
    )


class EventStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, event: Event, source: str = "service") -> None:
        sql, params = insert_statement(event, source)
        await self.db.execute(sql, params)

    async def get(self, event_id: str) -> StoredEvent | None:
        row = await self.db.fetch_one("SELECT * FROM events WHERE id=?", (event_id,))
        return _row_to_event(row) if row else None

    async def query(self, q: EventQuery) -> tuple[list[StoredEvent], str | None]:
        """Newest first. Returns the page and the cursor of the next page (None at the end)."""
        where: list[str] = []
        args: list[Any] = []
        if q.type:
            if q.type.endswith(".*"):
                where.append("type LIKE ? ESCAPE '\\'")
                args.append(_like_prefix(q.type[:-1]) + "%")
            elif q.type != "*":
                where.append("type=?")
                args.append(q.type)
        if q.camera is not None:
            where.append("camera=?")
            args.append(q.camera)
        if q.cameras is not None:
            where.append(f"camera IN ({','.join('?' * len(q.cameras))})")
            args.extend(sorted(q.cameras))
        if q.status is not None:
            where.append("status=?")
            args.append(q.status.value)
        if q.start is not None:
            where.append("time>=?")
            args.append(q.start)
        if q.end is not None:
            where.append("time<?")
            args.append(q.end)
        if q.min_severity_rank is not None:
            where.append("severity_rank>=?")
            args.append(q.min_severity_rank)
        page, next_cursor = await newest_first(self.db, "events", where, args, cursor=q.cursor, limit=q.limit)
        return [_row_to_event(r) for r in page], next_cursor

    async def update(
        self,
        event_id: str,
        *,
        now: float,
        status: EventStatus | None = None,
        tags: list[str] | None = None,
        notes: str | None = None,
        acknowledged_by: str | None = None,
    ) -> bool:
        sets = ["updated_at=?"]
        args: list[Any] = [now]
        if status is not None:
            sets.append("status=?")
            args.append(status.value)
            if status is EventStatus.ACKNOWLEDGED:
                sets += ["acknowledged_at=?", "acknowledged_by=?"]
                args += [now, acknowledged_by]
        if tags is not None:
            sets.append("tags=?")
            args.append(json.dumps(tags))
        if notes is not None:
            sets.append("notes=?")
            args.append(notes)
        args.append(event_id)
        return await self.db.execute(f"UPDATE events SET {', '.join(sets)} WHERE id=?", args) > 0  # noqa: S608

    async def set_clip(
        self,
        event_id: str,
        state: ClipState,
        clip_id: str | None = None,
        pre_s: float | None = None,
        post_s: float | None = None,
    ) -> None:
        """A (re)requested clip (PENDING) is unclaimed again: the camera's owner claims it."""
        await self.db.execute(
            "UPDATE events SET clip_state=?, clip_id=COALESCE(?, clip_id), "
            "clip_pre_s=COALESCE(?, clip_pre_s), clip_post_s=COALESCE(?, clip_post_s), "
            "clip_owner=CASE WHEN ?='pending' THEN NULL ELSE clip_owner END WHERE id=?",
            (state.value, clip_id, pre_s, post_s, state.value, event_id),
        )

    async def claim_clip(self, event_id: str, owner: str) -> bool:
        """Take a pending, unclaimed clip for `owner`: one conditional UPDATE, so of any number of
        concurrent claims (any instances, either engine) exactly one wins."""
        changed = await self.db.execute(
            "UPDATE events SET clip_owner=? WHERE id=? AND clip_state='pending' AND clip_owner IS NULL",
            (owner, event_id),
        )
        return changed == 1

    async def set_snapshot(self, event_id: str, snapshot_id: str) -> None:
        await self.db.execute("UPDATE events SET snapshot_id=? WHERE id=?", (snapshot_id, event_id))

    async def pending_clips(self, owner: str | None = None) -> list[PendingClip]:
        """Pending clips: all of them (owner None, one instance), or those `owner` claimed and the
        unclaimed ones (scale-out: the caller claims those of the cameras it owns)."""
        sql = "SELECT * FROM events WHERE clip_state='pending'"
        args: tuple[str, ...] = ()
        if owner is not None:
            sql += " AND (clip_owner=? OR clip_owner IS NULL)"
            args = (owner,)
        rows = await self.db.fetch_all(sql + " ORDER BY seq", args)
        return [
            PendingClip(_row_to_event(r), r["clip_pre_s"] or 0.0, r["clip_post_s"] or 0.0, r["clip_owner"])
            for r in rows
        ]

    async def apply_retention(self, older_than: float | None, max_events: int) -> int:
        deleted = 0
        if older_than is not None:
            deleted += await self.db.execute("DELETE FROM events WHERE time<?", (older_than,))
        deleted += await self.db.execute(
            "DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (max_events,),
        )
        return deleted

    # ---- statistics (get_statistics) ---------------------------------------------------------------

    async def counts_by_type(
        self, start: float, end: float, cameras: list[str]
    ) -> list[tuple[str, str, str, int]]:
        """(camera, type, severity, count) of the events in [start, end) of these cameras."""
        marks = ",".join("?" * len(cameras))
        rows = await self.db.fetch_all(
            "SELECT camera, type, severity, COUNT(*) FROM events "  # noqa: S608 - only placeholders
            f"WHERE time>=? AND time<? AND camera IN ({marks}) GROUP BY camera, type, severity",
            (start, end, *cameras),
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def status_changes(self, start: float, end: float, camera: str) -> list[tuple[float, str]]:
        """(time, camera.online|offline|error) in [start, end), preceded by the last one before start."""
        topics = ("camera.online", "camera.offline", "camera.error")
        before = await self.db.fetch_all(
            "SELECT time, type FROM events WHERE camera=? AND time<? AND type IN (?,?,?) "
            "ORDER BY time DESC, seq DESC LIMIT 1",
            (camera, start, *topics),
        )
        rows = await self.db.fetch_all(
            "SELECT time, type FROM events WHERE camera=? AND time>=? AND time<? AND type IN (?,?,?) "
            "ORDER BY time, seq",
            (camera, start, end, *topics),
        )
        return [(float(r[0]), str(r[1])) for r in [*before, *rows]]

    async def count(self) -> int:
        row = await self.db.fetch_one("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def migrations(extra: Sequence[Migration] = ()) -> list[Migration]:
    """The events domain's migrations (events table first; webhooks and rules tables follow)."""
    return [Migration(1, EVENTS_DDL), *extra]
