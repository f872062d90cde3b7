"""The shape every long-lived part of the service shares, so the application can start, stop and
report on them uniformly."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ComponentHealth(BaseModel):
    name: str
    healthy: bool
    status: str
    details: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Component(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> ComponentHealth: ...
