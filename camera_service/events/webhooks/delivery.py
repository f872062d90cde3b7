"""One HTTP attempt of a webhook delivery (aiohttp), turned into an AttemptResult. Never raises."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from urllib.parse import urlsplit

import aiohttp

from camera_service.events.webhooks.destinations import (
    DestinationRefused,
    PolicyResolver,
    parse_networks,
    refused,
)
from camera_service.events.webhooks.policy import AttemptResult, parse_retry_after


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HttpSender:
    def __init__(self, allowed_networks: list[str] | None = None) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._allowed = parse_networks(allowed_networks or [])

    async def start(self) -> None:
        # No cookie jar and no redirects: a webhook receiver gets exactly one POST from us.
        connector = aiohttp.TCPConnector(limit=256, resolver=PolicyResolver(self._allowed))
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> AttemptResult:
        if self._session is None:
            return AttemptResult(status=None, error="sender not started")
        started = time.perf_counter()
        host = urlsplit(url).hostname or ""
        if _is_ip(host) and refused(host, self._allowed):  # IP literals skip the resolver
            return AttemptResult(status=None, error=f"destination {host} is not allowed (security policy)")
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                await resp.read()
                latency = time.perf_counter() - started
                return AttemptResult(
                    status=resp.status,
                    latency_s=latency,
                    error=None if 200 <= resp.status < 300 else f"HTTP {resp.status}",
                    retry_after_s=parse_retry_after(resp.headers.get("Retry-After"), time.time()),
                )
        except TimeoutError:
            return AttemptResult(
                status=None, error=f"timeout after {timeout_s:g} s", latency_s=time.perf_counter() - started
            )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationRefused):
                return AttemptResult(
                    status=None, error=str(exc.os_error), latency_s=time.perf_counter() - started
                )
            # The message names host:port only (never the URL's path/query).
            return AttemptResult(
                status=None,
                error=f"connection failed: {exc.os_error.strerror or 'error'}",
                latency_s=time.perf_counter() - started,
            )
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
            return AttemptResult(
                status=None, error=f"{type(exc).__name__}", latency_s=time.perf_counter() - started
            )
