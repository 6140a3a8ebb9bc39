"""Dashboards and alerts must only use metrics the app really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from deployments.observability import REGISTRY

MONITORING = Path(__file__).resolve().parents[2] / "deployments" / "monitoring"


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> set[str]:
    """Every series name the registry can produce (labelled metrics have no samples yet)."""
    return {m.name + suffix for m in REGISTRY.collect() for suffix in SUFFIXES.get(m.type, ("",))}


def referenced(text: str) -> set[str]:
    return set(re.findall(r"entertainai_[a-z_]+", text)) - {"entertainai_"}


def test_alert_rules_parse_and_use_real_metrics():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {
        "EntertainAIHighErrorRate",
        "EntertainAIHighP99Latency",
        "EntertainAIReplicaRestarts",
        "EntertainAIEventLag",
    } <= alerts
    assert referenced((MONITORING / "alerts.yml").read_text()) <= exported()


def test_dashboard_uses_real_metrics():
    dashboard = json.loads((MONITORING / "grafana_dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert referenced(exprs) <= exported()


def test_scrape_config_targets_loopback():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = [
        t
        for job in config["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    ]
    assert targets and all(t.startswith("127.0.0.1:") for t in targets)
