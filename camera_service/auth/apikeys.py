"""API keys for automation: high-entropy random strings, shown once, stored as SHA-256 hashes.

Why SHA-256 and not bcrypt/argon2: a key carries 256 bits of randomness, so it cannot be guessed or
brute-forced from its hash; slow hashes protect low-entropy *passwords* and would only cost CPU on
every authentication. The lookup is by a public key id (part of the key), then the hash comparison
is constant-time (hmac.compare_digest).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "csk"
_KEY_RE = re.compile(r"^csk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def generate_key() -> tuple[str, str, str]:
    """(key_id, full key shown once, hash to store)."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The key id of a well-formed API key, else None."""
    m = _KEY_RE.match(key)
    return m.group(1) if m else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key).encode(), stored_hash.encode())


def looks_like_api_key(token: str) -> bool:
    return token.startswith(f"{KEY_PREFIX}_")
