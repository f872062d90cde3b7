"""MediaMTX client errors (rpc/errors.py maps them onto the JSON-RPC error table)."""

from __future__ import annotations

import re

# scheme://user:pass@ -> scheme://user:***@ ; MediaMTX echoes source URLs (with camera passwords) in errors.
_CRED_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")


def mask_url_credentials(text: str) -> str:
    """Replace the password of every `scheme://user:pass@` in text with `***`."""
    return _CRED_RE.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


class MediaMTXError(Exception):
    """A MediaMTX API call failed. `status` is the HTTP status (0 when no response came)."""

    def __init__(self, message: str, status: int = 0) -> None:
        self.message = mask_url_credentials(message)
        self.status = status
        super().__init__(self.message)


class MediaMTXUnavailable(MediaMTXError):
    """Connection refused, reset or timed out: MediaMTX is not reachable."""


class MediaMTXNotFound(MediaMTXError):
    """HTTP 404: no such path, path config or recording."""


class MediaMTXRejected(MediaMTXError):
    """HTTP 400: MediaMTX refused the request (validation, 'path already exists', ...)."""
