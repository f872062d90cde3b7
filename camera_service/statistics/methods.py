"""`get_statistics`: per-camera figures over a window (default: the last 24 hours), limited to the caller's
cameras. Each domain's store answers its own part (events, recordings); this module only adds them up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope
from camera_service.statistics.uptime import online_seconds

if TYPE_CHECKING:
    from camera_service.cameras.ports import CameraDirectory
    from camera_service.events.service import EventService
    from camera_service.recordings.service import RecordingsService

router = MethodRegistry(tag="statistics")
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=366)
LIVE_VIEW_EVENT = "liveview.started"


@dataclass(frozen=True)
class StatisticsApi:
    """What get_statistics needs (bound in app.py)."""

    cameras: CameraDirectory
    events: EventService
    recordings: RecordingsService


class StatisticsParams(Params):
    start: datetime | None = Field(
        None, description="Window start (ISO 8601 or unix seconds); default end - 24 h."
    )
    end: datetime | None = Field(None, description="Window end; default now (a future end is cut to now).")
    camera: str | None = Field(None, min_length=1, max_length=64, description="Only this camera.")
    group: str | None = Field(
        None, min_length=1, max_length=64, description="Only the cameras of this group."
    )


class CameraStatistics(BaseModel):
    camera: str
    group: str | None
    uptime_percent: float = Field(description="Share of the window the camera was ONLINE (0-100).")
    online_seconds: float
    recorded_hours: float = Field(description="Recorded time within the window (segment index).")
    recorded_bytes: int = Field(description="Size of the segments overlapping the window.")
    events_by_type: dict[str, int]
    events_by_severity: dict[str, int]
    snapshots: int = Field(description="Snapshots taken within the window.")
    live_view_sessions: int = Field(description="External viewer sessions started (RTSP, WebRTC, HLS).")


class Statistics(BaseModel):
    start: str = Field(description="Window start (ISO 8601, UTC).")
    end: str
    window_seconds: float
    cameras: list[CameraStatistics] = Field(description="By camera id.")
    totals: CameraStatistics = Field(description="Sums over the cameras (uptime: the mean), camera='*'.")


def _window(params: StatisticsParams) -> tuple[float, float]:
    now = time.time()
    end = min(params.end.timestamp(), now) if params.end else now
    start = params.start.timestamp() if params.start else end - DEFAULT_WINDOW.total_seconds()
    if start >= end:
        raise invalid_params("start", "start must be before end (and before now)")
    if end - start > MAX_WINDOW.total_seconds():
        raise invalid_params("start", f"the window is at most {MAX_WINDOW.days} days")
    return start, end


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_statistics(api: StatisticsApi, ctx: CallContext, params: StatisticsParams) -> Statistics:
    """Per camera over [start, end] (default: the last 24 hours): uptime %, recorded hours and bytes, events
    by type and severity, snapshots and live-view sessions, plus totals. Only the caller's cameras."""
    start, end = _window(params)
    cameras = [c for c in api.cameras.cameras() if ctx.scope.sees(c)]
    if params.camera is not None:
        cameras = [c for c in cameras if c.id == params.camera]
        if not cameras:
            raise not_found("camera", params.camera)
    if params.group is not None:
        cameras = [c for c in cameras if c.group == params.group]
    ids = [c.id for c in cameras]
    events = await api.events.counts_by_type(start, end, ids)
    recorded = await api.recordings.archive.recorded_totals(start, end, ids)
    snapshots = await api.recordings.archive.snapshot_counts(start, end, ids)
    rows: list[CameraStatistics] = []
    for cam in cameras:
        by_type: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        for camera_id, kind, severity, n in events:
            if camera_id == cam.id:
                by_type[kind] = by_type.get(kind, 0) + n
                by_severity[severity] = by_severity.get(severity, 0) + n
        changes = await api.events.status_changes(start, end, cam.id)
        online = online_seconds(changes, start, end)
        seconds, size = recorded.get(cam.id, (0.0, 0))
        rows.append(
            CameraStatistics(
                camera=cam.id,
                group=cam.group,
                uptime_percent=round(100.0 * online / (end - start), 3),
                online_seconds=round(online, 3),
                recorded_hours=round(seconds / 3600.0, 6),
                recorded_bytes=size,
                events_by_type=dict(sorted(by_type.items())),
                events_by_severity=dict(sorted(by_severity.items())),
                snapshots=snapshots.get(cam.id, 0),
                live_view_sessions=by_type.get(LIVE_VIEW_EVENT, 0),
            )
        )
    return Statistics(
        start=datetime.fromtimestamp(start, UTC).isoformat(),
        end=datetime.fromtimestamp(end, UTC).isoformat(),
        window_seconds=round(end - start, 3),
        cameras=rows,
        totals=_totals(rows),
    )


def _totals(rows: list[CameraStatistics]) -> CameraStatistics:
    def add(dicts: list[dict[str, int]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in dicts:
            for k, v in d.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items()))

    n = len(rows) or 1
    return CameraStatistics(
        camera="*",
        group=None,
        uptime_percent=round(sum(r.uptime_percent for r in rows) / n, 3),
        online_seconds=round(sum(r.online_seconds for r in rows), 3),
        recorded_hours=round(sum(r.recorded_hours for r in rows), 6),
        recorded_bytes=sum(r.recorded_bytes for r in rows),
        events_by_type=add([r.events_by_type for r in rows]),
        events_by_severity=add([r.events_by_severity for r in rows]),
        snapshots=sum(r.snapshots for r in rows),
        live_view_sessions=sum(r.live_view_sessions for r in rows),
    )
