"""The whole API: every domain's router merged into one registry (also used to generate the docs)."""

from __future__ import annotations

from camera_service.rpc.registry import MethodRegistry


def build_registry() -> MethodRegistry:
    from camera_service.analytics import methods as analytics_methods
    from camera_service.auth import methods as auth_methods
    from camera_service.auth import publish_methods
    from camera_service.cameras import compat_methods as camera_compat_methods
    from camera_service.cameras import methods as camera_methods
    from camera_service.compat import methods as compat_only_methods
    from camera_service.events import methods as event_methods
    from camera_service.events.rules import methods as rule_methods
    from camera_service.events.webhooks import methods as webhook_methods
    from camera_service.onvif import methods as onvif_methods
    from camera_service.recordings import clip_methods, snapshot_methods, storage_methods
    from camera_service.recordings import compat_methods as recording_compat_methods
    from camera_service.recordings import methods as recording_methods
    from camera_service.rpc import system_methods

    # Each domain imports its router here and adds it to the tuple.
    routers = [
        system_methods.router,
        auth_methods.router,
        publish_methods.router,
        camera_methods.router,
        camera_compat_methods.router,
    ]
    routers += [
        recording_methods.router,
        clip_methods.router,
        snapshot_methods.router,
        storage_methods.router,
        recording_compat_methods.router,
    ]
    routers += [event_methods.router, webhook_methods.router, rule_methods.router]
    routers += [onvif_methods.router]
    routers += [compat_only_methods.router]  # the established protocol's methods without a native twin
    from camera_service.users import methods as user_methods

    routers += [user_methods.router]
    routers += [analytics_methods.router]
    from camera_service.statistics import methods as statistics_methods

    routers += [statistics_methods.router]
    api = MethodRegistry()
    for router in routers:
        api.include(router)
    return api
