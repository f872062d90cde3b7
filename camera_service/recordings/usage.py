"""Disk usage per camera and kind (continuous segments, clips, snapshots): get_storage_info's totals,
one aggregate query over the recordings tables (migrations.py)."""

from __future__ import annotations

from dataclasses import dataclass

from camera_service.storage.database import Database


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Aggregate of one kind for one camera: files, bytes, oldest/newest (unix seconds)."""

    kind: str
    camera: str
    count: int
    bytes: int
    oldest: float | None
    newest: float | None


async def usage(db: Database) -> list[UsageRow]:
    rows = await db.fetch_all(
        "SELECT 'continuous' AS kind, camera, COUNT(*), COALESCE(SUM(size),0), MIN(start), MAX(start) "
        "FROM rec_segments GROUP BY camera "
        "UNION ALL SELECT 'clips', camera, COUNT(*), COALESCE(SUM(size),0), MIN(created_at), MAX(created_at) "
        "FROM rec_clips GROUP BY camera "
        "UNION ALL SELECT 'snapshots', camera, COUNT(*), COALESCE(SUM(size),0), MIN(created_at), "
        "MAX(created_at) "
        "FROM rec_snapshots GROUP BY camera"
    )
    return [
        UsageRow(kind=r[0], camera=r[1], count=int(r[2]), bytes=int(r[3]), oldest=r[4], newest=r[5])
        for r in rows
    ]
