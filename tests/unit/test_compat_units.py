"""Pure parts of the established-protocol compatibility (issue 17): name sanitising and resolution
candidates, the download_url form switch, component words."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from camera_service.compat.words import component_words
from camera_service.core.component import ComponentHealth
from camera_service.core.errors import not_found
from camera_service.recordings.compat_names import candidates, client_file_name
from camera_service.recordings.downloads import safe_relative
from camera_service.recordings.methods import file_url


@pytest.mark.parametrize(
    ("raw", "ext", "expected"),
    [
        ("../../evil name.jpg", "jpg", "evil_name.jpg"),
        ("C:\\\\Users\\\\x\\\\pic.jpeg", "jpg", "pic.jpg"),
        ("shot.jpg", "png", "shot.jpg.png"),
        (".hidden", "jpg", "hidden.jpg"),
        ("..", "mp4", "snapshot.mp4"),
        ("a/b/../", "mp4", "snapshot.mp4"),
        ("rec\\x00.mp4", "mp4", "x00.mp4"),  # a backslash separates directories too
        ("rec\x00.mp4", "mp4", "rec_.mp4"),  # NUL
        ("x" * 300 + ".mp4", "mp4", "x" * 100 + ".mp4"),
    ],
)
def test_client_file_names_are_plain_safe_names(raw: str, ext: str, expected: str) -> None:
    name = client_file_name(raw, ext, "abcd1234")
    assert name == expected and safe_relative(name) == name and "/" not in name
    unique = client_file_name(raw, ext, "abcd1234", unique=True)
    assert unique.endswith(f"-abcd1234.{ext}") and safe_relative(unique) == unique


class _Cameras:
    ids = {"cam_1": "cam_1", "camera0": "cam_1", "lobby": "lobby"}

    def resolve_id(self, device: str) -> str:
        if device in self.ids:
            return self.ids[device]
        raise not_found("camera", device)


def test_flat_names_map_to_camera_folders() -> None:
    svc: Any = SimpleNamespace(cameras=_Cameras())
    assert candidates(svc, "cam_1/2026-01-01_00-00-00-000000.mp4") == ["cam_1/2026-01-01_00-00-00-000000.mp4"]
    flat = candidates(svc, "cam_1_2026-01-01_00-00-00-000000.mp4")
    assert "cam_1/2026-01-01_00-00-00-000000.mp4" in flat
    assert "cam_1/door.jpg" in candidates(svc, "camera0_door.jpg")  # the compat name cameraN
    assert "lobby/a_b.jpg" in candidates(svc, "lobby_a_b.jpg")
    # A removed camera's files: the prefix before "_<date>".
    assert "gone/2026-01-01_00-00-00.mp4" in candidates(svc, "gone_2026-01-01_00-00-00.mp4")
    assert candidates(svc, "nothing.jpg") == ["nothing.jpg"]


def test_download_url_form_follows_the_call_shape_or_the_config() -> None:
    def api(mode: str) -> Any:
        recordings = SimpleNamespace(
            download_url=lambda kind, rel, identity: f"http://h/downloads/{kind}/{rel}?sig=x"
        )
        return SimpleNamespace(recordings=recordings, download_urls=mode)

    # The URL form depends on the methods object only (the identity only binds a signed URL: L17).
    ctx: Any = SimpleNamespace(connection=SimpleNamespace(identity=None))
    assert (
        file_url(api("by_shape"), ctx, "snapshots", "cam/a b.jpg", True) == "/files/snapshots/cam/a%20b.jpg"
    )
    assert file_url(api("by_shape"), ctx, "snapshots", "cam/a.jpg", False).startswith("http://h/downloads/")
    assert file_url(api("files"), ctx, "recordings", "cam/a.mp4", False) == "/files/recordings/cam/a.mp4"


def test_component_words_carry_old_and_new_names() -> None:
    words = component_words(
        [
            ComponentHealth(name="websocket_server", healthy=True, status="listening", details={}),
            ComponentHealth(name="mediamtx", healthy=False, status="down", details={}),
            ComponentHealth(name="cameras", healthy=False, status="stopped", details={}),
        ]
    )
    assert words["websocket_server"] == "running" and words["mediamtx_controller"] == "error"
    assert words["camera_monitor"] == "stopped" and words["mediamtx"] == "error"
