"""Free TCP ports on 127.0.0.1 for test servers."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Below the kernel's ephemeral range (32768-60999 here): a port the kernel hands out for bind(0) is
# also one it may pick as the source port of any outgoing connection in the window before our server
# binds it ("address already in use" seen in CI). Ports below that range are only ever taken on purpose.
_LOW, _HIGH = 20000, 32000

# A port picked here stays unbound until its server starts (seconds later; or it is reused to restart a
# service on the same port). Every test process on this machine (pytest-xdist workers, other checkouts'
# suites) records its picks in one registry, under a lock, and skips what others picked recently.
REGISTRY = Path(tempfile.gettempdir()) / "camera-service-test-ports.json"
RESERVE_S = 600.0


def port_range() -> tuple[int, int]:
    """This process's share of [_LOW, _HIGH]: all of it, or under pytest-xdist one disjoint slice per
    worker, so two workers never pick the same port in the window between probing it and binding it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... (inherited by child processes)
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if not worker.startswith("gw") or count <= 1:
        return _LOW, _HIGH
    span = (_HIGH - _LOW + 1) // count
    low = _LOW + int(worker[2:]) % count * span
    return low, low + span - 1


@contextlib.contextmanager
def _reservations(path: Path) -> Iterator[dict[str, float]]:
    """The unexpired reservations (port -> expiry, epoch seconds), locked; changes are written back.
    An unusable registry (unreadable, corrupt) counts as empty: probing alone still applies."""
    try:
        f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below, after the lock
    except OSError:
        yield {}
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        try:
            data = json.loads(f.read() or "{}")
        except ValueError:
            data = {}
        now = time.time()
        items = data.items() if isinstance(data, dict) else ()
        live = {str(k): float(v) for k, v in items if isinstance(v, int | float) and v > now}
        yield live
        f.seek(0)
        f.truncate()
        f.write(json.dumps(live))
        f.flush()


def free_ports(n: int, *, registry: Path | None = None) -> list[int]:
    """Return ``n`` distinct free TCP ports, reserved for RESERVE_S seconds against other test processes.

    All probe sockets stay bound until every port is chosen, so the kernel cannot hand out the
    same port twice. (A port can still be taken by a process that uses neither the registry nor
    this range before the caller binds it; nothing on a test machine does that on purpose.)
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    low, high = port_range()
    socks: list[socket.socket] = []
    with _reservations(registry or REGISTRY) as reserved:
        try:
            for _ in range(n):
                for _attempt in range(500):
                    port = random.randint(low, high)
                    if str(port) in reserved:
                        continue
                    # No SO_REUSEADDR: with it, two unlistened sockets may share a port, and a port in
                    # TIME_WAIT would be handed out.
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    try:
                        s.bind(("127.0.0.1", port))
                    except OSError:
                        s.close()
                        continue
                    socks.append(s)
                    break
                else:
                    raise OSError("no free port found below the ephemeral range")
            ports = [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()
        expiry = time.time() + RESERVE_S
        reserved.update({str(p): expiry for p in ports})
    return ports


def free_port() -> int:
    """Return one free TCP port on 127.0.0.1."""
    return free_ports(1)[0]
