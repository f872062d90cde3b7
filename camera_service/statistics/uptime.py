"""Uptime of one camera in a window, from its stored status events (camera.online / offline / error)."""

from __future__ import annotations

ONLINE = "camera.online"


def online_seconds(changes: list[tuple[float, str]], start: float, end: float) -> float:
    """Seconds online within [start, end). `changes` is time-ordered; an entry before `start` gives the state
    at `start`; without one the camera counts as offline until its first change (unknown is not up)."""
    total, up_since = 0.0, None
    for when, kind in changes:
        at = max(when, start)
        if at >= end:
            break
        if kind == ONLINE:
            if up_since is None:
                up_since = at
        elif up_since is not None:
            total += at - up_since
            up_since = None
    if up_since is not None:
        total += end - up_since
    return total
