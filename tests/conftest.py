"""Shared pytest fixtures. Test harness code lives in tests/harness/."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest

# `tests.harness` must import however pytest was started (console script, `python -m pytest`, any
# rootdir/import mode): make the repo root importable.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

# Start-up: every xdist worker imports the service and every test module at once (3-5 CPU-s each on 2 shared
# cores). Cyclic GC finds little garbage in imports but walks the growing heap again and again: it stays off
# until collection ends; then the imported modules move to the permanent generation, so that the full
# collections during the tests do not walk them each time (measured: 11 % less CPU to collect, a third less
# time in full collections).
gc.disable()

from tests.harness.ffmpeg import TestCamera  # noqa: E402
from tests.harness.mediamtx import MediaMTXInstance, run_mediamtx  # noqa: E402
from tests.harness.procs import ProcessGroupCleanup  # noqa: E402
from tests.harness.redis import RedisServer, run_redis  # noqa: E402
from tests.harness.schedule import order_for_workers  # noqa: E402


# --- parallel runs (pytest-xdist: scripts/test.sh) ---
# Whole files go to the workers in collection order (--dist loadfile --no-loadscope-reorder): that order is
# set here, longest files first (tests/harness/schedule.py).
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a serial run keeps pytest's order
    order_for_workers(items, int(getattr(config, "workerinput", {}).get("workercount", 1)))


def pytest_sessionstart(session: pytest.Session) -> None:
    if getattr(session.config.option, "dist", "no") != "no" and not hasattr(session.config, "workerinput"):
        gc.enable()  # the xdist controller: it collects no tests


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.enable()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _memory_configs_removed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Removes the memory-only MediaMTX configs (they hold hook credentials) of the services this session
    killed: a service removes its own when it stops, a killed one cannot (a deployment reuses it when it
    starts again; here every service has a runtime dir of its own)."""
    yield
    from camera_service.mediamtx.adoption import SHM_ROOT, memory_dir_name

    for log in tmp_path_factory.getbasetemp().rglob("mediamtx.log"):
        shutil.rmtree(SHM_ROOT / memory_dir_name(log.parent), ignore_errors=True)


# --- harness fixtures ---
@pytest.fixture
async def process_cleanup() -> AsyncIterator[ProcessGroupCleanup]:
    """Registry for ad-hoc processes: everything registered is stopped at teardown, pass or fail."""
    cleanup = ProcessGroupCleanup()
    try:
        yield cleanup
    finally:
        await cleanup.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the whole session (tests/harness/redis.py); use `redis_url`."""
    with run_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the session's private redis-server, emptied before this test (FLUSHALL)."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
async def mediamtx(tmp_path: Path) -> AsyncIterator[MediaMTXInstance]:
    """A real MediaMTX (default inline YAML: any path accepts publishers) in tmp_path/mediamtx."""
    async with run_mediamtx(workdir=tmp_path / "mediamtx") as instance:
        yield instance


class MediaMTXFactory(Protocol):
    def __call__(
        self, yaml_text: str | None = None, *, extra: Mapping[str, Any] | None = None, name: str = ...
    ) -> Awaitable[MediaMTXInstance]: ...


@pytest.fixture
async def mediamtx_factory(tmp_path: Path) -> AsyncIterator[MediaMTXFactory]:
    """``await mediamtx_factory(yaml_text, extra=..., name=...)``: more/custom MediaMTX instances."""
    stack: list[Any] = []
    counter = 0

    async def factory(
        yaml_text: str | None = None, *, extra: Mapping[str, Any] | None = None, name: str = ""
    ) -> MediaMTXInstance:
        nonlocal counter
        counter += 1
        cm = run_mediamtx(yaml_text, workdir=tmp_path / (name or f"mediamtx-{counter}"), extra=extra)
        instance = await cm.__aenter__()
        stack.append(cm)
        return instance

    try:
        yield factory
    finally:
        for cm in reversed(stack):
            await cm.__aexit__(None, None, None)


TestCameraFactory = Callable[..., Awaitable[TestCamera]]


@pytest.fixture
async def test_camera_factory(tmp_path: Path) -> AsyncIterator[TestCameraFactory]:
    """``await test_camera_factory(rtsp_url, width=320, height=240, fps=15, gop=None, start=True)``.

    Every camera made here is stopped at teardown.
    """
    cameras: list[TestCamera] = []

    async def factory(url: str, *, start: bool = True, **kwargs: Any) -> TestCamera:
        kwargs.setdefault("log_path", tmp_path / f"testcam-{len(cameras) + 1}.log")
        cam = TestCamera(url, **kwargs)
        cameras.append(cam)
        if start:
            await cam.start()
        return cam

    try:
        yield factory
    finally:
        for cam in reversed(cameras):
            await cam.stop()


# --- service fixtures ---
# (Fixtures that start the camera-service itself go below this line; owned by the service tests.)

from tests.harness.rpc_client import RpcClient  # noqa: E402
from tests.harness.service import RunningService, run_service, service_config  # noqa: E402


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[RunningService]:
    """The real service (managed MediaMTX on free ports, no demo camera), started in this loop."""
    async with run_service(service_config(tmp_path / "svc")) as running:
        yield running


ServiceFactory = Callable[..., Any]


@pytest.fixture
async def service_factory(tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    """``async with service_factory(demo=True, overrides={...}, clock=...) as svc:`` for custom instances."""
    counter = 0

    def factory(
        *,
        demo: bool = False,
        overrides: dict[str, Any] | None = None,
        data_dir: Path | None = None,
        clock: Any = None,
    ) -> Any:
        nonlocal counter
        counter += 1
        return run_service(
            service_config(data_dir or tmp_path / f"svc{counter}", demo=demo, overrides=overrides),
            clock=clock,
        )

    yield factory


@pytest.fixture
async def rpc(service: RunningService) -> AsyncIterator[RpcClient]:
    """A JSON-RPC client connected to `service`."""
    client = await service.client()
    yield client


# --- database fixtures (tests/harness/postgres.py) ---
from tests.harness.postgres import PostgresServer, run_postgres  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole session (started on first use)."""
    with run_postgres() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards): its postgresql:// URL."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store test runs once per engine: a SQLite file URL, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


OpenDatabase = Callable[..., Awaitable[Any]]


@pytest.fixture
async def open_db(database_url: str) -> AsyncIterator[OpenDatabase]:
    """``db = await open_db({"cameras": MIGRATIONS})``: a started Database on this test's engine."""
    from camera_service.storage.factory import database_for_url

    opened: list[Any] = []

    async def factory(migrations: Mapping[str, Any] | None = None) -> Any:
        db = database_for_url(database_url)
        for domain, migs in (migrations or {}).items():
            db.register(domain, migs)
        await db.start()
        opened.append(db)
        return db

    try:
        yield factory
    finally:
        for db in reversed(opened):
            await db.stop()
