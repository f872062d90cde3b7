"""A private PostgreSQL server for tests and benchmarks: Debian's binaries, a tmp data dir, a free port.

    with run_postgres() as server:
        url = server.create_database()      # a fresh, empty database: postgresql://postgres@127.0.0.1:PORT/t_...
        ...
        server.drop_database(url)

initdb refuses to run as root, so as root the server runs as the Debian `postgres` OS user (its data dir
is a tmp dir that user owns, a copy of a cluster initdb made once per machine in
~/.cache/camera-service/postgres). It listens on 127.0.0.1 only (trust auth: the test machine's own loopback)
and puts its unix socket in the tmp dir, so it never touches a system cluster. Durability is off (fsync,
synchronous_commit): tests and benchmarks never survive a machine crash anyway.
Binaries: $POSTGRES_BIN_DIR, else the newest /usr/lib/postgresql/*/bin, else PATH.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.harness.cache import user_cache
from tests.harness.ports import free_port

_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def bin_dir() -> Path:
    """Where initdb and postgres are (raises with the fix when PostgreSQL is not installed)."""
    if env := os.environ.get("POSTGRES_BIN_DIR"):
        return Path(env)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh (Debian package postgresql)")


def _as_owner() -> list[str]:
    """Run a server command as `postgres` when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes]
    user: str = "postgres"
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_ready(server: PostgresServer, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"postgres exited ({server.proc.returncode}):\n{server.log_tail()}")
        try:
            with psycopg.connect(server.url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"postgres not ready after {deadline_s} s ({last}):\n{server.log_tail()}")


INITDB_ARGS = ("-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")


def _template(bindir: Path) -> Path:
    """An initdb'd data directory to copy, cached in the user cache per PostgreSQL build and initdb
    arguments. Concurrent first uses each make one; the first rename wins and the others are dropped."""
    initdb = (bindir / "initdb").resolve()
    stat = initdb.stat()
    key = hashlib.sha256(f"{initdb}|{stat.st_size}|{stat.st_mtime_ns}|{INITDB_ARGS}".encode()).hexdigest()[
        :16
    ]
    root = user_cache() / "postgres"
    template = root / f"cluster-{key}"
    if (template / "PG_VERSION").exists():
        return template
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="camsvc-pg-initdb-"))  # initdb runs as `postgres`: not under ~root
    try:
        if os.geteuid() == 0:
            shutil.chown(work, "postgres", "postgres")
        init = subprocess.run(
            [*_as_owner(), str(initdb), "-D", str(work / "data"), *INITDB_ARGS],
            capture_output=True,
            check=False,
            timeout=120,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
        staged = Path(tempfile.mkdtemp(prefix=".staging-", dir=root)) / "data"
        subprocess.run(["cp", "-a", str(work / "data"), str(staged)], check=True)
        with contextlib.suppress(OSError):  # another process made it first: use theirs
            staged.rename(template)
        shutil.rmtree(staged.parent, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return template


@contextlib.contextmanager
def run_postgres(*, ready_timeout_s: float = 60.0, max_connections: int = 200) -> Iterator[PostgresServer]:
    """Start a private server; stop it and delete its files when the block ends, pass or fail."""
    bindir = bin_dir()
    workdir = Path(tempfile.mkdtemp(prefix="camsvc-pg-"))
    datadir = workdir / "data"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    proc: subprocess.Popen[bytes] | None = None
    try:
        # A copy of an initialized cluster: initdb (bootstrap backends, ~1.5 s of CPU) runs once per
        # machine and PostgreSQL build, not once per server.
        copy = subprocess.run(
            ["cp", "-a", str(_template(bindir)), str(datadir)], capture_output=True, check=False
        )
        if copy.returncode != 0:
            raise RuntimeError(
                f"copying the initialized cluster failed: {copy.stderr.decode(errors='replace')}"
            )
        port = free_port()
        log = workdir / "postgres.log"
        with open(log, "wb") as out:
            if os.geteuid() == 0:
                shutil.chown(log, "postgres", "postgres")
            proc = subprocess.Popen(
                [
                    *_as_owner(),
                    str(bindir / "postgres"),
                    "-D",
                    str(datadir),
                    "-p",
                    str(port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(workdir),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    f"max_connections={max_connections}",
                    "-c",
                    "shared_buffers=32MB",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _LIVE.add(proc)
        server = PostgresServer(port=port, workdir=workdir, proc=proc)
        _wait_ready(server, ready_timeout_s)
        yield server
    finally:
        if proc is not None:
            _stop(proc)
            _LIVE.discard(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # SIGINT: PostgreSQL's fast shutdown (aborts sessions, exits cleanly); SIGKILL if it hangs.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
