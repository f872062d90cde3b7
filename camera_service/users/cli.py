"""`camera-service user create|reset-password` (registered in cli.py), on the service's own database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys

from camera_service.auth.roles import Role


def configure(p: argparse.ArgumentParser) -> None:
    from camera_service.auth.cli import _role, _scope_args

    sub = p.add_subparsers(dest="user_command", required=True)
    create = sub.add_parser("create", help="create a console user")
    create.add_argument("username")
    create.add_argument("--role", type=_role, required=True, help="viewer, operator or admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (default: generate one)"
    )
    _scope_args(create)
    reset = sub.add_parser("reset-password", help="set a new password and end the user's sessions")
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (default: generate one)"
    )


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    if args.password_stdin:
        text = sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass("password: ")
        return text.rstrip("\n"), False
    return secrets.token_urlsafe(15), True


async def _run(args: argparse.Namespace) -> int:
    from camera_service.auth.store import MIGRATIONS as AUTH_MIGRATIONS
    from camera_service.config.settings import settings_from_args
    from camera_service.storage.factory import open_database
    from camera_service.users.service import UserError, UserService

    settings = settings_from_args(args.config)
    db = open_database(settings.storage)
    db.register("auth", AUTH_MIGRATIONS)
    users = UserService(settings, db, tokens=None)  # no tokens minted here
    await db.start()
    try:
        password, generated = _password(args)
        if args.user_command == "create":
            scopes = {
                n: getattr(args, n) for n in ("cameras", "groups", "tags", "agencies") if getattr(args, n)
            }
            role: Role = args.role
            await users.create(args.username, password, role, scopes, created_by="cli")
            print(f"created user {args.username} ({role.label})", file=sys.stderr)
        else:
            await users.set_password(args.username, password)
            print(f"new password set for {args.username}; their sessions were ended", file=sys.stderr)
        if generated:
            print("the password is shown once:", file=sys.stderr)
            print(password)
        return 0
    except UserError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.stop()


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
