"""All SQL of the cluster: instance heartbeats and camera leases (PostgreSQL in production; the
statements are portable, so the store is also tested on SQLite).

Times are unix seconds from the DATABASE's clock (`now_sql`), never an instance's: leases and heartbeats
compare against one clock, so instances' clock skew cannot make two of them owners at once.
"""
# ruff: noqa: S608 - f-strings only splice the dialect's clock expression and placeholder lists.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from camera_service.cluster.assign import Lease
from camera_service.storage.database import Database, Migration

MIGRATIONS = [
    Migration(
        1,
        """
CREATE TABLE cluster_instances (
  id TEXT PRIMARY KEY, ws_url TEXT NOT NULL, rtsp_url TEXT, hls_url TEXT, webrtc_url TEXT,
  started_at REAL NOT NULL, heartbeat_at REAL NOT NULL);
CREATE TABLE camera_owner (
  camera_id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, lease_expires_at REAL NOT NULL,
  epoch INTEGER NOT NULL);
CREATE INDEX camera_owner_instance ON camera_owner(instance_id)
""",
    ),
    Migration(
        2,
        """
ALTER TABLE cluster_instances ADD COLUMN rtmp_url TEXT;
ALTER TABLE cluster_instances ADD COLUMN srt_url TEXT
""",
    ),
]

_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
}


@dataclass(frozen=True)
class Member:
    """An instance as the others reach it (its heartbeat row)."""

    id: str
    ws_url: str
    rtsp_url: str | None = None
    hls_url: str | None = None
    webrtc_url: str | None = None
    rtmp_url: str | None = None
    srt_url: str | None = None


class ClusterStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.now = _NOW[db.dialect]

    async def heartbeat(self, me: Member) -> None:
        await self.db.execute(
            "INSERT INTO cluster_instances(id, ws_url, rtsp_url, hls_url, webrtc_url, rtmp_url, srt_url, "
            f"started_at, heartbeat_at) VALUES (?,?,?,?,?,?,?,{self.now},{self.now}) ON CONFLICT(id) DO "
            "UPDATE SET ws_url=excluded.ws_url, rtsp_url=excluded.rtsp_url, hls_url=excluded.hls_url, "
            "webrtc_url=excluded.webrtc_url, rtmp_url=excluded.rtmp_url, srt_url=excluded.srt_url, "
            "heartbeat_at=excluded.heartbeat_at",
            (me.id, me.ws_url, me.rtsp_url, me.hls_url, me.webrtc_url, me.rtmp_url, me.srt_url),
        )

    async def members(self) -> tuple[dict[str, tuple[Member, float]], float]:
        """Every instance row with its last heartbeat, and the database's now."""
        rows = await self.db.fetch_all(
            "SELECT id, ws_url, rtsp_url, hls_url, webrtc_url, rtmp_url, srt_url, heartbeat_at, "
            f"{self.now} AS now FROM cluster_instances"
        )
        out = {
            str(r["id"]): (
                Member(
                    str(r["id"]),
                    r["ws_url"],
                    r["rtsp_url"],
                    r["hls_url"],
                    r["webrtc_url"],
                    r["rtmp_url"],
                    r["srt_url"],
                ),
                float(r["heartbeat_at"]),
            )
            for r in rows
        }
        now = float(rows[0]["now"]) if rows else await self.db_now()
        return out, now

    async def db_now(self) -> float:
        row = await self.db.fetch_one(f"SELECT {self.now} AS now")
        assert row is not None
        return float(row["now"])

    async def leave(self, instance_id: str) -> None:
        await self.db.execute("DELETE FROM cluster_instances WHERE id=?", (instance_id,))

    async def forget_dead(self, older_than_s: float) -> int:
        """Drop instance rows silent for `older_than_s` (long dead: nobody routes to them)."""
        return await self.db.execute(
            f"DELETE FROM cluster_instances WHERE heartbeat_at < {self.now} - ?", (older_than_s,)
        )

    async def leases(self) -> tuple[dict[str, Lease], float]:
        rows = await self.db.fetch_all(
            f"SELECT camera_id, instance_id, lease_expires_at, epoch, {self.now} AS now FROM camera_owner"
        )
        leases = {
            str(r["camera_id"]): Lease(
                str(r["camera_id"]), str(r["instance_id"]), float(r["lease_expires_at"]), int(r["epoch"])
            )
            for r in rows
        }
        now = float(rows[0]["now"]) if rows else await self.db_now()
        return leases, now

    async def claim(self, camera_id: str, me: str, ttl_s: float) -> int | None:
        """Take a free or expired lease in ONE statement; the new epoch, or None when another instance's
        lease still runs. The epoch grows on every claim (a change of hands), never on a renewal."""
        async with self.db.tx() as tx:
            row = await tx.fetch_one(
                "INSERT INTO camera_owner(camera_id, instance_id, lease_expires_at, epoch) "
                f"VALUES (?, ?, {self.now} + ?, 1) ON CONFLICT(camera_id) DO UPDATE SET "
                "instance_id=excluded.instance_id, lease_expires_at=excluded.lease_expires_at, "
                "epoch=camera_owner.epoch + 1 "
                f"WHERE camera_owner.lease_expires_at <= {self.now} RETURNING epoch",
                (camera_id, me, ttl_s),
            )
        return int(row["epoch"]) if row is not None else None

    async def renew(self, camera_ids: Sequence[str], me: str, ttl_s: float) -> dict[str, int]:
        """Extend our unexpired leases (one statement); camera -> epoch of those renewed. A lease that
        expired is not renewed (someone may have taken it since): it must be claimed again."""
        if not camera_ids:
            return {}
        marks = ",".join("?" * len(camera_ids))
        async with self.db.tx() as tx:
            rows = await tx.fetch_all(
                f"UPDATE camera_owner SET lease_expires_at = {self.now} + ? "
                f"WHERE instance_id=? AND lease_expires_at > {self.now} AND camera_id IN ({marks}) "
                "RETURNING camera_id, epoch",
                (ttl_s, me, *camera_ids),
            )
        return {str(r["camera_id"]): int(r["epoch"]) for r in rows}

    async def release(self, camera_id: str, me: str, epoch: int) -> bool:
        """End our lease now (after stopping the camera), so its new owner claims it at once."""
        changed = await self.db.execute(
            f"UPDATE camera_owner SET lease_expires_at = {self.now} "
            "WHERE camera_id=? AND instance_id=? AND epoch=?",
            (camera_id, me, epoch),
        )
        return changed > 0

    async def release_all(self, me: str, camera_ids: Sequence[str]) -> int:
        """End our leases of these cameras now (stopping: their paths are already stopped here)."""
        if not camera_ids:
            return 0
        marks = ",".join("?" * len(camera_ids))
        return await self.db.execute(
            f"UPDATE camera_owner SET lease_expires_at = {self.now} "
            f"WHERE instance_id=? AND lease_expires_at > {self.now} AND camera_id IN ({marks})",
            (me, *camera_ids),
        )

    async def drop(self, camera_ids: Sequence[str]) -> None:
        """Delete the lease rows of cameras that no longer exist."""
        if camera_ids:
            marks = ",".join("?" * len(camera_ids))
            await self.db.execute(f"DELETE FROM camera_owner WHERE camera_id IN ({marks})", tuple(camera_ids))
