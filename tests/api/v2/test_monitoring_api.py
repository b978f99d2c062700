"""The v2 monitoring extension: a model's report, recomputing on demand, the log exported as CSV and
Parquet (admins only), and the overview; every bad parameter a 400 in JSON."""

from __future__ import annotations

import csv
import io
import time

import pyarrow.parquet as pq
import pytest

from tests.support.helpers import IRIS_FEATURES, IRIS_ROW, assert_clean_error, heldout
from tests.support.monitoring import watch_of


@pytest.fixture(scope="module")
def traffic(logged_app, demo_store):
    """The iris held-out rows predicted through /api/v1, their truths sent, one round computed."""
    from tests.conftest import USER, basic

    client, headers = logged_app.test_client(), basic(USER)
    held = heldout(demo_store, "iris", 2)
    ids = []
    for row in held["x"]:
        answer = client.post("/api/v1/models/iris:predict", json={"instances": [row]}, headers=headers)
        ids.append(answer.headers["X-Podium-Request-ID"])
    watch_of(logged_app).log.flush()
    labels = ["setosa", "versicolor", "virginica"]
    pairs = zip(ids, held["y"], strict=True)
    body = {"truths": [{"request_id": rid, "truth": labels[y]} for rid, y in pairs]}
    assert client.post("/api/v2/models/iris/feedback", json=body, headers=headers).status_code == 200
    watch_of(logged_app).job.run_once("iris")
    return ids


def test_the_report_holds_quality_estimate_drift_and_alerts(logged_app, traffic, user_headers):
    doc = logged_app.test_client().get("/api/v2/models/iris/monitoring", headers=user_headers).get_json()
    assert doc["model"] == "iris"
    assert doc["computed_at"] > time.time() - 600
    served = doc["summary"]["versions"]["2"]
    assert served["quality"]["labelled"] == len(traffic)
    assert served["quality"]["accuracy"] > 0.9
    assert 0.8 < served["estimated"]["accuracy"] <= 1.0
    assert "no concept drift" in served["estimated"]["limits"]
    assert set(served["drift"]["features"]) == set(IRIS_FEATURES)
    assert all(len(c["histogram"]["reference"]) > 1 for c in served["drift"]["features"].values())
    assert served["drift"]["drifted"] is False
    assert [a for a in doc["alerts"] if a["name"] == "PodiumDatasetDrift"] == []
    assert sum(b["requests"] for b in served["timeline"]["buckets"]) == served["requests"]


def test_recompute_is_asked_for_and_answered_at_once(logged_app, user_headers):
    response = logged_app.test_client().post("/api/v2/models/iris/monitoring", headers=user_headers)
    assert (response.status_code, response.get_json()) == (202, {"requested": True, "model": "iris"})
    missing = logged_app.test_client().post("/api/v2/models/nosuch/monitoring", headers=user_headers)
    assert_clean_error(missing, 404)


def test_a_model_never_served_nor_logged_is_404(logged_app, user_headers):
    assert_clean_error(logged_app.test_client().get("/api/v2/models/nosuch/monitoring",
                                                    headers=user_headers), 404, "nosuch")


def test_csv_export_has_a_row_per_prediction_with_features_answer_and_truth(logged_app, traffic,
                                                                           admin_headers):
    response = logged_app.test_client().get("/api/v2/models/iris/log?format=csv", headers=admin_headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = {r["request_id"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert set(traffic) <= set(rows)
    first = rows[traffic[0]]
    assert set(IRIS_FEATURES) <= set(first)
    assert first["truth"] in ("setosa", "versicolor", "virginica")
    assert first["label"]
    assert float(first["p_setosa"]) >= 0


def test_parquet_export_reads_back_with_the_same_rows(logged_app, traffic, admin_headers):
    with logged_app.test_client().get("/api/v2/models/iris/log?format=parquet",
                                      headers=admin_headers) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(response.data))
    ids = table.column("request_id").to_pylist()
    assert set(traffic) <= set(ids)
    assert table.schema.field("petal length (cm)").type == "double"
    truths = dict(zip(ids, table.column("truth").to_pylist(), strict=True))
    assert truths[traffic[0]] in ("setosa", "versicolor", "virginica")


def test_since_and_until_bound_the_export(logged_app, traffic, admin_headers):
    client = logged_app.test_client()
    future = client.get("/api/v2/models/iris/log?since=2100-01-01T00:00:00Z", headers=admin_headers)
    assert list(csv.DictReader(io.StringIO(future.get_data(as_text=True)))) == []
    past = client.get(f"/api/v2/models/iris/log?until={time.time() + 60}", headers=admin_headers)
    assert len(list(csv.DictReader(io.StringIO(past.get_data(as_text=True))))) >= len(traffic)


@pytest.mark.parametrize(("query", "words"), [
    ("format=xlsx", ["format must be one of"]),
    ("since=yesterday", ["'since' must be an ISO 8601"]),
    ("until=12:99", ["'until'"]),
    ("reveal=maybe", ["'reveal'"]),
])
def test_bad_export_parameters_are_a_400(logged_app, admin_headers, query, words):
    response = logged_app.test_client().get(f"/api/v2/models/iris/log?{query}", headers=admin_headers)
    assert_clean_error(response, 400, *words)


def test_export_needs_the_admin_role_and_a_logged_model(logged_app, user_headers, admin_headers):
    client = logged_app.test_client()
    assert_clean_error(client.get("/api/v2/models/iris/log", headers=user_headers), 403)
    assert_clean_error(client.get("/api/v2/models/nosuch/log", headers=admin_headers), 404, "nothing")


def test_the_overview_has_the_log_health_and_each_models_alerts(logged_app, traffic, user_headers):
    doc = logged_app.test_client().get("/api/v2/monitoring", headers=user_headers).get_json()
    assert doc["log"]["database"]["ok"] is True
    assert doc["log"]["written_rows"] >= len(traffic)
    assert doc["log"]["dropped"] == {"queue_full": 0, "database": 0, "invalid": 0}
    assert set(doc["models"]) == {"diabetes", "digits", "helpdesk", "iris", "movies", "wine"}
    assert doc["models"]["iris"]["computed_at"] is not None


def test_predictions_for_every_row_answer_even_in_a_round(logged_app, user_headers):
    """A round runs beside traffic: the request path never waits for it."""
    client = logged_app.test_client()
    watch_of(logged_app).job.request("iris")
    for _ in range(20):
        assert client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                           headers=user_headers).status_code == 200
