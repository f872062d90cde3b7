"""Security H1 (first call): the public rpc.discover document is built while the service starts, off the
event loop, so the first anonymous call never makes every client wait for its ~1 s of schema generation."""

from __future__ import annotations

import pytest

from camera_service.rpc.openrpc import openrpc_cache_info
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration


async def test_the_discover_document_is_ready_before_the_first_call(service: RunningService) -> None:
    built = openrpc_cache_info().misses
    anon = await service.client(None)
    document = await anon.call("rpc.discover")
    assert document["openrpc"].startswith("1.") and any(m["name"] == "ping" for m in document["methods"])
    assert openrpc_cache_info().misses == built  # served from what start() built
    admin = await service.client()
    assert await admin.call("ping") == "pong"
