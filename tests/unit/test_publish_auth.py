"""Security M7 decisions of MediaMTX's publish callback (the integration test is
tests/security/test_local_publishers.py): only a camera's own source publishes, whatever the address."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from camera_service.auth.identity import Identity
from camera_service.auth.internal import INTERNAL_PUBLISHER, InternalReaders, load_or_create_key
from camera_service.auth.mediamtx_auth import MediaMTXAuth
from camera_service.auth.publishers import PublishCredentials
from camera_service.auth.quota import LiveViewQuotas
from camera_service.auth.roles import Role
from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.models import Camera
from camera_service.cameras.provisioning import PathConfigBuilder
from camera_service.config.sections import MediaMTXConfig
from camera_service.core.clock import SystemClock
from camera_service.server.internal import InternalHttpServer


class _Store:
    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    async def put_publish_credential(self, camera_id: str, secret_hash: str, at: float, by: str) -> None:
        self.rows[camera_id] = secret_hash

    async def publish_credentials(self) -> dict[str, str]:
        return dict(self.rows)


CAMERAS = {
    "pub": SimpleNamespace(id="pub", source_kind="publisher", group=None, tags=[], agency=None),
    "pull": SimpleNamespace(id="pull", source_kind="pull", group=None, tags=[], agency=None),
    "dev": SimpleNamespace(id="dev", source_kind="device", group=None, tags=[], agency=None),
    # Pulled main stream, published substream ("mix.sub").
    "mix": SimpleNamespace(
        id="mix", source_kind="pull", substream="publisher", group=None, tags=[], agency=None
    ),
}


async def _auth(trusted: list[str] | None = None) -> tuple[MediaMTXAuth, InternalReaders, PublishCredentials]:
    readers = InternalReaders(MediaMTXConfig(), enabled=True)
    creds = PublishCredentials(_Store(), SystemClock())  # type: ignore[arg-type]

    async def authenticate(token: str) -> Identity:
        return Identity(subject="op", role=Role.ADMIN, kind="jwt")

    async def lookup(path: str) -> Any:
        return CAMERAS.get(path.removesuffix(".sub"))  # as AuthService.lookup_camera: "<id>.sub" -> <id>

    auth = MediaMTXAuth(
        internal_user="camera-service",
        internal_password=readers.password,
        trusted_publish=trusted or [],
        internal_publishers=readers,
        publish_credentials=creds,
        authenticate=authenticate,
        lookup_camera=lookup,
        quotas=LiveViewQuotas({}),
        audit=lambda _entry: None,
    )
    return auth, readers, creds


def _publish(path: str, user: str = "", password: str = "", ip: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "action": "publish",
        "path": path,
        "ip": ip,
        "user": user,
        "password": password,
        "protocol": "rtsp",
    }


async def test_loopback_and_identities_do_not_publish_only_the_cameras_credential() -> None:
    auth, readers, creds = await _auth()
    assert (await auth.decide(_publish("pub"))).reason == "credentials_required"
    # An admin JWT, or the service's reader credential, is no publish credential.
    assert not (await auth.decide(_publish("pub", password="a.jwt.token"))).allowed
    assert not (await auth.decide(_publish("pub", "camera-service", readers.password))).allowed
    secret = await creds.issue("pub", created_by="t")
    assert (await auth.decide(_publish("pub", "publisher", secret, ip="10.1.2.3"))).allowed
    assert (await auth.decide({**_publish("pub"), "query": f"token={secret}"})).allowed
    # Not into another path, not after rotation.
    assert not (await auth.decide(_publish("dev", "publisher", secret))).allowed
    await creds.issue("pub", created_by="t")
    assert not (await auth.decide(_publish("pub", "publisher", secret))).allowed


async def test_a_published_substream_takes_its_cameras_credential_a_pulled_one_none() -> None:
    auth, _, creds = await _auth()
    secret = await creds.issue("mix", created_by="t")
    assert (await auth.decide(_publish("mix.sub", "publisher", secret))).allowed
    assert (await auth.decide(_publish("mix", "publisher", secret))).reason == "not_a_publisher_path"
    pub_secret = await creds.issue("pub", created_by="t")
    # "pub" has no published substream: its ".sub" path (if MediaMTX had one) takes no publisher.
    assert (await auth.decide(_publish("pub.sub", "publisher", pub_secret))).reason == "not_a_publisher_path"


async def test_pull_paths_and_unknown_paths_take_no_publisher() -> None:
    auth, readers, creds = await _auth(trusted=["127.0.0.0/8"])
    secret = await creds.issue("pull", created_by="t")  # even a stray credential
    for user, password in (
        ("", ""),
        ("publisher", secret),
        (INTERNAL_PUBLISHER, readers.publish_password("pull")),
    ):
        decision = await auth.decide(_publish("pull", user, password))
        assert not decision.allowed and decision.reason == "not_a_publisher_path"
    assert (
        await auth.decide(_publish("ghost", INTERNAL_PUBLISHER, readers.publish_password("ghost")))
    ).reason == ("no_camera")
    # The opt-in trusted network admits loopback into publisher paths only.
    assert (await auth.decide(_publish("pub"))).reason == "trusted_publisher"


async def test_the_services_own_publishers_use_per_path_passwords(tmp_path: Path) -> None:
    auth, readers, _ = await _auth()
    ok = await auth.decide(_publish("dev", INTERNAL_PUBLISHER, readers.publish_password("dev")))
    assert ok.allowed and ok.reason == "internal_publisher"
    assert not (
        await auth.decide(_publish("dev", INTERNAL_PUBLISHER, readers.publish_password("pub")))
    ).allowed
    # The key survives restarts (an adopted MediaMTX keeps its device commands).
    key = load_or_create_key(tmp_path / "publish_key")
    assert load_or_create_key(tmp_path / "publish_key") == key
    assert oct((tmp_path / "publish_key").stat().st_mode & 0o777) == "0o600"
    one = InternalReaders(MediaMTXConfig(), enabled=True, publish_key=key)
    two = InternalReaders(MediaMTXConfig(), enabled=True, publish_key=key)
    assert one.publish_password("dev") == two.publish_password("dev") != one.publish_password("pub")


def test_device_publishers_present_their_credential() -> None:
    readers = InternalReaders(MediaMTXConfig(), enabled=True)
    builder = PathConfigBuilder(
        CamerasConfig(),
        InternalHttpServer(port=1234, secret="s"),
        publisher_userinfo=readers.publish_userinfo,
    )
    conf = builder.desired(Camera(id="dev", name="dev", source="/dev/video2"))
    assert conf is not None
    userinfo = f"{INTERNAL_PUBLISHER}:{readers.publish_password('dev')}@"
    assert conf["runOnDemand"].endswith(f"rtsp://{userinfo}127.0.0.1:$RTSP_PORT/$MTX_PATH")


def test_hook_commands_carry_no_secret_in_their_command_line(tmp_path: Path) -> None:
    """Security L11: `ps` shows a running hook's argv; the secret header comes from a 0600 file."""
    header = tmp_path / "secrets" / "hook_header"
    internal = InternalHttpServer(port=1234, secret="s3cr3t-value", header_file=header)
    command = internal.hook_command("camera_online", path="$MTX_PATH")
    assert "s3cr3t-value" not in command and f"-H @{header}" in command
    assert header.read_text() == "X-Internal-Secret: s3cr3t-value\n"
    assert oct(header.stat().st_mode & 0o777) == "0o600"
