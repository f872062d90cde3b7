"""JSON-RPC methods managing webhooks and their deliveries (admin only)."""

from __future__ import annotations

import re
import time
import uuid

from pydantic import BaseModel, Field, SecretStr, field_validator

from camera_service.auth.roles import Role
from camera_service.core.bus import Event, Severity
from camera_service.events.methods import EventsApi
from camera_service.events.webhooks.manager import delivery_body
from camera_service.events.webhooks.models import (
    Delivery,
    DeliveryStatus,
    UrlError,
    Webhook,
    validate_webhook_url,
)
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="webhooks")

_TOPIC = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def _check_topics(v: list[str] | None) -> list[str] | None:
    for t in v or []:
        if not _TOPIC.match(t):
            raise ValueError(f"{t!r} is not a topic pattern (e.g. camera.offline, camera.*, *)")
    return v


def _check_url(v: str | None) -> str | None:
    if v is not None:
        try:
            validate_webhook_url(v)
        except UrlError as exc:
            raise ValueError(str(exc)) from None
    return v


class AddWebhookParams(Params):
    url: str = Field(max_length=2048, description="Receiver URL: http or https, no credentials in it.")
    topics: list[str] = Field(["*"], min_length=1, max_length=50, description="Topic patterns to deliver.")
    cameras: list[str] | None = Field(None, max_length=1000, description="Only events of these cameras.")
    min_severity: Severity | None = Field(None, description="Only events at least this severe.")
    secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 signing secret (16+ characters recommended); never returned."
    )
    enabled: bool = Field(True, description="Deliver new events.")
    description: str = Field("", max_length=500, description="Free text.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _check_url(v)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str] | None) -> list[str] | None:
        return _check_topics(v)


@router.method(
    scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.INVALID_PARAMS,)
)
async def add_webhook(api: EventsApi, ctx: CallContext, params: AddWebhookParams) -> Webhook:
    """Register a webhook: matching events are POSTed (signed if a secret is set) through a durable outbox."""
    secret = params.secret.get_secret_value() if params.secret else None
    return await api.events.webhooks.add(
        url=params.url,
        topics=params.topics,
        cameras=params.cameras,
        min_severity=params.min_severity,
        secret=secret,
        enabled=params.enabled,
        description=params.description,
    )


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def list_webhooks(api: EventsApi, ctx: CallContext) -> list[Webhook]:
    """All webhooks (secrets are never returned; `has_secret` tells whether one is set)."""
    return api.events.webhooks.all()


class UpdateWebhookParams(Params):
    id: str = Field(max_length=64, description="Webhook id.")
    url: str | None = Field(None, max_length=2048, description="New receiver URL.")
    topics: list[str] | None = Field(None, min_length=1, max_length=50, description="New topic patterns.")
    cameras: list[str] | None = Field(None, max_length=1000, description="New camera filter.")
    clear_cameras: bool = Field(False, description="Remove the camera filter (all cameras).")
    min_severity: Severity | None = Field(None, description="New minimum severity.")
    secret: SecretStr | None = Field(None, description="New signing secret.")
    clear_secret: bool = Field(False, description="Remove the secret (deliveries unsigned).")
    enabled: bool | None = Field(None, description="Enable or disable.")
    description: str | None = Field(None, max_length=500, description="New description.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _check_url(v)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str] | None) -> list[str] | None:
        return _check_topics(v)


@router.method(
    scope=CameraScope.UNRESTRICTED,
    role=Role.ADMIN,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS),
)
async def update_webhook(api: EventsApi, ctx: CallContext, params: UpdateWebhookParams) -> Webhook:
    """Change a webhook; fields not given stay as they are."""
    if params.secret is not None and params.clear_secret:
        raise invalid_params("clear_secret", "give either secret or clear_secret")
    if params.cameras is not None and params.clear_cameras:
        raise invalid_params("clear_cameras", "give either cameras or clear_cameras")
    kwargs: dict[str, object] = {}
    if params.cameras is not None or params.clear_cameras:
        kwargs["cameras"] = params.cameras
    if params.min_severity is not None:
        kwargs["min_severity"] = params.min_severity
    if params.secret is not None or params.clear_secret:
        kwargs["secret"] = params.secret.get_secret_value() if params.secret else None
    hook = await api.events.webhooks.update(
        params.id,
        url=params.url,
        topics=params.topics,
        enabled=params.enabled,
        description=params.description,
        **kwargs,
    )
    if hook is None:
        raise not_found("webhook", params.id)
    api.events.outbox.enqueued(0)
    return hook


class WebhookIdParams(Params):
    id: str = Field(max_length=64, description="Webhook id.")


class Removed(BaseModel):
    id: str
    removed: bool


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def remove_webhook(api: EventsApi, ctx: CallContext, params: WebhookIdParams) -> Removed:
    """Remove a webhook and all its outbox rows (pending, delivered and dead)."""
    svc = api.events
    if not await svc.webhooks.remove(params.id):
        raise not_found("webhook", params.id)
    await svc.outbox.refresh_gauges()
    return Removed(id=params.id, removed=True)


class TestResult(BaseModel):
    delivered: bool = Field(description="The receiver answered 2xx.")
    status: int | None = Field(description="HTTP status (null: no response).")
    error: str | None = Field(description="Why it failed.")
    latency_ms: float = Field(description="Duration of the attempt.")
    event: Event = Field(description="The webhook.test event that was sent.")


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN, mutating=True, errors=(ErrorCode.NOT_FOUND,))
async def test_webhook(api: EventsApi, ctx: CallContext, params: WebhookIdParams) -> TestResult:
    """Send one signed `webhook.test` event to the webhook now (no retry, not stored); report the answer."""
    svc = api.events
    if svc.webhooks.get(params.id) is None:
        raise not_found("webhook", params.id)
    event = Event(
        type="webhook.test", data={"webhook": params.id, "message": "test delivery"}, time=time.time()
    )
    did = "dlv_test_" + uuid.uuid4().hex
    result = await svc.outbox.send_now(
        params.id, delivery_body(did, params.id, event), event.id, event.type, did
    )
    if result is None:
        raise not_found("webhook", params.id)
    return TestResult(
        delivered=result.status is not None and 200 <= result.status < 300,
        status=result.status,
        error=result.error,
        latency_ms=round(result.latency_s * 1000, 3),
        event=event,
    )


class ListDeliveriesParams(Params):
    webhook: str | None = Field(None, max_length=64, description="Only this webhook's deliveries.")
    status: DeliveryStatus | None = Field(None, description="pending, delivered or dead.")
    before: float | None = Field(
        None, description="Only deliveries created before this (unix seconds; paging)."
    )
    limit: int = Field(100, ge=1, le=1000, description="At most this many, newest first.")


@router.method(scope=CameraScope.UNRESTRICTED, role=Role.ADMIN)
async def list_webhook_deliveries(
    api: EventsApi, ctx: CallContext, params: ListDeliveriesParams
) -> list[Delivery]:
    """Outbox rows, newest first: pending (with the next attempt time), delivered, or dead letters."""
    return await api.events.deliveries(params.webhook, params.status, params.limit, params.before)


class DeliveryIdParams(Params):
    id: str = Field(max_length=80, description="Delivery id.")


@router.method(
    scope=CameraScope.UNRESTRICTED,
    role=Role.ADMIN,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE),
)
async def redrive_webhook_delivery(api: EventsApi, ctx: CallContext, params: DeliveryIdParams) -> Delivery:
    """Send a dead letter again: back to pending with a fresh attempt budget."""
    svc = api.events
    current = await svc.delivery(params.id)
    if current is None:
        raise not_found("delivery", params.id)
    if not await svc.redrive(params.id):
        raise RpcError(
            ErrorCode.INVALID_STATE,
            f"delivery '{params.id}' is {current.status.value}, not dead",
            {"id": params.id, "status": current.status.value},
        )
    updated = await svc.delivery(params.id)
    assert updated is not None
    return updated
