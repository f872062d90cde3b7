"""The whole API: every domain's router merged into one registry (also used to generate the docs)."""

from __future__ import annotations

from camera_service.rpc.registry import MethodRegistry


def build_registry() -> MethodRegistry:
    from camera_service.rpc import system_methods

    # Each domain imports its router here and adds it to the tuple.
    routers = [system_methods.router]
    api = MethodRegistry()
    for router in routers:
        api.include(router)
    return api
