"""The operator's view: registry models and aliases, promote and rollback, this replica's
request rate and latency from its own Prometheus registry, the alert rules evaluated on them,
and replicas with their autoscaling settings.

Promote and rollback have no API route: ``promote`` runs the check ``entertainai models
promote`` runs (:func:`entertainai.serving.promotion.check_promotion`, against the refs this
graph serves) before moving the alias, and both then reload this replica at once; the other
replicas follow within ``reload_interval_s`` (their registry watch).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployments.observability import REGISTRY
from entertainai.registry import LATEST, PRODUCTION, Registry
from entertainai.serving import promotion
from entertainai.serving.promotion import check_promotion, rollback_target
from entertainai.serving.service import ServiceConfig

log = logging.getLogger(__name__)

DEPLOYMENTS = Path(__file__).resolve().parents[1]
ALERT_RULES = DEPLOYMENTS / "monitoring" / "alerts.yml"
SERVE_CONFIG = DEPLOYMENTS / "serve_config.yaml"
WINDOW_S = 300.0  # the alert rules' rate window (5m)
MIN_SNAPSHOT_GAP_S = 1.0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# --------------------------------------------------------------------------- registry


def models_table(registry: Registry) -> list[dict[str, Any]]:
    """Every model with its versions (kind, created, metrics), aliases and whether it can
    roll back (its production alias moved before)."""
    out = []
    for name in registry.names():
        aliases = registry.aliases(name)
        versions = [
            {
                "version": mv.version,
                "kind": mv.kind,
                "created": mv.metadata.get("created"),
                "metrics": {k: v for k, v in mv.metrics.items() if isinstance(v, int | float)},
                "aliases": sorted(a for a, v in aliases.items() if v == mv.version),
            }
            for mv in registry.versions(name)
        ]
        out.append(
            {
                "name": name,
                "aliases": {a: v for a, v in aliases.items() if a != LATEST},
                "rollback_to": _useful(rollback_target(registry, name, PRODUCTION), aliases),
                "versions": versions,
            }
        )
    return out


def _useful(target: int | None, aliases: dict[str, int]) -> int | None:
    """A rollback that would change something (not back to the version already served)."""
    return target if target is not None and target != aliases.get(PRODUCTION) else None


def promote(
    registry: Registry, name: str, version: int, alias: str, serving: ServiceConfig
) -> None:
    """Check (as ``entertainai models promote`` does), then move the alias."""
    check_promotion(registry, name, version, alias, serving)
    registry.set_alias(name, alias, version)
    log.warning("web: %s@%s -> version %d", name, alias, version)


def rollback(registry: Registry, name: str, alias: str) -> int:
    previous = promotion.rollback(registry, name, alias)
    log.warning("web: %s@%s -> version %d (rolled back)", name, alias, previous)
    return previous


# --------------------------------------------------------------------------- metrics


def snapshot() -> Samples:
    """Every sample of the app's Prometheus registry, by (name, labels)."""
    out: Samples = {}
    for family in REGISTRY.collect():
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


class MetricsHistory:
    """Snapshots of this replica's metrics, so rates can be taken over the rules' window.

    One is taken when the web app starts and one per operator request (at most one a
    second); rates cover the span between the newest and the oldest within ``WINDOW_S``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, maxlen: int = 600) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._snaps: deque[tuple[float, Samples]] = deque(maxlen=maxlen)
        self.take()

    def take(self) -> tuple[float, Samples, float, Samples]:
        """(then, old samples, now, new samples)."""
        now = self._clock()
        with self._lock:
            if not self._snaps or now - self._snaps[-1][0] >= MIN_SNAPSHOT_GAP_S:
                self._snaps.append((now, snapshot()))
            while len(self._snaps) > 2 and now - self._snaps[1][0] >= WINDOW_S:
                self._snaps.popleft()
            first, last = self._snaps[0], self._snaps[-1]
        return first[0], first[1], last[0], last[1]


def _delta(new: Samples, old: Samples, name: str, **match: str) -> dict[tuple, float]:
    """Per label set: ``name``'s increase (a counter reset counts from zero)."""
    out = {}
    for (n, labels), value in new.items():
        if n != name or any(dict(labels).get(k) != v for k, v in match.items()):
            continue
        before = old.get((n, labels), 0.0)
        out[labels] = value - before if value >= before else value
    return out


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus' ``histogram_quantile`` over cumulative bucket counts (le -> count)."""
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] <= 0:
        return None
    total = buckets[edges[-1]]
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if math.isinf(edge):
                return lower_edge  # as Prometheus: the highest finite bucket bound
            if count == lower_count:
                return edge
            return lower_edge + (edge - lower_edge) * (rank - lower_count) / (count - lower_count)
        lower_edge, lower_count = edge, count
    return lower_edge


@dataclass(frozen=True)
class Traffic:
    """Requests/s, error share and p50/p99 latency per route over the window, with the two
    snapshots they came from (for the alert rules)."""

    window_s: float
    requests: float
    rate_per_s: float
    error_share: float
    routes: list[dict[str, Any]]
    new: Samples
    old: Samples

    def to_json(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "requests": self.requests,
            "rate_per_s": self.rate_per_s,
            "error_share": self.error_share,
            "routes": self.routes,
        }


def traffic(history: MetricsHistory) -> Traffic:
    """This replica's traffic over the window (see :class:`Traffic`)."""
    then, old, now, new = history.take()
    span = max(now - then, 1e-9)
    counts = _delta(new, old, "entertainai_requests_total")
    buckets = _delta(new, old, "entertainai_request_seconds_bucket")
    routes: dict[str, dict[str, Any]] = {}
    for labels, n in counts.items():
        tags = dict(labels)
        row = routes.setdefault(
            tags["route"], {"route": tags["route"], "requests": 0.0, "5xx": 0.0}
        )
        row["requests"] += n
        if tags["status"].startswith("5"):
            row["5xx"] += n
    per_route_buckets: dict[str, dict[float, float]] = {}
    for labels, n in buckets.items():
        tags = dict(labels)
        edges = per_route_buckets.setdefault(tags["route"], {})
        edges[float(tags["le"])] = edges.get(float(tags["le"]), 0.0) + n
    rows = []
    for route, row in routes.items():
        edges = per_route_buckets.get(route, {})
        p50, p99 = quantile(0.5, edges), quantile(0.99, edges)
        rows.append(
            {
                **row,
                "rate_per_s": row["requests"] / span,
                "p50_ms": None if p50 is None else p50 * 1000,
                "p99_ms": None if p99 is None else p99 * 1000,
            }
        )
    rows.sort(key=lambda r: -r["requests"])
    total = sum(r["requests"] for r in rows)
    errors = sum(r["5xx"] for r in rows)
    return Traffic(span, total, total / span, errors / total if total else 0.0, rows, new, old)


# --------------------------------------------------------------------------- alerts


def _gauge_max(samples: Samples, name: str) -> float | None:
    values = [v for (n, _), v in samples.items() if n == name]
    return max(values) if values else None


def _evaluators() -> dict[str, Callable[[Traffic], tuple[bool | None, str]]]:
    """Alert name -> (firing, the value behind it), on the traffic over the window; each
    mirrors its rule's expression in ``alerts.yml`` (without its ``for:`` duration)."""

    def error_rate(t: Traffic) -> tuple[bool | None, str]:
        share = t.error_share
        return share > 0.01, f"5xx share {share:.2%} of {t.requests:.0f} requests"

    def p99(t: Traffic) -> tuple[bool | None, str]:
        slow = [r for r in t.routes if r["p99_ms"] is not None and r["p99_ms"] > 250]
        worst = max((r["p99_ms"] or 0 for r in t.routes), default=0.0)
        names = ", ".join(r["route"] for r in slow)
        return bool(slow), f"slowest p99 {worst:.1f} ms" + (f" ({names})" if names else "")

    def event_lag(t: Traffic) -> tuple[bool | None, str]:
        lag = _gauge_max(t.new, "entertainai_event_lag_seconds")
        if lag is None:
            return False, "no events ingested yet"
        return lag > 60, f"event lag {lag:.1f} s"

    def reload_failing(t: Traffic) -> tuple[bool | None, str]:
        failed = sum(
            _delta(t.new, t.old, "entertainai_model_reloads_total", outcome="failed").values()
        )
        return failed > 0, f"{failed:.0f} failed reloads in the window"

    def reload_refused(t: Traffic) -> tuple[bool | None, str]:
        refused = _gauge_max(t.new, "entertainai_model_reload_refused") or 0.0
        return refused > 0, "a reload is refused" if refused else "no reload refused"

    def feed(t: Traffic) -> tuple[bool | None, str]:
        errors = sum(_delta(t.new, t.old, "entertainai_feed_errors_total").values())
        missed = sum(_delta(t.new, t.old, "entertainai_feed_updates_missed_total").values())
        return errors + missed > 0, f"{errors:.0f} feed errors, {missed:.0f} updates missed"

    def ray_metric(_: Traffic) -> tuple[bool | None, str]:
        return None, "a Ray Serve metric: evaluated by Prometheus, not in the app"

    return {
        "EntertainAIHighErrorRate": error_rate,
        "EntertainAIHighP99Latency": p99,
        "EntertainAIReplicaRestarts": ray_metric,
        "EntertainAIEventLag": event_lag,
        "EntertainAIModelReloadFailing": reload_failing,
        "EntertainAIModelReloadRefused": reload_refused,
        "EntertainAILiveFeedFailing": feed,
    }


def alerts(t: Traffic, rules_file: Path = ALERT_RULES) -> list[dict[str, Any]]:
    """Each rule of ``alerts.yml``: firing (True/False, None: not evaluated here) and why."""
    import yaml

    try:
        groups = (yaml.safe_load(rules_file.read_text()) or {}).get("groups", [])
    except (OSError, yaml.YAMLError) as exc:
        return [{"alert": "rules unreadable", "firing": None, "value": str(exc)}]
    evaluate = _evaluators()
    out = []
    for group in groups:
        for rule in group.get("rules", []):
            name = rule.get("alert", "?")
            check = evaluate.get(name)
            firing, value = check(t) if check else (None, "no in-app evaluation for this rule")
            out.append(
                {
                    "alert": name,
                    "severity": (rule.get("labels") or {}).get("severity"),
                    "summary": (rule.get("annotations") or {}).get("summary", ""),
                    "for": rule.get("for"),
                    "firing": firing,
                    "value": value,
                }
            )
    return out


# --------------------------------------------------------------------------- replicas


def autoscaling_settings(config_file: Path = SERVE_CONFIG) -> list[dict[str, Any]]:
    """Per deployment of the shipped Serve config: fixed replicas or the autoscaling range."""
    import yaml

    try:
        app = (yaml.safe_load(config_file.read_text()) or {}).get("applications", [{}])[0]
    except (OSError, yaml.YAMLError, IndexError):
        return []
    out = []
    for d in app.get("deployments", []):
        auto = d.get("autoscaling_config") or {}
        out.append(
            {
                "deployment": d.get("name"),
                "num_replicas": d.get("num_replicas"),
                "min_replicas": auto.get("min_replicas"),
                "max_replicas": auto.get("max_replicas"),
                "target_ongoing_requests": auto.get("target_ongoing_requests"),
                "policy": (auto.get("policy") or {}).get("policy_function"),
                "num_cpus": (d.get("ray_actor_options") or {}).get("num_cpus"),
            }
        )
    return out


def live_replicas() -> dict[str, Any]:
    """Replica states per deployment from Serve's controller (blocking: call in a thread),
    or why they are unavailable (e.g. the app runs outside Ray)."""
    try:
        import ray

        if not ray.is_initialized():
            return {"available": False, "why": "not running on Ray (no Serve controller)"}
        from ray import serve

        status = serve.status()
    except Exception as exc:  # any failure here only hides the live counts
        return {"available": False, "why": f"Serve status unavailable: {type(exc).__name__}"}
    apps = {}
    for app_name, app in status.applications.items():
        apps[app_name] = {
            name: {
                "status": str(getattr(d.status, "value", d.status)),
                "replicas": {str(getattr(k, "value", k)): v for k, v in d.replica_states.items()},
            }
            for name, d in app.deployments.items()
        }
    return {"available": True, "applications": apps}
