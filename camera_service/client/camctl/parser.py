"""camctl's argument parser, generated from the method catalog (camera_service/client/_catalog.json).

Every registered method is a subcommand `camctl GROUP COMMAND`, its params are flags (`--max-width 640`),
and its --help is the method's documentation. A few hand-made commands (snapshot, recordings export,
events follow, ptz, call, completion) sit on top; `ptz` is itself the `ptz` method with convenience flags.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, TypeAlias

from camera_service.client.catalog import MethodMeta
from camera_service.client.connection import DEFAULT_URL
from camera_service.core.types import JsonObject, JsonValue

if TYPE_CHECKING:
    # What add_subparsers() returns (argparse keeps its class private).
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

# Positional shorthand: `camctl cameras get demo` == `camctl cameras get --camera demo`.
POSITIONAL = ("camera", "id", "subscription", "key_id")

EXIT_CODES = {
    0: "success",
    1: "the server answered with an error not listed below (its code is printed)",
    2: "usage: bad arguments, or the server rejected the params (-32602)",
    3: "cannot connect to the service, or the connection was lost",
    4: "authentication failed (-32001): wrong, expired or revoked token or key",
    5: "permission denied (-32003): the role is too low",
    6: "not found (-32004)",
    7: "timed out (no reply in time, or the server's -32010)",
    8: "download failed",
    130: "interrupted (Ctrl-C)",
}
EXIT_TEXT = "exit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())


@cache
def catalog() -> dict[str, MethodMeta]:
    text = resources.files("camera_service.client").joinpath("_catalog.json").read_text()
    data: dict[str, MethodMeta] = json.loads(text)
    return data


def cli_path(method: str, meta: MethodMeta) -> tuple[str, ...]:
    """Where camctl puts a method: ("cameras", "list"), or ("ptz",) for the ptz method."""
    if method == "ptz":
        return ("ptz",)
    if method in ("start_patrol", "stop_patrol"):
        return ("patrol", method.split("_", maxsplit=1)[0])
    return (meta["group"].replace("_", "-"), meta["command"].replace("_", "-"))


def parse_time(text: str) -> str:
    """ISO 8601, unix seconds, `now`, or relative to now: -90s, -10m, -2h, -1d. Returned as ISO 8601."""
    text = text.strip()
    if text == "now":
        return datetime.now(UTC).isoformat()
    rel = re.fullmatch(r"-(\d+(?:\.\d+)?)([smhd])", text)
    if rel:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[rel[2]]
        return (datetime.now(UTC) - timedelta(**{unit: float(rel[1])})).isoformat()
    try:
        return datetime.fromtimestamp(float(text), UTC).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (ISO 8601, unix seconds, now, -10m)"
        ) from None


def parse_duration(text: str) -> float:
    """`1s`, `500ms`, `2m`, `1h` or plain seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 1s, 500ms, 2m)")
    return float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m[2]]


def json_value(text: str) -> JsonValue:
    try:
        value: JsonValue = json.loads(text)
        return value
    except ValueError:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r}") from None


def _lenient(text: str) -> JsonValue:
    """JSON when it parses (42, true, {...}), else the text itself."""
    try:
        value: JsonValue = json.loads(text)
        return value
    except ValueError:
        return text


def _item(text: str) -> JsonValue:
    """An array element: JSON when it looks like JSON (objects, arrays), else the string itself."""
    return json_value(text) if text[:1] in "{[" else text


COMMON_FLAGS = ("--url", "--token", "--user", "--json", "--timeout", "--progress", "--params")


def common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Connection and output options; accepted before or after the subcommand."""
    dflt = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    env_url = os.environ.get("CAMERA_SERVICE_URL") or DEFAULT_URL
    parser.add_argument(
        "--url", default=dflt(env_url), help=f"service URL (default $CAMERA_SERVICE_URL or {DEFAULT_URL})"
    )
    parser.add_argument("--token", default=dflt(None), help="JWT or API key (default $CAMERA_SERVICE_TOKEN)")
    parser.add_argument(
        "--user",
        default=dflt(None),
        help="sign in as this user (password from $CAMERA_SERVICE_PASSWORD, else asked for)",
    )
    parser.add_argument("--json", action="store_true", default=dflt(False), help="print JSON for scripts")
    parser.add_argument("--timeout", type=float, default=dflt(None), metavar="S", help="per-call timeout (s)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=dflt(None),
        help="progress bar for downloads (default: when stderr is a terminal)",
    )


def add_param_flags(parser: argparse.ArgumentParser, meta: MethodMeta) -> None:
    """One flag per param of the method (absent flags are not sent: the server's default applies)."""
    names = [p["name"] for p in meta["params"]]
    positional = next((n for n in POSITIONAL if n in names), None)
    if positional:
        parser.add_argument("target", nargs="?", metavar=positional.upper(), help=f"same as --{positional}")
    for p in meta["params"]:
        flag = "--" + p["name"].replace("_", "-")
        if flag in COMMON_FLAGS:  # e.g. add_webhook's `url`: --url is the service's address
            flag = "--param-" + flag[2:]
        kw: dict[str, object] = {"dest": f"p_{p['name']}", "default": argparse.SUPPRESS}
        kw["help"] = (p["description"] or p["kind"]) + (" (required)" if p["required"] else "")
        kind = p["kind"]
        if kind == "boolean":
            kw["action"] = argparse.BooleanOptionalAction
        elif kind == "array":
            kw.update(nargs="+", type=_item, metavar="VALUE")
        elif kind == "object":
            kw.update(type=json_value, metavar="JSON")
        elif kind == "any":
            kw.update(type=_lenient, metavar="VALUE")
        else:
            kw["type"] = {"integer": int, "number": float}.get(kind, str)
            kw["metavar"] = kind.upper()
        if p["choices"]:
            kw["choices"] = p["choices"]
            kw.pop("metavar", None)
        parser.add_argument(flag, **kw)  # type: ignore[arg-type]  # add_argument's keywords vary by action
    parser.add_argument(
        "--params",
        type=json_value,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help="params object (flags win)",
    )
    parser.set_defaults(positional=positional)


def params_from(args: argparse.Namespace, meta: MethodMeta) -> JsonObject:
    params: JsonObject = dict(getattr(args, "params", None) or {})
    if getattr(args, "target", None) is not None:
        params[args.positional] = args.target
    for p in meta["params"]:
        if hasattr(args, f"p_{p['name']}"):
            params[p["name"]] = getattr(args, f"p_{p['name']}")
    return params


def missing_required(params: JsonObject, meta: MethodMeta) -> list[str]:
    return [p["name"] for p in meta["params"] if p["required"] and p["name"] not in params]


def method_parser(sub: SubParsers, name: str, method: str, meta: MethodMeta) -> argparse.ArgumentParser:
    description = meta["summary"] + (f"\n\n{meta['description']}" if meta["description"] else "")
    parser = sub.add_parser(
        name,
        help=meta["summary"],
        description=description,
        epilog=f"JSON-RPC method `{method}` (role: {meta['role']}). Exit codes: camctl --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common_options(parser, top=False)
    add_param_flags(parser, meta)
    parser.set_defaults(method=method, action="method")
    return parser
