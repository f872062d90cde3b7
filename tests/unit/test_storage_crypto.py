"""At-rest encryption (storage/crypto.py): key file creation (0600), reuse, configured keys, wrong keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from camera_service.storage.crypto import CredentialKeyError, DecryptError, SecretBox, load_or_create_key


def test_key_file_generated_once_with_0600(tmp_path: Path) -> None:
    key = load_or_create_key(None, tmp_path)
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(None, tmp_path) == key  # reused, not regenerated
    path.chmod(0o644)
    load_or_create_key(None, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened


def test_configured_key_wins_and_bad_keys_are_refused(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_or_create_key(SecretStr(key.decode()), tmp_path) == key
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(CredentialKeyError):
        load_or_create_key(SecretStr("not-a-key"), tmp_path)


def test_seal_open_roundtrip_and_wrong_key() -> None:
    box = SecretBox(Fernet.generate_key())
    # A long password: a 2-letter one turns up in the random base64 token by chance (~1 run in 30).
    password = "correct-horse-battery-staple"
    token = box.seal({"username": "u", "password": password, "empty": None})
    assert token is not None and password.encode() not in token
    assert box.open(token) == {"username": "u", "password": password}
    assert box.seal({"password": None, "secret_query": {}}) is None
    assert box.open(None) == {}
    with pytest.raises(DecryptError):
        SecretBox(Fernet.generate_key()).open(token)
