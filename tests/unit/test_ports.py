"""Free-port selection: below the ephemeral range, and disjoint per pytest-xdist worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.harness import ports
from tests.harness.ports import free_ports, port_range


def _as_worker(monkeypatch: pytest.MonkeyPatch, worker: str | None, count: int | None) -> None:
    for name, value in (("PYTEST_XDIST_WORKER", worker), ("PYTEST_XDIST_WORKER_COUNT", count)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(value))


def test_without_xdist_the_whole_range_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_worker(monkeypatch, None, None)
    assert port_range() == (20000, 32000)
    _as_worker(monkeypatch, "gw0", 1)
    assert port_range() == (20000, 32000)


def test_xdist_workers_get_disjoint_slices_inside_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    slices = []
    for i in range(6):
        _as_worker(monkeypatch, f"gw{i}", 6)
        slices.append(port_range())
    flat = [port for low, high in slices for port in (low, high)]
    assert flat == sorted(flat), slices  # ordered and non-overlapping
    assert all(high - low >= 1000 for low, high in slices)
    assert slices[0][0] == 20000 and slices[-1][1] <= 32000


def test_free_ports_stay_in_this_workers_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_worker(monkeypatch, "gw2", 4)
    low, high = port_range()
    ports = free_ports(50)
    assert len(set(ports)) == 50
    assert all(low <= p <= high for p in ports), (low, high, ports)


def test_ports_reserved_by_another_process_are_not_handed_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry = tmp_path / "ports.json"
    monkeypatch.setattr(ports, "port_range", lambda: (29500, 29529))
    first = ports.free_ports(8, registry=registry)
    second = ports.free_ports(8, registry=registry)  # as another worker or checkout would
    assert not set(first) & set(second), (first, second)
    saved = json.loads(registry.read_text())
    assert {int(p) for p in saved} == {*first, *second}
    assert all(time.time() + ports.RESERVE_S - 60 < t for t in saved.values())


def test_expired_and_corrupt_reservations_count_as_free(tmp_path: Path) -> None:
    registry = tmp_path / "ports.json"
    registry.write_text(json.dumps({"29001": time.time() - 1, "29002": time.time() + 100, "x": "bad"}))
    with ports._reservations(registry) as live:
        assert set(live) == {"29002"}
    assert set(json.loads(registry.read_text())) == {"29002"}  # the expired entries are dropped
    registry.write_text("{not json")
    with ports._reservations(registry) as live:
        assert live == {}
        live["29003"] = time.time() + 100
    assert set(json.loads(registry.read_text())) == {"29003"}
