"""Recording sessions under the names clients of the established protocol use (issue 17).

The old `start_recording` answered one file name per recording; ours records into segments
(`<camera>/<UTC start>.mp4`, `segment_duration_s` each). A session's compat `filename` is the client's
`filename` (sanitised, stored as `<camera>/<name>`) or the label `<camera>/<UTC start>`; it resolves in
get_recording_info (the session's totals) and in /files/recordings/ (the session's one segment, or its
segments stitched into one MP4 by MediaMTX's playback server).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from camera_service.recordings import compat_names
from camera_service.recordings.models import RecordingSession, Segment
from camera_service.recordings.schemas import SessionFile, files_url, iso

if TYPE_CHECKING:
    from camera_service.recordings.service import RecordingsService

_LABEL_FMT = "%Y-%m-%d_%H-%M-%S"


def _sanitised(raw: str, suffix: str, unique: bool) -> str:
    return compat_names.client_file_name(raw, "mp4", suffix, unique=unique)


async def name_session(svc: RecordingsService, session: RecordingSession, requested: str | None) -> str:
    """The compat filename of a new session, stored so that it resolves: the client's, else the label
    (with `-<id>` when another session of the camera started in the same second)."""
    if requested is None:
        label = svc.session_label(session)
        for name in (label, f"{label}-{session.id[:8]}"):
            if await svc.store.add_session_name(name, session.id):
                return name
        return label
    for unique in (False, True):
        name = f"{session.camera}/{_sanitised(requested, session.id[:8], unique)}"
        taken = await svc.store.get_segment(path=name) is not None
        if not taken and await svc.store.add_session_name(name, session.id):
            return name
    return svc.session_label(session)  # both taken (a race on the suffix): the label still resolves


async def session_name(svc: RecordingsService, session: RecordingSession) -> str:
    return await svc.store.session_name(session.id) or svc.session_label(session)


def _label_time(rest: str) -> float | None:
    stamp = rest.removesuffix(".mp4")
    try:
        return datetime.strptime(stamp, _LABEL_FMT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


async def find_session(svc: RecordingsService, name: str) -> RecordingSession | None:
    """The session a compat filename names: a client-chosen name, or a label (also in flat form)."""
    for cand in compat_names.candidates(svc, name):
        session_id = await svc.store.session_id_by_name(cand)
        if session_id is not None:
            return await svc.store.get_session(session_id)
        camera, _, rest = cand.partition("/")
        ts = _label_time(rest) if camera and rest else None
        if ts is not None:
            found = await svc.store.session_started_in(camera, ts, ts + 1)
            if found is not None:
                return found
    return None


async def segments(svc: RecordingsService, session: RecordingSession) -> list[Segment]:
    """The segments recorded during the session, oldest first."""
    end = session.stopped_at if session.stopped_at is not None else svc.clock.time()
    segs = await svc.store.list_segments(
        session.camera, session.started_at, end, limit=100_000, ascending=True
    )
    return segs


async def recorded_bytes(svc: RecordingsService, session: RecordingSession, wait_s: float) -> int:
    """Bytes the session recorded. After a stop MediaMTX closes the last segment and calls the hook a
    moment later: wait (at most `wait_s`) until the index reaches the stop and every file of the session on
    disk is indexed (= closed), then count the indexed segments plus any file still missing from the
    index (its size on disk: a camera that stopped sending never reaches the stop)."""
    deadline = time.monotonic() + wait_s
    # The last frame MediaMTX writes is a moment before the stop (its own latency, under a second).
    reach = (session.stopped_at or svc.clock.time()) - 1.0
    while True:
        files = await asyncio.to_thread(_files_started_in, svc, session)
        missing = [(rel, size) for rel, size in files if await svc.store.get_segment(path=rel) is None]
        segs = await segments(svc, session)
        closed = bool(segs) and max(s.end for s in segs) >= reach
        if (closed and not missing) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
    return sum(s.size for s in segs) + sum(size for _, size in missing)


def _files_started_in(svc: RecordingsService, session: RecordingSession) -> list[tuple[str, int]]:
    """(path, size) of the camera's segment files whose name (UTC start) lies within the session."""
    folder = svc.roots["recordings"] / session.camera
    stop = session.stopped_at or svc.clock.time()
    out = []
    try:
        files = list(folder.iterdir())
    except FileNotFoundError:
        return []
    for f in files:
        if f.suffix != ".mp4" or not f.is_file():
            continue
        try:
            start = datetime.strptime(f.stem, "%Y-%m-%d_%H-%M-%S-%f").replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
        if session.started_at - 0.5 <= start <= stop:
            out.append((f"{session.camera}/{f.name}", f.stat().st_size))
    return out


async def session_file(svc: RecordingsService, session: RecordingSession) -> SessionFile:
    segs = await segments(svc, session)
    name = await session_name(svc, session)
    first = min((s.start for s in segs), default=None)
    last = max((s.end for s in segs), default=None)
    return SessionFile(
        filename=name,
        camera=session.camera,
        session_id=session.id,
        recording=session.active,
        start_time=iso(session.started_at),
        end_time=iso(session.stopped_at),
        duration=round(sum(s.duration_s for s in segs), 3),
        file_size=sum(s.size for s in segs),
        created_time=iso(first),
        modified_time=iso(last),
        segments=[s.path for s in segs],
        download_url=files_url("recordings", name),
    )
