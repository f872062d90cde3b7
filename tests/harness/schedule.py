"""The order in which pytest-xdist hands test files to its workers (scripts/test.sh: --dist loadfile).

Longest-processing-time first: every file is handed out longest first by its measured wall time, so the
short files come last and the workers finish together instead of one of them running a 15 s file while
the others have stopped. The times are seconds per file in clean-clone runs (2 cores, 5 workers;
docs/performance.md, "Scheduling"); files not listed take under 3 s and keep their collection order after
the listed ones. This only orders: every test still runs, each file's tests in their own order.
"""

from __future__ import annotations

import collections

import pytest

from tests.harness.cache import image_layer_cache

IMAGE_TESTS = "tests/image/test_container_image.py"
FILE_SECONDS: dict[str, int] = {
    "tests/integration/test_recordings_policies.py": 62,
    "tests/web/test_web_operations.py": 55,
    "tests/web/test_web_console.py": 49,
    "tests/integration/test_recordings_archive.py": 41,
    "tests/integration/test_scaleout_bus.py": 36,
    "tests/web/test_web_live_more.py": 34,
    "tests/integration/test_cluster.py": 29,
    "tests/integration/test_quota_cluster.py": 26,
    "tests/integration/test_analytics_objects.py": 23,
    "tests/integration/test_analytics_events.py": 22,
    "tests/integration/test_cluster_clips.py": 20,
    "tests/integration/test_mediamtx_survival.py": 19,
    "tests/web/test_web_rules_media.py": 18,
    "tests/web/test_web_time.py": 18,
    "tests/integration/test_auth_liveview.py": 18,
    "tests/integration/test_camctl.py": 17,
    "tests/integration/test_recordings_restart.py": 17,
    "tests/security/test_hostile_clients.py": 16,
    "tests/security/test_local_publishers.py": 16,
    "tests/integration/test_backup_restore.py": 16,
    "tests/integration/test_cameras_live.py": 15,
    "tests/integration/test_compat_recordings.py": 14,
    "tests/integration/test_events_clips.py": 12,
    "tests/integration/test_mediamtx_supervisor.py": 12,
    "tests/integration/test_client_docs.py": 12,
    "tests/integration/test_analytics_faces_plates.py": 12,
    "tests/unit/test_postgres_cancel.py": 11,
    "tests/integration/test_onvif_import.py": 10,
    "tests/integration/test_analytics_yolo_service.py": 10,
    "tests/unit/test_quota_redis.py": 8,
    "tests/integration/test_recordings_sources.py": 7,
    "tests/integration/test_events_webhooks.py": 7,
    "tests/integration/test_declared_errors.py": 7,
    "tests/integration/test_users.py": 7,
    "tests/integration/test_monitoring.py": 7,
    "tests/integration/test_cameras_credentials.py": 7,
    "tests/integration/test_auth_matrix.py": 7,
    "tests/integration/test_compat_protocol.py": 7,
    "tests/integration/test_onvif_ptz.py": 6,
    "tests/integration/test_jsonrpc_fuzz.py": 6,
    "tests/integration/test_client.py": 6,
    "tests/security/test_abuse.py": 6,
    "tests/integration/test_recordings_disk_guard.py": 6,
    "tests/integration/test_service_lifecycle.py": 5,
    "tests/integration/test_events_fanout.py": 5,
    "tests/integration/test_downloads.py": 5,
    "tests/integration/test_postgres_service.py": 5,
    "tests/integration/test_statistics.py": 5,
    "tests/integration/test_events_rules.py": 4,
    "tests/integration/test_events_feed.py": 4,
    "tests/integration/test_cameras_persistence.py": 4,
    "tests/unit/test_onvif_client_timeouts.py": 4,
    "tests/integration/test_recordings_shutdown.py": 4,
    "tests/integration/test_harness_smoke.py": 4,
    "tests/integration/test_auth_tokens.py": 3,
    "tests/unit/test_core_tasks.py": 3,
}


# The image build reuses the layers kept in the user cache (the dependencies, unless pyproject.toml or
# scripts/setup.sh changed): seconds with that cache, and the first build on a machine, which goes first.
FILE_SECONDS[IMAGE_TESTS] = 12 if image_layer_cache().is_dir() else 114


# Files handed out after the first N others although they are long. The Kotlin file is a CPU-bound build
# (`mvn verify`, about 56 CPU-s, most of it compiling Kotlin), and the files handed out first (the browsers,
# the recordings) kept both cores busy for about the first 100 s and then mostly waited on real media time,
# with the cores 20-70 % idle (vmstat). Handed out first, the build competed for the busy cores (ci132: 99.7 s
# in the suite, 37 s alone); handed out ninth it started at 64 s and took 76.4 s, and the cores stayed busy
# to the end: 316.7 CPU-s of tests in 211.6 s of pytest, against 299.2 CPU-s in 214.2 s (docs/performance.md).
# (Not in FILE_SECONDS: a deferred file's place is its position here, not its length.)
DEFERRED: dict[str, int] = {"tests/integration/test_kotlin_client.py": 8}


def file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def order_for_workers(items: list[pytest.Item], workers: int) -> None:
    """Sorts `items` in place: listed files longest first, then the rest in collection order; a file in
    DEFERRED goes in at its position instead."""
    items.sort(key=lambda item: -FILE_SECONDS.get(file_of(item), 0))  # stable: the rest keep their order
    tests = collections.Counter(file_of(item) for item in items)
    order = [path for path in tests if path not in DEFERRED]
    first, rest = order[:workers], order[workers:]
    # xdist gives each worker one file, then at once a second one to each worker whose file has at most two
    # tests: that second file must be a short one, or it waits behind the long first file (the image build
    # on a machine without the layer cache) while the other workers run out of work at the end.
    short = [path for path in reversed(rest) if path not in FILE_SECONDS]
    second = [short.pop(0) for path in first if tests[path] <= 2 and short]
    handed = first + second + [p for p in rest if p not in second]
    for path, after in sorted(DEFERRED.items(), key=lambda kv: kv[1]):
        if path in tests:
            handed.insert(min(after, len(handed)), path)
    position = {path: i for i, path in enumerate(handed)}
    items.sort(key=lambda item: position[file_of(item)])
