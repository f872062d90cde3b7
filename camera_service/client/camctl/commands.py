"""What camctl's subcommands do; failures become the documented exit codes (parser.EXIT_CODES)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from pathlib import Path

from camera_service.client.camctl.output import ProgressBar, show, to_json
from camera_service.client.camctl.parser import (
    catalog,
    missing_required,
    params_from,
    parse_duration,
    parse_time,
)
from camera_service.client.client import CameraServiceClient
from camera_service.client.download import DownloadError
from camera_service.client.errors import (
    AuthenticationError,
    CallTimeout,
    ClientError,
    ConnectionLost,
    NotConnected,
    RpcError,
)
from camera_service.core.types import JsonObject, JsonValue

EXIT_BY_CODE = {-32602: 2, -32001: 4, -32003: 5, -32004: 6, -32010: 7}
DIRECTIONS = {
    "left": ("pan", -1),
    "right": ("pan", 1),
    "up": ("tilt", 1),
    "down": ("tilt", -1),
    "in": ("zoom", 1),
    "out": ("zoom", -1),
}


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"camctl: {message}\n")
    return code


async def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        username, password = _login(args)
        async with CameraServiceClient(
            args.url,
            token=args.token,
            username=username,
            password=password,
            reconnect=args.action == "follow",
        ) as cs:
            return await ACTIONS[args.action](cs, args)
    except AuthenticationError as exc:
        return _fail(f"authentication failed: {exc.message} (code {exc.code})", 4)
    except RpcError as exc:
        data = f"\n{json.dumps(exc.data)}" if exc.data is not None else ""
        return _fail(
            f"{exc.method or 'call'}: {exc.message} (code {exc.code}){data}", EXIT_BY_CODE.get(exc.code, 1)
        )
    except CallTimeout as exc:
        return _fail(str(exc), 7)
    except (NotConnected, ConnectionLost) as exc:
        return _fail(str(exc), 3)
    except DownloadError as exc:
        return _fail(str(exc), 8)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        return _fail(str(exc), 2)


class UsageError(Exception):
    pass


def _login(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if not args.user:
        return None, None
    password = os.environ.get("CAMERA_SERVICE_PASSWORD") or getpass.getpass(f"password for {args.user}: ")
    return args.user, password


async def _method(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    return await _method_with(cs, args, args.method, params_from(args, catalog()[args.method]))


async def _call(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    show(await cs.call(args.rpc_method, args.rpc_params, timeout=args.timeout), as_json=True)
    return 0


def _progress(args: argparse.Namespace, label: str) -> ProgressBar | None:
    wanted = sys.stderr.isatty() if args.progress is None else args.progress
    return ProgressBar(label) if wanted else None


async def _save(cs: CameraServiceClient, args: argparse.Namespace, method: str, reply: JsonValue) -> int:
    """Download the file a take_snapshot / export_clip reply names."""
    if not isinstance(reply, dict) or not isinstance(reply.get("filename"), str):
        raise ClientError(f"{method}: unexpected reply {reply!r}")
    info: JsonObject = reply
    dest = Path(args.output or Path(str(info["filename"])).name)
    bar = _progress(args, dest.name)
    try:
        await cs.download(str(info["download_url"]), dest, progress=bar)
    finally:
        if bar is not None:
            bar.finish()
    if args.json:
        sys.stdout.write(to_json({**info, "path": str(dest)}) + "\n")
    else:
        sys.stdout.write(f"{dest}  ({info.get('file_size', '?')} bytes)\n")
    return 0


# ---- snapshot ----------------------------------------------------------------------------------------


def add_snapshot(p: argparse.ArgumentParser) -> None:
    p.add_argument("camera", metavar="CAMERA")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to save it (default: the server's file name)"
    )
    p.add_argument("--format", choices=["jpeg", "png"], default=argparse.SUPPRESS)
    p.add_argument("--quality", type=int, default=argparse.SUPPRESS, help="JPEG quality 1-100")
    p.add_argument("--max-width", type=int, default=argparse.SUPPRESS, help="scale down to this width")
    p.set_defaults(action="snapshot")


async def _snapshot(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    params: JsonObject = {"camera": args.camera}
    for name in ("format", "quality", "max_width"):
        if hasattr(args, name):
            params[name] = getattr(args, name)
    reply = await cs.call("take_snapshot", params, timeout=args.timeout)
    return await _save(cs, args, "take_snapshot", reply)


# ---- recordings export --------------------------------------------------------------------------------


def add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("camera", metavar="CAMERA")
    p.add_argument(
        "--from",
        dest="start",
        type=parse_time,
        required=True,
        metavar="TIME",
        help="start: ISO 8601, unix seconds, now, or relative (-10m)",
    )
    p.add_argument(
        "--to",
        dest="end",
        type=parse_time,
        required=True,
        metavar="TIME",
        help="end (a future end waits until it is recorded)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to save the MP4 (default: the clip's file name)"
    )
    p.add_argument("--name", default=argparse.SUPPRESS, help="display name of the clip")
    p.add_argument("--lock", action="store_true", default=argparse.SUPPRESS, help="lock the clip as evidence")
    p.set_defaults(action="export")


async def _export(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    params: JsonObject = {"camera": args.camera, "start": args.start, "end": args.end}
    for name in ("name", "lock"):
        if hasattr(args, name):
            params[name] = getattr(args, name)
    timeout = args.timeout if args.timeout is not None else 600.0  # the export waits for a future end
    reply = await cs.call("export_clip", params, timeout=timeout)
    return await _save(cs, args, "export_clip", reply)


# ---- events follow ------------------------------------------------------------------------------------


def add_follow(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--camera", action="append", dest="cameras", metavar="CAMERA", help="only this camera (repeat)"
    )
    p.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="PATTERN",
        help="topic pattern, e.g. camera.*, alarm.door_forced (repeat; default *)",
    )
    p.add_argument("--min-severity", choices=["low", "medium", "high", "critical"])
    p.add_argument("--count", type=int, metavar="N", help="exit after N events")
    p.set_defaults(action="follow")


async def _follow(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    stream = await cs.events.follow(topics=args.topics, cameras=args.cameras, min_severity=args.min_severity)
    sys.stderr.write(f"following events (subscription {stream.subscription}); Ctrl-C to stop\n")
    sys.stderr.flush()
    seen = 0
    async with stream:
        async for note in stream:
            ev = note.event
            if args.json:
                sys.stdout.write(json.dumps(ev.model_dump(mode="json")) + "\n")
            else:
                when = ev.time.isoformat(timespec="seconds") if hasattr(ev.time, "isoformat") else ev.time
                sys.stdout.write(f"{when}  {ev.severity:<8} {ev.type:<28} {ev.camera or '-':<12} {ev.id}\n")
            sys.stdout.flush()
            seen += 1
            if args.count is not None and seen >= args.count:
                break
    return 0


# ---- ptz ----------------------------------------------------------------------------------------------


def add_ptz(p: argparse.ArgumentParser) -> None:
    """The generated `ptz` command plus --move DIR[,DIR] --for 1s --speed 0.5, --stop, --home, --goto."""
    p.add_argument(
        "--move", metavar="DIR", help="continuous move: left, right, up, down, in, out (comma-joined)"
    )
    p.add_argument(
        "--for", dest="move_for", type=parse_duration, metavar="DURATION", help="move time (default 1s)"
    )
    p.add_argument("--speed", type=float, default=0.5, help="move speed 0..1 (default 0.5)")
    p.add_argument("--stop", dest="ptz_stop", action="store_true", help="stop moving")
    p.add_argument("--home", dest="ptz_home", action="store_true", help="go to the home position")
    p.add_argument("--goto", metavar="PRESET", help="go to a preset")
    p.set_defaults(action="ptz")


async def _ptz(cs: CameraServiceClient, args: argparse.Namespace) -> int:
    meta = catalog()["ptz"]
    params = params_from(args, meta)
    if args.move:
        params["action"] = "continuous_move"
        for word in args.move.split(","):
            if word.strip() not in DIRECTIONS:
                raise UsageError(f"--move: unknown direction {word!r} (left, right, up, down, in, out)")
            axis, sign = DIRECTIONS[word.strip()]
            params[axis] = sign * args.speed
        # The service stops a move when its connection closes: hold the connection for the whole move,
        # then stop explicitly (its own timeout_s is the safety net, a little longer).
        duration = args.move_for if args.move_for is not None else 1.0
        params["timeout_s"] = duration + 2.0
        await _method_with(cs, args, "ptz", params)
        await asyncio.sleep(duration)
        return await _method_with(cs, args, "ptz", {"camera": params["camera"], "action": "stop"})
    elif args.ptz_stop:
        params["action"] = "stop"
    elif args.ptz_home:
        params["action"] = "home"
    elif args.goto:
        params.update(action="goto_preset", preset=args.goto)
    return await _method_with(cs, args, "ptz", params)


async def _method_with(
    cs: CameraServiceClient, args: argparse.Namespace, method: str, params: JsonObject
) -> int:
    missing = missing_required(params, catalog()[method])
    if missing:
        raise UsageError(f"{method}: missing {', '.join('--' + m.replace('_', '-') for m in missing)}")
    show(await cs.call(method, params, timeout=args.timeout), as_json=args.json)
    return 0


ACTIONS = {
    "method": _method,
    "call": _call,
    "snapshot": _snapshot,
    "export": _export,
    "follow": _follow,
    "ptz": _ptz,
}
