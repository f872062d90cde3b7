"""camctl's command tree is generated from the registry: every method has a subcommand with --help."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from camera_service.client.camctl.completion import script
from camera_service.client.camctl.main import build_parser
from camera_service.client.camctl.parser import parse_duration, parse_time
from camera_service.rpc.catalog import build_registry


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Subcommand path -> the JSON-RPC method it calls (curated commands included)."""
    found: dict[tuple[str, ...], str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _leaves(sub, (*path, name))
    method = parser.get_default("method")
    if method is not None:
        found[path] = method
    return found


def test_every_registered_method_is_a_camctl_subcommand() -> None:
    leaves = _leaves(build_parser())
    assert set(leaves.values()) == {spec.name for spec in build_registry()}
    assert leaves[("cameras", "list")] == "list_cameras"
    assert leaves[("ptz",)] == "ptz"


def test_every_subcommand_help_is_the_method_documentation() -> None:
    parser = build_parser()
    api = build_registry()
    for path, method in _leaves(parser).items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            parser.parse_args([*path, "--help"])
        assert done.value.code == 0
        spec = api.get(method)
        assert spec is not None
        text = " ".join(out.getvalue().split())
        assert " ".join(spec.summary.split()) in text, path
        assert f"`{method}`" in text
        for field in spec.params_model.model_fields:
            assert f"-{field.replace('_', '-')}" in text, (path, field)


def test_flags_become_params_and_absent_flags_are_not_sent() -> None:
    from camera_service.client.camctl.parser import catalog, params_from

    args = build_parser().parse_args(["snapshots", "list", "--camera", "demo", "--limit", "3"])
    assert params_from(args, catalog()["list_snapshots"]) == {"camera": "demo", "limit": 3}
    args = build_parser().parse_args(["cameras", "get", "demo"])
    assert params_from(args, catalog()["get_camera"]) == {"camera": "demo"}
    args = build_parser().parse_args(["webhooks", "add", "--param-url", "http://x", "--topics", "a.*", "b.c"])
    assert params_from(args, catalog()["add_webhook"]) == {"url": "http://x", "topics": ["a.*", "b.c"]}


def test_time_and_duration_arguments() -> None:
    assert parse_duration("1s") == 1 and parse_duration("500ms") == 0.5 and parse_duration("2m") == 120
    assert parse_time("2026-11-29T14:00:00+00:00") == "2026-11-29T14:00:00+00:00"
    assert parse_time("0") == "1970-01-01T00:00:00+00:00"
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("yesterday-ish")


def test_bash_completion_knows_groups_commands_and_flags() -> None:
    text = script(build_parser(), "bash")
    assert "complete -o default -F _camctl camctl" in text
    assert "[cameras]=" in text and "list" in text
    assert "'cameras list'=" in text or "['cameras list']=" in text


def _complete(words: list[str]) -> list[str]:
    """Run the generated bash completion in a real bash for `camctl WORDS...` (the last word is partial)."""
    import subprocess

    code = (
        script(build_parser(), "bash")
        + f"\nCOMP_WORDS=(camctl {' '.join(words)}); COMP_CWORD={len(words)}; _camctl; "
        + 'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_bash_completes_groups_commands_and_flags_in_a_real_shell() -> None:
    assert _complete(["cam"]) == ["cameras"]
    assert set(_complete(["cameras", "li"])) == {"list"}
    assert "--max-width" in _complete(["snapshots", "take", "--max"])
    assert _complete(["recordings", "ex"]) == ["export"]


def test_tables_put_key_columns_first_and_show_times_readably() -> None:
    from camera_service.client.camctl.output import show

    out = io.StringIO()
    rows = [
        {"source": "publisher", "status": "ONLINE", "created_at": 1_800_000_000.5, "id": "demo", "x": [1]}
    ]
    show({"cameras": rows, "total": 1}, as_json=False, out=out)
    header, row, footer = out.getvalue().splitlines()
    assert header.split() == ["ID", "STATUS", "SOURCE", "CREATED_AT"]  # lists are left to --json
    assert row.split()[0] == "demo" and row.split()[3].startswith("2027-01-1")  # 2027-01-15T08:00Z, any zone
    assert footer == "total: 1"
    out = io.StringIO()
    show({"cameras": rows}, as_json=True, out=out)
    assert '"created_at": 1800000000.5' in out.getvalue()
