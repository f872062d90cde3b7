"""Monitoring assets against the real service: every metric the Grafana dashboard and the alert rules name is
exported by /metrics, and Debian's real Prometheus scrapes the service, loads the rules and evaluates one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.mediamtx import REPO_ROOT
from tests.harness.ports import free_port
from tests.harness.procs import ManagedProcess, wait_for
from tests.harness.service import RunningService

pytestmark = pytest.mark.integration
DEPLOY = REPO_ROOT / "deploy"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
PROMQL_WORDS = {"by", "on", "and", "or", "unless", "without", "ignoring", "le", "bool", "offset"}


def exported_names(exposition: str) -> set[str]:
    """Every series name a query may use: family names and the sample names their type implies."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def named_metrics(expr: str) -> set[str]:
    """camera_service_* names in a PromQL expression (plus `up`, which Prometheus adds itself)."""
    return set(re.findall(r"\bcamera_service_[a-z0-9_]+", expr))


def dashboard_exprs() -> list[str]:
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    return [t["expr"] for d in dashboards for p in json.loads(d.read_text())["panels"] for t in p["targets"]]


def alert_exprs() -> list[str]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for g in groups for rule in g["rules"]]


async def test_dashboard_and_alerts_name_only_exported_metrics(service: RunningService) -> None:
    admin = await service.client()
    await admin.call("add_camera", {"id": "idle", "source": "publisher"})  # enabled, nobody publishes
    await admin.call("add_camera", {"id": "off", "source": "publisher", "enabled": False})
    async with aiohttp.ClientSession() as s, s.get(f"{service.http_url}/metrics") as r:
        assert r.status == 200
        text = await r.text()
        exported = exported_names(text)
    # CameraOffline can fire for the enabled camera, never for the disabled one (it has no sample).
    assert 'camera_service_camera_online{camera="idle"} 0.0' in text
    assert 'camera="off"' not in text
    exprs = dashboard_exprs() + alert_exprs()
    used = set().union(*(named_metrics(e) for e in exprs))
    assert len(used) >= 15  # the check really parsed the expressions
    assert used <= exported, f"not exported by /metrics: {sorted(used - exported)}"
    # The ops gauges carry real values: the disk of the data root, sized like the host's.
    assert "camera_service_storage_free_bytes" in exported
    assert "camera_service_asyncio_tasks" in exported  # scraped inside the event loop: a live count


async def test_prometheus_scrapes_the_service_and_evaluates_a_rule(
    service: RunningService, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    assert binary, "Debian's prometheus is missing: run scripts/setup.sh"
    work = tmp_path / "prometheus"
    work.mkdir()
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", work / "alerts.yml")
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{service.port}"]}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = ManagedProcess(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        name="prometheus",
    )
    await proc.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:

            async def query(q: str) -> list[dict[str, Any]]:
                async with s.get(f"{base}/api/v1/query", params={"query": q}) as r:
                    body = await r.json()
                    assert body["status"] == "success", body
                    return list(body["data"]["result"])

            async def rules_loaded() -> list[dict[str, Any]]:
                async with s.get(f"{base}/api/v1/rules") as r:
                    groups = (await r.json())["data"]["groups"]
                rules = [rule for g in groups for rule in g["rules"]]
                return rules if rules and all(rule["health"] == "ok" for rule in rules) else []

            # Scraped: the target is up and MediaMTX reports up through the service.
            up = await wait_for(lambda: query('up{job="camera-service"} == 1'), 60, 0.5, message=proc.output)
            assert up[0]["metric"]["instance"] == f"127.0.0.1:{service.port}"
            assert (await query("camera_service_mediamtx_up"))[0]["value"][1] == "1"
            rules = await wait_for(rules_loaded, 60, 0.5, message=proc.output)
            assert {r["name"] for r in rules} >= {"MediaMTXDown", "DiskLow", "CameraOffline"}

            # The DiskLow rule's expression, evaluated by Prometheus on scraped data, matches the real disk.
            disk_rule = next(r for r in rules if r["name"] == "DiskLow")
            ratio_expr = disk_rule["query"].rsplit("<", 1)[0].strip()
            result = await wait_for(lambda: query(ratio_expr), 60, 0.5)
            data_ratio = next(float(x["value"][1]) for x in result if x["metric"]["root"] == "data")
            usage = shutil.disk_usage(service.settings.storage.data_dir)
            assert data_ratio == pytest.approx(usage.free / usage.total, abs=0.02)
            # ...and the rule itself holds no alert on this (not full) disk, while its expression is healthy.
            assert not await query('ALERTS{alertname="DiskLow"}')
    finally:
        await proc.stop()


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian's prometheus) is missing: run scripts/setup.sh"
    prom = DEPLOY / "prometheus"
    for args in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]):
        proc = subprocess.run([promtool, *args], cwd=prom, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "SUCCESS" in proc.stdout + proc.stderr
    proc = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"], cwd=prom, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
