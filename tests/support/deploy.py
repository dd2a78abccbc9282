"""The series the deployment's alert rules and Grafana dashboard read (deploy/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERIES = re.compile(r"\b((?:hotline|temporal)_[a-z_]+)\b")


def exprs() -> list[str]:
    """Every PromQL expression of the alert rules and the dashboard."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "hotline-dashboard.json").read_text(encoding="utf-8"))
    found += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return found


def series_used(prefix: str) -> set[str]:
    return {name for expr in exprs() for name in SERIES.findall(expr) if name.startswith(prefix)}
