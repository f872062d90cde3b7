"""Free TCP ports on 127.0.0.1 for test servers."""

from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """Return ``n`` distinct free TCP ports.

    All probe sockets stay bound until every port is chosen, so the kernel cannot hand out the
    same port twice. (A port can still be taken by someone else before the caller binds it; that
    window is tiny for tests on one machine.)
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """Return one free TCP port on 127.0.0.1."""
    return free_ports(1)[0]
