"""`camera-service token create ...` and `camera-service apikey create|list|revoke` (registered in cli.py).

They work on the same config and database as the service (SQLite WAL allows it while it runs; the
service picks up new and revoked keys within seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from datetime import UTC, datetime

from camera_service.auth.roles import Role

_TTL = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_ttl(text: str) -> int:
    m = _TTL.match(text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 900, 15m, 8h, 7d)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _scope_args(p: argparse.ArgumentParser) -> None:
    for name in ("cameras", "groups", "tags", "agencies"):
        p.add_argument(f"--{name}", type=_csv, default=[], help=f"comma-separated {name} (camera scope)")


def _role(text: str) -> Role:
    try:
        role = Role[text.upper()]
    except KeyError:
        raise argparse.ArgumentTypeError("role must be viewer, operator or admin") from None
    if role == Role.PUBLIC:
        raise argparse.ArgumentTypeError("role must be viewer, operator or admin")
    return role


def configure_token(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", help="mint a JWT signed with the service's HS256 secret")
    create.add_argument("--sub", required=True, help="subject (user name)")
    create.add_argument("--role", type=_role, required=True, help="viewer, operator or admin")
    create.add_argument("--ttl", type=parse_ttl, default=parse_ttl("8h"), help="lifetime, e.g. 15m, 8h, 7d")
    _scope_args(create)


def run_token(args: argparse.Namespace) -> int:
    from camera_service.auth.service import load_or_create_jwt_secret
    from camera_service.auth.tokens import mint_token
    from camera_service.config.settings import settings_from_args

    settings = settings_from_args(args.config)
    cfg = settings.security
    if args.ttl > cfg.max_token_ttl_s:
        print(f"--ttl exceeds security.max_token_ttl_s ({cfg.max_token_ttl_s} s)", file=sys.stderr)
        return 2
    token = mint_token(
        load_or_create_jwt_secret(settings),
        subject=args.sub,
        role=args.role,
        ttl_s=args.ttl,
        issuer=cfg.issuer,
        audience=cfg.audience,
        cameras=args.cameras,
        groups=args.groups,
        tags=args.tags,
        agencies=args.agencies,
    )
    print(token)
    return 0


def configure_apikey(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="apikey_command", required=True)
    create = sub.add_parser("create", help="create an API key (printed once)")
    create.add_argument("--name", required=True, help="label of the key")
    create.add_argument("--role", type=_role, required=True, help="viewer, operator or admin")
    create.add_argument("--ttl", type=parse_ttl, default=None, help="lifetime (default: no expiry)")
    _scope_args(create)
    lst = sub.add_parser("list", help="list API keys (never the keys themselves)")
    lst.add_argument("--json", action="store_true")
    revoke = sub.add_parser("revoke", help="revoke an API key by key_id")
    revoke.add_argument("key_id")


def _iso(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else "-"


async def _apikey(args: argparse.Namespace) -> int:
    from camera_service.auth import apikeys
    from camera_service.auth.store import MIGRATIONS, ApiKeyRecord, AuthStore
    from camera_service.config.settings import settings_from_args
    from camera_service.storage.factory import open_database

    settings = settings_from_args(args.config)
    db = open_database(settings.storage)
    db.register("auth", MIGRATIONS)
    await db.start()
    store = AuthStore(db)
    try:
        if args.apikey_command == "create":
            key_id, key, digest = apikeys.generate_key()
            scopes = {
                n: getattr(args, n) for n in ("cameras", "groups", "tags", "agencies") if getattr(args, n)
            }
            now = time.time()
            await store.add_key(
                ApiKeyRecord(
                    key_id=key_id,
                    key_hash=digest,
                    name=args.name,
                    role=args.role,
                    scopes=scopes,
                    created_at=now,
                    created_by="cli",
                    expires_at=now + args.ttl if args.ttl else None,
                )
            )
            print(f"key_id: {key_id}", file=sys.stderr)
            print("the key is shown once; store it now:", file=sys.stderr)
            print(key)
            return 0
        if args.apikey_command == "list":
            keys = await store.list_keys()
            rows = [
                {
                    "key_id": k.key_id,
                    "name": k.name,
                    "role": k.role.label,
                    "scopes": k.scopes,
                    "created_at": _iso(k.created_at),
                    "expires_at": _iso(k.expires_at),
                    "revoked_at": _iso(k.revoked_at),
                    "last_used_at": _iso(k.last_used_at),
                }
                for k in keys
            ]
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for r in rows:
                    state = "revoked" if r["revoked_at"] != "-" else "active"
                    print(
                        f"{r['key_id']}  {r['name']:<24} {r['role']:<8} {state:<8} created {r['created_at']}"
                    )
            return 0
        if await store.revoke_key(args.key_id, time.time()):
            print(f"revoked {args.key_id}")
            return 0
        print(f"no active API key {args.key_id}", file=sys.stderr)
        return 1
    finally:
        await db.stop()


def run_apikey(args: argparse.Namespace) -> int:
    return asyncio.run(_apikey(args))
