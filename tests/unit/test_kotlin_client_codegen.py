"""The Kotlin client's typed API (clients/android) is generated from the OpenRPC document; the committed
files must be exactly what the generator makes from this checkout's registry."""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CODEGEN = REPO / "clients" / "android" / "codegen.py"


def _codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kotlin_codegen", CODEGEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the class is built
    spec.loader.exec_module(module)
    return module


def test_committed_kotlin_matches_the_openrpc_document() -> None:
    gen = _codegen()
    files: dict[str, str] = gen.generate(gen.service_document())
    for name, text in files.items():
        path = gen.OUT_DIR / name
        assert path.exists() and path.read_text() == text, (
            f"{path.relative_to(REPO)} is stale: run `.venv/bin/python clients/android/codegen.py` and commit"
        )


def test_every_method_and_notification_has_a_typed_kotlin_form() -> None:
    gen = _codegen()
    doc: dict[str, Any] = gen.service_document()
    files = gen.generate(doc)
    called = set(re.findall(r'call\(\s*"([^"]+)"', files["GeneratedMethods.kt"]))
    assert called == {m["name"] for m in doc["methods"]}
    notes = set(re.findall(r'^\s+"([^"]+)" to \w+\.serializer\(\)', files["GeneratedNotifications.kt"], re.M))
    assert notes == {n["name"] for n in doc["x-notifications"]} and notes
    # Read-only methods are marked retryable, state-changing ones are not.
    retried = dict(
        re.findall(r'call\(\s*"([^"]+)",.*?idempotent = (\w+)', files["GeneratedMethods.kt"], re.S)
    )
    assert retried["take_snapshot"] == "false" and retried["list_cameras"] == "true"
    assert retried == {m["name"]: str(not m["x-mutating"]).lower() for m in doc["methods"]}


def test_output_is_deterministic_and_follows_api_changes() -> None:
    gen = _codegen()
    doc = gen.service_document()
    assert gen.generate(doc) == gen.generate(copy.deepcopy(doc))
    changed = copy.deepcopy(doc)
    changed["methods"].append(
        {
            "name": "reboot_camera",
            "summary": "Reboot a camera.",
            "params": [{"name": "camera", "required": True, "schema": {"type": "string"}}],
            "result": {"name": "result", "schema": {"type": "boolean"}},
            "x-role": "admin",
            "x-mutating": True,
        }
    )
    methods = gen.generate(changed)["GeneratedMethods.kt"]
    assert "public suspend fun CameraClient.rebootCamera(\n    camera: String," in methods
    assert methods != gen.generate(doc)["GeneratedMethods.kt"]  # so the drift test above would fail


def test_schema_shapes_map_to_kotlin_types() -> None:
    gen = _codegen()
    g = gen.Generator({"methods": [], "components": {"schemas": {}}})
    assert g.ktype({"anyOf": [{"type": "string"}, {"type": "null"}]}, "X")[0].render() == "String"
    assert g.ktype({"anyOf": [{"type": "string"}, {"type": "null"}]}, "X")[1] is True
    assert g.ktype({"type": "array", "items": {"$ref": "#/components/schemas/Cam"}}, "X")[0].render() == (
        "List<Cam>"
    )
    nested = {
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
    }
    assert g.ktype(nested, "X")[0].render() == "Map<String, Map<String, Long>>"
    assert g.ktype({"type": "object", "additionalProperties": True}, "X")[0].render() == "JsonObject"
    assert g.ktype({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "X")[0].render() == "JsonPrimitive"
    assert g.ktype({"enum": ["a-b", "c"], "type": "string"}, "PtzAction")[0].render() == "PtzAction"
    refs = [{"$ref": "#/components/schemas/Ok"}, {"$ref": "#/components/schemas/Failed"}]
    assert g.ktype({"anyOf": refs}, "X")[0].render() == "OkOrFailed" and g.unions["OkOrFailed"] == [
        "Ok",
        "Failed",
    ]
    assert gen.ident("interface") == "`interface`" and gen.ident("min_severity") == "minSeverity"
    assert "*/ early" not in gen.kdoc(["closes */ early", "two"])
