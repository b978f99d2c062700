"""The alert conditions, evaluated in-process for operators without Prometheus.

They mirror `deploy/prometheus/podium-alerts.yml` (same names, same default thresholds), computed
from the monitor's summaries and the worker's own figures instead of scraped metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Alert:
    name: str  # the Prometheus rule's name
    key: str  # what de-duplicates it: name, model, version, feature
    severity: str
    text: str


@dataclass(frozen=True)
class AlertThresholds:
    error_ratio: float = 0.05
    latency_p95_s: float = 0.5
    accuracy_drop: float = 0.1  # live or estimated accuracy this far below held-out
    min_labelled: int = 30  # live accuracy needs this many labelled predictions
    worker_memory_bytes: int = 2 * 1024 ** 3
    min_requests: int = 20  # error ratio and latency need this many requests in the window


def _accuracy_alerts(model: str, v: str, r: dict[str, Any], t: AlertThresholds) -> list[Alert]:
    out = []
    held = (r.get("heldout") or {}).get("accuracy")
    live, labelled = (r.get("quality") or {}).get("accuracy"), (r.get("quality") or {}).get("labelled", 0)
    if held is not None and live is not None and labelled >= t.min_labelled and held - live > t.accuracy_drop:
        out.append(Alert("PodiumAccuracyDrop", f"PodiumAccuracyDrop/{model}/{v}", "warning",
                         f"{model} v{v}: live accuracy {live:.3f} on {labelled} labelled predictions, "
                         f"held-out {held:.3f}"))
    estimated = (r.get("estimated") or {}).get("accuracy")
    if held is not None and estimated is not None and held - estimated > t.accuracy_drop:
        out.append(Alert("PodiumEstimatedAccuracyDrop", f"PodiumEstimatedAccuracyDrop/{model}/{v}",
                         "warning", f"{model} v{v}: estimated accuracy {estimated:.3f} (CBPE), "
                         f"held-out {held:.3f}"))
    return out


def _drift_alerts(model: str, v: str, r: dict[str, Any]) -> list[Alert]:
    out = []
    drift = r.get("drift") or {}
    if drift.get("drifted"):
        names = ", ".join(drift.get("drifted_features", []))
        out.append(Alert("PodiumDatasetDrift", f"PodiumDatasetDrift/{model}/{v}", "warning",
                         f"{model} v{v}: inputs drift ({names})"))
    if (r.get("prediction_drift") or {}).get("drifted"):
        out.append(Alert("PodiumPredictionDrift", f"PodiumPredictionDrift/{model}/{v}", "warning",
                         f"{model} v{v}: the distribution of answers drifts"))
    return out


def _traffic_alerts(model: str, v: str, r: dict[str, Any], t: AlertThresholds) -> list[Alert]:
    requests = r.get("requests") or 0
    if requests < t.min_requests:
        return []
    out = []
    ratio = (r.get("errors") or 0) / requests
    if ratio > t.error_ratio:
        out.append(Alert("PodiumHighErrorRatio", f"PodiumHighErrorRatio/{model}/{v}", "critical",
                         f"{model} v{v}: {ratio:.1%} of logged requests failed"))
    p95 = r.get("latency_p95_s")
    if p95 is not None and p95 > t.latency_p95_s:
        out.append(Alert("PodiumHighLatency", f"PodiumHighLatency/{model}/{v}", "warning",
                         f"{model} v{v}: p95 latency {p95 * 1000:.0f} ms"))
    return out


def model_alerts(summary: dict[str, Any], t: AlertThresholds | None = None) -> list[Alert]:
    """The alerts a model's monitor summary raises."""
    t = t or AlertThresholds()
    model, out = summary.get("model", "?"), []
    for v, r in (summary.get("versions") or {}).items():
        out += _drift_alerts(model, v, r) + _accuracy_alerts(model, v, r, t) + _traffic_alerts(model, v, r, t)
    return out


def process_alerts(new_drops: int, ready: bool | None, rss_bytes: int | None,
                   t: AlertThresholds | None = None) -> list[Alert]:
    """Alerts about this worker: log records dropped since the last check, readiness, memory."""
    t, out = t or AlertThresholds(), []
    if new_drops > 0:
        out.append(Alert("PodiumPredictionLogDrops", "PodiumPredictionLogDrops", "warning",
                         f"{new_drops} prediction log records dropped since the last check"))
    if ready is False:
        out.append(Alert("PodiumNotReady", "PodiumNotReady", "critical", "a worker is not ready"))
    if rss_bytes is not None and rss_bytes > t.worker_memory_bytes:
        out.append(Alert("PodiumWorkerMemoryHigh", "PodiumWorkerMemoryHigh", "warning",
                         f"a worker holds {rss_bytes / 2 ** 20:.0f} MiB"))
    return out
