"""docs/config.md is generated from the config models and must match them."""

from __future__ import annotations

from camera_service.config.docs import DOC_PATH, render
from camera_service.config.settings import Settings


def test_committed_config_reference_is_current() -> None:
    assert DOC_PATH.read_text() == render(), "docs/config.md is stale: run `make docs` and commit it"


def test_every_config_field_is_titled_and_described() -> None:
    def walk(model: type, prefix: str) -> None:
        for key, field in model.model_fields.items():  # type: ignore[attr-defined]
            assert field.description, f"{prefix}{key} has no description"
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                walk(annotation, f"{prefix}{key}.")

    walk(Settings, "")
