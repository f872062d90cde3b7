"""All SQL of the camera registry, behind a narrow class (a PostgreSQL backend can implement the same).

One row per camera: the public fields as a JSON document, the credentials as one encrypted blob, and
`seq` (creation order) for the compatibility names cameraN.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import SecretStr

from camera_service.cameras.models import Camera
from camera_service.storage.crypto import DecryptError, SecretBox
from camera_service.storage.database import Database, IntegrityError, Migration

log = logging.getLogger("camera_service.cameras")
_SEQ_ATTEMPTS = 20  # each lost race means another insert won: progress is guaranteed

MIGRATIONS = [
    Migration(
        1,
        """
        CREATE TABLE cameras (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            doc TEXT NOT NULL,
            secrets BLOB,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
    """,
    ),
]


def _secret_fields(camera: Camera) -> dict[str, Any]:
    return {
        "username": camera.username,
        "password": camera.password.get_secret_value() if camera.password else None,
        "secret_query": {k: v.get_secret_value() for k, v in camera.secret_query.items()},
        "onvif_password": camera.onvif.password.get_secret_value()
        if camera.onvif is not None and camera.onvif.password is not None
        else None,
    }


class CameraStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _row_values(self, camera: Camera) -> tuple[str, bytes | None]:
        doc = json.dumps(camera.model_dump(mode="json"), separators=(",", ":"))
        return doc, self.box.seal(_secret_fields(camera))

    def _from_row(self, doc: str, secrets: bytes | None) -> Camera:
        data: dict[str, Any] = json.loads(doc)
        data.pop("credentials_error", None)
        camera = Camera.model_validate(data)
        try:
            opened = self.box.open(secrets)
        except DecryptError as exc:
            log.error("credentials of a camera cannot be decrypted", extra={"camera": camera.id})
            camera.credentials_error = str(exc)
            return camera
        camera.username = opened.get("username")
        if opened.get("password") is not None:
            camera.password = SecretStr(opened["password"])
        camera.secret_query = {k: SecretStr(v) for k, v in (opened.get("secret_query") or {}).items()}
        if camera.onvif is not None and opened.get("onvif_password") is not None:
            camera.onvif.password = SecretStr(opened["onvif_password"])
        return camera

    async def load_all(self) -> list[tuple[int, Camera]]:
        rows = await self.db.fetch_all("SELECT seq, doc, secrets FROM cameras ORDER BY seq")
        return [(int(r["seq"]), self._from_row(r["doc"], r["secrets"])) for r in rows]

    async def versions(self) -> dict[str, float]:
        """id -> updated_at of every row (registry sync between instances, cameras/sync.py)."""
        rows = await self.db.fetch_all("SELECT id, updated_at FROM cameras")
        return {str(r["id"]): float(r["updated_at"]) for r in rows}

    async def load(self, ids: list[str]) -> list[tuple[int, Camera]]:
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetch_all(
            f"SELECT seq, doc, secrets FROM cameras WHERE id IN ({marks}) ORDER BY seq",  # noqa: S608
            tuple(ids),
        )
        return [(int(r["seq"]), self._from_row(r["doc"], r["secrets"])) for r in rows]

    async def insert(self, camera: Camera) -> int:
        """Insert; raises storage IntegrityError on a duplicate id. Returns the camera's seq."""
        doc, secrets = self._row_values(camera)
        for attempt in range(_SEQ_ATTEMPTS):
            try:
                async with self.db.tx() as tx:
                    row = await tx.fetch_one(
                        "INSERT INTO cameras(id, seq, doc, secrets, created_at, updated_at) "
                        "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM cameras), ?, ?, ?, ?) "
                        "RETURNING seq",
                        (camera.id, doc, secrets, camera.created_at, camera.updated_at),
                    )
            except IntegrityError:
                # Instances sharing PostgreSQL may pick the same next seq at once: retry that, never a
                # duplicate id.
                taken = await self.db.fetch_one("SELECT 1 FROM cameras WHERE id=?", (camera.id,))
                if taken is not None or attempt == _SEQ_ATTEMPTS - 1:
                    raise
                continue
            assert row is not None
            return int(row["seq"])
        raise AssertionError("unreachable")

    async def update(self, camera: Camera, *, keep_secrets: bool = False) -> bool:
        """Rewrite a camera. keep_secrets: leave the stored (e.g. undecryptable) credentials as they are."""
        doc, secrets = self._row_values(camera)
        if keep_secrets:
            changed = await self.db.execute(
                "UPDATE cameras SET doc=?, updated_at=? WHERE id=?", (doc, camera.updated_at, camera.id)
            )
        else:
            changed = await self.db.execute(
                "UPDATE cameras SET doc=?, secrets=?, updated_at=? WHERE id=?",
                (doc, secrets, camera.updated_at, camera.id),
            )
        return changed > 0

    async def delete(self, camera_id: str) -> bool:
        return await self.db.execute("DELETE FROM cameras WHERE id=?", (camera_id,)) > 0

    async def count(self) -> int:
        row = await self.db.fetch_one("SELECT COUNT(*) AS n FROM cameras")
        return int(row["n"]) if row else 0
