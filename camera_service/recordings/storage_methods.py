"""JSON-RPC methods of storage: statistics, retention runs and retention settings (admin)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from camera_service.auth.roles import Role
from camera_service.core.dicts import deep_merge
from camera_service.core.types import JsonValue
from camera_service.recordings.config import RetentionConfig
from camera_service.recordings.methods import RecordingsApi
from camera_service.recordings.schemas import iso
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="recordings")


class KindUsage(BaseModel):
    files: int
    bytes: int
    oldest: str | None
    newest: str | None


class StorageInfo(BaseModel):
    total_bytes: int
    used_bytes: int
    free_bytes: int
    used_percent: float
    level: str = Field(description="Low-disk level: ok, warning, critical (new recordings refused).")
    per_kind: dict[str, KindUsage] = Field(description="continuous, clips, snapshots.")
    per_camera: dict[str, dict[str, KindUsage]] = Field(description="camera -> kind -> usage.")
    last_retention: dict[str, Any] | None
    # compat fields (camerarecorder get_storage_info)
    total_space: int
    used_space: int
    available_space: int
    warn_threshold: float = Field(description="Compat: used percent that warns.")
    block_threshold: float = Field(description="Compat: used percent that blocks new recordings.")
    recordings_size: int
    snapshots_size: int
    low_space_warning: bool
    critical_space_warning: bool


def _merge(usages: list[KindUsage]) -> KindUsage:
    oldest = [u.oldest for u in usages if u.oldest]
    newest = [u.newest for u in usages if u.newest]
    return KindUsage(
        files=sum(u.files for u in usages),
        bytes=sum(u.bytes for u in usages),
        oldest=min(oldest) if oldest else None,
        newest=max(newest) if newest else None,
    )


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, compat=True)
async def get_storage_info(api: RecordingsApi, ctx: CallContext) -> StorageInfo:
    """Disk total/used/free, usage per kind and camera (oldest/newest), low-disk level; compat fields."""
    svc = api.recordings
    total, used, free = svc.storage.disk()
    level = svc.storage.check_disk()
    per_camera: dict[str, dict[str, KindUsage]] = {}
    scope = ctx.scope  # security: a scoped caller sees its cameras' usage only
    for row in await svc.storage.usage():
        if not scope.sees_id(row.camera):
            continue
        per_camera.setdefault(row.camera, {})[row.kind] = KindUsage(
            files=row.count, bytes=row.bytes, oldest=iso(row.oldest), newest=iso(row.newest)
        )
    per_kind = {
        k: _merge([c[k] for c in per_camera.values() if k in c]) for k in ("continuous", "clips", "snapshots")
    }
    st = svc.storage.settings
    pct = round(100.0 * used / total, 2) if total else 0.0
    return StorageInfo(
        total_bytes=total,
        used_bytes=used,
        free_bytes=free,
        used_percent=pct,
        level=level,
        per_kind=per_kind,
        per_camera=per_camera,
        last_retention=svc.storage.last_run,
        total_space=total,
        used_space=used,
        available_space=free,
        warn_threshold=100 - st.warn_free_percent,
        block_threshold=100 - st.block_free_percent,
        recordings_size=per_kind["continuous"].bytes + per_kind["clips"].bytes,
        snapshots_size=per_kind["snapshots"].bytes,
        low_space_warning=level != "ok",
        critical_space_warning=level == "critical",
    )


class RunRetentionParams(Params):
    dry_run: bool = Field(False, description="Only report what would be deleted.")


class RetentionDeletion(BaseModel):
    kind: str
    camera: str
    key: str = Field(description="Segment filename, clip id or snapshot id.")
    time: str | None
    size: int
    reason: str


class RetentionResult(BaseModel):
    dry_run: bool
    deleted_count: int
    freed_bytes: int
    protected_kept: int = Field(description="Locked / protected items that were kept.")
    deleted: list[RetentionDeletion] = Field(description="Oldest first (at most 1000 listed).")


# Retention settings and runs act on every camera's evidence: system-wide (security H4).
@router.method(
    scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.STORAGE_ERROR,)
)
async def run_retention(api: RecordingsApi, ctx: CallContext, params: RunRetentionParams) -> RetentionResult:
    """Apply the retention limits now (dry_run: only list what would go). Locked items are never deleted."""
    plan, _summary = await api.recordings.storage.run(params.dry_run)
    return RetentionResult(
        dry_run=params.dry_run,
        deleted_count=len(plan.deletions),
        freed_bytes=plan.freed_bytes,
        protected_kept=plan.protected_kept,
        deleted=[
            RetentionDeletion(
                kind=d.item.kind,
                camera=d.item.camera,
                key=d.item.key,
                time=iso(d.item.time),
                size=d.item.size,
                reason=d.reason,
            )
            for d in plan.deletions[:1000]
        ],
    )


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def get_retention_settings(api: RecordingsApi, ctx: CallContext) -> RetentionConfig:
    """The retention settings in force (config, or the last set_retention_settings)."""
    return api.recordings.storage.settings


class SetRetentionParams(Params):
    settings: dict[str, Any] = Field(
        description="Partial retention settings merged over the current ones "
        "(same keys as get_retention_settings)."
    )


@router.method(
    scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.INVALID_PARAMS,)
)
async def set_retention_settings(
    api: RecordingsApi, ctx: CallContext, params: SetRetentionParams
) -> RetentionConfig:
    """Change retention settings at runtime; persisted (they win over the config file on the next start)."""
    storage = api.recordings.storage
    merged = deep_merge(storage.settings.model_dump(mode="json"), params.settings)
    if "per_camera" in params.settings:  # a map replaces, so a camera's limits can be removed
        merged["per_camera"] = params.settings["per_camera"]
    try:
        new = RetentionConfig.model_validate(merged)
    except ValidationError as exc:
        errors: list[JsonValue] = [
            {
                "field": ".".join(["settings", *(str(p) for p in e["loc"])]),
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise RpcError(
            ErrorCode.INVALID_PARAMS,
            f"invalid retention settings: {exc.errors(include_url=False)[0]['msg']}",
            {"errors": errors},
        ) from exc
    return await storage.update_settings(new)
