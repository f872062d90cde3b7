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
from dataclasses import dataclass
from typing import Protocol

from camera_service.auth.identity import Identity
from camera_service.core.errors import Forbidden, not_found


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


def in_scope(camera: ScopedCamera, identity: Identity | None) -> bool:
    """True when `identity` may see `camera`."""
    if identity is None:
        return False
    if identity.unrestricted:
        return True
    if camera.id in identity.cameras:
        return True
    if camera.group is not None and camera.group in identity.groups:
        return True
    if identity.tags and any(t in identity.tags for t in camera.tags):
        return True
    return camera.agency is not None and camera.agency in identity.agencies


@dataclass(frozen=True, slots=True)
class Scope:
    """One caller's camera scope, resolved once per call: the value every store query takes.

    `camera_ids` is None for an unrestricted identity (every camera, also removed ones), else the ids
    of the registered cameras it sees plus the ids its claims name (data of a removed camera stays
    visible to identities scoped by that id). No identity: the empty set.
    """

    identity: Identity | None
    camera_ids: frozenset[str] | None

    @classmethod
    def resolve(cls, identity: Identity | None, cameras: Iterable[ScopedCamera]) -> Scope:
        if identity is None:
            return cls(None, frozenset())
        if identity.unrestricted:
            return cls(identity, None)
        ids = {c.id for c in cameras if in_scope(c, identity)}
        return cls(identity, frozenset(ids | identity.cameras))

    @property
    def unrestricted(self) -> bool:
        return self.camera_ids is None

    def sees(self, camera: ScopedCamera) -> bool:
        return in_scope(camera, self.identity)

    def sees_id(self, camera_id: str | None) -> bool:
        """For data keyed by camera id (events, files): camera-less data only for unrestricted callers."""
        if self.camera_ids is None:
            return True
        return camera_id is not None and camera_id in self.camera_ids

    def require_ids(self, camera_ids: Iterable[str] | None) -> None:
        """NOT_FOUND for the first id the caller may not see (filters of subscriptions, searches): a
        hidden camera behaves exactly like an unknown one."""
        for cid in camera_ids or ():
            if not self.sees_id(cid):
                raise not_found("camera", cid)


def unrestricted_required(method: str) -> Forbidden:
    """-32003 for a scoped caller of a system-wide method (API keys, audit, webhooks: a webhook without
    a camera filter would deliver every camera's events). Raised by the auth guard."""
    return Forbidden(
        f"{method} needs an identity without a camera scope",
        {"required_role": "admin", "reason": "unrestricted_scope_required"},
    )
