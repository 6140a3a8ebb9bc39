"""Dashboards and alerts must only use metrics the app really exports, with the labels and
label values it really produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import deployments.feed  # noqa: F401 - registers the feed's own counters
from deployments.observability import REGISTRY, Observe

MONITORING = Path(__file__).resolve().parents[2] / "deployments" / "monitoring"
DEPLOYMENTS = MONITORING.parent

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')


def label_names() -> dict[str, set[str]]:
    """Series name -> the labels the code gives it (histograms add ``le`` to their buckets)."""
    out = {}
    for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 - labels of unset series
        names, kind = set(getattr(collector, "_labelnames", ())), getattr(collector, "_type", "")
        for suffix in SUFFIXES.get(kind, ("",)):
            out[collector._name + suffix] = names | ({"le"} if suffix == "_bucket" else set())  # noqa: SLF001
    return out


def samples_after_traffic() -> dict[str, list[dict[str, str]]]:
    """Series name -> label sets of the samples the app exports after a 200 and a 500."""
    app = FastAPI()

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(Observe(app), raise_server_exceptions=False) as client:
        assert client.get("/ok").status_code == 200
        assert client.get("/boom").status_code == 500
    out: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample.labels)
    return out


def check_expression(expr: str, labels: dict[str, set[str]], samples: dict, where: str) -> int:
    """Every EntertainAI series in ``expr`` exists, with its selectors' labels and values;
    every ``by (...)`` label belongs to a series there. Returns how many series it uses."""
    ours = re.findall(r"(entertainai_[a-z_]+)(\{[^}]*\})?", expr)
    source = "\n".join(p.read_text() for p in DEPLOYMENTS.rglob("*.py"))
    for name, selector in ours:
        assert name in labels, f"{where}: {name} is not exported"
        for label, op, value in MATCHER.findall(selector):
            assert label in labels[name], f"{where}: {name} has no label {label!r}"
            seen = [s[label] for s in samples.get(name, []) if label in s]
            if op == "=~":  # the regex must catch a value the app really produces
                assert any(re.fullmatch(value, v) for v in seen), f"{where}: {value!r} vs {seen}"
            elif op == "=":  # a value some code path sets
                assert value in seen or f'"{value}"' in source, f"{where}: {label}={value!r}"
    if ours and "ray_serve_" not in expr:
        used = set().union(*(labels[name] for name, _ in ours))
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (g.strip() for g in group.split(",")):
                assert label in used, f"{where}: grouped by {label!r}, which no series has"
    return len(ours)


def test_alert_rules_parse_and_use_real_metrics_labels_and_values():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert {
        "EntertainAIHighErrorRate",
        "EntertainAIHighP99Latency",
        "EntertainAIReplicaRestarts",
        "EntertainAIEventLag",
        "EntertainAIEventLogFailing",
    } <= set(alerts)
    labels, samples = label_names(), samples_after_traffic()
    # The error-rate alert sees the 500 the app just answered.
    assert any(s.get("status") == "500" for s in samples["entertainai_requests_total"])
    for name, expr in alerts.items():
        used = check_expression(expr, labels, samples, name)
        assert used or "ray_serve_" in expr, f"{name} watches nothing of ours"
    assert "entertainai_event_log_failing" in alerts["EntertainAIEventLogFailing"]


def test_dashboard_uses_real_metrics_labels_and_values():
    dashboard = json.loads((MONITORING / "grafana_dashboard.json").read_text())
    labels, samples = label_names(), samples_after_traffic()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            where = f"panel {panel.get('title', '?')!r}"
            used = check_expression(target["expr"], labels, samples, where)
            assert used or "ray_serve_" in target["expr"], f"{where} shows nothing of ours"


def test_scrape_config_targets_loopback():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = [
        t
        for job in config["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    ]
    assert targets and all(t.startswith("127.0.0.1:") for t in targets)
