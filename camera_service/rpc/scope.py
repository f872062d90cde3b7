"""What each method declares about camera scope (`scope=` in the registry); rendered in the API reference.

The rule itself (which cameras an identity sees) lives in camera_service/auth/scopes.py; the dispatcher
hands every call its resolved `Scope` (`ctx.scope`), the auth guard enforces UNRESTRICTED before the
handler runs, and CAMERAS handlers push `ctx.scope.camera_ids` into every store query (pages and totals).
"""

from __future__ import annotations

from enum import StrEnum


class CameraScope(StrEnum):
    NONE = "none"  # not camera data (ping, server info, own session)
    CAMERAS = "cameras"  # results and camera params limited to the caller's cameras
    UNRESTRICTED = "unrestricted"  # system-wide administration: callers with a camera scope get -32003


SCOPE_TEXT: dict[CameraScope, str] = {
    CameraScope.NONE: "",
    CameraScope.CAMERAS: (
        "limited to the caller's cameras (pages and totals count only them; "
        "a camera outside the scope is NOT_FOUND, like an unknown one)"
    ),
    CameraScope.UNRESTRICTED: "needs an identity without a camera scope (else -32003)",
}
