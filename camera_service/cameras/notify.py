"""Who may receive server pushes about cameras. One place, so authentication can tighten it."""

from __future__ import annotations

from camera_service.rpc.context import ConnectionContext


def may_receive_push(conn: ConnectionContext) -> bool:
    """True when `conn` may receive camera push notifications (camera_status_update).

    Unauthenticated connections get nothing (with security disabled every connection carries an
    anonymous identity); callers add the camera scope (camera_service/auth/scopes.py).
    """
    return conn.identity is not None
