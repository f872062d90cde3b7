"""Typed calls: params in, the registered result model out.

The registry (and so the server's domain modules) is imported on the first typed call only, so
`import camera_service.client` and raw `call()`s stay light; the models are the server's own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, SecretBytes, SecretStr, TypeAdapter
from pydantic_core import to_jsonable_python

from camera_service.core.types import JsonObject, JsonValue

if TYPE_CHECKING:
    from camera_service.rpc.registry import MethodRegistry


class _Unset:
    """Marks a keyword the caller did not give: the server's default applies."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


# Typed Any so it is a valid default for every annotated keyword of the generated methods.
UNSET: Final[Any] = _Unset()


@functools.cache
def registry() -> MethodRegistry:
    from camera_service.rpc.catalog import build_registry

    return build_registry()


@functools.cache
def result_adapter(method: str) -> TypeAdapter[Any] | None:
    spec = registry().get(method)
    return None if spec is None else spec.result_adapter


# Notifications whose model is imported directly: building the whole registry takes seconds (it imports
# every domain), too slow for the first event of `camctl events follow`. A unit test keeps this in step.
DIRECT_NOTIFICATION_MODELS = {"event": ("camera_service.events.models", "EventNotification")}


@functools.cache
def notification_adapter(method: str) -> TypeAdapter[Any] | None:
    if method in DIRECT_NOTIFICATION_MODELS:
        module, name = DIRECT_NOTIFICATION_MODELS[method]
        return TypeAdapter(getattr(importlib.import_module(module), name))
    for note in registry().notifications:
        if note.name == method:
            return TypeAdapter(note.params_model)
    return None


def jsonable(value: object) -> JsonValue:
    """JSON-ready value; secrets are sent as they are (pydantic's own dump would mask them)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", by_alias=True, exclude_unset=True)
    if isinstance(value, (SecretStr, SecretBytes)):
        secret = value.get_secret_value()
        return secret.decode() if isinstance(secret, bytes) else secret
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    plain: JsonValue = to_jsonable_python(value)
    return plain


def build_params(params: BaseModel | Mapping[str, object] | None, fields: Mapping[str, object]) -> JsonObject:
    """The params object: a model or mapping, overridden by the keywords that were given."""
    base = jsonable(params) if params is not None else {}
    if not isinstance(base, dict):
        raise TypeError(f"params must be a model or a mapping, not {type(params).__name__}")
    out: JsonObject = base
    for name, value in fields.items():
        if value is not UNSET:
            out[name] = jsonable(value)
    return out


def parse_result(method: str, result: JsonValue) -> object:
    """The result as the method's registered result type (the generated methods cast it)."""
    adapter = result_adapter(method)
    return result if adapter is None else adapter.validate_python(result)
