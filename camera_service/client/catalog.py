"""The shape of `_catalog.json`: what camctl knows about each method (written by codegen.py)."""

from __future__ import annotations

from typing import TypedDict


class ParamMeta(TypedDict):
    name: str
    kind: str  # a JSON type ("string", "integer", "array", ...), or "any"
    required: bool
    choices: list[str] | None
    description: str


class MethodMeta(TypedDict):
    group: str
    command: str
    summary: str
    description: str
    role: str
    params: list[ParamMeta]
