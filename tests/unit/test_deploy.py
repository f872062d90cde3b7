"""Deployment assets stay consistent with the repository: compose mounts, systemd unit, alert runbooks."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_every_alert_has_a_severity_a_summary_and_an_existing_runbook() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    names = {r["alert"] for r in rules}
    # The list: MediaMTX down, camera offline, disk low, dead letters, RPC p99, recording gaps.
    required = {"MediaMTXDown", "CameraOffline", "DiskLow", "WebhookDeadLetters", "RpcLatencyP99OverBudget"}
    assert required | {"RecordingGap"} <= names
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert (REPO / rule["annotations"]["runbook"]).is_file(), rule["annotations"]["runbook"]


def test_runbooks_name_the_alerts_that_send_you_there() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    for rule in (r for g in groups for r in g["rules"]):
        runbook = (REPO / rule["annotations"]["runbook"]).read_text()
        assert rule["alert"] in runbook, f"{rule['annotations']['runbook']} does not mention {rule['alert']}"
    index = (REPO / "docs" / "runbooks" / "README.md").read_text()
    for page in (REPO / "docs" / "runbooks").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, page.name


def test_compose_mounts_existing_files_and_builds_the_dockerfile() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"camera-service", "prometheus", "grafana"} <= set(services)
    assert services["camera-service"]["build"]["context"] == "."
    assert (REPO / "Dockerfile").is_file()
    for svc in services.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), source
            else:
                assert source in compose["volumes"], source
    assert any(v.endswith(":/data") for v in services["camera-service"]["volumes"])


def test_grafana_provisioning_points_at_the_dashboards() -> None:
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/camera-service.yml").read_text())
    path = providers["providers"][0]["options"]["path"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2][::-1] for v in compose["services"]["grafana"]["volumes"])
    assert mounts[path] == "./deploy/grafana/dashboards"
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = ds["datasources"][0]["uid"]
    for dashboard in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        panels = json.loads(dashboard.read_text())["panels"]
        assert len({p["id"] for p in panels}) == len(panels)
        assert {p["datasource"]["uid"] for p in panels} == {uid}


def test_systemd_unit_runs_the_entry_point_with_hardening() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "camera-service.service")
    service = unit["Service"]
    assert re.fullmatch(r"/opt/camera-service/\.venv/bin/camera-service serve", service["ExecStart"])
    assert service["User"] != "root" and service["KillSignal"] == "SIGTERM"
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict"
    text = (DEPLOY / "systemd" / "camera-service.service").read_text()
    assert "Environment=CAMERA_SERVICE_STORAGE__DATA_DIR=/var/lib/camera-service\n" in text
    assert service["ReadWritePaths"] == "/var/lib/camera-service"
