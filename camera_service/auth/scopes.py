"""Camera scopes: which cameras an identity may see. One pure rule, used by every domain.

Semantics (documented in docs/security.md):
- an identity without scope claims (no cameras/groups/tags/agencies) sees every camera;
- otherwise it sees a camera when ANY of its scope lists matches: the camera's id is in `cameras`,
  or its group is in `groups`, or one of its tags is in `tags`, or its agency is in `agencies`;
- no identity (None) sees nothing: unauthenticated connections get no data and no pushes.
  (With security disabled every connection carries an unrestricted anonymous identity instead.)

Out-of-scope cameras are invisible: callers answer NOT_FOUND exactly as for an unknown id, so the
existence of a camera never leaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from camera_service.auth.identity import Identity
from camera_service.rpc.errors import ErrorCode, RpcError, not_found

if TYPE_CHECKING:
    from camera_service.rpc.context import CallContext, ConnectionContext


class ScopedCamera(Protocol):
    """What the scope rule reads from a camera (camera_service.cameras.Camera satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def group(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def agency(self) -> str | None: ...


C = TypeVar("C")


def in_scope(camera: Any, identity: Identity | None) -> bool:
    """True when `identity` may see `camera` (anything with id, group, tags, agency)."""
    if identity is None:
        return False
    if identity.unrestricted:
        return True
    if camera.id in identity.cameras:
        return True
    group = getattr(camera, "group", None)
    if group is not None and group in identity.groups:
        return True
    if identity.tags and any(t in identity.tags for t in (getattr(camera, "tags", None) or ())):
        return True
    agency = getattr(camera, "agency", None)
    return agency is not None and agency in identity.agencies


visible = in_scope  # the name other domains use: visible(identity-holder's camera, identity)


def visible_to(conn: ConnectionContext, camera: Any) -> bool:
    """For broadcasts: `connections.broadcast(..., where=lambda c: visible_to(c, camera))`."""
    return in_scope(camera, conn.identity)


def filter_visible(cameras: Iterable[C], identity: Identity | None) -> list[C]:
    return [c for c in cameras if in_scope(c, identity)]


def require_unrestricted(ctx: CallContext) -> None:
    """-32003 unless the caller has no camera scope. For system-wide administration (API keys, audit,
    webhooks: a webhook without a camera filter would deliver every camera's events)."""
    ident = ctx.connection.identity
    if ident is None or not ident.unrestricted:
        raise RpcError(
            ErrorCode.PERMISSION_DENIED,
            f"{ctx.method} needs an identity without a camera scope",
            {"required_role": "admin", "reason": "unrestricted_scope_required"},
        )


def require_visible_ids(ctx: CallContext, camera_ids: Iterable[str] | None) -> None:
    """NOT_FOUND for the first id in `camera_ids` the caller may not see (filters of subscriptions,
    searches): a hidden camera behaves exactly like an unknown one."""
    ident = ctx.connection.identity
    if not camera_ids or (ident is not None and ident.unrestricted):
        return
    cameras = getattr(ctx.services, "cameras", None)
    for cid in camera_ids:
        camera = None
        if cameras is not None:
            try:
                camera = cameras.get_cached(cid)
            except Exception:
                camera = None
        if camera is None or not in_scope(camera, ident):
            raise not_found("camera", cid)


async def require_camera_access(ctx: CallContext, camera_id: str) -> Any:
    """The camera `camera_id` if the caller may see it; NOT_FOUND (same as unknown) otherwise."""
    cameras = getattr(ctx.services, "cameras", None)
    if cameras is None:
        raise not_found("camera", camera_id)
    camera = await cameras.get(camera_id)  # raises NOT_FOUND for unknown ids
    if not in_scope(camera, ctx.connection.identity):
        raise not_found("camera", camera_id)
    return camera


async def camera_visible_by_id(ctx: CallContext, camera_id: str) -> bool:
    """For data keyed by camera id (events, recordings) whose camera may have been deleted: a deleted
    camera's data stays visible only to unrestricted identities."""
    identity = ctx.connection.identity
    if identity is not None and identity.unrestricted:
        return True
    cameras = getattr(ctx.services, "cameras", None)
    if cameras is None or identity is None:
        return False
    try:
        camera = await cameras.get(camera_id)
    except Exception:
        return False
    return in_scope(camera, identity)
