"""The API contract lives in the registry; the committed reference must match it exactly."""

from __future__ import annotations

import json

from camera_service.auth.roles import Role
from camera_service.cli import main
from camera_service.rpc.catalog import build_registry
from camera_service.rpc.docs import DOC_PATH, render
from camera_service.rpc.openrpc import openrpc_document


def test_committed_markdown_reference_is_current() -> None:
    assert DOC_PATH.read_text() == render(build_registry()), (
        "docs/api/json-rpc-methods.md is stale: run `make docs` and commit it"
    )


def test_every_method_declares_a_role_and_documents_itself() -> None:
    api = build_registry()
    assert len(api) > 0
    for spec in api:
        assert isinstance(spec.role, Role), spec.name
        assert spec.summary, f"{spec.name} has no docstring summary"
        for name, field in spec.params_model.model_fields.items():
            assert field.description, f"{spec.name}.{name} has no description"


def test_openrpc_document_is_valid_json_and_complete(capsys: object) -> None:
    doc = openrpc_document(build_registry())
    json.dumps(doc)  # serialisable
    refs = json.dumps(doc).count('"$ref"')
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in json.dumps(doc).split("#/components/schemas/")[1:]}:
        assert ref in schemas, f"dangling $ref {ref}"
    assert refs > 0
    assert main(["openrpc"]) == 0
