"""`camctl`: the command line of camera-service (see docs/client.md; exit codes in `camctl --help`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from camera_service.client.camctl import commands
from camera_service.client.camctl.parser import (
    EXIT_TEXT,
    catalog,
    cli_path,
    common_options,
    method_parser,
)
from camera_service.client.camctl.parser import json_value as json_arg

if TYPE_CHECKING:
    from camera_service.client.camctl.parser import SubParsers

DESCRIPTION = """Control camera-service from the shell. Every JSON-RPC method is a subcommand
(`camctl GROUP COMMAND --help` shows its documentation); tables for people, --json for scripts."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camctl",
        description=DESCRIPTION,
        epilog=EXIT_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common_options(parser, top=True)
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, SubParsers] = {}
    methods = catalog()
    for method in sorted(methods, key=lambda m: cli_path(m, methods[m])):
        meta = methods[method]
        path = cli_path(method, meta)
        if len(path) == 1:
            commands.add_ptz(method_parser(top, path[0], method, meta))
            continue
        group, name = path
        if group not in groups:
            gp = top.add_parser(group, help=f"{group} methods", description=f"`{group}` methods.")
            groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        method_parser(groups[group], name, method, meta)
    _curated(top, groups)
    return parser


def _curated(top: SubParsers, groups: dict[str, SubParsers]) -> None:
    """Commands that combine methods (call + download, subscribe + print) or take raw JSON."""
    snap = _command(
        top,
        "snapshot",
        "take a snapshot and download it",
        "Take a snapshot of CAMERA (take_snapshot) and save it to a file.",
    )
    commands.add_snapshot(snap)
    export = _command(
        groups["recordings"],
        "export",
        "export a time range as one MP4 and download it",
        "Export [--from, --to] of CAMERA as one MP4 (export_clip) and save it to a file.",
    )
    commands.add_export(export)
    follow = _command(
        groups["events"],
        "follow",
        "print events as they happen",
        "Subscribe (subscribe_events) and print each matching event; renewed after reconnects.",
    )
    commands.add_follow(follow)
    call = _command(
        top,
        "call",
        "call any method with JSON params",
        "Call METHOD with PARAMS (a JSON object or array) and print the result.",
    )
    call.add_argument("rpc_method", metavar="METHOD")
    call.add_argument("rpc_params", metavar="PARAMS", nargs="?", type=json_arg, default=None)
    call.set_defaults(action="call")
    comp = top.add_parser("completion", help="print a shell completion script (bash or zsh)")
    comp.add_argument("shell", choices=["bash", "zsh"])
    comp.set_defaults(action="completion")


def _command(parent: SubParsers, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A hand-made subcommand, with the connection and output options and the exit codes."""
    parser = parent.add_parser(
        name,
        help=summary,
        description=description,
        epilog=EXIT_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common_options(parser, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action == "completion":
        from camera_service.client.camctl.completion import script

        sys.stdout.write(script(parser, args.shell))
        return 0
    try:
        return asyncio.run(commands.run(args, parser))
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    raise SystemExit(main())
