"""What the domains are built on: the 127.0.0.1 listener for MediaMTX's hooks, the service's own MediaMTX
credential, the MediaMTX supervisor, and the parts several instances share through Redis (the event
stream, live-view quotas)."""

from __future__ import annotations

from pathlib import Path

from camera_service.auth.internal import PUBLISH_KEY_FILE, InternalReaders, load_or_create_key
from camera_service.auth.quota import LiveViewQuota, LiveViewQuotas
from camera_service.auth.quota_redis import RedisLiveViewQuotas
from camera_service.auth.service import mediamtx_auth_config
from camera_service.config import Settings
from camera_service.core.clock import Clock
from camera_service.events.shared import SharedEvents
from camera_service.mediamtx.adoption import previous_callback_endpoint
from camera_service.mediamtx.supervisor import MediaMTXSupervisor
from camera_service.observability.metrics import Metrics
from camera_service.server.internal import InternalHttpServer
from camera_service.storage.redis import open_redis
from camera_service.storage.secret_files import secrets_dir
from camera_service.storage.streams import RedisStreamTransport


def internal_listener(settings: Settings, runtime_dir: Path) -> InternalHttpServer:
    hook_secret = settings.secrets.hook_secret.get_secret_value() if settings.secrets.hook_secret else None
    internal_port = settings.server.internal_port
    # A MediaMTX left running by a killed run is adopted (ADR 0011); it calls back the listener its
    # config names, so listen there again with the same secret.
    previous = previous_callback_endpoint(runtime_dir) if settings.mediamtx.managed else None
    if previous is not None:
        internal_port, hook_secret = internal_port or previous[0], hook_secret or previous[1]
    # Hooks send the secret from a 0600 file, never in their command line (security L11).
    return InternalHttpServer(
        internal_port, hook_secret, secrets_dir(settings.storage.data_dir) / "hook_header"
    )


def service_readers(settings: Settings) -> InternalReaders:
    """The service's own MediaMTX credential (readers, the demo publisher) when security is on."""
    security = settings.security.enabled
    return InternalReaders(
        settings.mediamtx,
        enabled=security,
        publish_key=load_or_create_key(secrets_dir(settings.storage.data_dir) / PUBLISH_KEY_FILE)
        if security
        else None,
    )


def mediamtx_supervisor(
    settings: Settings,
    runtime_dir: Path,
    metrics: Metrics,
    internal: InternalHttpServer,
    readers: InternalReaders,
) -> MediaMTXSupervisor:
    return MediaMTXSupervisor(
        settings.mediamtx,
        settings.storage,
        runtime_dir,
        metrics,
        binary=settings.mediamtx.binary,
        forward_logs=settings.logging.forward_mediamtx,
        callbacks=internal,
        # Security: MediaMTX asks us about every publish/read/playback, and admits our own readers.
        config_contributors=[lambda: mediamtx_auth_config(internal)] if settings.security.enabled else [],
        api_credentials=readers.credentials,
    )


def shared_events_stream(settings: Settings, clock: Clock) -> SharedEvents | None:
    """Several instances: events and status pushes travel one Redis Stream (events/shared.py)."""
    if settings.storage.redis_url is None:
        return None
    return SharedEvents(
        RedisStreamTransport(
            open_redis(settings.storage.redis_url, client_name="camera-service-events"),
            settings.events.shared.stream,
            settings.events.shared.max_length,
        ),
        clock=clock,
        instance_id=settings.cluster.instance_id,
        block_ms=settings.events.shared.read_block_ms,
    )


def live_view_quotas(settings: Settings, mediamtx: MediaMTXSupervisor) -> LiveViewQuota:
    """Several instances (storage.redis_url): agency quotas counted in Redis; else in memory."""
    if settings.storage.redis_url is None:
        return LiveViewQuotas(settings.security.agency_limits, active_readers=mediamtx.reader_ids)
    return RedisLiveViewQuotas(
        settings.security.agency_limits,
        open_redis(settings.storage.redis_url, client_name="camera-service-quotas", max_connections=16),
        lease_ttl_s=settings.security.live_lease_ttl_s,
        active_readers=mediamtx.reader_ids,
    )
