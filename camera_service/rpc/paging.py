"""Checks shared by the cursor-paged list methods (list_events, search_detections)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from camera_service.rpc.errors import invalid_params


def check_page_window(
    cursor: str | None, start: datetime | None, end: datetime | None, decode: Callable[[str], object]
) -> None:
    """INVALID_PARAMS for a cursor `decode` refuses (ValueError) or a window that ends before it starts."""
    if cursor:
        try:
            decode(cursor)
        except ValueError as exc:
            raise invalid_params("cursor", str(exc)) from exc
    if start and end and end <= start:
        raise invalid_params("end", "end must be after start")
