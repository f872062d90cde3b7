"""Issue 17 changed the API by additions only: against the OpenRPC surface recorded before it (main at
4d485c4: every method's params with their required flags, and each result's property names), no method,
param or result field is gone, no param became required, and a result that became a union keeps a branch
with every field it had."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from camera_service.rpc.catalog import build_registry
from camera_service.rpc.openrpc import openrpc_document

BEFORE = Path(__file__).parent / "fixtures" / "openrpc_surface_before_issue17.json"
COMPAT_METHODS = {
    "get_streams",
    "get_metrics",
    "set_retention_policy",
    "cleanup_old_files",
    "get_camera_capabilities",
}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _result_branches(schema: dict[str, Any], defs: dict[str, Any]) -> list[set[str]]:
    schema = _resolve(schema, defs)
    branches = schema.get("anyOf", [schema])
    return [set(_resolve(b, defs).get("properties", {})) for b in branches]


def surface() -> dict[str, Any]:
    doc = openrpc_document(build_registry())
    defs = doc.get("components", {}).get("schemas", {})
    return {
        m["name"]: {
            "params": {p["name"]: bool(p.get("required")) for p in m.get("params", [])},
            "result": _result_branches(m["result"]["schema"], defs),
        }
        for m in doc["methods"]
    }


def test_openrpc_differs_from_before_issue_17_only_by_additions() -> None:
    before: dict[str, Any] = json.loads(BEFORE.read_text())
    now = surface()
    problems: list[str] = []
    for name, old in before.items():
        new = now.get(name)
        if new is None:
            problems.append(f"{name}: method removed")
            continue
        for param, required in old["params"].items():
            if param not in new["params"]:
                problems.append(f"{name}: param {param} removed")
            elif new["params"][param] and not required:
                problems.append(f"{name}: param {param} became required")
        for param, required in new["params"].items():
            if param not in old["params"] and required:
                problems.append(f"{name}: new param {param} is required")
        for branch in old["result"]:
            if not any(set(branch) <= candidate for candidate in new["result"]):
                problems.append(f"{name}: result lost fields of {sorted(branch)}")
    assert not problems, "\n".join(problems)
    assert set(now) >= COMPAT_METHODS and not COMPAT_METHODS & set(before)
