"""ONVIF test cameras inside a private network namespace (so no WS-Discovery packet leaves the machine).

Layout: `ip netns add csonvif-XXXXXX` with `lo` up and one veth pair; the root end gets 10.200.a.b/30,
the namespace end the next address. Nothing routes beyond that /30 (no default route in the namespace),
so the namespace can talk to the root namespace only over that link. The simulator runs inside with
`ip netns exec` and listens on the namespace address; the service (root namespace) reaches its SOAP over
the veth, probes it by unicast, and multicasts WS-Discovery on the root end of the veth, which delivers
only to the namespace. Teardown deletes the namespace (and with it the veth pair), pass or fail.
Needs root (CAP_NET_ADMIN) and iproute2's `ip`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.harness.mediamtx import REPO_ROOT
from tests.harness.procs import ManagedProcess, wait_for


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@dataclass
class TestNetns:
    __test__ = False

    name: str
    host_if: str  # root-namespace end of the veth
    ns_if: str  # namespace end
    host_ip: str
    ns_ip: str

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", self.host_if], check=False, capture_output=True)


def create_netns() -> TestNetns:
    token = secrets.token_hex(3)
    used = _ip("-4", "-o", "addr", "show")
    for _ in range(50):
        net = ipaddress.IPv4Network(f"10.200.{random.randrange(256)}.{random.randrange(64) * 4}/30")
        if f" 10.200.{net.network_address.packed[2]}." not in used:
            break
    host_ip, ns_ip = (str(h) for h in net.hosts())
    ns = TestNetns(f"csonvif-{token}", f"cso{token}h", f"cso{token}n", host_ip, ns_ip)
    try:
        _ip("netns", "add", ns.name)
        _ip("-n", ns.name, "link", "set", "lo", "up")
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.ns_if)
        _ip("link", "set", ns.ns_if, "netns", ns.name)
        _ip("addr", "add", f"{host_ip}/30", "dev", ns.host_if)
        _ip("link", "set", ns.host_if, "up")
        _ip("-n", ns.name, "addr", "add", f"{ns_ip}/30", "dev", ns.ns_if)
        _ip("-n", ns.name, "link", "set", ns.ns_if, "up")
    except BaseException:
        ns.delete()
        raise
    return ns


@dataclass
class SimHandle:
    """A running simulator: where it is, and its call log/state over its control endpoints."""

    process: ManagedProcess
    config: dict[str, Any]
    _session: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)

    @property
    def base(self) -> str:
        return f"http://{self.config['host']}:{self.config['port']}"

    @property
    def xaddr(self) -> str:
        return f"{self.base}/onvif/device_service"

    async def calls(self, service: str | None = None) -> list[dict[str, Any]]:
        async with self._session.get(self.base + "/sim/calls") as resp:
            calls: list[dict[str, Any]] = await resp.json()
        return [c for c in calls if service is None or c["service"] == service]

    async def ops(self, service: str | None = "ptz_service") -> list[str]:
        return [c["op"] for c in await self.calls(service)]

    async def state(self) -> dict[str, Any]:
        async with self._session.get(self.base + "/sim/state") as resp:
            state: dict[str, Any] = await resp.json()
        return state

    async def reset(self) -> None:
        async with self._session.post(self.base + "/sim/reset") as resp:
            resp.raise_for_status()

    async def close(self) -> None:
        await self._session.close()
        await self.process.stop()


async def start_sim(netns: TestNetns, **config: Any) -> SimHandle:
    """Start tests/harness/onvif_sim.py inside `netns` on its address; returns once it listens."""
    config.setdefault("host", netns.ns_ip)
    config.setdefault("discovery_interface", netns.ns_if if config.get("discovery", True) else None)
    argv = [
        "ip",
        "netns",
        "exec",
        netns.name,
        sys.executable,
        "-m",
        "tests.harness.onvif_sim",
        "--config",
        json.dumps(config),
    ]
    proc = await ManagedProcess(argv, name="onvif-sim", cwd=REPO_ROOT).start()
    try:
        line = await wait_for(
            lambda: next((x for x in proc.output().splitlines() if x.startswith("READY ")), None),
            15.0,
            0.05,
            message=lambda: f"simulator did not start: {proc.output(20)}",
        )
    except BaseException:
        await proc.stop()
        raise
    return SimHandle(proc, json.loads(line[len("READY ") :]))


@contextlib.asynccontextmanager
async def onvif_network() -> AsyncIterator[TestNetns]:
    netns = create_netns()
    try:
        yield netns
    finally:
        netns.delete()
