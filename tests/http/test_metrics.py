"""Prometheus metrics at /metrics, in-process and summed across real gunicorn workers."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples matching `labels` in Prometheus' text format (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_per_model_version_and_protocol(client, user_headers):
    before = client.get("/metrics").get_data(as_text=True)
    labels = {"model": "iris", "version": "2", "protocol": "v1", "code": "200"}
    for _ in range(3):
        r = client.post("/api/v1/models/iris:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]},
                        headers=user_headers)
        assert r.status_code == 200
    r = client.post("/api/v1/models/iris:predict", json={"instances": [[1]]}, headers=user_headers)
    assert r.status_code == 400
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "podium_requests_total", **labels) - sample(
        before, "podium_requests_total", **labels) == 3
    assert sample(text, "podium_request_errors_total", model="iris", code="400") >= 1
    assert sample(text, "podium_request_duration_seconds_count", model="iris", protocol="v1") >= 4
    assert sample(text, "podium_compute_seconds_count", model="iris", version="2") >= 3
    assert sample(text, "podium_batch_size_bucket", model="iris", le="1.0") >= 3
    assert sample(text, "podium_loaded_versions", model="digits", version="1",
                  call_path="tflite (ai-edge-litert)") == 1
    assert sample(text, "podium_worker_resident_memory_bytes") > 0


def test_made_up_model_names_share_one_label(client, user_headers):
    client.post("/api/v1/models/no-such-model-42:predict", json={"instances": [[1]]}, headers=user_headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert "no-such-model-42" not in text
    assert sample(text, "podium_requests_total", model="unknown", code="404") >= 1


@pytest.mark.integration
def test_gunicorn_workers_metrics_are_summed_in_one_scrape(model_store, tmp_path):
    with gunicorn(model_store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        pids = set()
        for _ in range(40):
            r = requests.post(server.url + "/api/v1/models/iris:predict", auth=USER, timeout=10,
                              json={"instances": [[5.1, 3.5, 1.4, 0.2]]},
                              headers={"Connection": "close"})
            assert r.status_code == 200
        for _ in range(20):
            doc = requests.get(server.url + "/api/stats", auth=ADMIN, timeout=10,
                               headers={"Connection": "close"}).json()
            pids.add(doc["process"]["pid"])
        assert len(pids) == 2
        text = requests.get(server.url + "/metrics", timeout=10).text
        assert sample(text, "podium_requests_total", model="iris", protocol="v1", code="200") == 40
        memory = [line for line in text.splitlines()
                  if line.startswith("podium_worker_resident_memory_bytes{")]
        assert len(memory) == 2, memory
