"""Camera source URLs: validation, credential extraction and masking.

Credentials never live in `Camera.source`: they are split off here, stored encrypted, and only put back
into the URL handed to MediaMTX (or to the service's own readers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from camera_service.mediamtx.errors import mask_url_credentials

SourceKind = Literal["pull", "publisher", "device"]

PUBLISHER = "publisher"
PULL_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "srt", "http", "https"})
RTSP_SCHEMES = frozenset({"rtsp", "rtsps"})
# Query parameters that carry secrets (SRT passphrase, tokens): kept encrypted like passwords.
SECRET_QUERY_KEYS = frozenset({"passphrase", "password", "pass", "pwd", "secret", "token"})
MAX_URL_LENGTH = 2048
_DEVICE_RE = re.compile(r"^/dev/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")


class SourceError(ValueError):
    """The source is not usable. The message never contains the URL (it may hold a password)."""


@dataclass(frozen=True)
class ParsedSource:
    kind: SourceKind
    source: str  # without credentials or secret query parameters
    username: str | None = None
    password: str | None = None
    secret_query: dict[str, str] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return self.source.split("://", 1)[0].lower() if self.kind == "pull" else ""


def source_kind(source: str) -> SourceKind:
    if source == PUBLISHER:
        return "publisher"
    if source.startswith("/dev/"):
        return "device"
    return "pull"


def parse_source(raw: str) -> ParsedSource:
    """Validate a source and split off credentials. Raises SourceError naming what is wrong."""
    text = raw.strip()
    if not text:
        raise SourceError("the source is empty")
    if len(text) > MAX_URL_LENGTH:
        raise SourceError(f"the source is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise SourceError("the source contains whitespace or control characters")
    if text == PUBLISHER:
        return ParsedSource("publisher", PUBLISHER)
    if text.startswith("/dev/"):
        if not _DEVICE_RE.match(text) or "/../" in text or text.endswith("/.."):
            raise SourceError("a local device must be a path like /dev/video0")
        return ParsedSource("device", text)
    if "://" not in text:
        raise SourceError(
            "expected an rtsp://, rtsps://, rtmp://, srt:// or http(s)://...m3u8 URL, "
            "'publisher', or a local device like /dev/video0"
        )
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise SourceError("the URL is malformed (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in PULL_SCHEMES:
        raise SourceError(f"unsupported URL scheme '{scheme}' (use one of {', '.join(sorted(PULL_SCHEMES))})")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if not hostport or not _HOST_RE.match(hostport) or not parts.hostname:
        raise SourceError("the URL has no valid host")
    if port == 0:
        raise SourceError("the URL port must be 1-65535")
    if scheme in ("http", "https") and ".m3u8" not in parts.path:
        raise SourceError("http(s) sources must be HLS playlists (a path ending in .m3u8)")
    username = password = None
    if userinfo:
        user, sep, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if sep else None
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = {k: v for k, v in query if k.lower() in SECRET_QUERY_KEYS}
    public_query = [(k, v) for k, v in query if k.lower() not in SECRET_QUERY_KEYS]
    clean = urlunsplit((scheme, hostport, parts.path, urlencode(public_query, safe="/:,=@"), parts.fragment))
    return ParsedSource("pull", clean, username, password, secret_query)


def with_credentials(
    source: str, username: str | None, password: str | None, secret_query: dict[str, str] | None = None
) -> str:
    """Put credentials (percent-encoded) and secret query parameters back into a clean pull URL."""
    if source_kind(source) != "pull" or not (username or password or secret_query):
        return source
    parts = urlsplit(source)
    netloc = parts.netloc
    if username or password:
        userinfo = quote(username or "", safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        netloc = f"{userinfo}@{netloc}"
    query = parts.query
    if secret_query:
        extra = urlencode(list(secret_query.items()))
        query = f"{query}&{extra}" if query else extra
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_SECRET_QUERY_RE = re.compile(r"(?i)([?&](?:" + "|".join(sorted(SECRET_QUERY_KEYS)) + r")=)[^&\s'\"]*")


def mask_credentials(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Mask URL passwords, secret query values and any of `secrets` appearing literally in text."""
    out = _SECRET_QUERY_RE.sub(r"\1***", mask_url_credentials(text))
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return out
