"""Download a signed URL (snapshot, recording, clip) to a file, in a thread, with progress callbacks."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

from camera_service.client.errors import ClientError

# progress(bytes_done, bytes_total or None)
Progress = Callable[[int, int | None], None]
CHUNK = 256 << 10


class DownloadError(ClientError):
    """The download answered an error (expired signature, missing file) or the file was not written."""


def _fetch(url: str, dest: Path, progress: Progress | None, timeout: float) -> Path:
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"not an http(s) URL: {url}")
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with tmp.open("wb") as out:
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        os.replace(tmp, dest)
    except OSError as exc:  # urllib's HTTPError and URLError are OSErrors
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"download failed: {exc}") from exc
    return dest


async def download(url: str, dest: Path, *, progress: Progress | None = None, timeout: float = 300.0) -> Path:
    return await asyncio.to_thread(_fetch, url, dest, progress, timeout)
