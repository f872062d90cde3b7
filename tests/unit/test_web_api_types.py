"""The console's TypeScript API types (clients/web/src/api/generated.ts) match the OpenRPC document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_web_api", ROOT / "scripts" / "gen_web_api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_types_are_current() -> None:
    gen = _generator()
    committed = gen.TARGET.read_text()
    assert committed == gen.generate(), "stale: run .venv/bin/python scripts/gen_web_api.py"


def test_every_method_has_params_result_and_role() -> None:
    gen = _generator()
    text = gen.generate()
    for method in ("login", "refresh", "get_stream_urls", "list_cameras", "create_user"):
        assert f'"{method}": {{' in text
        assert f'"{method}": "' in text  # METHOD_ROLES entry
    assert gen.ts_type({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string | null"
    assert gen.ts_type({"type": "array", "items": {"$ref": "#/components/schemas/X"}}) == "Array<X>"
