"""The monitor end to end on the real demo models: replayed traffic, feedback, drift, A/B, gauges."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
from prometheus_client import REGISTRY

from webapp.serving.inputs import Tensor
from webapp.serving.monitoring.alerts import model_alerts
from webapp.serving.monitoring.feedback import Feedback
from webapp.serving.monitoring.job import MonitorJob
from webapp.serving.monitoring.monitor import Monitor
from webapp.serving.monitoring.prepared import VersionSource, truth_index
from webapp.serving.monitoring.records import PredictionRecord
from webapp.serving.service import ModelService, Target


@pytest.fixture(scope="module")
def service(demo_store) -> ModelService:
    svc = ModelService(str(demo_store))
    svc.refresh()
    return svc


def run(service: ModelService, name: str, version: int, x: np.ndarray) -> np.ndarray:
    return service.predict(Target(name, version), lambda _: Tensor(x)).values


def sources_of(service: ModelService):
    def sources(name: str) -> dict[int, VersionSource]:
        return {v: VersionSource(status.spec, lambda x, v=v: run(service, name, v, x))
                for v, status in service.model(name).versions.items() if status.ready}
    return sources


def heldout(service: ModelService, name: str, version: int = 1) -> tuple[np.ndarray, list]:
    spec = service.version(Target(name, version)).spec
    data = json.loads((spec.path / "heldout.json").read_text())
    return np.array(data["x"], dtype=np.float32), data["y"]


def replay(service, plog, db, name, version, x, y=None, chosen_by="default") -> list[str]:
    """Predict row by row as requests would, log each, then send the truths."""
    spec = service.version(Target(name, version)).spec
    ids, truths = [], []
    for i in range(len(x)):
        rid = uuid.uuid4().hex
        out = run(service, name, version, x[i:i + 1])
        plog.submit(PredictionRecord(rid, name, version, spec, x[i:i + 1], out, 0.002,
                                     chosen_by=chosen_by))
        ids.append(rid)
        if y is not None:
            labels = spec.labels
            truth = y[i] if spec.task == "regression" else labels[truth_index(labels, y[i])]
            truths.append((rid, truth))
    assert plog.flush()
    if truths:
        Feedback(db).record(name, truths)
    return ids


def test_unshifted_traffic_gives_live_and_estimated_accuracy_and_no_drift(service, db, plog):
    x, y = heldout(service, "iris")
    replay(service, plog, db, "iris", 1, x, y)
    monitor = Monitor(db, sources_of(service))
    summary = monitor.compute("iris")
    v1 = summary["versions"]["1"]
    predicted = run(service, "iris", 1, x).argmax(axis=1)
    assert v1["quality"]["labelled"] == len(y)
    assert v1["quality"]["accuracy"] == pytest.approx(float(np.mean(predicted == np.array(y))), abs=1e-4)
    assert v1["heldout"]["accuracy"] > 0.9
    assert v1["estimated"]["rows"] == len(y)
    assert v1["estimated"]["accuracy"] == pytest.approx(v1["quality"]["accuracy"], abs=0.1)
    assert v1["reference"]["source"] == "training sample"
    assert v1["drift"]["verdict"]
    assert not v1["drift"]["drifted"]
    assert v1["prediction_drift"]["verdict"]
    assert monitor.summary("iris") == summary
    labels = {"model": "iris", "version": "1"}
    assert REGISTRY.get_sample_value("podium_live_accuracy_ratio", labels) == v1["quality"]["accuracy"]
    assert REGISTRY.get_sample_value("podium_dataset_drift", labels) == 0


def test_shifted_features_drift_and_raise_the_drift_alert(service, db, plog):
    x, _ = heldout(service, "iris")
    shifted = x.copy()
    shifted[:, 2] += 1.5
    shifted[:, 3] += 0.8
    replay(service, plog, db, "iris", 1, shifted)
    summary = Monitor(db, sources_of(service)).compute("iris")
    drift = summary["versions"]["1"]["drift"]
    assert drift["drifted_features"] == ["petal length (cm)", "petal width (cm)"]
    assert drift["drifted"]
    hist = drift["features"]["petal length (cm)"]["histogram"]
    assert len(hist["reference"]) == len(hist["current"]) == 20
    assert "PodiumDatasetDrift" in {a.name for a in model_alerts(summary)}
    feature = {"model": "iris", "version": "1", "feature": "petal length (cm)"}
    assert REGISTRY.get_sample_value("podium_feature_drift", feature) == 1


def test_image_statistics_drift_when_images_darken(service, db, plog):
    x, y = heldout(service, "digits")
    monitor = Monitor(db, sources_of(service))
    replay(service, plog, db, "digits", 1, x, y)
    calm = monitor.compute("digits")["versions"]["1"]
    assert set(calm["drift"]["features"]) == {"brightness", "contrast", "ink"}
    assert not calm["drift"]["drifted"]
    assert calm["estimated"]["accuracy"] > 0.8


def test_darker_images_drift_on_brightness(service, db, plog):
    x, _ = heldout(service, "digits")
    replay(service, plog, db, "digits", 1, x * 0.4)
    drift = Monitor(db, sources_of(service)).compute("digits")["versions"]["1"]["drift"]
    assert "brightness" in drift["drifted_features"]
    assert drift["features"]["brightness"]["method"] == "kolmogorov_smirnov"


def test_a_regressor_gets_mae_and_no_estimate(service, db, plog):
    x, y = heldout(service, "diabetes")
    replay(service, plog, db, "diabetes", 1, x, y)
    v1 = Monitor(db, sources_of(service)).compute("diabetes")["versions"]["1"]
    assert v1["quality"]["labelled"] == len(y)
    assert v1["quality"]["mae"] > 0
    assert v1["estimated"] is None
    assert v1["prediction_drift"]["method"] == "kolmogorov_smirnov"


def test_a_split_compares_versions_with_tests_stated(service, db, plog):
    x, y = heldout(service, "iris")
    replay(service, plog, db, "iris", 1, x, y, chosen_by="split")
    replay(service, plog, db, "iris", 2, x, y, chosen_by="split")
    ab = Monitor(db, sources_of(service)).compute("iris")["ab"]
    assert ab["population"] == "split traffic"
    assert set(ab["versions"]) == {"1", "2"}
    assert ab["versions"]["1"]["requests"] == ab["versions"]["2"]["requests"] == len(y)
    assert ab["differences"]["error_ratio"]["test"] == "two_proportion_z_test"
    assert ab["differences"]["accuracy"]["test"] == "two_proportion_z_test"
    assert not ab["differences"]["accuracy"]["significant"]  # both near-perfect on iris
    assert ab["differences"]["answers"]["test"] == "chi_square"
    assert ab["differences"]["latency"]["test"] == "mann_whitney_u"


def test_the_job_runs_every_model_and_only_one_worker_leads(service, db, plog, tmp_path):
    x, y = heldout(service, "wine")
    replay(service, plog, db, "wine", 1, x, y)
    seen = []
    monitor = Monitor(db, sources_of(service))
    job = MonitorJob(monitor, lambda: ["wine", "iris"], lock_path=tmp_path / "monitor.lock",
                     listeners=[lambda model, summary: seen.append(model)])
    done = job.run_once()
    assert set(done) == {"wine", "iris"}
    assert seen == ["wine", "iris"]
    assert done["wine"]["versions"]["1"]["quality"]["labelled"] == len(y)
    other = MonitorJob(monitor, lambda: [], lock_path=tmp_path / "monitor.lock")
    assert job._leader()
    assert not other._leader()
    job.stop()
    assert other._leader()
    other.stop()
