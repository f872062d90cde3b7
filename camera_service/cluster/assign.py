"""Pure decisions of the ownership loop: who should own a camera, what to claim, renew and release, and
how long a lease may be trusted locally. No I/O: the service feeds them rows and a clock.

Assignment is rendezvous (highest-random-weight) hashing of the camera id over the live instances: every
instance computes the same owner from the same membership, and when one instance joins or leaves only
the cameras it wins or held move. Leases in PostgreSQL are the safety net: a camera is claimed only when
its lease is free, expired or already ours, so two instances never own it at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """A camera_owner row; `expires_at` in the database's clock (unix seconds)."""

    camera_id: str
    instance_id: str
    expires_at: float
    epoch: int


@dataclass(frozen=True)
class Plan:
    """One ownership round for one instance."""

    renew: tuple[str, ...]  # held by us, still assigned to us
    claim: tuple[str, ...]  # assigned to us, free or expired
    release: tuple[str, ...]  # held by us, assigned to another live instance
    wait: tuple[str, ...]  # assigned to us, another instance's lease still runs


def score(instance_id: str, camera_id: str) -> int:
    """The rendezvous weight of (instance, camera): a stable 64-bit hash, the same on every instance."""
    digest = hashlib.blake2b(f"{instance_id}\x00{camera_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(camera_id: str, instances: Iterable[str]) -> str | None:
    """The live instance that should own `camera_id` (None when there is none). Ties: the smaller id."""
    best: tuple[int, str] | None = None
    for inst in instances:
        key = (score(inst, camera_id), inst)
        if best is None or key[0] > best[0] or (key[0] == best[0] and inst < best[1]):
            best = key
    return best[1] if best else None


def assign(camera_ids: Iterable[str], instances: Iterable[str]) -> dict[str, str]:
    """camera id -> the instance that should own it, for every camera (empty when no instance lives)."""
    live = sorted(set(instances))
    if not live:
        return {}
    out: dict[str, str] = {}
    for cid in camera_ids:
        owner = owner_of(cid, live)
        if owner is not None:
            out[cid] = owner
    return out


def plan(
    me: str,
    camera_ids: Iterable[str],
    live: Iterable[str],
    leases: Mapping[str, Lease],
    now: float,
) -> Plan:
    """What `me` does this round. `live` are the instances with a fresh heartbeat (we count as live: a
    round only runs while our own heartbeat is written); `now` is the database's time, the one the leases'
    expiries are in. A lease of ours that expired is claimed again (new epoch), never renewed: someone
    may have held the camera in between."""
    members = set(live) | {me}
    renew: list[str] = []
    claim: list[str] = []
    release: list[str] = []
    wait: list[str] = []
    for cid in sorted(set(camera_ids)):
        target = owner_of(cid, members)
        lease = leases.get(cid)
        mine = lease is not None and lease.instance_id == me
        expired = lease is None or lease.expires_at <= now
        if target == me:
            if mine and not expired:
                renew.append(cid)
            elif expired:
                claim.append(cid)
            else:
                wait.append(cid)
        elif mine and not expired:
            release.append(cid)
    return Plan(tuple(renew), tuple(claim), tuple(release), tuple(wait))


def orphans(leases: Mapping[str, Lease], camera_ids: Iterable[str]) -> list[str]:
    """Lease rows of cameras that no longer exist (removed from the registry): to delete."""
    known = set(camera_ids)
    return sorted(cid for cid in leases if cid not in known)


def local_deadline(sent_at: float, ttl_s: float, margin_s: float) -> float:
    """Until when (our monotonic clock) we may act as owner after a claim/renew sent at `sent_at`.

    The database computed the expiry as its now() + ttl, and its now() is not earlier than the moment we
    sent the statement, so sent_at + ttl never outlives the real lease; `margin_s` stops us earlier still
    (clock-rate drift, a slow stop)."""
    return sent_at + max(0.0, ttl_s - margin_s)


def live_instances(heartbeats: Mapping[str, float], now: float, ttl_s: float) -> list[str]:
    """Instances whose last heartbeat (database time) is younger than `ttl_s` at `now`, sorted."""
    return sorted(inst for inst, beat in heartbeats.items() if now - beat < ttl_s)
