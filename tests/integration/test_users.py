"""Console users against the real service: first admin, login/refresh/logout, throttling and audit of
failed sign-ins, admin user management, change_password, and the `camera-service user` CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.rpc_client import RpcCallError, RpcClient
from tests.harness.service import service_config

pytestmark = pytest.mark.integration


def _admin_password(svc: Any) -> str:
    path = svc.settings.storage.data_dir / "secrets" / "admin-password"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, oct(mode)
    return path.read_text().strip()


async def _login(svc: Any, username: str, password: str) -> tuple[RpcClient, dict[str, Any]]:
    client = await svc.client(None)
    session = await client.call("login", {"username": username, "password": password})
    return client, session


async def _call_error(client: RpcClient, method: str, params: Any = None) -> RpcCallError:
    with pytest.raises(RpcCallError) as err:
        await client.call(method, params)
    return err.value


async def test_first_admin_login_refresh_logout(service_factory: Any) -> None:
    async with service_factory() as svc:
        password = _admin_password(svc)
        client, session = await _login(svc, "admin", password)
        assert session["role"] == "admin" and session["username"] == "admin"
        assert session["refresh_token"].startswith("csr_")
        me = await client.call("whoami")
        assert me["subject"] == "admin" and me["role"] == "admin"
        # The access token works on a fresh connection like any JWT.
        other = await svc.client(None)
        await other.call("authenticate", {"auth_token": session["access_token"]})
        assert (await other.call("list_users"))["users"][0]["username"] == "admin"

        # Refresh rotates; the spent token is refused and its reuse ends the session.
        second = await client.call("refresh", {"refresh_token": session["refresh_token"]})
        assert second["refresh_token"] != session["refresh_token"]
        err = await _call_error(client, "refresh", {"refresh_token": session["refresh_token"]})
        assert err.code == -32001 and "already used" in err.message
        err = await _call_error(client, "refresh", {"refresh_token": second["refresh_token"]})
        assert err.code == -32001

        # Logout revokes the refresh token and unbinds the connection.
        client2, s2 = await _login(svc, "admin", password)
        await client2.call("logout", {"refresh_token": s2["refresh_token"]})
        assert (await _call_error(client2, "whoami")).code == -32001
        assert (await _call_error(client2, "refresh", {"refresh_token": s2["refresh_token"]})).code == -32001
        # Nothing secret in the database: only hashes.
        db = svc.settings.storage.database_path.read_bytes()
        assert password.encode() not in db and s2["refresh_token"].encode() not in db


async def test_wrong_password_is_audited_and_throttled(service_factory: Any) -> None:
    overrides = {"security": {"auth_attempts": {"per_second": 0.01, "burst": 3}}}
    async with service_factory(overrides=overrides) as svc:
        password = _admin_password(svc)
        anon = await svc.client(None)
        for _ in range(3):
            err = await _call_error(anon, "login", {"username": "admin", "password": "wrong-password"})
            assert err.code == -32001 and err.message == "Invalid user name or password"
        # Over the limit for this user name: even the right password waits.
        err = await _call_error(anon, "login", {"username": "admin", "password": password})
        assert err.code == -32002 and err.data["retry_after_s"] > 0
        # An unknown user name gets the same answer as a wrong password (throttled by address now).
        err = await _call_error(anon, "login", {"username": "nobody", "password": "x"})
        assert err.code == -32002

        admin = await svc.client()
        page = await admin.call("list_audit", {"method": "login"})
        failed = [e for e in page["entries"] if e["outcome"] == "auth_failed"]
        assert len(failed) >= 3
        assert failed[0]["params"]["username"] == "admin"
        assert failed[0]["params"]["password"] == "***"


async def test_admin_manages_users(service_factory: Any) -> None:
    async with service_factory() as svc:
        admin = await svc.client()
        created = await admin.call(
            "create_user",
            {"username": "vera", "password": "viewer-pass-1", "role": "viewer", "cameras": ["cam1"]},
        )
        assert created["role"] == "viewer" and created["scopes"] == {"cameras": ["cam1"]}
        assert "password" not in created and "password_hash" not in created
        err = await _call_error(
            admin, "create_user", {"username": "vera", "password": "another-pass", "role": "viewer"}
        )
        assert err.code == -32005
        err = await _call_error(
            admin, "create_user", {"username": "short", "password": "abc", "role": "viewer"}
        )
        assert err.code == -32602 and err.data["errors"][0]["field"] == "password"

        viewer, session = await _login(svc, "vera", "viewer-pass-1")
        assert session["scopes"] == {"cameras": ["cam1"]}
        assert (await _call_error(viewer, "list_users")).code == -32003
        assert (
            await _call_error(viewer, "create_user", {"username": "x1", "password": "p" * 9, "role": "admin"})
        ).code == -32003

        # change_password: the old password stops working, the new one works.
        err = await _call_error(
            viewer, "change_password", {"current_password": "nope", "new_password": "viewer-pass-2"}
        )
        assert err.code == -32001
        await viewer.call(
            "change_password", {"current_password": "viewer-pass-1", "new_password": "viewer-pass-2"}
        )
        anon = await svc.client(None)
        assert (
            await _call_error(anon, "login", {"username": "vera", "password": "viewer-pass-1"})
        ).code == -32001
        _, session = await _login(svc, "vera", "viewer-pass-2")

        updated = await admin.call("update_user", {"username": "vera", "role": "operator", "cameras": []})
        assert updated["role"] == "operator" and updated["scopes"] == {}
        # Role change revoked the sessions: the old refresh token is dead.
        assert (
            await _call_error(anon, "refresh", {"refresh_token": session["refresh_token"]})
        ).code == -32001

        disabled = await admin.call("disable_user", {"username": "vera"})
        assert disabled["disabled"] is True
        assert (
            await _call_error(anon, "login", {"username": "vera", "password": "viewer-pass-2"})
        ).code == -32001
        assert (await _call_error(admin, "disable_user", {"username": "ghost"})).code == -32004
        names = {u["username"]: u for u in (await admin.call("list_users"))["users"]}
        assert set(names) == {"admin", "vera"} and names["vera"]["disabled"] is True


def test_user_cli_create_and_reset(tmp_path: Path) -> None:
    config = service_config(tmp_path / "data")
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
    base = [sys.executable, "-m", "camera_service", "-c", str(path), "user"]
    out = subprocess.run(
        [*base, "create", "otto", "--role", "operator"], capture_output=True, text=True, env=env, check=True
    )
    first = out.stdout.strip()
    assert len(first) >= 16 and "created user otto (operator)" in out.stderr
    again = subprocess.run(
        [*base, "create", "otto", "--role", "viewer"], check=False, capture_output=True, text=True, env=env
    )
    assert again.returncode == 1 and "UserExists" in again.stderr
    reset = subprocess.run(
        [*base, "reset-password", "otto", "--password-stdin"],
        input="chosen-password-1\n",
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert reset.stdout == "" and "sessions were ended" in reset.stderr
    missing = subprocess.run(
        [*base, "reset-password", "nobody"], check=False, capture_output=True, text=True, env=env
    )
    assert missing.returncode == 1


async def test_cli_user_can_sign_in(tmp_path: Path, service_factory: Any) -> None:
    data = tmp_path / "shared-data"
    config = service_config(data)
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "camera_service",
            "-c",
            str(path),
            "user",
            "create",
            "cli-user",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input="cli-password-1\n",
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    async with service_factory(data_dir=data) as svc:
        _, session = await _login(svc, "cli-user", "cli-password-1")
        assert session["role"] == "viewer"
        # Users existed before the first start: no bootstrap admin was added.
        assert not (data / "secrets" / "admin-password").exists()
