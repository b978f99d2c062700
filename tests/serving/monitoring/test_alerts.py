"""Alerting rules checked and unit-tested by promtool; the in-process webhook against a real server."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from webapp.serving.monitoring.alerts import Alert, AlertThresholds, model_alerts, process_alerts
from webapp.serving.monitoring.notify import WebhookNotifier

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "podium-dashboard.json"


def exported_names() -> set[str]:
    """Every sample name Podium's metrics modules define (counters with `_total`, histogram parts)."""
    from prometheus_client import REGISTRY

    import webapp.http.metrics  # noqa: F401 (the per-request counters)
    import webapp.serving.monitoring.metrics  # noqa: F401
    import webapp.serving.telemetry.metrics  # noqa: F401 (registers the serving metrics)

    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("podium_"):
            names.add(family.name + ("_total" if family.type == "counter" else ""))
            if family.type == "histogram":
                names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: run scripts/install-services"
    return subprocess.run([tool, *args], cwd=RULES, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", "podium-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    result = promtool("test", "rules", "podium-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_and_dashboard_name_only_metrics_podium_exports():
    exported = exported_names()
    rules = yaml.safe_load((RULES / "podium-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs += [t["expr"] for p in panels for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\bpodium_[a-z_]+", expr)}
    assert used - exported == set()
    assert {"podium_feature_psi", "podium_live_accuracy_ratio",
            "podium_prediction_log_dropped_records_total"} <= used


def test_metric_names_follow_prometheus_conventions():
    for name in exported_names():
        assert re.fullmatch(r"podium_[a-z0-9_]+", name)
        assert not name.endswith(("_ms", "_milliseconds", "_mb", "_percent"))


def summary(**version) -> dict:
    base = {"heldout": {"accuracy": 0.95}, "quality": {"labelled": 50, "accuracy": 0.94},
            "estimated": {"accuracy": 0.93}, "drift": {}, "prediction_drift": {}, "requests": 100,
            "errors": 0, "latency_p95_s": 0.01}
    return {"model": "iris", "versions": {"2": {**base, **version}}}


def test_model_conditions_match_the_rules_defaults():
    assert model_alerts(summary()) == []
    drop = model_alerts(summary(quality={"labelled": 50, "accuracy": 0.7}))
    assert [a.name for a in drop] == ["PodiumAccuracyDrop"]
    assert model_alerts(summary(quality={"labelled": 10, "accuracy": 0.7})) == []  # too few labels
    names = {a.name for a in model_alerts(summary(
        estimated={"accuracy": 0.6}, errors=20, latency_p95_s=0.9,
        drift={"drifted": True, "drifted_features": ["petal length (cm)"]},
        prediction_drift={"drifted": True}))}
    assert names == {"PodiumEstimatedAccuracyDrop", "PodiumHighErrorRatio", "PodiumHighLatency",
                     "PodiumDatasetDrift", "PodiumPredictionDrift"}
    assert [a.name for a in process_alerts(3, False, 3 * 2 ** 30, AlertThresholds())] == [
        "PodiumPredictionLogDrops", "PodiumNotReady", "PodiumWorkerMemoryHigh"]


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint: answers from `script` in order, then 200; records every body."""

    script: list[int] = []
    bodies: list[dict] = []
    attempts = 0
    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        Receiver.release.wait(30)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.attempts += 1
        status = Receiver.script.pop(0) if Receiver.script else 200
        if status == 200:
            Receiver.bodies.append(body)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.script, Receiver.bodies, Receiver.attempts = [], [], 0
    Receiver.release.set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    Receiver.release.set()
    server.shutdown()
    server.server_close()


def wait_idle(notifier: WebhookNotifier) -> None:
    for _ in range(1000):
        if notifier.idle():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the notifier never finished")


DRIFT = Alert("PodiumDatasetDrift", "PodiumDatasetDrift/iris/2", "warning", "iris v2: inputs drift")


def test_a_failing_receiver_gets_the_alert_after_retries(receiver):
    Receiver.script = [503, 502]
    notifier = WebhookNotifier(receiver, backoff_s=0.01)
    notifier.update("iris", [DRIFT])
    wait_idle(notifier)
    assert Receiver.attempts == 3
    assert [b["text"] for b in Receiver.bodies] == [
        ":rotating_light: [FIRING] PodiumDatasetDrift: iris v2: inputs drift"]
    assert Receiver.bodies[0]["podium"]["state"] == "firing"
    assert notifier.counts["sent"] == 1


def test_the_same_alert_is_sent_once_then_resolved_then_repeated_after_a_while(receiver):
    notifier = WebhookNotifier(receiver, backoff_s=0.01, repeat_s=3600)
    notifier.update("iris", [DRIFT], now=1000)
    notifier.update("iris", [DRIFT], now=1060)
    notifier.update("iris", [DRIFT], now=1000 + 3600)
    notifier.update("iris", [], now=5000)
    notifier.update("wine", [], now=5000)
    wait_idle(notifier)
    assert [b["podium"]["state"] for b in Receiver.bodies] == ["firing", "firing", "resolved"]


def test_a_refusing_receiver_is_not_retried(receiver):
    Receiver.script = [400]
    notifier = WebhookNotifier(receiver, backoff_s=0.01)
    notifier.update("iris", [DRIFT])
    wait_idle(notifier)
    assert Receiver.attempts == 1
    assert notifier.counts["failed"] == 1


def test_update_never_waits_for_the_receiver(receiver):
    Receiver.release.clear()  # the receiver holds every request until released
    notifier = WebhookNotifier(receiver, backoff_s=0.01, max_queue=2)
    for i in range(5):
        notifier.update(f"m{i}", [Alert("PodiumDatasetDrift", f"k{i}", "warning", "x")])
    assert Receiver.bodies == []  # every update returned while the first delivery still hangs
    assert notifier.counts["dropped"] >= 2
    Receiver.release.set()
    wait_idle(notifier)
    assert len(Receiver.bodies) == 5 - notifier.counts["dropped"]


def test_every_dashboard_query_is_valid_promql(tmp_path):
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"].replace("$model", ".*") for p in panels for t in p.get("targets", [])]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"podium:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
