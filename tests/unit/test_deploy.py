"""deploy/: what this machine can check of the Prometheus configuration, the alert rules, the Grafana
dashboard, the systemd units and the compose files. `promtool` is not installed here: the YAML and
JSON are parsed, and every `hotline_*` series they read must be one the code exports (the SDK's
`temporal_*` series are checked against a real worker's scrape in tests/integration/test_ops.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from activities.runtime.ops import RequestMetrics, WorkerStatus, worker_app
from activities.runtime.settings import load_config
from starter.web.ops_routes import BusinessGauges
from tests.support.deploy import series_used

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


async def exported_hotline_series() -> set[str]:
    """The series the web app, the codec server and a worker export, as scraped names."""
    registry = CollectorRegistry()
    RequestMetrics(registry, "web")
    BusinessGauges(None, load_config(), registry)  # type: ignore[arg-type]  # gauges exist before any count
    names = {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
        if family.name.startswith("hotline_")
    }
    app = worker_app({}, None, WorkerStatus(task_queues=["q"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker") as http:
        text = (await http.get("/metrics")).text
    names |= {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line.startswith("hotline_")}
    return names


def test_prometheus_config_parses_and_names_its_rule_file() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"hotline-web", "hotline-center-worker", "hotline-codec"} <= jobs
    for rule_file in config["rule_files"]:
        assert (DEPLOY / "prometheus" / rule_file).exists()


def test_alerts_cover_blocked_deliveries_a_gone_worker_and_a_failed_report() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert "hotline_deliveries_blocked" in alerts["HotlineDeliveriesBlocked"]["expr"]
    assert "hotline_task_queue_pollers" in alerts["HotlineDepartmentWorkerGone"]["expr"]
    assert "hotline_report_runs_failed" in alerts["HotlineReportScheduleFailed"]["expr"]
    for rule in alerts.values():
        assert rule["annotations"]["summary"]


async def test_every_hotline_series_the_rules_and_dashboard_read_is_exported() -> None:
    used = series_used("hotline_")
    assert used, "the rules and dashboard read no hotline series"
    missing = used - await exported_hotline_series()
    assert not missing, f"not exported by the code: {sorted(missing)}"


async def test_the_check_notices_a_series_the_code_does_not_export() -> None:
    exported = await exported_hotline_series()
    assert "hotline_no_such_series" not in exported
    assert {"hotline_open_tickets", "hotline_http_requests_total", "hotline_worker_up"} <= exported


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_units_verify(tmp_path: Path) -> None:
    hotline = Path(sys.executable).parent / "hotline"  # the unit's /opt/hotline/venv, here this venv
    for unit in (DEPLOY / "systemd").glob("*.service"):
        name = unit.name.replace("@.service", "@cgj.service")
        text = unit.read_text(encoding="utf-8").replace("/opt/hotline/venv/bin/hotline", str(hotline))
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = subprocess.run(
            ["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and not result.stderr.strip(), f"{unit.name}: {result.stderr}"


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(
    not _compose_available(), reason="docker compose is not installed here (docker without the compose plugin)"
)
@pytest.mark.parametrize("compose", ["compose.center.yaml", "compose.department.yaml"])
def test_compose_files_are_valid(compose: str, tmp_path: Path) -> None:
    env = {"TEMPORAL_ADDRESS": "temporal.example:7233", "HOTLINE_DEPARTMENT": "cgj", "PATH": "/usr/bin:/usr/local/bin"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "docker" / compose), "config", "--quiet", "--no-path-resolution"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("compose", ["compose.center.yaml", "compose.department.yaml"])
def test_compose_files_parse_and_run_the_hotline_commands(compose: str) -> None:
    parsed = yaml.safe_load((DEPLOY / "docker" / compose).read_text(encoding="utf-8"))
    commands = [service["command"] for service in parsed["services"].values()]
    assert all(command[0] in ("worker", "web", "codec-server") for command in commands)
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["hotline"]' in dockerfile
