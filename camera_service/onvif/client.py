"""A thin async wrapper over onvif-zeep-async: one timeout on every call, faults mapped to API errors.

Error mapping (documented in docs/api via the methods' `errors`):
  - no answer within `timeout_s`                          -> TIMEOUT           data {timeout_s, operation}
  - TCP refused / host unreachable / connection dropped   -> CAMERA_UNAVAILABLE data {reason: "unreachable"}
  - WS-Security rejected (ter:NotAuthorized, HTTP 401/403) -> UPSTREAM_ERROR    data {reason: "auth_failed"}
  - ter:ActionNotSupported, service missing (e.g. no PTZ) -> NOT_SUPPORTED     data {capability}
  - any other SOAP fault or unreadable reply              -> UPSTREAM_ERROR    data {reason: "fault"|...}
The camera's clock offset is read once per connection (GetSystemDateAndTime) and applied to the
WS-Security `Created` timestamp (the library's `adjust_time`), so cameras with a wrong clock still
accept our digest. Credentials never appear in messages or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import aiohttp

from camera_service.core.errors import CameraUnavailable, DomainError, NotSupported, TimedOut, UpstreamFailure
from camera_service.core.types import JsonObject

log = logging.getLogger("camera_service.onvif")

ServiceName = Literal["devicemgmt", "media", "ptz"]
T = TypeVar("T")

_AUTH_SUBCODES = {"NotAuthorized", "FailedAuthentication", "InvalidSecurity", "FailedCheck"}
_UNSUPPORTED_SUBCODES = {
    "ActionNotSupported",
    "NotSupported",
    "NoPTZProfile",
    "PTZNotSupported",
    "ActionNotImplemented",
}


def auth_failed(message: str = "the camera rejected the ONVIF credentials") -> UpstreamFailure:
    return UpstreamFailure(message, {"upstream": "onvif", "reason": "auth_failed"})


def not_supported(capability: str, message: str = "not supported by this camera") -> NotSupported:
    return NotSupported(message, {"capability": capability})


def parse_xaddr(xaddr: str) -> tuple[str, int]:
    """Host and port of a device service URL (`http://host[:port]/onvif/device_service`) or `host[:port]`."""
    parts = urlsplit(xaddr if "://" in xaddr else f"http://{xaddr}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("xaddr must be an http(s) URL or host[:port]")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def map_error(exc: BaseException, operation: str, timeout_s: float) -> DomainError:
    """Translate an onvif/zeep/aiohttp failure into the API's error."""
    import zeep.exceptions

    _onvif_camera_class()  # imports the library with its logging side effect undone
    from onvif.exceptions import ONVIFAuthError, ONVIFTimeoutError

    if isinstance(exc, DomainError):
        return exc
    for item in _cause_chain(exc):
        if isinstance(item, TimeoutError | ONVIFTimeoutError):
            return TimedOut(
                f"the camera did not answer {operation} within {timeout_s:g} s",
                {"timeout_s": timeout_s, "operation": operation},
            )
        if isinstance(item, ONVIFAuthError):
            return auth_failed()
        if isinstance(item, zeep.exceptions.Fault):
            subcodes = {getattr(s, "localname", str(s)).rsplit(":", 1)[-1] for s in (item.subcodes or [])}
            text = str(item.message or "")
            if subcodes & _AUTH_SUBCODES or "not authorized" in text.lower():
                return auth_failed()
            if subcodes & _UNSUPPORTED_SUBCODES:
                return not_supported(operation)
            return UpstreamFailure(
                f"the camera refused {operation}: {text[:200]}",
                {"upstream": "onvif", "reason": "fault", "operation": operation, "fault": sorted(subcodes)},
            )
        if isinstance(item, zeep.exceptions.TransportError):
            if item.status_code in (401, 403):
                return auth_failed()
            return UpstreamFailure(
                f"the camera answered HTTP {item.status_code} to {operation}",
                {"upstream": "onvif", "reason": "http_error", "status": item.status_code},
            )
        if isinstance(item, aiohttp.ClientConnectionError | ConnectionError | OSError):
            return CameraUnavailable(
                "the camera's ONVIF service is unreachable",
                {"reason": "unreachable", "operation": operation},
            )
        if isinstance(item, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError):
            return UpstreamFailure(
                f"the camera sent an unreadable reply to {operation}",
                {"upstream": "onvif", "reason": "bad_reply", "operation": operation},
            )
        if "doesn`t support service" in str(item) or "doesn't support service" in str(item):
            return not_supported(operation)
    log.warning("unexpected ONVIF failure", extra={"operation": operation, "error": type(exc).__name__})
    return UpstreamFailure(
        f"ONVIF {operation} failed ({type(exc).__name__})",
        {"upstream": "onvif", "reason": "error", "operation": operation},
    )


# Building a service client parses its WSDL and schemas (CPU in a worker thread, no request to the camera;
# the library caches the documents per process): the camera's call timeout does not bound it. A loaded
# 2-core host took over 3 s for the media service once, reported as "the camera did not answer".
LOCAL_SETUP_S = 60.0


class OnvifClient:
    """One device: connect once (clock offset + service addresses), then `call(service, op, params)`."""

    def __init__(
        self,
        xaddr: str,
        username: str | None,
        password: str | None,
        *,
        timeout_s: float,
        adjust_time: bool = True,
    ) -> None:
        self.xaddr = xaddr
        self.host, self.port = parse_xaddr(xaddr)
        self.timeout_s = timeout_s
        self._username = username
        self._password = password
        self._adjust_time = adjust_time
        self._camera: Any = None
        self._services: dict[str, object] = {}  # zeep service proxies
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._camera is not None

    @property
    def clock_offset_s(self) -> float | None:
        """Camera clock minus ours, as measured at connect (None when not measured)."""
        diff = getattr(self._camera, "dt_diff", None)
        return diff.total_seconds() if diff is not None else None

    async def guard(self, operation: str, aw: Awaitable[T], timeout_s: float | None = None) -> T:
        """Await `aw` under the call timeout (or `timeout_s`); every failure becomes a DomainError."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(aw, limit)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise map_error(exc, operation, limit) from None

    async def connect(self) -> None:
        async with self._lock:
            if self._camera is not None:
                return
            await self._check_reachable()
            onvif_camera = _onvif_camera_class()
            # The library drops http(s)_proxy from the process environment; keep ours intact.
            saved = {k: os.environ[k] for k in ("http_proxy", "https_proxy") if k in os.environ}
            camera = onvif_camera(
                self.host,
                self.port,
                self._username,
                self._password,
                no_cache=True,
                adjust_time=self._adjust_time,
            )
            os.environ.update(saved)
            try:
                # The device service client first (local work, see LOCAL_SETUP_S); then the camera's answers,
                # each under the call timeout.
                build = camera.create_devicemgmt_service()
                await self.guard("create_devicemgmt_service", build, LOCAL_SETUP_S)
                await self.guard("connect", camera.update_xaddrs())
            except BaseException:
                await _close_quietly(camera)
                raise
            self._camera = camera
            log.debug(
                "onvif connected",
                extra={"host": self.host, "port": self.port, "clock_offset_s": self.clock_offset_s},
            )

    async def _check_reachable(self) -> None:
        # A refused connection is reported at once: the library retries refused connections after 4.5 s.
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout_s)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise map_error(exc, "connect", self.timeout_s) from None
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _service(self, name: ServiceName) -> object:
        await self.connect()
        service = self._services.get(name)
        if service is None:
            factory: Callable[[], Awaitable[object]] = getattr(self._camera, f"create_{name}_service")
            service = await self.guard(f"create_{name}_service", factory(), LOCAL_SETUP_S)
            self._services[name] = service
        return service

    async def call(self, service: ServiceName, operation: str, params: JsonObject | None = None) -> object:
        """The operation's reply: a zeep object (`to_plain` makes it dicts and lists)."""
        svc = await self._service(service)
        return await self.guard(operation, getattr(svc, operation)(params))

    def has_service(self, namespace_fragment: str) -> bool:
        xaddrs: dict[str, str] = getattr(self._camera, "xaddrs", {}) or {}
        return any(namespace_fragment in ns for ns in xaddrs)

    async def close(self) -> None:
        camera, self._camera = self._camera, None
        self._services.clear()
        if camera is not None:
            await _close_quietly(camera)


def _onvif_camera_class() -> Any:
    """onvif.ONVIFCamera, undoing the `logging.basicConfig` the library runs on import."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from onvif import ONVIFCamera

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return ONVIFCamera


async def _close_quietly(camera: Any) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(camera.close(), 2.0)


def to_plain(obj: Any) -> Any:
    """A zeep reply as plain dicts/lists (for storing and returning)."""
    import zeep.helpers

    return zeep.helpers.serialize_object(obj, target_cls=dict)  # type: ignore[no-untyped-call]
