"""Unit tests of the security limits (issue 18): linear-time redaction, JSON bounds, anonymous budgets."""

from __future__ import annotations

import json

import pytest

from camera_service.auth.abuse import AnonymousLimits
from camera_service.auth.audit import REDACTED, redact_text
from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.core.jsonlimits import UNREADABLE, check_json, load_stored
from camera_service.rpc.context import ConnectionContext


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:hunter2@10.0.0.5/stream", f"rtsp://admin:{REDACTED}@10.0.0.5/stream"),
        ("see x-rtsp+tls://u:p@h/", f"see x-rtsp+tls://u:{REDACTED}@h/"),
        ("GET /a?token=abc&x=1", f"GET /a?token={REDACTED}&x=1"),
        ("Bearer eyJhbGciOi.eyJzdWIi.sig", f"Bearer {REDACTED}"),
        ("key csk_0123456789ab_" + "k" * 24, f"key {REDACTED}"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redaction_still_redacts(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 100_000,  # the run that made the scheme pattern backtrack at every position
        "rtsp://" + "a" * 100_000,
        "eyJ-" * 25_000,
        "csk_" * 25_000,
        "a://" * 25_000,
    ],
)
def test_redaction_of_hostile_runs_leaves_them_intact(hostile: str) -> None:
    # Correctness on the inputs that were quadratic; their speed is measured in bench/abuse.py.
    assert redact_text(hostile) == hostile


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


def test_check_json_bounds_depth_and_size() -> None:
    assert check_json(_nested(31)) == _nested(31)
    with pytest.raises(ValueError, match="deeper than 32"):
        check_json(_nested(33))
    with pytest.raises(ValueError, match="deeper than 32"):
        check_json(_nested(100_000))  # no recursion: a huge depth is refused, not a RecursionError
    with pytest.raises(ValueError, match="64 KiB"):
        check_json({"x": "a" * 70_000})
    with pytest.raises(ValueError, match="16 KiB"):
        check_json({"x": ["a" * 100] * 200}, max_bytes=16_384)


def test_load_stored_marks_what_cannot_be_answered() -> None:
    assert load_stored('{"a": 1}') == {"a": 1}
    assert UNREADABLE in load_stored(json.dumps(_nested(300)))
    assert UNREADABLE in load_stored("{not json")


def test_anonymous_limits_apply_only_before_authentication() -> None:
    cfg = SecurityConfig(anonymous_max_batch_size=5, anonymous_send_bytes_per_s=2000)
    now = [0.0]
    limits = AnonymousLimits(cfg, max_batch_size=100, clock=lambda: now[0])
    anon = ConnectionContext(remote="1.2.3.4")
    admin = ConnectionContext(remote="1.2.3.4", identity=Identity("a", Role.ADMIN))
    assert limits.batch_limit(anon) == 5
    assert limits.batch_limit(admin) == 100
    assert limits.send_delay(admin, 10**9) == 0.0
    assert limits.send_delay(anon, 4000) == 0.0  # the burst (2 s worth)
    assert limits.send_delay(anon, 2000) == pytest.approx(1.0)  # then paid at 2000 B/s
    now[0] += 10.0
    assert limits.send_delay(anon, 1000) == 0.0  # refilled
