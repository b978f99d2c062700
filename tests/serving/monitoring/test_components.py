"""The one-call assembly the app factory will use: prepare once, then one Monitoring per worker."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from tests.serving.monitoring.conftest import iris_record
from webapp.serving.errors import NotFound
from webapp.serving.monitoring.components import MonitoringSettings, create_monitoring, prepare


def test_prepared_monitoring_logs_takes_feedback_and_runs_its_job(tmp_path):
    settings = MonitoringSettings(instance_path=str(tmp_path), interval_s=3600)
    assert prepare(settings) is not None
    mon = create_monitoring(settings, sources=lambda name: {}, models=lambda: ["iris"])
    mon.start()
    try:
        assert mon.log.submit(iris_record("c-1"))
        assert mon.log.flush()
        assert mon.feedback.record("iris", [("c-1", "setosa")]) == {"recorded": 1, "unchanged": 0}
        with pytest.raises(NotFound):
            mon.feedback.record("iris", [("c-2", "setosa")])
        summary = mon.job.run_once()["iris"]
        assert summary["versions"] == {}
        assert mon.monitor.summary("iris") == summary
        assert (tmp_path / "log-hash.key").exists()
    finally:
        mon.close()


def test_an_unmigrated_database_drops_and_counts_log_writes(tmp_path, caplog):
    settings = MonitoringSettings(instance_path=str(tmp_path))
    mon = create_monitoring(settings, sources=lambda name: {}, models=lambda: [])
    assert "not at head" in caplog.text
    mon.start()
    try:
        mon.log.submit(iris_record("lost"))
        assert mon.log.flush()
        stats = mon.log.stats()
        assert stats["dropped"]["database"] == 1
        assert "no such table" in stats["database"]["last_error"]
    finally:
        mon.close()


def test_the_webhook_hears_of_log_drops_after_a_round(tmp_path):
    bodies: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = MonitoringSettings(instance_path=str(tmp_path), queue_size=1,
                                  webhook_url=f"http://127.0.0.1:{server.server_address[1]}/")
    prepare(settings)
    mon = create_monitoring(settings, sources=lambda name: {}, models=lambda: [], ready=lambda: True)
    try:
        mon.log.submit(iris_record("kept"))
        mon.log.submit(iris_record("dropped"))  # the queue holds one: not started, so nothing drains
        mon.job.run_once()
        for _ in range(500):
            if bodies:
                break
            threading.Event().wait(0.01)
        assert [b["podium"]["alert"] for b in bodies] == ["PodiumPredictionLogDrops"]
    finally:
        mon.close()
        server.shutdown()
        server.server_close()
