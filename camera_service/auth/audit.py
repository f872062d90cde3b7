"""The audit log: every state-changing call and every authentication failure, secrets redacted.

The dispatcher calls `observe` synchronously after each call; entries go to a bounded queue written to
the database in batches by one task, so auditing never slows a call down (a full queue drops and counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import BaseModel

from camera_service.auth.store import AuditEntry, AuthStore
from camera_service.core.tasks import TaskSet
from camera_service.core.types import JsonObject, JsonValue
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError
from camera_service.rpc.registry import MethodSpec

log = logging.getLogger("camera_service.audit")

REDACTED = "***"
_SECRET_NAME = re.compile(
    r"(^|_)(password|passwd|pass|secret|token|auth_token|api_key|apikey|key|private_key|credentials?|"
    r"authorization|jwt|signature)$",
    re.IGNORECASE,
)
# Linear time (security H2): each pattern may only start where the run it scans starts (the lookbehinds),
# so a long alphanumeric run is scanned once, not once per position (65 KB once froze the loop for 6 s);
# every repeat is also bounded, far above real schemes, user names, passwords, JWTs and keys.
_URL_CREDS = re.compile(
    r"(?P<scheme>(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)"
    r"(?P<user>[^:@/\s]{0,256}):(?P<pw>[^@/\s]{0,1024})@"
)
_JWT_LIKE = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,16384}\.[A-Za-z0-9_-]{1,16384}\.[A-Za-z0-9_-]{0,4096}"
)
_API_KEY_LIKE = re.compile(r"(?<![A-Za-z0-9_])csk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,256}")
_QUERY_SECRET = re.compile(
    r"([?&](?:token|jwt|auth_token|secret|key|password|passphrase|pass|pwd)=)[^&\s#]+", re.IGNORECASE
)


def redact_text(text: str) -> str:
    text = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _JWT_LIKE.sub(REDACTED, text)
    return _API_KEY_LIKE.sub(REDACTED, text)


def redact_params(value: JsonValue, name: str = "") -> JsonValue:
    """A copy of `value` with secret-named fields replaced and credentials stripped from strings."""
    if name and _SECRET_NAME.search(name) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_params(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_params(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_object(value: JsonObject) -> JsonObject:
    return {k: redact_params(v, k) for k, v in value.items()}


def params_for_audit(params: BaseModel | None) -> JsonObject:
    if params is None:
        return {}
    return redact_object(params.model_dump(mode="json", exclude_none=True))


# Repeated failures (same actor, address, method and outcome): the first REPEAT_WRITTEN of a window are
# written one by one, the rest of the window only counted; the first entry after the window carries how
# many were folded (security M3: a flood of failures wrote 58k rows in 11 s).
REPEAT_WINDOW_S = 60.0
REPEAT_WRITTEN = 20
_MAX_REPEAT_KEYS = 10_000
_DENIED_PARAMS_BYTES = 4096


def _bounded_params(raw: JsonValue) -> JsonObject:
    """The redacted params of a call refused before validation, cut to a few KiB (security L18)."""
    if raw is None:
        return {}
    value = redact_object(raw if isinstance(raw, dict) else {"params": raw})
    text = json.dumps(value, default=str)
    if len(text) > _DENIED_PARAMS_BYTES:
        return {"_truncated": text[:_DENIED_PARAMS_BYTES]}
    return value


class AuditLog:
    def __init__(
        self,
        store: AuthStore,
        retention_days: int,
        queue_size: int = 10_000,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        # Unbounded queue, bounded by policy in record(): failures beyond queue_size are dropped (and
        # counted), a successful state-changing call is always kept (security M3).
        self._queue: asyncio.Queue[AuditEntry] = asyncio.Queue()
        self._queue_size = queue_size
        self._repeats: OrderedDict[tuple[str, str, str, str], list[float]] = OrderedDict()
        self._tasks = TaskSet("audit")
        self._on_drop = on_drop
        self.dropped = 0
        self.folded = 0

    # Dispatcher observer: (ctx, spec, params, error)
    def observe(
        self, ctx: CallContext, spec: MethodSpec, params: BaseModel | None, error: RpcError | None
    ) -> None:
        auth_failure = error is not None and error.code in (
            ErrorCode.AUTH_REQUIRED,
            ErrorCode.PERMISSION_DENIED,
        )
        if not (spec.mutating or auth_failure):
            return
        identity = ctx.connection.identity
        if error is None:
            outcome = "ok"
        elif error.code == ErrorCode.AUTH_REQUIRED:
            outcome = "auth_failed"
        elif error.code == ErrorCode.PERMISSION_DENIED:
            outcome = "denied"
        else:
            outcome = "error"
        self.record(
            AuditEntry(
                ts=time.time(),
                actor=identity.subject if identity else "anonymous",
                actor_kind=identity.kind if identity else "none",
                method=spec.name,
                params=params_for_audit(params)
                if params is not None or outcome != "denied"
                else _bounded_params(ctx.raw_params),
                outcome=outcome,
                error_code=error.code if error else None,
                remote=ctx.connection.remote,
                connection_id=ctx.connection.id,
            ),
            redacted=True,  # params_for_audit redacted already: redaction runs once per call
        )

    def record(self, entry: AuditEntry, *, redacted: bool = False) -> None:
        if entry.outcome != "ok":
            if self._fold(entry):
                return
            if self._queue.qsize() >= self._queue_size:
                self.dropped += 1
                if self._on_drop is not None:
                    self._on_drop()
                return
        if not redacted:
            entry.params = redact_object(entry.params)
        self._queue.put_nowait(entry)

    @property
    def pending(self) -> int:
        """Entries queued and not yet written."""
        return self._queue.qsize()

    def _fold(self, entry: AuditEntry) -> bool:
        """True when `entry` repeats a failure written less than REPEAT_WINDOW_S ago (it is counted)."""
        key = (entry.actor, entry.remote or "", entry.method, entry.outcome)
        slot = self._repeats.get(key)  # [window start, written, folded]
        if slot is not None and entry.ts - slot[0] < REPEAT_WINDOW_S:
            if slot[1] < REPEAT_WRITTEN:
                slot[1] += 1
                return False
            slot[2] += 1
            self.folded += 1
            return True
        if slot is not None and slot[2]:
            entry.params = {**entry.params, "repeated_before": int(slot[2]), "repeats_since": slot[0]}
        self._repeats[key] = [entry.ts, 1, 0]
        self._repeats.move_to_end(key)
        if len(self._repeats) > _MAX_REPEAT_KEYS:
            self._repeats.popitem(last=False)
        return False

    async def start(self) -> None:
        self._tasks.reopen()
        self._tasks.spawn(self._writer(), name="audit-writer")
        self._tasks.spawn(self._pruner(), name="audit-prune")

    async def flush(self) -> None:
        """Write everything queued so far (tests and list_audit read their own writes)."""
        await self._queue.join()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 5.0)
        await self._tasks.close()

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            try:
                await self.store.add_audit(batch)
            except Exception:
                log.exception("audit write failed", extra={"entries": len(batch)})
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _pruner(self) -> None:
        while True:
            try:
                n = await self.store.prune_audit(time.time() - self.retention_days * 86_400)
                if n:
                    log.info("audit entries pruned", extra={"deleted": n})
            except Exception:
                log.exception("audit prune failed")
            await asyncio.sleep(3600)
