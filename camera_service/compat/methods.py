"""Methods of the established protocol with no native twin (camerarecorder.md §1), in its result shapes,
backed by the real implementations: camera status tracking (streams), the RPC metrics, retention."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Self

import psutil
from pydantic import BaseModel, Field, model_validator

from camera_service.auth.roles import Role
from camera_service.recordings.config import RetentionConfig
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

if TYPE_CHECKING:
    from camera_service.cameras.service import CameraService
    from camera_service.observability.metrics import Metrics
    from camera_service.recordings.service import RecordingsService

router = MethodRegistry(tag="compat")


@dataclass(frozen=True)
class CompatApi:
    """What the established protocol's own methods need (bound in app.py)."""

    cameras: CameraService
    recordings: RecordingsService
    metrics: Metrics
    connections: Sized


_PROCESS = psutil.Process()  # cpu_percent() measures since its previous call on the same object


class StreamEntry(BaseModel):
    name: str = Field(description="MediaMTX path = camera id.")
    source: str | None = Field(
        description="MediaMTX source type (rtspSource, rtspSession, ...); null if none."
    )
    ready: bool = Field(description="MediaMTX has the source now.")
    readers: int = Field(description="Current readers.")
    bytes_sent: int = Field(description="Bytes sent to readers (current session).")


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True)
async def get_streams(api: CompatApi, ctx: CallContext) -> list[StreamEntry]:
    """The caller's cameras' MediaMTX streams, as the old `get_streams` listed them (an array).

    Role: viewer. From the live status the service keeps from MediaMTX's path list.
    """
    svc = api.cameras
    out = []
    for camera in svc.cameras():
        if ctx.scope.sees(camera):
            info = svc.status(camera.id)
            out.append(
                StreamEntry(
                    name=camera.id,
                    source=info.source_type,
                    ready=info.streaming,
                    readers=info.readers,
                    bytes_sent=info.bytes_sent,
                )
            )
    return out


class MetricsResult(BaseModel):
    active_connections: int = Field(description="Open WebSocket connections.")
    total_requests: int = Field(description="JSON-RPC calls answered since start.")
    average_response_time: float = Field(description="Mean call latency in milliseconds.")
    error_rate: float = Field(description="Share of calls answered with an error (0..1).")
    memory_usage: float = Field(description="Resident memory of the service process in MB.")
    cpu_usage: float = Field(description="CPU percent of the service process since the previous call.")


@router.method(role=Role.ADMIN, compat=True)
async def get_metrics(api: CompatApi, ctx: CallContext) -> MetricsResult:
    """Server metrics in the old protocol's shape (Prometheus has the full set at /metrics).

    Role: admin. Counts and latencies come from the RPC metrics the dispatcher records.
    """
    stats = api.metrics.rpc.methods.values()
    ok = sum(s.ok for s in stats)
    errors = sum(sum(s.errors.values()) for s in stats)
    total = ok + errors
    seconds = sum(s.sum for s in stats)
    return MetricsResult(
        active_connections=len(api.connections),
        total_requests=total,
        average_response_time=round(seconds / total * 1000, 3) if total else 0.0,
        error_rate=round(errors / total, 6) if total else 0.0,
        memory_usage=round(_PROCESS.memory_info().rss / 2**20, 1),
        cpu_usage=_PROCESS.cpu_percent(interval=None),
    )


class RetentionPolicyParams(Params):
    policy_type: Literal["age", "size", "manual"] = Field(
        description="age: delete older than max_age_days; size: keep under max_size_gb (oldest first); "
        "manual: no periodic runs (cleanup_old_files applies the limits)."
    )
    enabled: bool = Field(description="false: no periodic retention runs.")
    max_age_days: float | None = Field(None, gt=0, le=36_500, description="Required for policy_type age.")
    max_size_gb: float | None = Field(None, gt=0, le=1_000_000, description="Required for policy_type size.")

    @model_validator(mode="after")
    def _limit_given(self) -> Self:
        if self.policy_type == "age" and self.max_age_days is None:
            raise ValueError("policy_type age needs max_age_days")
        if self.policy_type == "size" and self.max_size_gb is None:
            raise ValueError("policy_type size needs max_size_gb")
        return self


class RetentionPolicyResult(BaseModel):
    policy_type: str
    enabled: bool
    max_age_days: float | None
    max_size_gb: float | None
    message: str
    settings: RetentionConfig = Field(description="The retention settings now in force (persisted).")


@router.method(
    scope=CameraScope.UNRESTRICTED,
    role=Role.ADMIN,
    mutating=True,
    compat=True,
    errors=(ErrorCode.INVALID_PARAMS,),
)
async def set_retention_policy(
    api: CompatApi, ctx: CallContext, params: RetentionPolicyParams
) -> RetentionPolicyResult:
    """The old protocol's retention policy, applied to the global retention limits and persisted.

    Role: admin (unrestricted). age sets `global_limits.max_age_days` (size cap off), size sets
    `global_limits.max_size_gb` (age limit off), manual keeps the limits; `enabled` switches the periodic
    runs. Unlike the old server the policy is real and survives restarts (see get_retention_settings).
    """
    storage = api.recordings.storage
    current = storage.settings
    limits = current.global_limits
    if params.policy_type == "age":
        limits = limits.model_copy(update={"max_age_days": params.max_age_days, "max_size_gb": 0.0})
    elif params.policy_type == "size":
        limits = limits.model_copy(update={"max_size_gb": params.max_size_gb, "max_age_days": 0.0})
    enabled = params.enabled and params.policy_type != "manual"
    new = current.model_copy(update={"enabled": enabled, "global_limits": limits})
    applied = await storage.update_settings(RetentionConfig.model_validate(new.model_dump()))
    return RetentionPolicyResult(
        policy_type=params.policy_type,
        enabled=params.enabled,
        max_age_days=applied.global_limits.max_age_days or None,
        max_size_gb=applied.global_limits.max_size_gb or None,
        message=f"retention policy '{params.policy_type}' applied and saved",
        settings=applied,
    )


class CleanupResult(BaseModel):
    cleanup_executed: bool = Field(description="true: retention ran now.")
    files_deleted: int
    space_freed: int = Field(description="Bytes freed.")
    message: str


@router.method(
    scope=CameraScope.UNRESTRICTED,
    role=Role.ADMIN,
    mutating=True,
    compat=True,
    errors=(ErrorCode.STORAGE_ERROR,),
)
async def cleanup_old_files(api: CompatApi, ctx: CallContext) -> CleanupResult:
    """Apply the retention limits now (the old protocol's name of run_retention; locked items kept).

    Role: admin (unrestricted).
    """
    result, _summary = await api.recordings.storage.run(False)
    n = len(result.deletions)
    return CleanupResult(
        cleanup_executed=True,
        files_deleted=n,
        space_freed=result.freed_bytes,
        message=f"retention deleted {n} file(s), {result.freed_bytes} bytes",
    )
