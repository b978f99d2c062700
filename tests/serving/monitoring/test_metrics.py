"""The monitoring gauges and counters in gunicorn's multiprocess mode: what a scrape sums and keeps."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import os, sys
    from webapp.serving.monitoring import metrics
    metrics.log_dropped("queue_full", int(sys.argv[1]))
    metrics.log_state(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "up")
    metrics.publish_version("iris", 1, {"quality": {"labelled": 40, "accuracy": float(sys.argv[5])},
                                        "drift": {"verdict": True, "drifted": False, "drifted_share": 0.25,
                                                  "features": {"petal": {"drifted": True, "psi": 0.3}}}})
""")

SCRAPE = textwrap.dedent("""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    print(generate_latest(registry).decode())
""")


def run(code: str, env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout


def sample(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def test_two_workers_samples_are_summed_or_kept_at_their_worst(tmp_path):
    import os

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    run(WORKER, env, "3", "10", "0.5", "up", "0.90")
    run(WORKER, env, "4", "5", "2.0", "down", "0.80")
    text = run(SCRAPE, env)
    assert sample(text, 'podium_prediction_log_dropped_records_total{reason="queue_full"}') == 7
    assert sample(text, "podium_prediction_log_database_up") == 0  # the worst worker
    assert sample(text, 'podium_live_accuracy_ratio{model="iris",version="1"}') == 0.80  # the latest
    assert sample(text, 'podium_feature_drift{feature="petal",model="iris",version="1"}') == 1
    assert sample(text, 'podium_feature_psi{feature="petal",model="iris",version="1"}') == 0.3
