"""The event catalog: every topic the service publishes on its bus, with the model of its `data`.

One class per topic (or family of topics, `detection.*`). `EventBus.emit` checks each payload against
its model, and docs/webhooks.md and the notifications section of docs/api/json-rpc-methods.md are
generated from here (`python -m camera_service.core.topic_docs --write`; a drift test fails when stale).
Subscribers (WebSocket `event` notifications, webhooks, rules) receive these payloads as `event.data`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TOPICS: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    """Base of every payload model. `topic`, `severity` (the usual one) and `when` are documentation
    and the catalog key; the payload itself is the model's fields."""

    model_config = ConfigDict(extra="forbid")
    topic: ClassVar[str]
    severity: ClassVar[str]
    when: ClassVar[str]
    domain: ClassVar[str]

    def __init_subclass__(
        cls, *, topics: tuple[str, ...] = (), severity: str = "low", domain: str = "", **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        if not topics:
            return
        cls.topic = topics[0]
        cls.severity = severity
        cls.domain = domain
        cls.when = (cls.__doc__ or "").strip()
        for topic in topics:
            if topic in TOPICS:
                raise ValueError(f"event topic {topic} declared twice")
            TOPICS[topic] = cls


class UnknownTopic(ValueError):
    """emit() of a topic that is not in the catalog."""


def model_of(topic: str) -> type[EventData] | None:
    """The payload model of a topic: its own entry, else its family's (`detection.*`)."""
    model = TOPICS.get(topic)
    if model is None and "." in topic:
        model = TOPICS.get(topic.rsplit(".", 1)[0] + ".*")
    return model


def check_payload(topic: str, data: dict[str, Any]) -> None:
    model = model_of(topic)
    if model is None:
        raise UnknownTopic(f"event topic {topic!r} is not in the catalog (camera_service/core/topics.py)")
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"payload of {topic} does not match its catalog model: {exc}") from None


def _f(description: str, default: Any = ..., **kw: Any) -> Any:
    return Field(default, description=description, **kw)


# ---- cameras -------------------------------------------------------------------------------------------


class CameraChanged(EventData, topics=("camera.added", "camera.updated", "camera.removed"), domain="cameras"):
    """A camera was registered, changed or removed (`add_camera`, `update_camera`, `remove_camera`)."""

    name: str = _f("The camera's display name.")


class CameraStatusChanged(
    EventData,
    topics=("camera.status_changed", "camera.online", "camera.offline", "camera.error"),
    severity="low (online, status_changed), high (offline, error)",
    domain="cameras",
):
    """The camera's status changed; `camera.status_changed` for every change, plus `camera.online`,
    `camera.offline` or `camera.error` for the new status."""

    status: str = _f("New status: ONLINE, OFFLINE, ERROR, DISABLED, UNKNOWN.")
    previous: str = _f("Status before.")
    error: str | None = _f("Why, for OFFLINE/ERROR (credentials masked).")


class LiveViewStarted(EventData, topics=("liveview.started",), domain="auth"):
    """An external viewer's stream session started (MediaMTX confirmed a read our auth allowed; the service's
    own readers do not count). `get_statistics` counts these per camera."""

    reader_type: str = _f("MediaMTX reader type: rtspSession, webRTCSession, hlsMuxer, ...")


# ---- recordings ----------------------------------------------------------------------------------------


class RecordingSessionData(EventData, topics=("recording.started", "recording.stopped"), domain="recordings"):
    """A recording session started (`start_recording`, a rule) or stopped (requested, timer, camera
    removed, error)."""

    id: str = _f("Session id.")
    started_at: float = _f("Unix seconds.")
    duration_s: float | None = _f("Requested length; null = until stopped.", None)
    stop_at: float | None = _f("When a timed session stops itself (unix seconds).", None)
    stopped_at: float | None = _f("When it stopped; null on recording.started.", None)
    stop_reason: str | None = _f("requested, timer, error, restart, camera_removed.", None)
    requested_by: str | None = _f("Subject that started it.", None)


class RecordingError(EventData, topics=("recording.error",), severity="high", domain="recordings"):
    """A recording could not be started (other than 'already recording')."""

    message: str = _f("What failed.")


class RecordingSegment(EventData, topics=("recording.segment",), domain="recordings"):
    """MediaMTX finished a recording segment and it was indexed."""

    path: str = _f("File relative to the recordings root.")
    start: float = _f("Unix seconds of its first frame.")
    duration_s: float = _f("Length in seconds.")
    size: int = _f("Bytes.")


class ClipReady(EventData, topics=("clip.ready",), domain="recordings"):
    """A clip file was exported (`export_clip`: kind manual; an event clip: kind event)."""

    clip_id: str = _f("Clip id (`get_clip`).")
    name: str = _f("Display name.")
    start: float = _f("Requested start, unix seconds.")
    end: float = _f("Requested end, unix seconds.")
    duration_s: float = _f("Length of the file in seconds.")
    size: int = _f("Bytes.")
    locked: bool = _f("Locked clips are never deleted by retention.")
    kind: Literal["manual", "event"] = _f("manual export or event clip.")


class SnapshotTaken(EventData, topics=("snapshot.taken",), domain="recordings"):
    """A snapshot was stored (`take_snapshot`, a rule's snapshot action)."""

    snapshot_id: str = _f("Snapshot id (`get_snapshot`).")
    path: str = _f("File relative to the snapshots root.")
    width: int = _f("Pixels.")
    height: int = _f("Pixels.")
    size: int = _f("Bytes.")
    warm: bool = _f("Taken from a reader that was already connected (fast path).")


class StorageWarning(
    EventData, topics=("storage.warning",), severity="high (warning), critical", domain="recordings"
):
    """Free disk space crossed a threshold of the low-disk guard (no camera)."""

    level: Literal["ok", "warning", "critical"] = _f("New level; critical blocks new recordings.")
    previous: Literal["ok", "warning", "critical"] = _f("Level before.")
    free_percent: float = _f("Free space, percent of the volume.")
    free_bytes: int = _f("Free bytes.")
    total_bytes: int = _f("Size of the volume in bytes.")


# ---- events --------------------------------------------------------------------------------------------


class EventAcknowledged(EventData, topics=("event.acknowledged",), domain="events"):
    """An operator acknowledged a stored event (`acknowledge_event`)."""

    event_id: str = _f("The acknowledged event.")
    by: str | None = _f("Who acknowledged it.")


class EventClipReady(EventData, topics=("event.clip_ready",), severity="the event's", domain="events"):
    """An event's clip is cut and linked (`get_event` shows clip_state ready and clip_id)."""

    clip_id: str = _f("Clip id (`get_clip`).")
    event_id: str = _f("The event the clip belongs to.")
    event_type: str = _f("That event's type.")
    start: float = _f("Requested span start, unix seconds.")
    end: float = _f("Requested span end, unix seconds.")
    duration_s: float | None = _f("Length of the file in seconds.")


class EventClipFailed(EventData, topics=("event.clip_failed",), severity="the event's", domain="events"):
    """Three cuts of an event's clip failed (e.g. nothing recorded in that span)."""

    event_id: str = _f("The event the clip belongs to.")
    event_type: str = _f("That event's type.")
    error: str = _f("Why the last cut failed.")


class RuleNotification(
    EventData, topics=("rule.notification",), severity="the rule action's", domain="events"
):
    """A rule's notify action ran."""

    rule_id: str = _f("The rule.")
    rule: str = _f("Its name.")
    message: str = _f("The action's message.")
    event_id: str = _f("The event that triggered the rule.")
    event_type: str = _f("Its type.")
    event_time: str = _f("Its time, ISO 8601 UTC.")


class WebhookTest(EventData, topics=("webhook.test",), domain="events"):
    """Sent by `test_webhook` to one webhook only (never stored, never retried)."""

    webhook: str = _f("The webhook tested.")
    message: str = _f("Always 'test delivery'.")


# ---- onvif ---------------------------------------------------------------------------------------------


class DiscoveryFound(EventData, topics=("discovery.found",), domain="onvif"):
    """ONVIF discovery found a device (no camera)."""

    address: str = _f("WS-Discovery endpoint address (usually urn:uuid:...).")
    xaddrs: list[str] = _f("Device service URLs (pass one to import_onvif_camera).")
    scopes: list[str] = _f("All scope URIs the device announced.", [])
    name: str | None = _f("From the onvif://www.onvif.org/name/ scope.", None)
    hardware: str | None = _f("From the onvif://www.onvif.org/hardware/ scope.", None)
    location: str | None = _f("From the onvif://www.onvif.org/location/ scope.", None)
    types: list[str] = _f("Announced types (NetworkVideoTransmitter...).", [])
    source: str = _f("IP address the answer came from.")
    registered: bool = _f("A registered camera already uses this device.", False)
    camera: str | None = _f("Id of the registered camera using this device, if any.", None)


class OnvifImported(EventData, topics=("onvif.imported",), domain="onvif"):
    """A camera was imported (or re-imported) from an ONVIF device."""

    created: bool = _f("A new camera (false: an existing one was updated).")
    ptz: bool = _f("The device supports PTZ.")


class PtzMoved(EventData, topics=("ptz.moved",), domain="onvif"):
    """A PTZ move was sent to the camera."""

    action: str = _f("continuous_move, relative_move, absolute_move, home or goto_preset.")
    pan: float | None = _f("Pan value sent, if any.", None)
    tilt: float | None = _f("Tilt value sent, if any.", None)
    zoom: float | None = _f("Zoom value sent, if any.", None)
    timeout_s: float | None = _f("continuous_move: when the safety stop ends it.", None)
    preset: str | None = _f("goto_preset: the preset token.", None)


class PtzStopped(EventData, topics=("ptz.stopped",), domain="onvif"):
    """A PTZ move was stopped."""

    reason: str = _f("requested, timeout, disconnected or shutdown.")


class PtzPresetSet(EventData, topics=("ptz.preset_set",), domain="onvif"):
    """A preset was stored on the camera."""

    preset: str = _f("Preset token.")
    name: str = _f("Preset name.")


class PtzPresetRemoved(EventData, topics=("ptz.preset_removed",), domain="onvif"):
    """A preset was removed from the camera."""

    preset: str = _f("Preset token.")


class PtzPatrolStarted(EventData, topics=("ptz.patrol_started",), domain="onvif"):
    """A patrol over presets started."""

    presets: list[str] = _f("Preset tokens, in order.")
    dwell_s: float = _f("Seconds at each preset.")
    loops: int | None = _f("Rounds; null = until stopped.")


class PtzPatrolFinished(EventData, topics=("ptz.patrol_finished",), domain="onvif"):
    """A patrol ran all its rounds."""

    loops: int = _f("Rounds done.")


class PtzPatrolFailed(EventData, topics=("ptz.patrol_failed",), domain="onvif"):
    """A patrol ended because a move failed."""

    error: str = _f("What failed.")
    code: int = _f("The JSON-RPC error code the failure maps to.")


class PtzPatrolStopped(EventData, topics=("ptz.patrol_stopped",), domain="onvif"):
    """A patrol was stopped before its end."""

    reason: str = _f("requested, manual_move, replaced, camera_removed, reimported or shutdown.")


# ---- analytics -----------------------------------------------------------------------------------------


class TamperData(
    EventData,
    topics=("tamper.blackout", "tamper.blur", "tamper.scene_change", "tamper.cleared"),
    severity="high (low: tamper.cleared)",
    domain="analytics",
):
    """The tamper guard saw the picture go black, blurred or moved (or recover: tamper.cleared)."""

    kind: Literal["blackout", "blur", "scene_change"] = _f("Which check fired (or cleared).")


class MotionStarted(EventData, topics=("motion.started",), domain="analytics"):
    """The motion gate saw motion start."""

    regions: list[list[float]] = _f("Changed regions [x1, y1, x2, y2] as fractions of the frame (up to 16).")
    changed: float = _f("Fraction of the frame that changed.")


class MotionStopped(EventData, topics=("motion.stopped",), domain="analytics"):
    """Motion stopped (after the motion cooldown)."""

    duration_s: float = _f("Seconds from the first to the last motion.")


class Detection(EventData, topics=("detection.*",), severity="medium (person), low", domain="analytics"):
    """An object detector confirmed a track: `detection.<label>`, e.g. detection.person."""

    label: str = _f("Detected class.")
    confidence: float = _f("Best score of the track.")
    score: float = _f("Median score of the track.")
    box: list[float] = _f("[x1, y1, x2, y2] as fractions of the frame, at the best score.")
    track_id: str = _f("Tracker id of the object.")
    zone: str | None = _f("Zone the box is in, if zones are set.")
    snapshot_id: str | None = _f("Snapshot of the best frame (`get_snapshot`), if taken.")
    first_seen: float = _f("Unix seconds the track began.")
    frame_time: float = _f("Unix seconds the frame that confirmed the track was decoded (latency origin).")
    plate: str | None = _f("Plate text, for plate readers.", None)
