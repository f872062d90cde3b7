"""The camera-scope rule (auth/scopes.py) and its declaration on every method (rpc/scope.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.auth.scopes import Scope
from camera_service.core.errors import DomainError
from camera_service.rpc.catalog import build_registry
from camera_service.rpc.errors import to_rpc_error
from camera_service.rpc.scope import CameraScope


@dataclass
class Cam:
    id: str
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    agency: str | None = None


CAMS = [Cam("a", group="lobby"), Cam("b", tags=["door"]), Cam("c", agency="police"), Cam("d")]


def test_resolve() -> None:
    assert Scope.resolve(None, CAMS).camera_ids == frozenset()
    unrestricted = Scope.resolve(Identity("admin", Role.ADMIN), CAMS)
    assert unrestricted.unrestricted and unrestricted.sees_id("removed") and unrestricted.sees_id(None)
    ident = Identity(
        "v", Role.VIEWER, groups=frozenset({"lobby"}), tags=frozenset({"door"}), cameras=frozenset({"gone"})
    )
    scope = Scope.resolve(ident, CAMS)
    # Registered cameras matched by any claim, plus ids named in the claims (data of removed cameras).
    assert scope.camera_ids == {"a", "b", "gone"}
    assert scope.sees(CAMS[0]) and not scope.sees(CAMS[2]) and not scope.sees_id(None)
    scope.require_ids(["a", "gone"])
    with pytest.raises(DomainError) as err:
        scope.require_ids(["a", "d"])
    assert to_rpc_error(err.value).code == -32004 and err.value.data == {"resource": "camera", "id": "d"}


def test_every_method_with_a_camera_param_declares_its_scope() -> None:
    undeclared = [
        spec.name
        for spec in build_registry()
        if spec.scope is CameraScope.NONE
        and {"camera", "cameras", "device"} & set(spec.params_model.model_fields)
    ]
    assert undeclared == []
