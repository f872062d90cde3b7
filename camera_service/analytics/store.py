"""SQL of the analytics domain: searchable detections and per-camera analytics settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from camera_service.storage.database import Database, Migration, Row
from camera_service.storage.keyset import newest_first

ANALYTICS_DDL = """
CREATE TABLE analytics_detections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    camera TEXT NOT NULL,
    time REAL NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    track_id TEXT,
    zone TEXT,
    box TEXT NOT NULL,
    plate TEXT,
    snapshot_id TEXT
);
CREATE INDEX analytics_detections_time ON analytics_detections(time, seq);
CREATE INDEX analytics_detections_camera_time ON analytics_detections(camera, time);
CREATE INDEX analytics_detections_label_time ON analytics_detections(label, time);
CREATE TABLE analytics_cameras (
    camera TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    settings TEXT NOT NULL,
    updated_at REAL NOT NULL
)
"""

ACTIVITY_DDL = """
CREATE TABLE analytics_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    event_id TEXT
);
CREATE INDEX analytics_activity_camera_start ON analytics_activity(camera, start)
"""

MIGRATIONS = [Migration(1, ANALYTICS_DDL), Migration(2, ACTIVITY_DDL)]


@dataclass(frozen=True)
class Activity:
    kind: str  # motion | object
    start: float
    end: float
    label: str | None = None
    event_id: str | None = None


class DetectionRecord(BaseModel):
    event_id: str = Field(description="Id of the detection event (get_event).")
    camera: str
    time: float = Field(description="Unix time of the best frame.")
    label: str = Field(description="Class: person, car, face, plate, ...")
    score: float = Field(description="Best score of the tracked object.")
    track_id: str | None = Field(None, description="Track id (one per tracked object).")
    zone: str | None = Field(None, description="Zone the object stood in, if any.")
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 normalised 0..1.")
    plate: str | None = Field(None, description="Plate text, letters and digits only (AB123CD).")
    snapshot_id: str | None = Field(None, description="Best-frame snapshot (get_snapshot).")


@dataclass(frozen=True)
class DetectionQuery:
    label: str | None = None
    camera: str | None = None
    cameras: frozenset[str] | None = None  # scope (None: any)
    start: float | None = None
    end: float | None = None
    min_score: float | None = None
    zone: str | None = None
    plate: str | None = None  # substring, case-insensitive, spaces ignored
    cursor: str | None = None
    limit: int = 100


def _record(row: Row) -> DetectionRecord:
    return DetectionRecord(
        event_id=row["event_id"],
        camera=row["camera"],
        time=row["time"],
        label=row["label"],
        score=row["score"],
        track_id=row["track_id"],
        zone=row["zone"],
        box=tuple(json.loads(row["box"])),
        plate=row["plate"],
        snapshot_id=row["snapshot_id"],
    )


def normalise_plate(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


class AnalyticsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, rec: DetectionRecord) -> None:
        await self.db.execute(
            "INSERT INTO analytics_detections"
            "(event_id, camera, time, label, score, track_id, zone, box, plate, snapshot_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                rec.event_id,
                rec.camera,
                rec.time,
                rec.label,
                rec.score,
                rec.track_id,
                rec.zone,
                json.dumps(list(rec.box)),
                normalise_plate(rec.plate) if rec.plate else None,
                rec.snapshot_id,
            ),
        )

    async def search(self, q: DetectionQuery) -> tuple[list[DetectionRecord], str | None]:
        """Newest first; returns the page and the next page's cursor (None at the end)."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("label", q.label), ("camera", q.camera), ("zone", q.zone)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if q.cameras is not None:
            where.append(f"camera IN ({','.join('?' * len(q.cameras))})")
            args.extend(sorted(q.cameras))
        if q.start is not None:
            where.append("time>=?")
            args.append(q.start)
        if q.end is not None:
            where.append("time<?")
            args.append(q.end)
        if q.min_score is not None:
            where.append("score>=?")
            args.append(q.min_score)
        if q.plate:
            where.append("plate LIKE ?")  # letters and digits only: no LIKE wildcard to escape
            args.append(f"%{normalise_plate(q.plate)}%")
        page, nxt = await newest_first(
            self.db, "analytics_detections", where, args, cursor=q.cursor, limit=q.limit
        )
        return [_record(r) for r in page], nxt

    async def add_activity(self, camera: str, a: Activity) -> None:
        await self.db.execute(
            'INSERT INTO analytics_activity(camera, kind, label, start, "end", event_id) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            (camera, a.kind, a.label, a.start, a.end, a.event_id),
        )

    async def extend_activity(self, event_id: str, end: float) -> None:
        await self.db.execute(
            'UPDATE analytics_activity SET "end"=CASE WHEN "end" > ? THEN "end" ELSE ? END WHERE event_id=?',
            (end, end, event_id),
        )

    async def activity(self, camera: str, start: float, end: float, limit: int = 10_000) -> list[Activity]:
        """Motion periods and object presence of a camera overlapping [start, end), oldest first."""
        rows = await self.db.fetch_all(
            'SELECT kind, label, start, "end", event_id FROM analytics_activity '
            'WHERE camera=? AND start<? AND "end">=? ORDER BY start LIMIT ?',
            (camera, end, start, limit),
        )
        return [Activity(r["kind"], r["start"], r["end"], r["label"], r["event_id"]) for r in rows]

    async def prune(self, older_than: float) -> int:
        n = await self.db.execute('DELETE FROM analytics_activity WHERE "end"<?', (older_than,))
        return n + await self.db.execute("DELETE FROM analytics_detections WHERE time<?", (older_than,))

    # --- per-camera settings ---
    async def camera_settings(self) -> dict[str, tuple[bool, dict[str, Any]]]:
        rows = await self.db.fetch_all("SELECT camera, enabled, settings FROM analytics_cameras")
        return {r["camera"]: (bool(r["enabled"]), json.loads(r["settings"])) for r in rows}

    async def save_camera(self, camera: str, enabled: bool, settings: dict[str, Any], now: float) -> None:
        await self.db.execute(
            "INSERT INTO analytics_cameras(camera, enabled, settings, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(camera) DO UPDATE SET enabled=excluded.enabled, settings=excluded.settings, "
            "updated_at=excluded.updated_at",
            (camera, int(enabled), json.dumps(settings), now),
        )

    async def delete_camera(self, camera: str) -> None:
        await self.db.execute("DELETE FROM analytics_cameras WHERE camera=?", (camera,))
