"""Uptime from status events: the state before the window counts, unknown is not up, ends are clipped."""

from __future__ import annotations

from camera_service.statistics.uptime import online_seconds


def test_online_before_the_window_counts_from_its_start() -> None:
    assert online_seconds([(50.0, "camera.online")], 100.0, 200.0) == 100.0


def test_no_event_means_offline_until_the_first_change() -> None:
    assert online_seconds([], 100.0, 200.0) == 0.0
    assert online_seconds([(150.0, "camera.online")], 100.0, 200.0) == 50.0


def test_flapping_adds_up_online_intervals_only() -> None:
    changes = [
        (90.0, "camera.offline"),
        (110.0, "camera.online"),
        (120.0, "camera.error"),
        (130.0, "camera.online"),
        (130.5, "camera.online"),  # a repeated online does not restart the interval
        (170.0, "camera.offline"),
        (250.0, "camera.online"),  # after the window
    ]
    assert online_seconds(changes, 100.0, 200.0) == 10.0 + 40.0
