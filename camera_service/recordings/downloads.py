"""HTTP downloads of segments, clips and snapshots on the public port, authorised by signed URLs.

GET /downloads/{recordings|clips|snapshots}/{relative path}?expires=<unix>&sig=<HMAC>
- the path must be a plain relative name (no '.', '..', empty parts, backslashes, NUL, odd characters);
- the signature covers kind + path + expiry (+ the API key it was minted for: 403 once that key is
  revoked, security L17) (403 when missing, forged or expired);
- the file must resolve inside its root without following a symlink out, and be known to the index;
- aiohttp's FileResponse streams from disk and answers Range requests (206) itself;
- an optional `filename` query names the saved file (e.g. the console's name in the site time zone). It is
  not signed (it changes only the name offered to the browser), so it is held to [A-Za-z0-9._+-] and must
  keep the stored file's extension; anything else is refused (400).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from aiohttp import web

from camera_service.recordings.signing import UrlSigner

log = logging.getLogger("camera_service.recordings.downloads")

KINDS = ("recordings", "clips", "snapshots")
_SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$")

Lookup = Callable[[str, str], Awaitable[bool]]


def safe_relative(raw: str) -> str | None:
    """`raw` if it is a harmless relative path made of safe names, else None."""
    if not raw or len(raw) > 1024:
        return None
    parts = raw.split("/")
    if any(p in ("", ".", "..") or not _SAFE_PART.match(p) for p in parts):
        return None
    return raw


def download_name(rel: str, asked: str | None) -> str | None:
    """The file name a client asked for (the `filename` query), if it is safe and keeps rel's extension."""
    if asked is None or not _SAFE_NAME.match(asked) or ".." in asked:
        return None
    return asked if asked.endswith(PurePosixPath(rel).suffix) else None


def content_disposition(kind: str, rel: str, name: str | None = None) -> str:
    name = name or re.sub(r"[^A-Za-z0-9._-]", "_", rel.replace("/", "_")) or kind
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def resolve_inside(root: Path, rel: str) -> Path | None:
    """The file for `rel` under `root`, or None if it is missing, not a regular file, or escapes the root."""
    root = root.expanduser().resolve()
    candidate = root.joinpath(*rel.split("/"))
    try:
        resolved = candidate.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    if resolved != candidate or not resolved.is_relative_to(root):
        return None  # a symlink somewhere on the way
    if not resolved.is_file():
        return None
    return resolved


class DownloadRoutes:
    def __init__(
        self,
        roots: dict[str, Path],
        signer: UrlSigner,
        lookup: Lookup,
        is_revoked: Callable[[str], bool] | None = None,
    ) -> None:
        self.roots = roots
        self.signer = signer
        self.lookup = lookup
        self.is_revoked = is_revoked or (lambda _key_id: False)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/downloads/{kind}/{path:.+}", self.handle, allow_head=True)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        raw = request.match_info["path"]
        if kind not in self.roots:
            raise web.HTTPNotFound(text="unknown download kind")
        rel = safe_relative(raw)
        if rel is None:
            log.warning("download refused: unsafe path", extra={"kind": kind, "path": raw[:200]})
            raise web.HTTPBadRequest(text="invalid file name")
        expires = request.query.get("expires", "")
        sig = request.query.get("sig", "")
        key_id = request.query.get("kid", "")
        if not sig or not self.signer.verify(kind, rel, expires, sig, key_id=key_id):
            raise web.HTTPForbidden(text="missing, invalid or expired signature")
        if key_id and self.is_revoked(key_id):
            raise web.HTTPForbidden(text="the API key this URL was made for is revoked")
        asked = request.query.get("filename")
        name = download_name(rel, asked)
        if asked is not None and name is None:
            raise web.HTTPBadRequest(text="invalid filename: [A-Za-z0-9._+-], up to 200, same extension")
        path = resolve_inside(self.roots[kind], rel)
        if path is None or not await self.lookup(kind, rel):
            raise web.HTTPNotFound(text="no such file")
        return web.FileResponse(
            path,
            chunk_size=256 * 1024,
            headers={
                "Content-Disposition": content_disposition(kind, rel, name),
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
