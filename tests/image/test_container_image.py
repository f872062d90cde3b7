"""The real Dockerfile, built with buildah on a debootstrapped bookworm and run: /health/ready and `ping`
answer from the host, the HEALTHCHECK command passes inside the container, and SIGTERM stops it cleanly.

Needs root, buildah and debootstrap (scripts/setup.sh installs them). The first run on a machine takes
minutes (the debootstrap, then the Debian packages and wheels); both are cached in
~/.cache/camera-service/image/: the base tarball, and a buildah storage whose layers a later build reuses
while their inputs are unchanged (as docker build does), so a code change rebuilds only the project's layers.
Deselect locally with `-m "not image"`; CI runs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.harness.cache import image_layer_cache
from tests.harness.mediamtx import REPO_ROOT, mediamtx_binary
from tests.harness.ports import free_ports
from tests.harness.procs import ManagedProcess, wait_for
from tests.harness.rpc_client import RpcClient

pytestmark = [pytest.mark.image, pytest.mark.slow, pytest.mark.timeout(1500)]
TAG = "localhost/camera-service:test"
APP_UID = 10001  # the Dockerfile's ARG APP_UID


class Buildah:
    """buildah with its own storage under one directory. Overlay where the kernel allows it
    (scripts/buildah-driver.sh): vfs copies the whole tree for every layer and container (GBs, minutes)."""

    def __init__(self, root: Path, *, keep: bool) -> None:
        self.root = root
        self.keep = keep  # the layer cache: kept after the test; a private storage is deleted
        storage = root / "storage"
        probe = ["bash", "scripts/buildah-driver.sh", str(storage)]
        self.driver = subprocess.run(probe, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
        self.driver = self.driver.strip()
        assert self.driver in ("overlay", "vfs"), self.driver
        self.env = {**os.environ, "BUILDAH_ROOT": str(storage), "BUILDAH_RUNROOT": str(root / "run")}
        self.env["BUILDAH_DRIVER"] = self.driver  # scripts/build-image.sh builds into the same storage
        self.argv = ["buildah", "--storage-driver", self.driver, "--root", self.env["BUILDAH_ROOT"]]
        if self.driver == "overlay":  # as scripts/build-image.sh: no bind mount of the storage left behind
            self.argv += ["--storage-opt", "overlay.skip_mount_home=true"]
        self.argv += ["--runroot", self.env["BUILDAH_RUNROOT"]]

    def mounts(self) -> list[str]:
        """Mount points under this storage (none once every container is removed)."""
        with open("/proc/self/mounts", encoding="utf-8") as f:
            points = [line.split()[1] for line in f]
        return [p for p in points if p.startswith(str(self.root) + "/")]

    def prune(self) -> None:
        """Drops the untagged images no other image builds on: the previous build's project layers (buildah
        removes the whole untagged chain at once). The tagged test image, the base and the layers under them
        stay as the cache."""
        self("rmi", "--prune")

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([*self.argv, *args], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"buildah {' '.join(args)}: {proc.stderr[-2000:]}"
        return proc.stdout.strip()


@pytest.fixture(scope="module")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    assert os.geteuid() == 0, "the image test builds with buildah as root (CI runs as root)"
    for tool in ("buildah", "debootstrap"):
        assert shutil.which(tool), f"{tool} missing: run scripts/setup.sh"
    cache = image_layer_cache()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / "buildah.lock", "w", encoding="utf-8") as lock:
        # One test run at a time uses the cached storage (it removes every container there afterwards);
        # a second one at the same moment builds into a private storage from scratch.
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            b = Buildah(cache, keep=True)
        except BlockingIOError:
            b = Buildah(tmp_path_factory.mktemp("buildah"), keep=False)
        try:
            yield b
        finally:
            subprocess.run([*b.argv, "rm", "--all"], capture_output=True, check=False)
            left = b.mounts()
            for point in reversed(left):  # never delete through a mount (shared machine); then say so
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
            if b.keep and not left:
                b.prune()
            elif not b.keep:
                shutil.rmtree(b.root, ignore_errors=True)
            assert not left, f"buildah left mounts behind: {left}"


@pytest.fixture(scope="module")
def image(buildah: Buildah) -> dict[str, int]:
    """Builds the image with scripts/build-image.sh; returns its measured build time and size."""
    # Ahead of the rest of the suite (root may raise a priority): the tests run in parallel
    # (scripts/test.sh) and this build is the longest job, so sharing the CPU evenly with the other
    # workers would make it set the suite's wall time (~220 s instead of ~70 s alone, 8 workers, 2 cores).
    proc = subprocess.run(
        ["nice", "-n", "-10", "bash", "scripts/build-image.sh", TAG],
        cwd=REPO_ROOT,
        env={**buildah.env, "MEDIAMTX_BIN": str(mediamtx_binary())},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    stats = {k: int(v) for k, v in re.findall(r"(build_seconds|image_bytes)=(\d+)", proc.stderr)}
    print(f"\n[image] {TAG}: build {stats.get('build_seconds')} s, size {stats.get('image_bytes')} bytes")
    return stats


def _container_env(ports: list[int]) -> dict[str, str]:
    server = ports[0]
    names = ["API", "PLAYBACK", "METRICS", "RTSP", "RTMP", "HLS", "WEBRTC", "WEBRTC_ICE_UDP", "SRT"]
    env = {f"CAMERA_SERVICE_MEDIAMTX__{n}_PORT": str(p) for n, p in zip(names, ports[1:], strict=True)}
    env["CAMERA_SERVICE_SERVER__PORT"] = str(server)
    # The host network is shared: only what the test uses listens (plus the demo camera's RTSP publish).
    for proto in ("RTMP", "HLS", "WEBRTC", "SRT"):
        env[f"CAMERA_SERVICE_MEDIAMTX__ENABLE_{proto}"] = "false"
    env["CAMERA_SERVICE_DEMO__WIDTH"], env["CAMERA_SERVICE_DEMO__HEIGHT"] = "320", "240"
    return env


def test_image_config(buildah: Buildah, image: dict[str, int]) -> None:
    config = json.loads(buildah("inspect", "--type", "image", TAG))["Docker"]["config"]
    assert config["User"] == f"{APP_UID}:{APP_UID}"
    assert "/data" in config["Volumes"]
    assert "8002/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["camera-service"] and config["Cmd"] == ["serve"]
    assert "/health/ready" in " ".join(config["Healthcheck"]["Test"])
    assert image["image_bytes"] > 100_000_000  # a real image: Python, ffmpeg, MediaMTX


async def test_container_serves_health_and_ping(
    buildah: Buildah, image: dict[str, int], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, APP_UID, APP_UID)  # the volume belongs to the image's non-root user
    ctr = buildah("from", "--name", f"cs-test-{os.getpid()}", TAG)
    config = json.loads(buildah("inspect", "--type", "container", ctr))["Docker"]["config"]
    # Like `docker run -v HOST:/data`, the host directory replaces the image's anonymous volume (buildah run
    # would otherwise mount its own volume over the bind mount).
    buildah("config", "--volume", "/data-", ctr)
    ports = free_ports(10)
    run = [*buildah.argv, "run", "--isolation", "chroot", "--network", "host", "--volume", f"{data}:/data:rw"]
    for key, value in _container_env(ports).items():
        run += ["--env", f"{key}={value}"]
    # What `docker run` would start: the image's ENTRYPOINT + CMD, as the image's user.
    proc = ManagedProcess([*run, ctr, "--", *config["Entrypoint"], *config["Cmd"]], name="container")
    await proc.start()
    inside: list[psutil.Process] = []  # the service, MediaMTX, ffmpeg: killed if anything below fails
    try:
        base = f"http://127.0.0.1:{ports[0]}"

        async def ready() -> bool:
            assert proc.running, proc.output(60)
            async with aiohttp.ClientSession() as s, s.get(f"{base}/health/ready") as r:
                return r.status == 200

        await wait_for(ready, timeout=180, interval=0.5, message=lambda: proc.output(40))
        main = _container_main(proc)
        inside += [main, *main.children(recursive=True)]
        assert main.uids().real == APP_UID
        assert any("mediamtx" in p.name() for p in inside)

        async with await RpcClient.connect(f"ws://127.0.0.1:{ports[0]}/ws") as client:
            assert await client.call("ping") == "pong"
        # The bootstrapped admin key landed in the /data volume (written by the non-root user) and works.
        key_file = data / "secrets" / "admin-api-key"
        assert key_file.stat().st_uid == APP_UID
        async with await RpcClient.connect(f"ws://127.0.0.1:{ports[0]}/ws") as client:
            await client.call("authenticate", {"auth_token": key_file.read_text().strip()})
            assert "demo" in json.dumps(await client.call("list_cameras"))
        # The image's HEALTHCHECK command, run inside the container, passes.
        check = config["Healthcheck"]["Test"]
        assert check[0] == "CMD"
        hc = subprocess.run(
            [*run, ctr, "--", *check[1:]], capture_output=True, text=True, timeout=60, check=False
        )
        assert hc.returncode == 0, hc.stderr

        # `docker stop`: SIGTERM to the container's main process (buildah run does not forward signals).
        main.send_signal(signal.SIGTERM)
        rc = await proc.wait(timeout=90)
        assert rc == 0, proc.output(60)
        assert "shutting down" in proc.output()
        assert not [p for p in inside if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        await proc.stop(timeout=10)
        for leftover in inside:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        buildah("rm", ctr)


def _container_main(proc: ManagedProcess) -> psutil.Process:
    assert proc.pid is not None
    for child in psutil.Process(proc.pid).children(recursive=True):
        parent = child.parent()
        if parent is not None and parent.cmdline()[:1] == ["buildah-chroot-exec"]:
            return child
    raise AssertionError("no container process under buildah run")
