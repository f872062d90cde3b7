"""JSON-RPC methods of the event feed: subscriptions, the event store, injected events, event clips."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from camera_service.auth.roles import Role
from camera_service.cameras.ports import CameraDirectory
from camera_service.core.bus import Event, Severity
from camera_service.core.jsonlimits import check_json
from camera_service.events.models import EventNotification, EventStatus, StoredEvent, SubscriptionFilter
from camera_service.events.service import EventService
from camera_service.events.store import EventQuery
from camera_service.events.subscriptions import NOTIFICATION, SubscriptionLimitError
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.paging import check_page_window
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope
from camera_service.storage.keyset import decode_cursor

router = MethodRegistry(tag="events")
router.notification(
    NOTIFICATION,
    EventNotification,
    "An event matching one of the connection's subscriptions (see subscribe_events).",
)

TOPIC_PATTERN = r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$"
TYPE_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"


@dataclass(frozen=True)
class EventsApi:
    """What the event, webhook and rule methods need (bound in app.py)."""

    events: EventService
    cameras: CameraDirectory


class SubscribeParams(Params):
    topics: list[str] = Field(
        ["*"], min_length=1, max_length=50, description="Topic patterns: `camera.offline`, `camera.*`, `*`."
    )
    cameras: list[str] | None = Field(None, max_length=1000, description="Only events of these cameras.")
    min_severity: Severity | None = Field(None, description="Only events at least this severe.")

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        import re

        for t in v:
            if not re.match(TOPIC_PATTERN, t):
                raise ValueError(f"{t!r} is not a topic pattern (e.g. camera.offline, camera.*, *)")
        return v


class Subscription(BaseModel):
    subscription: str = Field(description="Id carried by every `event` notification of this subscription.")
    topics: list[str]
    cameras: list[str] | None
    min_severity: Severity | None


@router.method(
    scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND, ErrorCode.QUOTA_EXCEEDED)
)
async def subscribe_events(api: EventsApi, ctx: CallContext, params: SubscribeParams) -> Subscription:
    """Subscribe this connection to events; matching events arrive as `event` notifications.

    A subscription lives until unsubscribe_events or until the connection closes. A slow client never
    slows others: when its queue overflows it gets `notifications_dropped {dropped}` and, past the
    slow-consumer limit, is closed with code 4008.
    """
    ctx.scope.require_ids(params.cameras)  # security: hidden cameras are unknown cameras
    flt = SubscriptionFilter(
        topics=params.topics,
        cameras=frozenset(params.cameras) if params.cameras is not None else None,
        min_severity=params.min_severity,
    )
    try:
        sid = api.events.subscriptions.subscribe(ctx.connection, flt)
    except SubscriptionLimitError as exc:
        raise RpcError(
            ErrorCode.QUOTA_EXCEEDED,
            str(exc),
            {"limit": api.events.cfg.max_subscriptions_per_connection},
        ) from exc
    return Subscription(
        subscription=sid, topics=params.topics, cameras=params.cameras, min_severity=params.min_severity
    )


class UnsubscribeParams(Params):
    subscription: str = Field(max_length=64, description="Id returned by subscribe_events.")


class Unsubscribed(BaseModel):
    subscription: str
    unsubscribed: bool


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def unsubscribe_events(api: EventsApi, ctx: CallContext, params: UnsubscribeParams) -> Unsubscribed:
    """End one of this connection's subscriptions."""
    if not api.events.subscriptions.unsubscribe(ctx.connection, params.subscription):
        raise not_found("subscription", params.subscription)
    return Unsubscribed(subscription=params.subscription, unsubscribed=True)


class ListEventsParams(Params):
    type: str | None = Field(None, max_length=200, description="Exact type, or a `prefix.*` pattern.")
    camera: str | None = Field(None, max_length=64, description="Camera id.")
    status: EventStatus | None = Field(None, description="new, acknowledged, resolved or false_positive.")
    min_severity: Severity | None = Field(None, description="At least this severe.")
    start: datetime | None = Field(None, description="From this time (ISO 8601 or unix seconds), inclusive.")
    end: datetime | None = Field(None, description="Before this time (ISO 8601 or unix seconds).")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page.")
    limit: int = Field(100, ge=1, le=1000, description="Page size.")


class EventPage(BaseModel):
    events: list[StoredEvent] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER)
async def list_events(api: EventsApi, ctx: CallContext, params: ListEventsParams) -> EventPage:
    """Stored events, newest first, filtered and paged with a cursor."""
    check_page_window(params.cursor, params.start, params.end, decode_cursor)
    q = EventQuery(
        type=params.type,
        camera=params.camera,
        cameras=ctx.scope.camera_ids,
        status=params.status,
        start=params.start.timestamp() if params.start else None,
        end=params.end.timestamp() if params.end else None,
        min_severity_rank=params.min_severity.rank if params.min_severity else None,
        cursor=params.cursor,
        limit=params.limit,
    )
    events, cursor = await api.events.query(q)
    return EventPage(events=events, next_cursor=cursor)


class EventIdParams(Params):
    id: str = Field(min_length=1, max_length=64, description="Event id.")


async def _get(api: EventsApi, ctx: CallContext, event_id: str) -> StoredEvent:
    event = await api.events.get_event(event_id)
    if event is None or not ctx.scope.sees_id(event.camera):
        raise not_found("event", event_id)
    return event


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER, errors=(ErrorCode.NOT_FOUND,))
async def get_event(api: EventsApi, ctx: CallContext, params: EventIdParams) -> StoredEvent:
    """One stored event with its status, tags, notes and clip/snapshot links."""
    return await _get(api, ctx, params.id)


class AcknowledgeParams(Params):
    id: str = Field(min_length=1, max_length=64, description="Event id.")
    notes: str | None = Field(None, max_length=10_000, description="Replaces the notes, if given.")


def _who(ctx: CallContext) -> str | None:
    return ctx.connection.identity.subject if ctx.connection.identity else None


@router.method(scope=CameraScope.CAMERAS, role=Role.OPERATOR, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def acknowledge_event(api: EventsApi, ctx: CallContext, params: AcknowledgeParams) -> StoredEvent:
    """Mark an event acknowledged (records who and when)."""
    await _get(api, ctx, params.id)
    svc = api.events
    await svc.annotate(params.id, status=EventStatus.ACKNOWLEDGED, notes=params.notes, by=_who(ctx))
    updated = await _get(api, ctx, params.id)
    svc.bus.emit("event.acknowledged", camera=updated.camera, event_id=updated.id, by=_who(ctx))
    return updated


class UpdateEventParams(Params):
    id: str = Field(min_length=1, max_length=64, description="Event id.")
    status: EventStatus | None = Field(None, description="New status (false_positive marks a false alarm).")
    tags: list[str] | None = Field(None, max_length=50, description="Replaces the tags.")
    notes: str | None = Field(None, max_length=10_000, description="Replaces the notes.")

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(not t or len(t) > 64 for t in v):
            raise ValueError("tags are 1-64 characters")
        return sorted(set(v)) if v is not None else None


@router.method(scope=CameraScope.CAMERAS, role=Role.OPERATOR, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def update_event(api: EventsApi, ctx: CallContext, params: UpdateEventParams) -> StoredEvent:
    """Change an event's status, tags or notes."""
    if params.status is None and params.tags is None and params.notes is None:
        raise invalid_params("params", "give at least one of status, tags, notes")
    await _get(api, ctx, params.id)
    await api.events.annotate(
        params.id, status=params.status, tags=params.tags, notes=params.notes, by=_who(ctx)
    )
    return await _get(api, ctx, params.id)


class ClipRequest(Params):
    pre_s: float | None = Field(None, ge=0.0, le=3600.0, description="Seconds before the event (default 10).")
    post_s: float | None = Field(None, ge=0.0, le=3600.0, description="Seconds after the event (default 10).")


class CreateEventParams(Params):
    type: str = Field(
        max_length=200,
        pattern=TYPE_PATTERN,
        description="Dotted topic, e.g. alarm.door_forced, access.denied, detection.person.",
    )
    camera: str | None = Field(None, max_length=64, description="Camera the event is about.")
    severity: Severity = Field(Severity.MEDIUM, description="critical, high, medium or low.")
    time: datetime | None = Field(None, description="When it happened (default: now).")
    data: dict[str, Any] = Field(
        default_factory=dict, description="Payload (JSON object, at most 32 levels deep and 64 KiB)."
    )
    clip: ClipRequest | None = Field(None, description="Cut a clip around the event from the recordings.")

    @field_validator("data")
    @classmethod
    def _bounded(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json(v)  # security H2/H5: refused here, before anything is stored


@router.method(scope=CameraScope.CAMERAS, role=Role.OPERATOR, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def create_event(api: EventsApi, ctx: CallContext, params: CreateEventParams) -> StoredEvent:
    """Inject an external event (alarm panel, access control, script); stored, pushed, runs rules."""
    # Everything is checked before anything is stored (security H3, L13).
    if params.camera is not None:
        ctx.scope.require_ids([params.camera])  # security: a hidden camera is an unknown camera
        await api.cameras.get(params.camera)  # NOT_FOUND for an unknown camera
    elif not ctx.scope.unrestricted:
        raise invalid_params("camera", "an identity with a camera scope must name one of its cameras")
    if params.clip is not None and params.camera is None:
        raise invalid_params("clip", "a clip needs a camera")
    svc = api.events
    event = Event(
        type=params.type,
        camera=params.camera,
        severity=params.severity,
        data=params.data,
        time=params.time.timestamp() if params.time else svc.clock.time(),
    )
    await svc.publish(event, source="api")
    if params.clip is not None:
        await svc.clips.request(event, params.clip.pre_s, params.clip.post_s)
    return await _get(api, ctx, event.id)


class EventClipParams(Params):
    id: str = Field(min_length=1, max_length=64, description="Event id (the event needs a camera).")
    pre_s: float | None = Field(None, ge=0.0, le=3600.0, description="Seconds before the event (default 10).")
    post_s: float | None = Field(None, ge=0.0, le=3600.0, description="Seconds after the event (default 10).")


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT),
)
async def request_event_clip(api: EventsApi, ctx: CallContext, params: EventClipParams) -> StoredEvent:
    """Cut a clip around a stored event once its post-roll has passed; `event.clip_ready` follows.

    After three failed cuts (nothing recorded then) `event.clip_failed` follows instead (docs/webhooks.md).
    """
    event = await _get(api, ctx, params.id)
    if event.camera is None:
        raise invalid_params("id", "the event has no camera")
    if event.clip_state is not None and event.clip_state.value in ("pending", "ready"):
        raise RpcError(
            ErrorCode.CONFLICT,
            f"event '{event.id}' already has a clip ({event.clip_state.value})",
            {"reason": "clip_exists", "current": event.clip_state.value},
        )
    await api.events.clips.request(event, params.pre_s, params.post_s)
    return await _get(api, ctx, params.id)
