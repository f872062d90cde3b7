"""OpenRPC 1.3 document generated from the method registry (served by `rpc.discover`)."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from pydantic.json_schema import JsonSchemaValue

from camera_service import API_VERSION
from camera_service.core.types import JsonObject, JsonValue
from camera_service.rpc.errors import ERROR_DESCRIPTIONS, ErrorCode
from camera_service.rpc.registry import MethodRegistry, MethodSpec
from camera_service.rpc.scope import CameraScope

REF = "#/components/schemas/{model}"


def _hoist(schema: JsonSchemaValue, defs: dict[str, JsonSchemaValue]) -> JsonSchemaValue:
    defs.update(schema.pop("$defs", {}))
    return schema


def _as_ref(schema: JsonSchemaValue, defs: dict[str, JsonSchemaValue]) -> JsonSchemaValue:
    """Move a top-level model schema into components so docs and clients see it by name."""
    if schema.get("type") == "object" and "title" in schema and "properties" in schema:
        defs[schema["title"]] = schema
        return {"$ref": REF.format(model=schema["title"])}
    return schema


def _method(spec: MethodSpec, defs: dict[str, JsonSchemaValue]) -> JsonObject:
    params_schema = _hoist(spec.params_model.model_json_schema(ref_template=REF), defs)
    required = set(params_schema.get("required", []))
    params: list[JsonValue] = [
        {
            "name": name,
            "required": name in required,
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in params_schema.get("properties", {}).items()
    ]
    result_schema = _as_ref(_hoist(spec.result_adapter.json_schema(ref_template=REF), defs), defs)
    method: JsonObject = {
        "name": spec.name,
        "summary": spec.summary,
        "paramStructure": "either",
        "params": params,
        "result": {"name": "result", "schema": result_schema},
        "tags": [{"name": t} for t in spec.tags],
        "x-role": spec.role.label,
        "x-mutating": spec.mutating,
    }
    if spec.description:
        method["description"] = spec.description
    if spec.scope is not CameraScope.NONE:
        method["x-camera-scope"] = spec.scope.value
    if spec.compat:
        method["x-compat"] = "MediaMTX Camera Service protocol"
    if spec.errors:
        method["errors"] = [
            {"code": int(c), "message": c.name.lower(), "data": ERROR_DESCRIPTIONS[c]} for c in spec.errors
        ]
    return method


class _Contract:
    """A registry as a cache key, compared by the contract it describes rather than by identity: every
    Application builds and binds its own registry, and in one process (tests, a cluster of instances)
    they all describe the same API, so the document is generated once per process, not once per start."""

    __slots__ = ("api", "key")

    def __init__(self, api: MethodRegistry) -> None:
        self.api = api
        self.key = api.contract_key()

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Contract) and other.key == self.key


@functools.lru_cache(maxsize=8)
def _fragment(contract: _Contract) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps(openrpc_document(contract.api)))


def cached_openrpc_fragment(api: MethodRegistry) -> orjson.Fragment:
    """The document of a registry, already encoded (~130 ms of schema generation for the whole API, built
    once per contract). `rpc.discover` is callable without authentication, so it must never rebuild per
    call, and re-serialising ~160 KB per anonymous call let two unauthenticated connections starve the
    event loop (security H1): the dispatcher embeds these bytes as they are."""
    return _fragment(_Contract(api))


def openrpc_cache_info() -> functools._CacheInfo:
    """Builds (misses) and reuses (hits) of the encoded document, for tests."""
    return _fragment.cache_info()


def openrpc_document(api: MethodRegistry) -> dict[str, Any]:
    # Any: docs.py and the client generators walk the document as plain JSON
    defs: dict[str, JsonSchemaValue] = {}
    methods = [_method(spec, defs) for spec in api]
    notifications: list[JsonValue] = []
    for note in api.notifications:
        schema = _hoist(note.params_model.model_json_schema(ref_template=REF), defs)
        defs[note.params_model.__name__] = schema
        notifications.append(
            {
                "name": note.name,
                "summary": note.summary,
                "params": schema,
                **({"x-compat": "MediaMTX Camera Service protocol"} if note.compat else {}),
            }
        )
    return {
        "openrpc": "1.3.2",
        "info": {
            "title": "camera-service JSON-RPC API",
            "version": API_VERSION,
            "description": "JSON-RPC 2.0 over WebSocket at ws://HOST:8002/ws.",
        },
        "servers": [{"name": "default", "url": "ws://localhost:8002/ws"}],
        "methods": methods,
        "components": {
            "schemas": dict(sorted(defs.items())),
            "errors": {c.name: {"code": int(c), "message": ERROR_DESCRIPTIONS[c]} for c in ErrorCode},
        },
        "x-notifications": notifications,
    }
