"""Per-connection event subscriptions and the fan-out of events to them.

Subscriptions live in `ConnectionContext.state["events"]` (sid -> filter) and in an index here so one
event is matched against every subscription without walking connections. The event is encoded to JSON
once; each notification is that encoding spliced with its subscription id, then queued on the
connection's own bounded outbox (a slow consumer only loses its own notifications).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import orjson

from camera_service.core.bus import Event
from camera_service.events.metrics import EventMetrics
from camera_service.events.models import SubscriptionFilter
from camera_service.rpc.context import ConnectionContext

STATE_KEY = "events"
NOTIFICATION = "event"

# May this connection see this event (camera scopes)? Supplied by the service; default: yes.
Visibility = Callable[[ConnectionContext, Event], bool]


class SubscriptionLimitError(Exception):
    pass


class SubscriptionManager:
    def __init__(
        self, metrics: EventMetrics, max_per_connection: int, visible: Visibility | None = None
    ) -> None:
        self._metrics = metrics
        self._max = max_per_connection
        self._visible = visible
        self._index: dict[str, tuple[ConnectionContext, SubscriptionFilter]] = {}

    def __len__(self) -> int:
        return len(self._index)

    def subscribe(self, conn: ConnectionContext, flt: SubscriptionFilter) -> str:
        subs: dict[str, SubscriptionFilter] = conn.state.setdefault(STATE_KEY, {})
        if len(subs) >= self._max:
            raise SubscriptionLimitError(f"at most {self._max} subscriptions per connection")
        sid = "sub_" + secrets.token_hex(8)
        subs[sid] = flt
        self._index[sid] = (conn, flt)
        self._metrics.subscriptions.set(len(self._index))
        return sid

    def unsubscribe(self, conn: ConnectionContext, sid: str) -> bool:
        subs: dict[str, SubscriptionFilter] = conn.state.get(STATE_KEY, {})
        if sid not in subs:
            return False  # unknown, or another connection's: a client can only end its own
        del subs[sid]
        self._index.pop(sid, None)
        self._metrics.subscriptions.set(len(self._index))
        return True

    def of(self, conn: ConnectionContext) -> dict[str, SubscriptionFilter]:
        return dict(conn.state.get(STATE_KEY, {}))

    async def drop_connection(self, conn: ConnectionContext) -> None:
        """Disconnect hook: forget every subscription of a closed connection."""
        for sid in list(conn.state.get(STATE_KEY, {})):
            self._index.pop(sid, None)
        conn.state.pop(STATE_KEY, None)
        self._metrics.subscriptions.set(len(self._index))

    def dispatch(self, event: Event) -> tuple[int, int]:
        """Queue `event` to every matching subscription. Returns (sent, dropped)."""
        if not self._index:
            return 0, 0
        body = orjson.dumps(event.model_dump(mode="json"))
        head = b'{"jsonrpc":"2.0","method":"' + NOTIFICATION.encode() + b'","params":{"subscription":"'
        tail = b'","event":' + body + b"}}"
        sent = dropped = 0
        for sid, (conn, flt) in list(self._index.items()):
            if not flt.matches(event):
                continue
            if self._visible is not None and not self._visible(conn, event):
                continue
            if conn.notify_encoded(head + sid.encode() + tail):
                sent += 1
            else:
                dropped += 1
        if sent:
            self._metrics.event_notifications.labels("sent").inc(sent)
        if dropped:
            self._metrics.event_notifications.labels("dropped").inc(dropped)
        return sent, dropped
