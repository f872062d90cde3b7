"""A private `redis-server` for tests: free port on 127.0.0.1, no persistence, its own tmp dir.

Synchronous on purpose (subprocess + a plain socket): the session-scoped fixture outlives every test's
event loop. Debian's `redis-server` is installed by scripts/setup.sh (TEST_PACKAGES).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.harness.ports import free_port

START_TIMEOUT_S = 20.0


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RuntimeError("redis-server not found: run scripts/setup.sh (installs Debian's redis-server)")
    return found


def _command(port: int, *args: str, timeout: float = 5.0) -> bytes:
    """Send one RESP command and return the first reply line (enough for PING/FLUSHALL/SHUTDOWN)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply.strip()


@dataclass
class RedisServer:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str) -> bytes:
        return _command(self.port, *args)

    def flush(self) -> None:
        """Every key gone (a clean server for the next test)."""
        reply = self.command("FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "redis.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextlib.contextmanager
def run_redis(workdir: Path | None = None) -> Iterator[RedisServer]:
    """Start a private redis-server and stop it (and remove its files) at the end."""
    own_dir = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="cs-redis-")) if workdir is None else workdir
    wd.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(wd),
        "--save", "",  # no RDB snapshots
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(wd / "redis.log"),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    server = RedisServer(port=port, workdir=wd, proc=proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({proc.returncode}):\n{server.log_tail()}")
            try:
                if server.command("PING") == b"+PONG":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                tail = server.log_tail()
                raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT_S}s:\n{tail}")
            time.sleep(0.05)
        yield server
    finally:
        server.stop()
        if own_dir:
            shutil.rmtree(wd, ignore_errors=True)
