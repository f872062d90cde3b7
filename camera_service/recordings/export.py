"""Export a time range as one MP4 through MediaMTX's playback server (`/get?format=mp4`).

The playback server stitches segments itself, so the result plays seamlessly across segment boundaries.
The body is streamed to a temporary file next to the destination and renamed when complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiofiles
import aiohttp

from camera_service.core.errors import NotFound, TimedOut
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.errors import MediaMTXError, MediaMTXNotFound, MediaMTXUnavailable

log = logging.getLogger("camera_service.recordings.export")

CHUNK = 1 << 16


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_rfc3339(value: str) -> float:
    # MediaMTX prints RFC3339Nano ("2026-11-21T14:57:32.123456789Z"); Python takes at most microseconds.
    v = value.replace("Z", "+00:00")
    if "." in v:
        head, rest = v.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        v = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(v).timestamp()


class Exporter:
    def __init__(
        self,
        client: Callable[[], MediaMTXClient],
        *,
        part_duration_s: float,
        is_recording: Callable[[str], bool],
    ) -> None:
        self._client = client
        self.part_duration_s = part_duration_s
        self._is_recording = is_recording
        self._protected: dict[int, tuple[str, float, float]] = {}
        self._seq = 0

    def protected_ranges(self) -> list[tuple[str, float, float]]:
        """Ranges of exports in flight: retention must not delete their segments."""
        return list(self._protected.values())

    async def coverage(self, camera: str, start: float, end: float) -> list[tuple[float, float]]:
        """Recorded (start, end) ranges of `camera` overlapping [start, end], from the playback server."""
        try:
            entries = await self._client().playback_list(camera)
        except MediaMTXError as exc:
            log.info("playback list failed: %s", exc.message, extra={"camera": camera})
            raise  # rpc/errors.py maps MediaMTX failures
        out = []
        for e in entries:
            s = _parse_rfc3339(e.start)
            if s < end and s + e.duration > start:
                out.append((s, s + e.duration))
        return sorted(out)

    async def wait_available(
        self, camera: str, start: float, end: float, timeout_s: float
    ) -> tuple[float, float]:
        """Wait until [start, end] is recorded (or can no longer grow); returns the part to export."""
        deadline = time.monotonic() + timeout_s
        settle = self.part_duration_s + 3.0  # MediaMTX flushes fMP4 parts every part_duration
        while True:
            ranges = await self.coverage(camera, start, end)
            covered = any(s <= start + 0.5 and e >= end - 0.5 for s, e in ranges)
            if covered:
                break
            if time.time() > end + settle or (not self._is_recording(camera) and time.time() > end):
                break  # nothing more will arrive: export what exists
            if time.monotonic() > deadline:
                raise TimedOut(
                    "the range was not recorded in time",
                    {"camera": camera, "timeout_s": timeout_s},
                )
            await asyncio.sleep(0.5)
        if not ranges:
            raise NotFound(
                "no recording covers the requested range",
                {"resource": "recording", "id": camera, "start": start, "end": end},
            )
        return max(start, ranges[0][0]), min(end, max(e for _, e in ranges))

    async def export(
        self, camera: str, start: float, end: float, dest: Path, timeout_s: float
    ) -> tuple[float, int]:
        """Write [start, end] of `camera` as one MP4 to `dest`; returns (exported start, bytes)."""
        self._seq += 1
        token = self._seq
        self._protected[token] = (camera, start, end)
        try:
            eff_start, eff_end = await self.wait_available(camera, start, end, timeout_s)
            url = self._client().playback_get_url(
                camera, rfc3339(eff_start), max(0.1, eff_end - eff_start), "mp4"
            )
            size = await self._download(url, dest, timeout_s, self._client().auth_headers)
            return eff_start, size
        finally:
            self._protected.pop(token, None)

    @staticmethod
    async def _download(url: str, dest: Path, timeout_s: float, headers: dict[str, str]) -> int:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        size = 0
        try:
            timeout = aiohttp.ClientTimeout(total=timeout_s, sock_read=60)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers) as resp,
            ):
                if resp.status != 200:
                    body = (await resp.text())[:200]
                    kind = MediaMTXNotFound if resp.status == 404 else MediaMTXError
                    raise kind(f"playback server answered {resp.status}: {body}", resp.status)
                async with aiofiles.open(tmp, "wb") as f:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        await f.write(chunk)
                        size += len(chunk)
            tmp.replace(dest)
        except aiohttp.ClientError as exc:
            raise MediaMTXUnavailable(f"playback server: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return size
