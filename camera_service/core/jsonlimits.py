"""Bounds on free-form JSON a client may store (event data, rule conditions and action params).

Checked at the edge, in linear time and without recursion (security H2/H5): data nested deeper than the
encoder can write (orjson stops at 255 levels) was once stored and then broke every listing that read it.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

T = TypeVar("T")

MAX_DEPTH = 32
MAX_BYTES = 65_536


def check_json(value: T, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> T:
    """`value` unchanged, or ValueError when it nests deeper than `max_depth` or its JSON text would be
    larger than about `max_bytes`. Stops as soon as a bound is crossed."""
    size = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            size += 2 + len(node)
            for k, v in node.items():
                size += len(str(k)) + 3
                stack.append((v, depth + 1))
        elif isinstance(node, (list, tuple)):
            if depth > max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            size += 2 + len(node)
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            size += len(node) + 2
        else:
            size += 24
        if size > max_bytes:
            raise ValueError(f"larger than {max_bytes // 1024} KiB")
    return value


UNREADABLE = "_unreadable"


def load_stored(text: str, *, max_depth: int = 64) -> Any:
    """JSON text read back from the database, or a marker object when it cannot be answered (written
    before the edge checks existed, or malformed): one bad row must never fail a whole listing (H5)."""
    try:
        value = json.loads(text)
        return check_json(value, max_depth=max_depth, max_bytes=1 << 62)
    except (ValueError, RecursionError) as exc:
        return {UNREADABLE: f"stored data cannot be shown: {exc}"[:200]}
