"""Unit tests of the recordings domain's pure parts: policies, retention planning, URL signing, safe
download paths, segment names, compat params."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from camera_service.core.errors import DomainError
from camera_service.recordings.archive import merge_ranges
from camera_service.recordings.config import RetentionConfig, RetentionLimits
from camera_service.recordings.downloads import (
    content_disposition,
    download_name,
    resolve_inside,
    safe_relative,
)
from camera_service.recordings.index import parse_segment_name
from camera_service.recordings.models import Segment
from camera_service.recordings.policy import RecordingPolicy, parse_policy
from camera_service.recordings.retention import GB, Item, plan
from camera_service.recordings.schemas import FileRef, ListRecordingsParams, StartRecordingParams
from camera_service.recordings.signing import UrlSigner, load_or_create_key
from camera_service.rpc.errors import to_rpc_error

# 2026-11-23 is a Monday.
MON_0930_UTC = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_policy_modes() -> None:
    assert not RecordingPolicy().wants_recording(MON_0930_UTC, "UTC")
    assert RecordingPolicy(mode="continuous").wants_recording(MON_0930_UTC, "UTC")
    assert RecordingPolicy(mode="events").wants_recording(MON_0930_UTC, "UTC")


def test_scheduled_windows_in_a_time_zone() -> None:
    p = parse_policy({"mode": "scheduled", "schedule": [{"days": ["mon"], "start": "08:00", "end": "10:00"}]})
    assert p.wants_recording(MON_0930_UTC, "UTC")
    assert not p.wants_recording(MON_0930_UTC, "America/New_York")  # 04:30 there
    tz = parse_policy(
        {
            "mode": "scheduled",
            "timezone": "Asia/Tokyo",
            "schedule": [{"days": ["mon"], "start": "18:00", "end": "19:00"}],
        }
    )
    assert tz.wants_recording(MON_0930_UTC, "UTC")  # 18:30 in Tokyo


def test_overnight_window_wraps_to_the_next_day() -> None:
    p = parse_policy({"mode": "scheduled", "schedule": [{"days": ["sun"], "start": "22:00", "end": "10:00"}]})
    assert p.wants_recording(MON_0930_UTC, "UTC")  # Sunday's window, Monday morning part
    p2 = parse_policy(
        {"mode": "scheduled", "schedule": [{"days": ["mon"], "start": "22:00", "end": "10:00"}]}
    )
    assert not p2.wants_recording(MON_0930_UTC, "UTC")


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "sometimes"},
        {"mode": "scheduled", "timezone": "Mars/Base"},
        {"schedule": [{"days": ["mon"], "start": "25:00", "end": "10:00"}]},
        {"schedule": [{"days": [], "start": "01:00", "end": "02:00"}]},
        {"extra": 1},
    ],
)
def test_bad_policies_are_invalid_params(bad: dict[str, object]) -> None:
    with pytest.raises(DomainError) as err:
        parse_policy(bad)
    assert (
        to_rpc_error(err.value).code == -32602
        and err.value.data
        and err.value.data["errors"][0]["field"].startswith("policy")
    )


def _item(kind: str, key: str, t: float, size: int, camera: str = "c1", **kw: bool) -> Item:
    return Item(kind, camera, key, t, t + 10, size, **kw)  # type: ignore[arg-type]


def test_size_cap_deletes_oldest_first_and_keeps_protected() -> None:
    items = [_item("continuous", f"s{i}", 1000 + i * 10, GB // 10) for i in range(10)]
    items[0].protected = True  # inside a locked clip
    settings = RetentionConfig(continuous=RetentionLimits(max_size_gb=0.5))
    result = plan(items, settings, {}, now=2000)
    assert [d.item.key for d in result.deletions] == ["s1", "s2", "s3", "s4", "s5"]
    assert all("size cap" in d.reason for d in result.deletions)
    assert result.freed_bytes == 5 * (GB // 10) and result.protected_kept == 1


def test_age_limits_per_kind_and_per_camera() -> None:
    day = 86_400.0
    now = 100 * day
    items = [
        _item("snapshots", "old-snap", now - 3 * day, 1),
        _item("snapshots", "new-snap", now - 100, 1),
        _item("continuous", "old-seg", now - 3 * day, 1),
        _item("clips", "old-clip", now - 3 * day, 1),
        _item("continuous", "c2-seg", now - 1.5 * day, 1, camera="c2"),
    ]
    settings = RetentionConfig(
        snapshots=RetentionLimits(max_age_days=2), per_camera={"c2": RetentionLimits(max_age_days=1)}
    )
    assert {d.item.key for d in plan(items, settings, {}, now=now).deletions} == {"old-snap", "c2-seg"}


def test_event_buffer_segments_expire_unless_protected() -> None:
    now = 10_000.0
    items = [
        _item("continuous", "b-old", now - 100, 1, buffer=True),
        _item("continuous", "b-kept", now - 100, 1, buffer=True, protected=True),
        _item("continuous", "b-new", now - 15, 1, buffer=True),
        _item("continuous", "cont", now - 100, 1),
    ]
    result = plan(items, RetentionConfig(), {"c1": 30.0}, now=now)
    assert [d.item.key for d in result.deletions] == ["b-old"]


def test_global_cap_spans_kinds() -> None:
    items = [_item("snapshots", "a", 1, GB), _item("continuous", "b", 2, GB), _item("clips", "c", 3, GB)]
    result = plan(items, RetentionConfig(global_limits=RetentionLimits(max_size_gb=1.5)), {}, now=100)
    assert [d.item.key for d in result.deletions] == ["a", "b"]


def test_url_signatures() -> None:
    signer = UrlSigner(b"k" * 32, ttl_s=60)
    url = signer.sign("clips", "cam1/a b.mp4", now=1000)
    path, query = url.split("?")
    assert path == "/downloads/clips/cam1/a%20b.mp4"
    params = dict(p.split("=", 1) for p in query.split("&"))
    assert params["expires"] == "1060"
    assert signer.verify("clips", "cam1/a b.mp4", params["expires"], params["sig"], now=1059)
    assert not signer.verify("clips", "cam1/a b.mp4", params["expires"], params["sig"], now=1061)
    assert not signer.verify("snapshots", "cam1/a b.mp4", params["expires"], params["sig"], now=1000)
    assert not signer.verify("clips", "cam1/a b.mp4", "1061", params["sig"], now=1000)
    assert not signer.verify("clips", "cam1/a b.mp4", "soon", params["sig"], now=1000)
    assert not UrlSigner(b"x" * 32, 60).verify(
        "clips", "cam1/a b.mp4", params["expires"], params["sig"], now=1000
    )


def test_download_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    key = load_or_create_key(None, tmp_path)
    assert load_or_create_key(None, tmp_path) == key and len(key) >= 32
    assert (os.stat(tmp_path / "download.key").st_mode & 0o777) == 0o600


@pytest.mark.parametrize(
    "raw",
    ["../x", "a/../b", "/etc/passwd", "a//b", "./a", "a\\b", "a/\x00", "", ".hidden", "a/%2e%2e", "x" * 2000],
)
def test_unsafe_relative_paths(raw: str) -> None:
    assert safe_relative(raw) is None


def test_safe_paths_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "cam1").mkdir(parents=True)
    (root / "cam1" / "a.mp4").write_bytes(b"x")
    (tmp_path / "outside").write_bytes(b"y")
    os.symlink(tmp_path / "outside", root / "cam1" / "link.mp4")
    assert safe_relative("cam1/a.mp4") == "cam1/a.mp4"
    assert resolve_inside(root, "cam1/a.mp4") == (root / "cam1" / "a.mp4").resolve()
    assert resolve_inside(root, "cam1/link.mp4") is None
    assert resolve_inside(root, "cam1/missing.mp4") is None
    assert resolve_inside(root, "cam1") is None  # a directory
    assert (
        content_disposition("clips", 'cam1/we"ird;name.mp4')
        == "attachment; filename=\"cam1_we_ird_name.mp4\"; filename*=UTF-8''cam1_we_ird_name.mp4"
    )
    # A client's chosen name (the console's, in the site time zone): safe characters, same extension.
    assert (
        download_name("cam1/a.mp4", "cam1_2026-11-30_19-05-00+0100.mp4")
        == "cam1_2026-11-30_19-05-00+0100.mp4"
    )
    for bad in (
        None,
        "x.exe",
        "a.mp4.exe",
        "../a.mp4",
        "a/b.mp4",
        "a:b.mp4",
        ".a.mp4",
        "a..mp4",
        "x" * 201 + ".mp4",
    ):
        assert download_name("cam1/a.mp4", bad) is None, bad


def test_segment_names() -> None:
    cam, start = parse_segment_name("cam1/2026-11-21_14-57-32-123456.mp4") or ("", 0.0)
    assert cam == "cam1" and start == datetime(2026, 11, 21, 14, 57, 32, 123456, tzinfo=UTC).timestamp()
    assert parse_segment_name("cam1/notes.txt") is None
    assert parse_segment_name("a/b/2026-11-21_14-57-32-123456.mp4") is None


def test_merge_ranges_joins_adjacent_segments() -> None:
    def seg(start: float, dur: float) -> Segment:
        return Segment(id=0, camera="c", path=f"c/{start}", start=start, duration_s=dur, size=1)

    assert merge_ranges([seg(8, 4), seg(0, 4), seg(4.2, 3.9), seg(20, 2)]) == [(0, 12), (20, 22)]


def test_shared_params_accept_both_shapes_and_reject_conflicts() -> None:
    assert StartRecordingParams(camera="c", duration_s=2.5).seconds == 2.5
    assert StartRecordingParams(device="camera0", duration_minutes=2).seconds == 120
    assert StartRecordingParams(device="camera0", duration_hours=1).seconds == 3600
    assert StartRecordingParams(device="camera0").seconds is None
    assert StartRecordingParams(camera="c", device="c").ref == "c"
    for bad in (
        {"camera": "c", "duration": 3, "duration_s": 3},
        {"camera": "a", "device": "b"},
        {},
        {"device": "camera0", "duration_seconds": 3601},
        {"device": "camera0", "duration_hours": 25},
    ):
        with pytest.raises(ValidationError):
            StartRecordingParams.model_validate(bad)
    with pytest.raises(ValidationError):
        ListRecordingsParams(cursor="x", offset=3)
    with pytest.raises(ValidationError):
        FileRef(id="1", filename="x")
    with pytest.raises(ValidationError):
        FileRef()
    assert ListRecordingsParams(limit=5, offset=10).offset == 10
