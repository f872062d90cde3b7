"""What domains use of the 127.0.0.1 listener MediaMTX calls back (server/internal.py implements it).

Domains type against this Protocol, so they never import the server package (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

HookHandler = Callable[[dict[str, str]], Awaitable[None]]


class HookHost(Protocol):
    def add_routes(self, routes: Sequence[web.AbstractRouteDef]) -> None:
        """Serve these routes on the internal listener (MediaMTX's auth callback)."""
        ...

    def on_hook(self, event: str, handler: HookHandler) -> None:
        """Run `handler(query params)` when MediaMTX fires hook `event` (see hook_command)."""
        ...

    def hook_command(self, event: str, **env_vars: str) -> str:
        """A MediaMTX runOn* command that reports `event` to the listener."""
        ...

    def authenticated_url(self, path: str) -> str:
        """The listener's URL of `path`, carrying its secret (for MediaMTX's config)."""
        ...
