"""ClusterService (component "cluster"): heartbeats, ownership rounds, and the cameras' start and stop.

Every `heartbeat_interval_s` it writes this instance's row. Every `renew_interval_s` it runs one round:
sync the registry (rows other instances changed), read members and leases, compute the plan
(assign.plan), release what moved away (stop the path first), renew what stays, claim what is free,
then stop anything whose lease was lost or ran past its local deadline. Starting a camera means: the
recordings domain re-reads its policy, then its MediaMTX path is applied (the path builder now says
owned); stopping means re-applying, which deletes the path (nothing pulled or recorded here any more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from camera_service.cameras.ports import SharedRegistry
from camera_service.cluster.assign import live_instances, local_deadline, orphans, plan
from camera_service.cluster.config import ClusterConfig
from camera_service.cluster.ownership import Ownership
from camera_service.cluster.routing import Directory
from camera_service.cluster.store import MIGRATIONS, ClusterStore, Member
from camera_service.core.clock import Clock
from camera_service.core.component import ComponentHealth
from camera_service.core.errors import DomainError
from camera_service.core.tasks import TaskSet
from camera_service.mediamtx.errors import MediaMTXError
from camera_service.storage.database import Database

log = logging.getLogger("camera_service.cluster")

# A long-silent instance's row is deleted after this many instance TTLs (it is only routing history).
_FORGET_AFTER_TTLS = 30


class ClusterService:
    name = "cluster"

    def __init__(
        self,
        cfg: ClusterConfig,
        *,
        db: Database,
        ownership: Ownership,
        directory: Directory,
        cameras: SharedRegistry,
        me: Callable[[], Member],
        on_acquired: Callable[[str], Awaitable[None]],
        on_released: Callable[[str], Awaitable[None]],
        clock: Clock,
    ) -> None:
        """`me`: this instance's advertised row (called at start, once the server's port is known);
        `on_acquired`: run when a camera becomes ours or changed elsewhere (recordings re-reads its
        policy, carries a running session on) before its path is applied; `on_released`: after a camera
        stopped here (recordings forgets its session without ending it)."""
        self.cfg = cfg
        self.db = db
        self.ownership = ownership
        self.directory = directory
        self.cameras = cameras
        self._me = me
        self._on_acquired = on_acquired
        self._on_released = on_released
        self.clock = clock
        db.register("cluster", MIGRATIONS)
        self._store: ClusterStore | None = None
        self._tasks = TaskSet("cluster")
        self._member: Member | None = None
        self._to_start: set[str] = set()  # granted here, path not applied yet (retried every round)
        self.rounds = 0
        self.failed_rounds = 0
        self.live: list[str] = []

    @property
    def instance_id(self) -> str:
        assert self.cfg.instance_id is not None  # checked by ClusterConfig when enabled
        return self.cfg.instance_id

    @property
    def store(self) -> ClusterStore:
        if self._store is None:
            raise RuntimeError("cluster not started")
        return self._store

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.db.dialect != "postgresql":
            raise RuntimeError("cluster.enabled needs a shared PostgreSQL: set storage.database_url")
        self._store = ClusterStore(self.db)
        self._member = self._me()
        self.directory.me = self._member
        await self.store.heartbeat(self._member)
        await self.round()
        self._tasks.reopen()
        self._tasks.spawn(self._heartbeats(), name="cluster-heartbeat")
        self._tasks.spawn(self._rounds(), name="cluster-rounds")
        log.info(
            "cluster member up",
            extra={"instance": self.instance_id, "owned": len(self.ownership.held()), "live": self.live},
        )

    async def stop(self) -> None:
        await self._tasks.close()
        if self._store is None:
            return
        # Hand everything over at once instead of letting the leases run out: stop every path, then
        # release the leases in one statement.
        held = sorted(self.ownership.held())
        for cid in held:
            self.ownership.revoke(cid)
        await self._stop_many(held)
        try:
            await self.store.release_all(self.instance_id, held)
        except Exception:
            log.warning("leases not released on stop: they run out", extra={"cameras": len(held)})
        try:
            await self.store.leave(self.instance_id)
        except Exception:
            log.warning("instance row not removed on stop")

    def health(self) -> ComponentHealth:
        return ComponentHealth(
            name=self.name,
            healthy=self._store is not None,
            status="running" if self._store is not None else "stopped",
            details={
                "instance": self.instance_id,
                "live_instances": list(self.live),
                "owned_cameras": len(self.ownership.held()),
                "rounds": self.rounds,
                "failed_rounds": self.failed_rounds,
            },
        )

    # ---- loops ---------------------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        assert self._member is not None
        while True:
            await self.clock.sleep(self.cfg.heartbeat_interval_s)
            try:
                async with asyncio.timeout(self.cfg.heartbeat_interval_s * 2):
                    await self.store.heartbeat(self._member)
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)

    async def _rounds(self) -> None:
        while True:
            await self.clock.sleep(self.cfg.renew_interval_s)
            try:
                # Bounded: a hung database must not keep us from stopping lapsed cameras below.
                async with asyncio.timeout(self.cfg.renew_interval_s):
                    await self.decide()
            except Exception as exc:
                self.failed_rounds += 1
                log.warning("ownership round failed: %s", exc)
            await self.stop_lapsed()
            await self.start_pending()

    # ---- one round -----------------------------------------------------------------------------------

    async def round(self) -> None:
        """One ownership round: decide (database), then start what became ours."""
        await self.decide()
        await self.start_pending()

    async def decide(self) -> None:
        """The database part of a round: leases claimed, renewed, released; cameras that are no longer
        ours stopped (before their release); those that became ours queued for start_pending."""
        me = self.instance_id
        report = await self.cameras.sync()
        rows, now = await self.store.members()
        self.live = live_instances({i: beat for i, (_m, beat) in rows.items()}, now, self.cfg.instance_ttl_s)
        leases, now = await self.store.leases()
        camera_ids = [c.id for c in self.cameras.cameras()]
        p = plan(me, camera_ids, self.live, leases, now)
        owners = {cid: lease.instance_id for cid, lease in leases.items() if lease.expires_at > now}

        if p.release:
            # Stop first (all paths at once), then end the leases: the new owner claims next round.
            for cid in p.release:
                self.ownership.revoke(cid)
                owners.pop(cid, None)
            await self._stop_many(p.release)
            await self.store.release_all(me, p.release)
            log.info("cameras handed over", extra={"cameras": len(p.release)})

        ttl, margin = self.cfg.lease_ttl_s, 2 * self.cfg.renew_interval_s
        sent = self.clock.monotonic()
        renewed = await self.store.renew(p.renew, me, ttl)
        started: list[str] = []
        lost: list[str] = []
        for cid in p.renew:
            if cid in renewed:
                if self.ownership.grant(cid, renewed[cid], local_deadline(sent, ttl, margin)):
                    started.append(cid)  # ours in the database, not yet here (e.g. a restart)
            elif self.ownership.revoke(cid):
                lost.append(cid)
        if lost:
            log.warning("camera leases lost: stopped", extra={"cameras": lost})
            await self._stop_many(lost)
        for cid in p.claim:
            sent = self.clock.monotonic()
            claimed = await self.store.claim(cid, me, ttl)
            if claimed is None:
                continue  # another instance was quicker: its lease runs
            owners[cid] = me
            self.ownership.grant(cid, claimed, local_deadline(sent, ttl, margin))
            started.append(cid)
            log.info("camera claimed", extra={"camera": cid, "epoch": claimed})
        # Held here but neither renewed nor claimed this round (removed, or the plan moved it): stop.
        keep = set(p.renew) | set(p.claim)
        dropped = [cid for cid in sorted(set(self.ownership.held()) - keep) if self.ownership.revoke(cid)]
        await self._stop_many(dropped)
        gone = [cid for cid in orphans(leases, camera_ids) if leases[cid].instance_id == me]
        await self.store.drop(gone)

        members = {i: m for i, (m, _beat) in rows.items() if i in self.live}
        self.directory.update(members, {c: o for c, o in owners.items() if o == me or o in members})
        self._to_start.update(started)
        # Changed on another instance while ours: re-read the policy and re-apply the path.
        self._to_start.update(cid for cid in report.changed if self.ownership.owns(cid))
        if self.rounds % 10 == 0:
            await self.store.forget_dead(self.cfg.instance_ttl_s * _FORGET_AFTER_TTLS)
        self.rounds += 1

    async def stop_lapsed(self) -> None:
        """Stop cameras whose lease ran past its local deadline (renewals failed): never record on
        after another instance may have taken the camera."""
        lapsed = self.ownership.lapsed()
        for cid in lapsed:
            self.ownership.revoke(cid)
        if lapsed:
            log.warning("camera leases lapsed (renewals failed): stopped", extra={"cameras": lapsed})
            await self._stop_many(lapsed)

    async def start_pending(self) -> None:
        """Apply the paths of cameras that became ours (recordings re-reads the policy first)."""
        for cid in sorted(self._to_start):
            if not self.ownership.owns(cid):
                self._to_start.discard(cid)
                continue
            try:
                await self._on_acquired(cid)
                await self.cameras.reapply(cid)
            except (DomainError, MediaMTXError) as exc:
                # MediaMTX down: retried next round (and the cameras' reconcile applies it once it is back).
                log.warning("owned camera not applied yet: %s", exc, extra={"camera": cid})
                continue
            self._to_start.discard(cid)

    async def _stop_many(self, camera_ids: list[str] | tuple[str, ...]) -> None:
        """Stop cameras no longer ours (already revoked): one path delete, or for several one reconcile
        (the cameras domain deletes their paths in parallel; owns() is False for them now)."""
        if len(camera_ids) == 1:
            await self._stop_camera(camera_ids[0])
            return
        if not camera_ids:
            return
        try:
            await self.cameras.reconcile()
        except (DomainError, MediaMTXError) as exc:
            log.warning("released cameras' paths not deleted yet: %s", exc)
            self.cameras.request_reconcile()
        for cid in camera_ids:
            try:
                await self._on_released(cid)
            except Exception:
                log.exception("release hook failed", extra={"camera": cid})

    async def _stop_camera(self, camera_id: str) -> None:
        try:
            await self.cameras.reapply(camera_id)  # owns() is False now: the path is deleted
        except (DomainError, MediaMTXError) as exc:
            log.warning("released camera's path not deleted yet: %s", exc, extra={"camera": camera_id})
            self.cameras.request_reconcile()
        try:
            await self._on_released(camera_id)
        except Exception:
            log.exception("release hook failed", extra={"camera": camera_id})
