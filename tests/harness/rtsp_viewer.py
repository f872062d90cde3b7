"""A minimal RTSP viewer (DESCRIBE, SETUP over TCP, PLAY, then read) for tests that need many
concurrent real reads: one socket and one task each, instead of an ffmpeg process per viewer.

MediaMTX treats it as any RTSP reader: it asks the service's auth callback on DESCRIBE and SETUP, runs
runOnRead once PLAY starts the session and runOnUnread when the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class RtspError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"RTSP {status} {reason}")
        self.status = status


class RtspViewer:
    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 554
        self._query = f"?{parts.query}" if parts.query else ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._cseq = 0
        self._drain: asyncio.Task[None] | None = None
        self.received = 0  # bytes of interleaved RTP/RTCP after PLAY

    async def _request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str], bytes]:
        assert self._reader is not None and self._writer is not None
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", "User-Agent: cs-test-viewer"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        status_line = (await self._reader.readline()).decode(errors="replace").strip()
        if not status_line:
            raise RtspError(0, "connection closed")
        _, code, *reason = status_line.split(" ", 2)
        found: dict[str, str] = {}
        while True:
            line = (await self._reader.readline()).decode(errors="replace").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            found[name.strip().lower()] = value.strip()
        body = await self._reader.readexactly(int(found.get("content-length", "0") or 0))
        return int(code), " ".join(reason), found, body

    async def play(self, timeout: float = 30.0) -> None:
        """Open the stream; raises RtspError with the status MediaMTX answered (401: refused)."""
        async with asyncio.timeout(timeout):
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            code, reason, headers, sdp = await self._request(
                "DESCRIBE", self.url, {"Accept": "application/sdp"}
            )
            if code != 200:
                raise RtspError(code, reason)
            base = headers.get("content-base", self.url.split("?", 1)[0] + "/")
            control = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in sdp.decode(errors="replace").splitlines()
                    if line.startswith("a=control:") and line.strip() != "a=control:*"
                ),
                "",
            )
            track = (
                control
                if control.startswith("rtsp://")
                else base.split("?", 1)[0].rstrip("/") + "/" + control
            )
            code, reason, headers, _ = await self._request(
                "SETUP", track + self._query, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
            )
            if code != 200:
                raise RtspError(code, reason)
            session = headers.get("session", "").split(";", 1)[0]
            code, reason, _, _ = await self._request(
                "PLAY", base.split("?", 1)[0] + self._query, {"Session": session, "Range": "npt=0.000-"}
            )
            if code != 200:
                raise RtspError(code, reason)
        self._drain = asyncio.create_task(self._read_media(), name="rtsp-viewer")

    async def _read_media(self) -> None:
        assert self._reader is not None
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                return
            self.received += len(chunk)

    async def close(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drain
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None
