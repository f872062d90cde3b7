"""The client is generated from the method registry: committed files fresh, every method reachable."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys

from camera_service.client import METHODS, CameraServiceClient, codegen
from camera_service.rpc.catalog import build_registry


def test_generated_client_files_are_fresh() -> None:
    for path, text in codegen.generated().items():
        assert path.read_text() == text, (
            f"{path.name} is stale: run python -m camera_service.client.codegen --write"
        )


def test_every_registered_method_is_a_typed_coroutine_of_the_client() -> None:
    api = build_registry()
    assert set(METHODS) == {spec.name for spec in api}
    client = CameraServiceClient("ws://127.0.0.1:9/ws", reconnect=False)  # not connected: attributes only
    for spec in api:
        group, attr = METHODS[spec.name]
        fn = getattr(getattr(client, group), attr)
        assert inspect.iscoroutinefunction(fn), spec.name
        sig = inspect.signature(fn)
        # every params field is a parameter of the coroutine, plus the per-call timeout
        assert set(sig.parameters) == {*spec.params_model.model_fields, "timeout"}, spec.name
        assert f"`{spec.name}`" in (fn.__doc__ or ""), spec.name


def test_group_attributes_are_unique() -> None:
    assert len(set(METHODS.values())) == len(METHODS)


def test_camctl_catalog_lists_every_method() -> None:
    data = json.loads(codegen.CATALOG_PATH.read_text())
    assert set(data) == {spec.name for spec in build_registry()}


def test_importing_the_client_does_not_import_the_server() -> None:
    code = (
        "import sys, camera_service.client\n"
        "heavy = [m for m in ('av', 'aiohttp', 'camera_service.app', 'camera_service.rpc.registry')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_directly_imported_notification_models_are_the_registered_ones() -> None:
    from camera_service.client.typed import DIRECT_NOTIFICATION_MODELS

    registered = {n.name: n.params_model for n in build_registry().notifications}
    for name, (module, attr) in DIRECT_NOTIFICATION_MODELS.items():
        assert getattr(importlib.import_module(module), attr) is registered[name]


def test_docs_name_every_group() -> None:
    groups_line = next(
        para
        for para in (codegen.HERE.parents[1] / "docs" / "client.md").read_text().split("\n- ")
        if para.startswith("**Groups**")
    )
    missing = {g for g, _ in METHODS.values()} - set(re.findall(r"`(\w+)`", groups_line.split(".")[0]))
    assert not missing, f"add {sorted(missing)} to the **Groups** list in docs/client.md"
