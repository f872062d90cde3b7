"""Cluster ownership decisions (camera_service/cluster/assign.py, ownership.py) on a simulated clock."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from camera_service.cluster.assign import (
    Lease,
    assign,
    live_instances,
    local_deadline,
    orphans,
    owner_of,
    plan,
)
from camera_service.cluster.config import ClusterConfig
from camera_service.cluster.ownership import Ownership
from tests.harness.clock import FakeClock

CAMS = [f"cam{i:03d}" for i in range(300)]


def test_rendezvous_is_deterministic_and_order_free() -> None:
    a = assign(CAMS, ["a", "b", "c"])
    assert a == assign(reversed(CAMS), ["c", "a", "b"])
    assert set(a) == set(CAMS)
    assert owner_of("cam001", []) is None
    assert assign(CAMS, []) == {}


def test_rendezvous_spreads_cameras() -> None:
    counts = Counter(assign(CAMS, ["a", "b", "c"]).values())
    assert set(counts) == {"a", "b", "c"}
    assert min(counts.values()) >= 60  # 100 each on average; hashing keeps it near


def test_only_the_dead_instances_cameras_move() -> None:
    before = assign(CAMS, ["a", "b", "c"])
    after = assign(CAMS, ["a", "c"])
    moved = {cid for cid in CAMS if before[cid] != after[cid]}
    assert moved == {cid for cid, inst in before.items() if inst == "b"}
    # And a joining instance only takes cameras, never shuffles them between the others.
    joined = assign(CAMS, ["a", "b", "c", "d"])
    assert all(joined[cid] in (before[cid], "d") for cid in CAMS)
    assert "d" in joined.values()


def _lease(cid: str, inst: str, exp: float, epoch: int = 1) -> Lease:
    return Lease(cid, inst, exp, epoch)


def test_plan_claims_free_renews_own_releases_reassigned() -> None:
    live = ["a", "b"]
    target = assign(CAMS[:40], live)
    mine = [c for c in CAMS[:40] if target[c] == "a"]
    theirs = [c for c in CAMS[:40] if target[c] == "b"]
    now = 1000.0
    leases = {
        mine[0]: _lease(mine[0], "a", now + 5),  # ours, running: renew
        mine[1]: _lease(mine[1], "b", now + 5),  # b still holds it: wait until it releases or expires
        mine[2]: _lease(mine[2], "b", now - 0.1),  # b's lease ran out: claim
        mine[3]: _lease(mine[3], "a", now),  # ours but expired: claim again (new epoch), never renew
        theirs[0]: _lease(theirs[0], "a", now + 5),  # ours, assigned to b now: release
        theirs[1]: _lease(theirs[1], "b", now + 5),  # b's: nothing to do
    }
    p = plan("a", CAMS[:40], live, leases, now)
    assert p.renew == (mine[0],)
    assert p.wait == (mine[1],)
    assert set(p.claim) == set(mine) - {mine[0], mine[1]}
    assert mine[2] in p.claim and mine[3] in p.claim
    assert p.release == (theirs[0],)
    assert not set(p.claim) & set(theirs)


def test_plan_when_an_instance_dies_its_cameras_go_to_the_survivors() -> None:
    now = 5000.0
    before = assign(CAMS[:30], ["a", "b", "c"])
    # b's leases run out in 2 s; a and c keep renewing theirs.
    leases = {cid: _lease(cid, inst, now + (2 if inst == "b" else 20)) for cid, inst in before.items()}
    b_cams = {cid for cid, inst in before.items() if inst == "b"}
    assert b_cams
    # b stopped heartbeating: a and c assign without it, but b's leases still run: they wait ...
    waits = set(plan("a", CAMS[:30], ["a", "c"], leases, now).wait)
    waits |= set(plan("c", CAMS[:30], ["a", "c"], leases, now).wait)
    assert waits == b_cams
    # ... and claim once they ran out; every camera of b claimed by exactly one survivor.
    pa = plan("a", CAMS[:30], ["a", "c"], leases, now + 2)
    pc = plan("c", CAMS[:30], ["a", "c"], leases, now + 2)
    assert set(pa.claim) | set(pc.claim) == b_cams
    assert not set(pa.claim) & set(pc.claim)


def test_plan_counts_itself_live_and_ignores_unknown_leases() -> None:
    p = plan("solo", ["x", "y"], [], {"gone": _lease("gone", "solo", 10.0)}, 0.0)
    assert p.claim == ("x", "y")
    assert p.release == ()
    assert orphans({"gone": _lease("gone", "solo", 10.0), "x": _lease("x", "solo", 1.0)}, ["x", "y"]) == [
        "gone"
    ]


def test_live_instances_and_local_deadline() -> None:
    beats = {"a": 100.0, "b": 93.0, "c": 99.5}
    assert live_instances(beats, 101.0, 8.0) == ["a", "c"]
    assert live_instances(beats, 101.0, 0.5) == []
    assert local_deadline(50.0, 10.0, 3.0) == 57.0
    assert local_deadline(50.0, 2.0, 3.0) == 50.0  # never before the statement went out


async def test_ownership_lapses_on_the_simulated_clock() -> None:
    clock = FakeClock()
    own = Ownership("a", clock)
    assert own.clustered and not own.owns("cam1") and own.fence("cam1") is None
    assert own.grant("cam1", 3, local_deadline(clock.monotonic(), 10.0, 3.0)) is True
    assert own.grant("cam1", 3, local_deadline(clock.monotonic(), 10.0, 3.0)) is False  # a renewal
    assert own.owns("cam1") and own.fence("cam1") == ("a", 3)
    await clock.advance(6.9)
    assert own.owns("cam1") and own.lapsed() == []
    await clock.advance(0.2)  # past sent + ttl - margin: no longer ours, even before a revoke
    assert not own.owns("cam1") and own.lapsed() == ["cam1"]
    assert own.revoke("cam1") is True and own.revoke("cam1") is False
    assert own.lapsed() == []
    # The segment MediaMTX closes after the stop still carries the epoch it was recorded under.
    assert own.fence("cam1") == ("a", 3)
    assert own.grant("cam1", 5, local_deadline(clock.monotonic(), 10.0, 3.0)) is True
    assert own.fence("cam1") == ("a", 5)


def test_single_instance_owns_everything() -> None:
    own = Ownership(None, FakeClock())
    assert not own.clustered
    assert own.owns("anything") and own.fence("anything") is None


def test_cluster_config_checks() -> None:
    assert ClusterConfig().enabled is False
    cfg = ClusterConfig(enabled=True, instance_id="node-1")
    assert cfg.move_bound_s == cfg.lease_ttl_s + cfg.renew_interval_s
    with pytest.raises(ValueError, match="instance_id is required"):
        ClusterConfig(enabled=True)
    with pytest.raises(ValueError, match="a third of lease_ttl_s"):
        ClusterConfig(lease_ttl_s=6, renew_interval_s=3)
    with pytest.raises(ValueError, match="letters, digits"):
        ClusterConfig(instance_id="bad id")


def test_routing_points_stream_urls_at_the_owner() -> None:
    from camera_service.cameras.streams import StreamUrls, SubstreamUrls
    from camera_service.cluster.routing import Directory
    from camera_service.cluster.store import Member

    me = Member(
        "a",
        "ws://a:8002/ws",
        "rtsp://a:8554",
        "http://a:8888",
        "http://a:8889",
        "rtmp://a:1935",
        "srt://a:8890",
    )
    b = Member(
        "b",
        "ws://b:8002/ws",
        "rtsp://b:9554",
        "http://b:9888",
        "http://b:9889",
        "rtmp://b:2935",
        "srt://b:9890",
    )
    directory = Directory(me)
    directory.update({"b": b}, {"cam1": "b", "cam2": "a", "cam3": "gone"})
    urls = StreamUrls(
        camera="cam1",
        rtsp="rtsp://a:8554/cam1",
        hls="http://a:8888/cam1/index.m3u8",
        webrtc="http://a:8889/cam1",
        whep="http://a:8889/cam1/whep",
        rtmp="rtmp://a:1935/cam1",
        srt="srt://a:8890?streamid=read:cam1",
    )
    routed = directory.route(urls)
    assert (routed.rtmp, routed.srt) == ("rtmp://b:2935/cam1", "srt://b:9890?streamid=read:cam1")
    assert routed.rtsp == "rtsp://b:9554/cam1"
    assert routed.hls == "http://b:9888/cam1/index.m3u8"
    assert (routed.webrtc, routed.whep) == ("http://b:9889/cam1", "http://b:9889/cam1/whep")
    assert routed.substream is None
    with_sub = urls.model_copy(
        update={
            "substream": SubstreamUrls(
                rtsp="rtsp://a:8554/cam1.sub",
                hls="http://a:8888/cam1.sub/index.m3u8",
                whep="http://a:8889/cam1.sub/whep",
            )
        }
    )
    sub = directory.route(with_sub).substream
    assert sub is not None and (sub.rtsp, sub.hls, sub.whep) == (
        "rtsp://b:9554/cam1.sub",
        "http://b:9888/cam1.sub/index.m3u8",
        "http://b:9889/cam1.sub/whep",
    )
    mine = urls.model_copy(update={"camera": "cam2"})
    assert directory.route(mine) == mine
    # An owner that is not live (or no owner yet): this instance's URLs, unchanged.
    orphan = urls.model_copy(update={"camera": "cam3"})
    assert directory.route(orphan) == orphan
    assert directory.owner("cam3") is None


def test_forwarded_identity_keeps_its_scope() -> None:
    from camera_service.auth.identity import Identity
    from camera_service.auth.roles import Role
    from camera_service.cluster.forward import identity_claims

    scoped = Identity(subject="op", role=Role.OPERATOR, cameras=frozenset({"c1"}), scope_claimed=True)
    assert identity_claims(scoped) == {
        "sub": "op",
        "role": Role.OPERATOR.label,
        "cameras": ["c1"],
        "groups": [],
        "tags": [],
        "agencies": [],
    }
    # A scope claim with empty lists means no camera: it must not turn into "every camera".
    none = Identity(subject="v", role=Role.VIEWER, scope_claimed=True)
    assert identity_claims(none)["cameras"] == []
    admin = Identity(subject="root", role=Role.ADMIN)
    assert identity_claims(admin) == {"sub": "root", "role": Role.ADMIN.label}


def test_cluster_mode_refuses_settings_other_instances_cannot_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from camera_service.config import ConfigError, load_settings

    for name in list(os.environ):
        if name.startswith("CAMERA_SERVICE_"):
            monkeypatch.delenv(name)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"storage: {{data_dir: '{tmp_path}'}}\ncluster: {{enabled: true, instance_id: n1}}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    for key in ("storage.database_url", "cameras.secret_key", "security.jwt_secret"):
        assert key in str(err.value)
    cfg.write_text(
        f"storage: {{data_dir: '{tmp_path}', database_url: 'postgresql://u@h/db'}}\n"
        "cameras: {secret_key: 6570-tOdZJ8vu4JoMX3KjZIXeCQyy6WnN_jpAYtQwi0=}\n"
        "security: {jwt_secret: a-shared-secret-of-enough-length-0123456789}\n"
        "cluster: {enabled: true, instance_id: n1}\n"
    )
    assert load_settings(cfg).cluster.instance_id == "n1"
