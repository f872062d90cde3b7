"""All SQL of the recordings domain's rows: segment index, clips, snapshots, recording sessions, settings.

The tables are in migrations.py; the per-camera disk usage aggregate is usage.py.

Times are unix seconds (UTC floats). Paths are stored relative to their storage root so the roots can move.
"""
# ruff: noqa: S608 - f-strings only splice module constants (column lists) and fixed clauses; values are bound.

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from camera_service.recordings.models import Clip, RecordingSession, Segment, Snapshot
from camera_service.storage.database import Database, IntegrityError, Row

_SEG_COLS = "id, camera, path, start, duration_s, size, codec, width, height, kind"
_CLIP_COLS = (
    'id, camera, name, start, "end", path, thumbnail, size, duration_s, codec, width, height, locked, '
    "kind, created_at"
)
_SNAP_COLS = "id, camera, path, format, width, height, size, created_at"
_SESS_COLS = "id, camera, started_at, duration_s, stop_at, stopped_at, stop_reason, requested_by"


def _seg(row: Row) -> Segment:
    return Segment(**dict(row))


def _clip(row: Row) -> Clip:
    d = dict(row)
    d["locked"] = bool(d["locked"])
    return Clip(**d)


class RecordingStore:
    def __init__(self, db: Database, owner: str | None = None) -> None:
        """`owner` (several instances): this instance's id, written on the clip and snapshot rows it
        creates (the files are on its disk)."""
        self.db = db
        self.owner = owner

    # ---- statistics (get_statistics) ---------------------------------------------------------------

    async def recorded_totals(
        self, start: float, end: float, cameras: list[str]
    ) -> dict[str, tuple[float, int]]:
        """camera -> (recorded seconds clipped to [start, end), bytes of the segments overlapping it)."""
        marks = ",".join("?" * len(cameras))
        # CASE, not SQLite's 2-argument MIN/MAX: the same SQL runs on PostgreSQL (storage/dialect.py).
        rows = await self.db.fetch_all(
            "SELECT camera, SUM(CASE WHEN start + duration_s < ? THEN start + duration_s ELSE ? END"
            " - CASE WHEN start > ? THEN start ELSE ? END), SUM(size) FROM rec_segments "
            f"WHERE start < ? AND start + duration_s > ? AND camera IN ({marks}) GROUP BY camera",
            (end, end, start, start, end, start, *cameras),
        )
        return {str(r[0]): (float(r[1] or 0.0), int(r[2] or 0)) for r in rows}

    async def snapshot_counts(self, start: float, end: float, cameras: list[str]) -> dict[str, int]:
        marks = ",".join("?" * len(cameras))
        rows = await self.db.fetch_all(
            "SELECT camera, COUNT(*) FROM rec_snapshots "
            f"WHERE created_at>=? AND created_at<? AND camera IN ({marks}) GROUP BY camera",
            (start, end, *cameras),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # ---- segments ----------------------------------------------------------------------------------

    async def upsert_segment(
        self, seg: Segment, owner: str | None = None, epoch: int | None = None
    ) -> Segment:
        """Insert or update a segment row; `owner`/`epoch`: the recording instance and its lease epoch."""
        await self.db.execute(
            "INSERT INTO rec_segments(owner, epoch, camera, path, start, duration_s, size, codec, width, "
            "height, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET "
            "duration_s=excluded.duration_s, size=excluded.size, codec=excluded.codec, width=excluded.width, "
            "height=excluded.height",
            (
                owner,
                epoch,
                seg.camera,
                seg.path,
                seg.start,
                seg.duration_s,
                seg.size,
                seg.codec,
                seg.width,
                seg.height,
                seg.kind,
            ),
        )
        row = await self.db.fetch_one(f"SELECT {_SEG_COLS} FROM rec_segments WHERE path=?", (seg.path,))
        assert row is not None
        return _seg(row)

    async def segment_paths(self, owner: str | None = None) -> dict[str, int]:
        """path -> size of the indexed segments (only those `owner` recorded, when given: several
        instances share one index but each has its own disk)."""
        if owner is None:
            rows = await self.db.fetch_all("SELECT path, size FROM rec_segments")
        else:
            rows = await self.db.fetch_all("SELECT path, size FROM rec_segments WHERE owner=?", (owner,))
        return {r["path"]: r["size"] for r in rows}

    async def get_segment(self, *, seg_id: int | None = None, path: str | None = None) -> Segment | None:
        if seg_id is not None:
            row = await self.db.fetch_one(f"SELECT {_SEG_COLS} FROM rec_segments WHERE id=?", (seg_id,))
        else:
            row = await self.db.fetch_one(f"SELECT {_SEG_COLS} FROM rec_segments WHERE path=?", (path,))
        return _seg(row) if row else None

    async def list_segments(
        self,
        camera: str | None = None,
        start: float | None = None,
        end: float | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        before: tuple[float, int] | None = None,
        cameras: Collection[str] | None = None,
        ascending: bool = False,
        owner: str | None = None,
    ) -> list[Segment]:
        where, args = self._seg_filter(camera, start, end, cameras)
        if owner is not None:  # one instance's rows of a shared index (retention)
            where.append("owner = ?")
            args.append(owner)
        if before is not None:
            op = ">" if ascending else "<"
            where.append(f"(start {op} ? OR (start = ? AND id {op} ?))")
            args += [before[0], before[0], before[1]]
        order = "ASC" if ascending else "DESC"
        sql = (
            f"SELECT {_SEG_COLS} FROM rec_segments {_where(where)} ORDER BY start {order}, id {order} "
            "LIMIT ? OFFSET ?"
        )
        return [_seg(r) for r in await self.db.fetch_all(sql, [*args, limit, offset])]

    async def count_segments(
        self,
        camera: str | None = None,
        start: float | None = None,
        end: float | None = None,
        cameras: Collection[str] | None = None,
    ) -> int:
        where, args = self._seg_filter(camera, start, end, cameras)
        row = await self.db.fetch_one(f"SELECT COUNT(*) FROM rec_segments {_where(where)}", args)
        return int(row[0]) if row else 0

    @staticmethod
    def _seg_filter(
        camera: str | None, start: float | None, end: float | None, cameras: Collection[str] | None
    ) -> tuple[list[str], list[Any]]:
        where, args = _camera_filter(camera, cameras)
        if start is not None:
            where.append("start + duration_s > ?")
            args.append(start)
        if end is not None:
            where.append("start < ?")
            args.append(end)
        return where, args

    async def delete_segments(self, paths: Sequence[str]) -> None:
        if paths:
            await self.db.execute_many("DELETE FROM rec_segments WHERE path=?", [(p,) for p in paths])

    # ---- clips -------------------------------------------------------------------------------------

    async def insert_clip(self, clip: Clip) -> None:
        d = clip.model_dump()
        await self.db.execute(
            f"INSERT INTO rec_clips({_CLIP_COLS}, owner) VALUES ({','.join('?' * 16)})",
            [
                d["id"],
                d["camera"],
                d["name"],
                d["start"],
                d["end"],
                d["path"],
                d["thumbnail"],
                d["size"],
                d["duration_s"],
                d["codec"],
                d["width"],
                d["height"],
                int(d["locked"]),
                d["kind"],
                d["created_at"],
                self.owner,
            ],
        )

    async def get_clip(self, clip_id: str) -> Clip | None:
        row = await self.db.fetch_one(f"SELECT {_CLIP_COLS} FROM rec_clips WHERE id=?", (clip_id,))
        return _clip(row) if row else None

    async def list_clips(
        self,
        camera: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        locked: bool | None = None,
        cameras: Collection[str] | None = None,
        owner: str | None = None,
    ) -> list[Clip]:
        where, args = self._clip_filter(camera, locked, cameras)
        if owner is not None:  # one instance's rows (retention: its own disk)
            where.append("owner = ?")
            args.append(owner)
        rows = await self.db.fetch_all(
            f"SELECT {_CLIP_COLS} FROM rec_clips {_where(where)} "
            "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [_clip(r) for r in rows]

    async def count_clips(
        self, camera: str | None = None, *, locked: bool | None = None, cameras: Collection[str] | None = None
    ) -> int:
        where, args = self._clip_filter(camera, locked, cameras)
        row = await self.db.fetch_one(f"SELECT COUNT(*) FROM rec_clips {_where(where)}", args)
        return int(row[0]) if row else 0

    @staticmethod
    def _clip_filter(
        camera: str | None, locked: bool | None, cameras: Collection[str] | None
    ) -> tuple[list[str], list[Any]]:
        where, args = _camera_filter(camera, cameras)
        if locked is not None:
            where.append("locked = ?")
            args.append(int(locked))
        return where, args

    async def set_clip_locked(self, clip_id: str, locked: bool) -> None:
        await self.db.execute("UPDATE rec_clips SET locked=? WHERE id=?", (int(locked), clip_id))

    async def delete_clip(self, clip_id: str) -> None:
        await self.db.execute("DELETE FROM rec_clips WHERE id=?", (clip_id,))

    async def locked_ranges(self, camera: str | None = None) -> list[tuple[str, float, float]]:
        sql = 'SELECT camera, start, "end" FROM rec_clips WHERE locked=1'
        rows = await self.db.fetch_all(sql + (" AND camera=?" if camera else ""), (camera,) if camera else ())
        return [(r[0], float(r[1]), float(r[2])) for r in rows]

    # ---- snapshots ---------------------------------------------------------------------------------

    async def insert_snapshot(self, snap: Snapshot) -> None:
        d = snap.model_dump()
        await self.db.execute(
            f"INSERT INTO rec_snapshots({_SNAP_COLS}, owner) VALUES (?,?,?,?,?,?,?,?,?)",
            [*(d[k] for k in _SNAP_COLS.split(", ")), self.owner],
        )

    async def get_snapshot(self, *, snap_id: str | None = None, path: str | None = None) -> Snapshot | None:
        key, val = ("id", snap_id) if snap_id is not None else ("path", path)
        row = await self.db.fetch_one(f"SELECT {_SNAP_COLS} FROM rec_snapshots WHERE {key}=?", (val,))
        return Snapshot(**dict(row)) if row else None

    async def list_snapshots(
        self,
        camera: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        cameras: Collection[str] | None = None,
        owner: str | None = None,
    ) -> list[Snapshot]:
        where, args = _camera_filter(camera, cameras)
        if owner is not None:  # one instance's rows (retention: its own disk)
            where.append("owner = ?")
            args.append(owner)
        rows = await self.db.fetch_all(
            f"SELECT {_SNAP_COLS} FROM rec_snapshots {_where(where)} "
            "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [Snapshot(**dict(r)) for r in rows]

    async def count_snapshots(
        self, camera: str | None = None, *, cameras: Collection[str] | None = None
    ) -> int:
        where, args = _camera_filter(camera, cameras)
        row = await self.db.fetch_one(f"SELECT COUNT(*) FROM rec_snapshots {_where(where)}", args)
        return int(row[0]) if row else 0

    async def delete_snapshot(self, snap_id: str) -> None:
        await self.db.execute("DELETE FROM rec_snapshots WHERE id=?", (snap_id,))

    # ---- sessions ----------------------------------------------------------------------------------

    async def insert_session(self, s: RecordingSession) -> None:
        d = s.model_dump()
        await self.db.execute(
            f"INSERT INTO rec_sessions({_SESS_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            [d[k] for k in _SESS_COLS.split(", ")],
        )

    async def finish_session(self, session_id: str, stopped_at: float, reason: str) -> None:
        await self.db.execute(
            "UPDATE rec_sessions SET stopped_at=?, stop_reason=? WHERE id=? AND stopped_at IS NULL",
            (stopped_at, reason, session_id),
        )

    async def active_sessions(self) -> list[RecordingSession]:
        rows = await self.db.fetch_all(f"SELECT {_SESS_COLS} FROM rec_sessions WHERE stopped_at IS NULL")
        return [RecordingSession(**dict(r)) for r in rows]

    async def last_session(self, camera: str) -> RecordingSession | None:
        row = await self.db.fetch_one(
            f"SELECT {_SESS_COLS} FROM rec_sessions WHERE camera=? ORDER BY started_at DESC LIMIT 1",
            (camera,),
        )
        return RecordingSession(**dict(row)) if row else None

    async def get_session(self, session_id: str) -> RecordingSession | None:
        row = await self.db.fetch_one(f"SELECT {_SESS_COLS} FROM rec_sessions WHERE id=?", (session_id,))
        return RecordingSession(**dict(row)) if row else None

    async def session_started_in(self, camera: str, start: float, end: float) -> RecordingSession | None:
        row = await self.db.fetch_one(
            f"SELECT {_SESS_COLS} FROM rec_sessions WHERE camera=? AND started_at>=? AND started_at<? "
            "ORDER BY started_at LIMIT 1",
            (camera, start, end),
        )
        return RecordingSession(**dict(row)) if row else None

    async def add_session_name(self, name: str, session_id: str) -> bool:
        """False when the name is taken."""
        try:
            await self.db.execute(
                "INSERT INTO rec_session_names(name, session_id) VALUES (?,?)", (name, session_id)
            )
        except IntegrityError:
            return False
        return True

    async def session_id_by_name(self, name: str) -> str | None:
        row = await self.db.fetch_one("SELECT session_id FROM rec_session_names WHERE name=?", (name,))
        return str(row[0]) if row else None

    async def session_name(self, session_id: str) -> str | None:
        row = await self.db.fetch_one("SELECT name FROM rec_session_names WHERE session_id=?", (session_id,))
        return str(row[0]) if row else None

    # ---- settings ----------------------------------------------------------------------------------

    async def get_setting(self, key: str) -> Any:
        row = await self.db.fetch_one("SELECT value FROM rec_settings WHERE key=?", (key,))
        return json.loads(row[0]) if row else None

    async def put_setting(self, key: str, value: Any) -> None:
        await self.db.execute(
            "INSERT INTO rec_settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )


def _camera_filter(camera: str | None, cameras: Collection[str] | None) -> tuple[list[str], list[Any]]:
    """One camera, and/or the caller's camera scope (None: every camera; empty: none)."""
    where: list[str] = []
    args: list[Any] = []
    if camera is not None:
        where.append("camera = ?")
        args.append(camera)
    if cameras is not None:
        where.append(f"camera IN ({','.join('?' * len(cameras)) or 'NULL'})")
        args += sorted(cameras)
    return where, args


def _where(clauses: list[str]) -> str:
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""
