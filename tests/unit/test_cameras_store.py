"""The camera store on SQLite and PostgreSQL: round trip with encrypted credentials, kept secrets,
undecryptable rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from camera_service.cameras.models import Camera, OnvifEndpoint
from camera_service.cameras.store import MIGRATIONS, CameraStore
from camera_service.storage.crypto import SecretBox
from camera_service.storage.database import IntegrityError
from camera_service.storage.factory import database_for_url


async def test_round_trip_encrypts_credentials(tmp_path: Path, database_url: str) -> None:
    db = database_for_url(database_url)
    db.register("cameras", MIGRATIONS)
    await db.start()
    key = Fernet.generate_key()
    store = CameraStore(db, SecretBox(key))
    cam = Camera(
        id="a",
        name="A",
        source="rtsp://h/x",
        username="admin",
        password=SecretStr("Hunter2-pw"),
        secret_query={"passphrase": SecretStr("Srt-pass-1")},
        tags=["t"],
        onvif=OnvifEndpoint(host="h", username="o", password=SecretStr("Onvif-pw-9")),
    )
    assert await store.insert(cam) == 1
    assert await store.insert(Camera(id="b", name="B", source="publisher")) == 2
    with pytest.raises(IntegrityError):
        await store.insert(Camera(id="a", name="dup", source="publisher"))
    (seq, loaded), _ = await store.load_all()
    assert seq == 1 and loaded.password is not None and loaded.password.get_secret_value() == "Hunter2-pw"
    assert loaded.username == "admin" and loaded.secret_query["passphrase"].get_secret_value() == "Srt-pass-1"
    assert loaded.onvif is not None and loaded.onvif.password is not None
    assert loaded.onvif.password.get_secret_value() == "Onvif-pw-9"
    assert "Hunter2" not in loaded.model_dump_json() and "Onvif-pw" not in repr(loaded)
    rows = await db.fetch_all("SELECT * FROM cameras")
    stored = b"".join(bytes(r["secrets"] or b"") + r["doc"].encode() for r in rows)
    for secret in (b"Hunter2-pw", b"Srt-pass-1", b"Onvif-pw-9", b"admin"):
        assert secret not in stored
    await db.stop()
    if db.dialect == "sqlite":
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
        for secret in (b"Hunter2-pw", b"Srt-pass-1", b"Onvif-pw-9", b"admin"):
            assert secret not in raw

    # Another key: the row still loads, flagged, and an update can keep the undecryptable blob.
    await db.start()
    other = CameraStore(db, SecretBox(Fernet.generate_key()))
    (_, broken), _ = await other.load_all()
    assert broken.credentials_error and broken.password is None
    assert await other.update(broken.model_copy(update={"name": "renamed"}), keep_secrets=True)
    (_, again), _ = await CameraStore(db, SecretBox(key)).load_all()
    assert again.name == "renamed" and again.password is not None  # original credentials survived
    assert await store.delete("b") and not await store.delete("b")
    await db.stop()


async def test_concurrent_inserts_get_distinct_seqs(database_url: str) -> None:
    """Instances sharing PostgreSQL can race for the next seq: each insert still lands, with its own seq;
    a duplicate id is still refused."""
    import asyncio

    dbs = []
    for _ in range(3):  # three pools: three "instances" writing at once
        db = database_for_url(database_url)
        db.register("cameras", MIGRATIONS)
        await db.start()
        dbs.append(db)
    try:
        box = SecretBox(Fernet.generate_key())
        stores = [CameraStore(db, box) for db in dbs]
        seqs = await asyncio.gather(
            *(stores[i % 3].insert(Camera(id=f"c{i}", name=f"C{i}", source="publisher")) for i in range(12))
        )
        assert sorted(seqs) == list(range(1, 13))
        with pytest.raises(IntegrityError):
            await stores[1].insert(Camera(id="c3", name="dup", source="publisher"))
        assert len(await stores[2].load_all()) == 12
    finally:
        for db in dbs:
            await db.stop()
