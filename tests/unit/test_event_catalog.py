"""The event catalog (core/topics.py) is the contract of every bus topic: the service's own emits use only
catalogued topics with matching payloads, every field is described, and the generated docs are current."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from camera_service.core.bus import Event, EventBus, Severity
from camera_service.core.topic_docs import WEBHOOKS_DOC, render_catalog, webhooks_doc
from camera_service.core.topics import TOPICS, UnknownTopic, model_of

PACKAGE = Path(__file__).resolve().parents[2] / "camera_service"


def test_webhooks_doc_catalog_section_is_current() -> None:
    current = WEBHOOKS_DOC.read_text()
    assert current == webhooks_doc(current), "docs/webhooks.md is stale: run `make docs` and commit it"
    assert render_catalog() in current


def test_every_topic_and_field_is_described() -> None:
    assert len(TOPICS) >= 30
    for topic, model in TOPICS.items():
        assert model.when and model.domain, topic
        for name, field in model.model_fields.items():
            assert field.description, f"{topic}.{name} has no description"


def _emitted_topics() -> list[tuple[str, str]]:
    """(topic, where) of every emit()/_emit() call with a literal topic in the service's code."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("emit", "_emit")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append((node.args[0].value, f"{path.relative_to(PACKAGE)}:{node.lineno}"))
    return found


def test_every_literal_topic_the_service_emits_is_catalogued() -> None:
    emitted = _emitted_topics()
    assert len(emitted) > 25  # the scan sees the service's emits
    assert [where for topic, where in emitted if model_of(topic) is None] == []


def test_emit_checks_the_payload_and_sends_it_unchanged() -> None:
    bus = EventBus()
    got: list[Event] = []
    bus.subscribe(got.append)
    payload = {"status": "OFFLINE", "previous": "ONLINE", "error": None}
    event = bus.emit("camera.offline", camera="c1", severity=Severity.HIGH, **payload)
    assert event.data == payload and got == [event]
    with pytest.raises(UnknownTopic):
        bus.emit("camera.exploded", camera="c1")
    with pytest.raises(ValueError, match=r"camera\.offline"):
        bus.emit("camera.offline", camera="c1", status="OFFLINE")  # previous, error missing
    with pytest.raises(ValueError, match="extra"):
        bus.emit("camera.added", camera="c1", name="x", colour="red")  # a field the catalog lacks
    assert len(got) == 1  # refused payloads reach no listener
    assert model_of("detection.person") is TOPICS["detection.*"]
