"""argon2id password hashing (argon2-cffi, RFC 9106 low-memory profile), off the event loop."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256

# argon2id with OWASP's recommended minimum (m=19 MiB, t=2, p=1): a sign-in must stay well under a second on
# a loaded 2-core box (the RFC 9106 64 MiB / p=4 profile took 1-2 s there while 16 cameras played). The
# parameters are stored in each hash, so stronger ones can be introduced later without a migration.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so an unknown name costs as much as a wrong password.
    Made when password sign-in starts (`prepare`), not at import: every process importing the
    service (workers, CLIs) would pay for it."""
    return _hasher.hash("not-a-real-password")


async def prepare() -> None:
    """Makes the unknown-user hash before the first sign-in, so that one costs no more than later ones."""
    await asyncio.to_thread(_dummy_hash)


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


def verify_password_sync(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password_sync, password_hash, password)


def check_policy(password: str) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"password must have at most {MAX_PASSWORD_CHARS} characters"
    return None
