"""Client pieces without a server: backoff, params encoding, error mapping."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from camera_service.client.connection import Backoff, Credentials
from camera_service.client.errors import AuthenticationError, RpcError, error_from_reply
from camera_service.client.typed import UNSET, build_params


def test_backoff_grows_to_the_cap_with_jitter_below_the_base() -> None:
    b = Backoff(initial_s=0.1, factor=2.0, cap_s=1.0, jitter=0.5)
    for attempt, base in [(0, 0.1), (1, 0.2), (3, 0.8), (4, 1.0), (50, 1.0)]:
        delays = [b.delay(attempt) for _ in range(200)]
        assert all(base * 0.5 <= d <= base for d in delays)
        assert max(delays) - min(delays) > 0  # jittered


def test_params_leave_out_unset_keywords_and_send_secrets_in_clear() -> None:
    params = build_params(None, {"camera": "demo", "limit": UNSET, "password": SecretStr("pw")})
    assert params == {"camera": "demo", "password": "pw"}


def test_error_reply_becomes_exception_with_code_message_data() -> None:
    err = error_from_reply({"code": -32004, "message": "camera 'x' not found", "data": {"id": "x"}}, "get")
    assert isinstance(err, RpcError) and not isinstance(err, AuthenticationError)
    assert (err.code, err.message, err.data, err.method) == (
        -32004,
        "camera 'x' not found",
        {"id": "x"},
        "get",
    )
    assert isinstance(error_from_reply({"code": -32001, "message": "bad token"}, None), AuthenticationError)


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMERA_SERVICE_TOKEN", "from-env")
    assert Credentials.resolve(None, None).token == "from-env"
    assert Credentials.resolve("given", None).token == "given"
    assert Credentials.resolve(None, "key").token == "key"
