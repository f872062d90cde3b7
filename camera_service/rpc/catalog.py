"""The whole API: every domain's router merged into one registry (also used to generate the docs)."""

from __future__ import annotations

from camera_service.rpc.registry import MethodRegistry


def build_registry() -> MethodRegistry:
    from camera_service.rpc import system_methods

    api = MethodRegistry()
    for router in (system_methods.router,):
        api.include(router)
    return api
