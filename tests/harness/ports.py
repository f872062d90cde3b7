"""Free TCP ports on 127.0.0.1 for test servers."""

from __future__ import annotations

import random
import socket

# Below the kernel's ephemeral range (32768-60999 here): a port the kernel hands out for bind(0) is
# also one it may pick as the source port of any outgoing connection in the window before our server
# binds it ("address already in use" seen in CI). Ports below that range are only ever taken on purpose.
_LOW, _HIGH = 20000, 32000


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
            for _attempt in range(200):
                # No SO_REUSEADDR: with it, two unlistened sockets may share a port, and a port in
                # TIME_WAIT would be handed out.
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind(("127.0.0.1", random.randint(_LOW, _HIGH)))
                except OSError:
                    s.close()
                    continue
                socks.append(s)
                break
            else:
                raise OSError("no free port found below the ephemeral range")
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """Return one free TCP port on 127.0.0.1."""
    return free_ports(1)[0]
