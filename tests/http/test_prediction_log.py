"""Every prediction reaches the prediction log from every surface, off the request path, with
Podium's own request id; the monitor's own predictions never count as requests."""

from __future__ import annotations

import io
import re
import time

import pytest
from prometheus_client import REGISTRY

from tests.conftest import make_app
from tests.support.helpers import IRIS_ROW, assert_clean_error
from tests.support.monitoring import logged_rows, watch_of
from tests.support.pages import csrf

V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}


def _rid(response) -> str:
    rid = response.headers["X-Podium-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    return rid


def test_v1_v2_and_the_page_log_their_predictions_with_who_and_how(logged_app, user_headers):
    client = logged_app.test_client()
    v1 = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW, IRIS_ROW]},
                     headers={**user_headers, "X-Request-ID": "client-7"})
    v2 = client.post("/api/v2/models/iris/versions/1/infer", json=V2_BODY, headers=user_headers)
    page = client.post("/models/iris/predict", data={
        "csrf_token": csrf(client.get("/models/iris").text),
        **dict(zip(["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
                   ["5.1", "3.5", "1.4", "0.2"], strict=True))})
    assert (v1.status_code, v2.status_code, page.status_code) == (200, 200, 200)
    first, second = logged_rows(logged_app, request_id=_rid(v1))
    assert (first.row_index, second.row_index) == (0, 1)
    assert (first.source, first.version, first.chosen_by, first.caller) == ("v1", 2, "default", "bob")
    assert first.client_request_id == "client-7"
    assert first.label == "setosa"
    assert first.probabilities[0] > 0.9
    assert first.inputs == {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5,
                            "petal length (cm)": 1.4, "petal width (cm)": 0.2}
    (pinned,) = logged_rows(logged_app, request_id=_rid(v2))
    assert (pinned.source, pinned.version, pinned.chosen_by) == ("v2", 1, "pinned")
    (form,) = logged_rows(logged_app, request_id=_rid(page))
    assert (form.source, form.caller, form.status) == ("page", "anonymous", 200)


def test_one_client_id_sent_twice_gets_two_podium_ids_both_logged(logged_app, user_headers):
    client = logged_app.test_client()
    answers = [client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                           headers={**user_headers, "X-Request-ID": "same-id"}) for _ in range(2)]
    assert [a.headers["X-Request-ID"] for a in answers] == ["same-id", "same-id"]
    ids = {_rid(a) for a in answers}
    assert len(ids) == 2
    for rid in ids:
        (row,) = logged_rows(logged_app, request_id=rid)
        assert row.client_request_id == "same-id"


def test_a_failure_after_the_version_was_chosen_is_logged_with_status_and_latency(logged_app,
                                                                                  user_headers):
    client = logged_app.test_client()
    bad = client.post("/api/v1/models/iris/versions/1:predict", json={"instances": [[5.1, 3.5]]},
                      headers=user_headers)
    assert_clean_error(bad, 400, "expects 4 features")
    (row,) = logged_rows(logged_app, request_id=_rid(bad))
    assert (row.status, row.version, row.chosen_by, row.label, row.inputs) == (400, 1, "pinned", None, None)
    assert row.latency_s > 0
    unknown = client.post("/api/v1/models/nosuch:predict", json={"instances": [IRIS_ROW]},
                          headers=user_headers)
    assert unknown.status_code == 404
    assert logged_rows(logged_app, request_id=_rid(unknown)) == []  # no rows per made-up name


def test_csv_job_rows_are_logged_each_under_the_id_the_scored_file_names(logged_app):
    client = logged_app.test_client()
    text = ("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
            "5.1,3.5,1.4,0.2\nnot,a,number,row\n6.7,3.0,5.2,2.3\n")
    response = client.post("/models/iris/batch", data={
        "csrf_token": csrf(client.get("/models/iris").text), "csv": (io.BytesIO(text.encode()), "in.csv")})
    location = response.headers["Location"]
    deadline = time.monotonic() + 60
    while client.get(location + "/progress").get_json()["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with client.get(location + "/scored.csv") as download:
        scored = download.text.splitlines()
    assert scored[0].endswith(",error,request_id")
    ids = [line.rsplit(",", 1)[1] for line in scored[1:]]
    job = location.rsplit("/", 1)[1]
    assert ids == [f"{job}-2", "", f"{job}-4"]
    rows = {r.request_id: r for r in logged_rows(logged_app, source="csv") if r.request_id.startswith(job)}
    assert sorted(rows) == [f"{job}-2", f"{job}-4"]
    assert (rows[f"{job}-2"].label, rows[f"{job}-4"].label) == ("setosa", "virginica")
    assert {r.row_index for r in rows.values()} == {0}


def test_labels_and_splits_are_recorded_as_how_the_version_was_chosen(app, admin_headers, user_headers):
    watch_of(app).log.start()
    client = app.test_client()
    lifecycle = app.extensions["podium.lifecycle"]
    lifecycle.set_label("iris", "stable", 1, "test")
    lifecycle.set_split("iris", {1: 50, 2: 50}, "test")
    app.extensions["podium.service"].refresh()
    label = client.post("/api/v1/models/iris/labels/stable:predict", json={"instances": [IRIS_ROW]},
                        headers=user_headers)
    split = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    (by_label,) = logged_rows(app, request_id=_rid(label))
    (by_split,) = logged_rows(app, request_id=_rid(split))
    assert (by_label.chosen_by, by_label.version) == ("label", 1)
    assert by_split.chosen_by == "split"
    assert by_split.version == int(split.headers["X-Model-Version"])
    watch_of(app).close()


def _requests_metric(model: str) -> float:
    return sum(s.value for m in REGISTRY.collect() if m.name == "podium_requests" for s in m.samples
               if s.name == "podium_requests_total" and s.labels.get("model") == model)


def test_the_monitors_own_predictions_never_count_as_requests(app, user_headers):
    watch = watch_of(app)
    watch.log.start()
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                           headers=user_headers).status_code == 200
    watch.log.flush()
    service = app.extensions["podium.service"]
    before = {v: s.counters for v, s in service.model("iris").versions.items()}
    metric_before = _requests_metric("iris")
    summary = watch.job.run_once("iris")["iris"]  # predicts on reference and held-out rows
    assert summary["versions"]["2"]["estimated"]["calibration_rows"] > 0
    assert summary["versions"]["2"]["requests"] == 3
    after = {v: s.counters for v, s in service.model("iris").versions.items()}
    assert {v: c["requests"] for v, c in after.items()} == {v: c["requests"] for v, c in before.items()}
    assert _requests_metric("iris") == metric_before
    watch.close()


def test_a_model_sampled_at_zero_is_not_logged_while_others_are(model_store, tmp_path, user_headers):
    app = make_app(model_store, tmp_path / "instance", LOG_SAMPLE_RATES={"iris": 0.0})
    watch_of(app).log.start()
    client = app.test_client()
    iris = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    wine_row = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]
    wine = client.post("/api/v1/models/wine:predict", json={"instances": [wine_row]}, headers=user_headers)
    assert logged_rows(app, request_id=_rid(iris)) == []
    assert len(logged_rows(app, request_id=_rid(wine))) == 1
    watch_of(app).close()


@pytest.fixture
def unwatched(model_store, tmp_path):
    return make_app(model_store, tmp_path / "instance", MONITORING=False)


def test_with_monitoring_off_predictions_work_and_monitoring_routes_say_so(unwatched, user_headers):
    client = unwatched.test_client()
    assert unwatched.extensions["podium.monitoring"] is None
    ok = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
    assert ok.status_code == 200
    assert ok.headers["X-Podium-Request-ID"]
    body = {"request_id": ok.headers["X-Podium-Request-ID"], "truth": "setosa"}
    assert_clean_error(client.post("/api/v1/models/iris:feedback", json=body, headers=user_headers),
                       404, "monitoring is turned off")
    assert_clean_error(client.get("/api/v2/models/iris/monitoring", headers=user_headers), 404, "turned off")
    assert 'id="monitoring"' not in client.get("/models/iris").text
