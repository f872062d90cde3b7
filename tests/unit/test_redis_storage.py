"""storage.redis_url, the client factory and the private redis-server harness."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from camera_service.config import ConfigError, load_settings, masked_dump
from camera_service.storage.redis import open_redis, redacted_url
from tests.harness.redis import RedisServer


async def test_factory_talks_to_the_private_server(redis_url: str) -> None:
    client = open_redis(SecretStr(redis_url), decode_responses=True)
    try:
        assert await client.ping() is True
        await client.set("k", "v")
        assert await client.get("k") == "v"
        info = await client.info("persistence")
        assert info["aof_enabled"] == 0  # the harness runs without persistence
    finally:
        await client.aclose()


async def test_each_test_starts_with_an_empty_server(redis_url: str, redis_server: RedisServer) -> None:
    client = open_redis(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("left-behind", "1")  # the next test's redis_url flushes it
    finally:
        await client.aclose()
    assert redis_server.command("DBSIZE") == b":1"


def test_redis_url_defaults_to_none_and_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMERA_SERVICE_STORAGE__REDIS_URL", raising=False)
    assert load_settings(None).storage.redis_url is None
    url = "redis://:hunter2@127.0.0.1:6379/0"
    monkeypatch.setenv("CAMERA_SERVICE_STORAGE__REDIS_URL", url)
    settings = load_settings(None)
    assert settings.storage.redis_url is not None
    assert settings.storage.redis_url.get_secret_value() == url
    assert "hunter2" not in str(masked_dump(settings))


def test_redis_url_with_another_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        load_settings(None, {"storage": {"redis_url": "http://127.0.0.1:6379"}})


def test_redacted_url_hides_the_password() -> None:
    assert redacted_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redacted_url(SecretStr("rediss://u:pw@h:1/0")) == "rediss://u:***@h:1/0"
    assert redacted_url("redis://h:1/0") == "redis://h:1/0"


async def test_bounded_pool_queues_a_burst_on_few_connections(redis_url: str) -> None:
    import asyncio

    client = open_redis(redis_url, max_connections=2)
    try:
        results = await asyncio.gather(*(client.incr("burst") for _ in range(200)))
        assert sorted(results) == list(range(1, 201))
        clients = await client.client_list()
        assert sum(1 for c in clients if c["name"] == "camera-service") <= 2
    finally:
        await client.aclose()
