"""`camera-service` command line: serve, check-config, openrpc (token/apikey come with auth, backup with
storage)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import yaml

from camera_service import __version__
from camera_service.config import ConfigError, Settings, masked_dump
from camera_service.config.settings import settings_from_args

Command = Callable[[argparse.Namespace], int]
# Subcommands contributed by domains (auth adds `token` and `apikey`): name -> (configure parser, run).
EXTRA_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


def _register_domain_commands() -> None:
    from camera_service.auth import cli as auth_cli
    from camera_service.storage import cli as storage_cli

    EXTRA_COMMANDS["token"] = (auth_cli.configure_token, auth_cli.run_token)
    EXTRA_COMMANDS["apikey"] = (auth_cli.configure_apikey, auth_cli.run_apikey)
    from camera_service.users import cli as user_cli

    EXTRA_COMMANDS["user"] = (user_cli.configure, user_cli.run)
    EXTRA_COMMANDS["backup"] = (storage_cli.configure_backup, storage_cli.run_backup)


_register_domain_commands()


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_args(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from camera_service.app import Application
    from camera_service.core.malloc import limit_malloc_arenas
    from camera_service.observability.logging import configure_logging

    limit_malloc_arenas()  # before any worker thread exists: see core/malloc.py
    settings = _settings(args)
    configure_logging(settings.logging.level, settings.logging.format)
    with contextlib.suppress(KeyboardInterrupt):
        run_event_loop(Application(settings).run_until_signalled())
    return 0


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop (libuv: cheaper socket I/O per message, see docs/adr) unless disabled for debugging."""
    if os.environ.get("CAMERA_SERVICE_EVENT_LOOP", "uvloop") == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    data = masked_dump(settings)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False), end="")
    print("config OK", file=sys.stderr)
    return 0


def cmd_openrpc(args: argparse.Namespace) -> int:
    from camera_service.rpc.catalog import build_registry

    api = build_registry()
    if args.markdown:
        from camera_service.rpc.docs import render

        sys.stdout.write(render(api))
    else:
        from camera_service.rpc.openrpc import openrpc_document

        print(json.dumps(openrpc_document(api), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="camera-service", description="Camera control plane over MediaMTX.")
    parser.add_argument("--version", action="version", version=f"camera-service {__version__}")
    parser.add_argument(
        "-c", "--config", help="YAML config file (default: $CAMERA_SERVICE_CONFIG or config/default.yaml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service").set_defaults(func=cmd_serve)
    check = sub.add_parser("check-config", help="validate and print the effective config (secrets masked)")
    check.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    check.set_defaults(func=cmd_check_config)
    openrpc = sub.add_parser("openrpc", help="print the OpenRPC description of the API")
    openrpc.add_argument("--markdown", action="store_true", help="print the Markdown reference instead")
    openrpc.set_defaults(func=cmd_openrpc)
    for name, (configure, run) in EXTRA_COMMANDS.items():
        extra = sub.add_parser(name)
        configure(extra)
        extra.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
