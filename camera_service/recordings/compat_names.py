"""Names clients of the established protocol use for stored files (camerarecorder.md §1).

The old server stored files flat (`camera0_2025-01-01_12-00-00.mp4`); ours live in per-camera folders
(`<camera>/<UTC start>.mp4`). A name is tried as given, then in its flat form (`<camera>_<rest>`, the
camera also as its compat name cameraN), then as a bare file name when exactly one file has it
(a snapshot stored under a client-chosen name).
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from camera_service.core.errors import NotFound
from camera_service.recordings.models import Segment, Snapshot

if TYPE_CHECKING:
    from camera_service.recordings.service import RecordingsService

# <camera>_<YYYY-MM-DD_...>: the camera part is the shortest prefix followed by "_<date>".
_FLAT = re.compile(r"^(?P<cam>[A-Za-z0-9][A-Za-z0-9_.:-]*?)_(?P<rest>\d{4}-\d{2}-\d{2}_[^/]+)$")
_LIKE_ESCAPE = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\"})


def client_file_name(raw: str, ext: str, suffix: str, *, unique: bool = False) -> str:
    """A client-chosen file name made safe: its last path part only, characters outside [A-Za-z0-9._-]
    replaced by '_', no leading dot, at most 120 characters, ending in `.ext` (`-suffix` added before the
    extension when `unique`). Always a single plain name that downloads.safe_relative accepts."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".-") or "snapshot"
    stem, dot, given_ext = base.rpartition(".")
    if dot and given_ext.lower() in (ext, "jpeg" if ext == "jpg" else ext):
        base = stem or "snapshot"
    base = base[:100].rstrip(".") or "snapshot"
    if unique:
        base = f"{base}-{suffix}"
    return f"{base}.{ext}"


def candidates(svc: RecordingsService, name: str) -> list[str]:
    """Stored relative paths `name` may stand for, most specific first."""
    out = [name]
    if "/" in name:
        return out
    # <camera>_<file>: every "_" whose prefix names a camera (our id or cameraN) ...
    for i, ch in enumerate(name):
        if ch == "_" and 0 < i < len(name) - 1:
            with contextlib.suppress(NotFound):
                out.append(f"{svc.cameras.resolve_id(name[:i])}/{name[i + 1 :]}")
    # ... and, for a removed camera's files, the prefix before "_<date>".
    m = _FLAT.match(name)
    if m is not None:
        out.append(f"{m['cam']}/{m['rest']}")
    return list(dict.fromkeys(out))


async def _by_basename(svc: RecordingsService, table: str, name: str) -> str | None:
    if "/" in name or not name:
        return None
    rows = await svc.store.db.fetch_all(
        f"SELECT path FROM {table} WHERE path LIKE ? ESCAPE '\\' LIMIT 2",  # noqa: S608 - fixed table
        ("%/" + name.translate(_LIKE_ESCAPE),),
    )
    return str(rows[0]["path"]) if len(rows) == 1 else None


async def find_segment(svc: RecordingsService, name: str) -> Segment | None:
    for rel in candidates(svc, name):
        seg = await svc.store.get_segment(path=rel)
        if seg is not None:
            return seg
    only = await _by_basename(svc, "rec_segments", name)
    return await svc.store.get_segment(path=only) if only else None


async def find_snapshot(svc: RecordingsService, name: str) -> Snapshot | None:
    for rel in candidates(svc, name):
        snap = await svc.store.get_snapshot(path=rel)
        if snap is not None:
            return snap
    only = await _by_basename(svc, "rec_snapshots", name)
    return await svc.store.get_snapshot(path=only) if only else None
