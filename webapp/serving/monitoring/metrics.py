"""Prometheus metrics of the prediction log and the monitor, safe in gunicorn's multiprocess mode.

Names follow Prometheus's conventions: the `podium_` prefix, base units, `_total` on counters (the
client adds it), `_ratio` for 0..1 values; labels are bounded (model, version, a manifest's feature
names, a fixed set of reasons). Gauges the background monitor sets use `mostrecent`, so whichever
worker computed last is what a scrape sees; per-worker gauges are summed or taken at their worst.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge

DROP_REASONS = ("queue_full", "database", "invalid")

LOG_WRITTEN = Counter("podium_prediction_log_written_rows", "Rows written to the prediction log")
LOG_DROPPED = Counter("podium_prediction_log_dropped_records",
                      "Prediction log records dropped, by reason (queue_full, database, invalid)",
                      ["reason"])
LOG_QUEUE = Gauge("podium_prediction_log_queue_records", "Records waiting in the workers' log queues",
                  multiprocess_mode="livesum")
LOG_LAG = Gauge("podium_prediction_log_lag_seconds", "Age of the oldest record waiting to be written",
                multiprocess_mode="livemax")
LOG_DATABASE_UP = Gauge("podium_prediction_log_database_up",
                        "1 while the prediction log database accepts writes", multiprocess_mode="livemin")
READY = Gauge("podium_ready", "1 while the worker serves every version it should",
              multiprocess_mode="livemin")

_VERSIONED = ["model", "version"]
_FEATURE = ["model", "version", "feature"]
FEATURE_DRIFT = Gauge("podium_feature_drift", "1 when the feature's drift test flags drift",
                      _FEATURE, multiprocess_mode="mostrecent")
FEATURE_PSI = Gauge("podium_feature_psi", "Population stability index of the feature, window vs reference",
                    _FEATURE, multiprocess_mode="mostrecent")
DATASET_DRIFT = Gauge("podium_dataset_drift", "1 when at least the configured share of features drift",
                      _VERSIONED, multiprocess_mode="mostrecent")
DRIFTED_FEATURES = Gauge("podium_drifted_features_ratio", "Share of the version's features that drift",
                         _VERSIONED, multiprocess_mode="mostrecent")
PREDICTION_DRIFT = Gauge("podium_prediction_drift", "1 when the distribution of answers drifts",
                         _VERSIONED, multiprocess_mode="mostrecent")
LIVE_ACCURACY = Gauge("podium_live_accuracy_ratio", "Accuracy on labelled predictions in the window",
                      _VERSIONED, multiprocess_mode="mostrecent")
ESTIMATED_ACCURACY = Gauge("podium_estimated_accuracy_ratio",
                           "Accuracy estimated without labels (CBPE) over the window",
                           _VERSIONED, multiprocess_mode="mostrecent")
HELDOUT_ACCURACY = Gauge("podium_heldout_accuracy_ratio", "Accuracy on held-out data, from the manifest",
                         _VERSIONED, multiprocess_mode="mostrecent")
LABELLED = Gauge("podium_labelled_predictions", "Predictions with ground truth in the quality window",
                 _VERSIONED, multiprocess_mode="mostrecent")
LIVE_MAE = Gauge("podium_live_mean_absolute_error", "Regressors: mean absolute error in the window",
                 _VERSIONED, multiprocess_mode="mostrecent")
MONITOR_RUN = Gauge("podium_monitor_last_run_timestamp_seconds", "When the drift and quality job last ran",
                    multiprocess_mode="mostrecent")


def log_dropped(reason: str, records: int = 1) -> None:
    LOG_DROPPED.labels(reason).inc(records)


def log_written(rows: int) -> None:
    LOG_WRITTEN.inc(rows)


def log_state(queued: int, lag_s: float, database_up: bool) -> None:
    LOG_QUEUE.set(queued)
    LOG_LAG.set(lag_s)
    LOG_DATABASE_UP.set(1 if database_up else 0)


def set_ready(ready: bool) -> None:
    READY.set(1 if ready else 0)


def _set(gauge: Gauge, labels: list[str], value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        gauge.labels(*labels).set(value)


def publish_version(model: str, version: int, result: dict[str, Any]) -> None:
    """Set the gauges from one version's monitor result (see `monitor.Monitor.compute`)."""
    key = [model, str(version)]
    drift = result.get("drift") or {}
    for feature, column in (drift.get("features") or {}).items():
        _set(FEATURE_DRIFT, [*key, feature], int(bool(column.get("drifted"))))
        _set(FEATURE_PSI, [*key, feature], column.get("psi"))
    if drift.get("verdict"):
        _set(DATASET_DRIFT, key, int(bool(drift.get("drifted"))))
        _set(DRIFTED_FEATURES, key, drift.get("drifted_share"))
    answers = result.get("prediction_drift") or {}
    if answers.get("verdict"):
        _set(PREDICTION_DRIFT, key, int(bool(answers.get("drifted"))))
    quality = result.get("quality") or {}
    _set(LABELLED, key, quality.get("labelled", 0))
    _set(LIVE_ACCURACY, key, quality.get("accuracy"))
    _set(LIVE_MAE, key, quality.get("mae"))
    _set(HELDOUT_ACCURACY, key, (result.get("heldout") or {}).get("accuracy"))
    _set(ESTIMATED_ACCURACY, key, (result.get("estimated") or {}).get("accuracy"))
