"""Registry sync for several instances on one database: rows another instance added, changed or removed
reach this instance's in-memory cache (cameras/registry.py) without a restart.

Cheap when nothing changed: one query of (id, updated_at); only changed rows are loaded and decrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from camera_service.cameras.registry import CameraCache
from camera_service.cameras.store import CameraStore


@dataclass(frozen=True)
class SyncReport:
    changed: tuple[str, ...]  # new or rewritten elsewhere, now in the cache
    removed: tuple[str, ...]  # gone from the database, dropped from the cache


async def sync_cache(store: CameraStore, cache: CameraCache) -> SyncReport:
    versions = await store.versions()
    changed = [
        cid
        for cid, updated_at in versions.items()
        if (cam := cache.find(cid)) is None or cam.updated_at != updated_at
    ]
    removed = [cid for cid in cache.ids() if cid not in versions]
    if changed:
        for seq, camera in await store.load(changed):
            cache.put(camera, seq)
    for cid in removed:
        cache.drop(cid)
    return SyncReport(tuple(sorted(changed)), tuple(removed))
