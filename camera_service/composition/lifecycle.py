"""Start and stop of the built components: in start order, the HTTP server only once rpc.discover's
document is ready; stopped in reverse, each stop bounded so one stuck component cannot hold the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from camera_service.core.component import Component
from camera_service.rpc.openrpc import cached_openrpc_fragment
from camera_service.rpc.registry import MethodRegistry

log = logging.getLogger("camera_service.app")


class Lifecycle:
    def __init__(
        self,
        components: Sequence[Component],
        *,
        front: Component,
        contract: MethodRegistry,
        shutdown_timeout_s: float,
    ) -> None:
        """`front`: the component clients arrive through (started after the discover document);
        `contract`: what rpc.discover describes."""
        self.components = components
        self.front = front
        self.contract = contract
        self.shutdown_timeout_s = shutdown_timeout_s
        self._started: list[Component] = []

    async def start(self) -> None:
        # rpc.discover is public: its document (~1 s of schema generation) is built off the event loop
        # before clients can connect, never by the first anonymous call on the loop (security H1).
        discover = asyncio.create_task(asyncio.to_thread(cached_openrpc_fragment, self.contract))
        try:
            for component in self.components:
                if component is self.front:
                    await discover
                log.info("starting %s", component.name)
                await component.start()
                self._started.append(component)
        except BaseException:
            discover.cancel()
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            component = self._started.pop()
            try:
                # Bounded: one stuck component must not keep the others (and the process) from stopping.
                async with asyncio.timeout(self.shutdown_timeout_s):
                    await component.stop()
            except TimeoutError:
                log.error("stopping %s timed out", component.name)
            except Exception:
                log.exception("stopping %s failed", component.name)
