"""The Monitoring section of a model page and the /ops summary, after real traffic: alerts, live vs
held-out quality, estimated accuracy, drift with server-drawn histograms, the A/B table, ground
truth by CSV upload, exports and a recompute button; a database that does not answer is said."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil

import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.pages.test_model_pages import login
from tests.support.helpers import IRIS_ROW, heldout
from tests.support.monitoring import watch_of
from tests.support.pages import accessibility_problems, csrf
from webapp.http.security import CSP

LABELS = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def watched(demo_store, tmp_path_factory):
    """iris split 50/50 over versions 1 and 2, its held-out rows sent three times with petal
    features shifted (and their truths), one round computed."""
    root = tmp_path_factory.mktemp("monitoring-pages")
    shutil.copytree(demo_store, root / "store")
    app = make_app(root / "store", root / "instance")
    watch = watch_of(app)
    watch.log.start()
    app.extensions["podium.lifecycle"].set_split("iris", {1: 50, 2: 50}, "test")
    app.extensions["podium.service"].refresh()
    client, held = app.test_client(), heldout(demo_store, "iris", 2)
    truths = []
    rows = list(zip(held["x"], held["y"], strict=True)) * 3  # enough for both sides of the split
    for i, (row, y) in enumerate(rows):
        shifted = [row[0], row[1], row[2] + 2.5, row[3] + 1.2]
        answer = client.post("/api/v1/models/iris:predict", json={"instances": [shifted]},
                             headers={**basic(USER), "X-Request-Key": f"caller-{i}"})
        truths.append({"request_id": answer.headers["X-Podium-Request-ID"], "truth": LABELS[y]})
    watch.log.flush()
    assert client.post("/api/v2/models/iris/feedback", json={"truths": truths},
                       headers=basic(USER)).status_code == 200
    watch.job.run_once()
    yield app
    watch.close()


def section(html: str) -> str:
    start = html.index('id="monitoring"')
    return html[start:html.index("</section>", start)]


@pytest.mark.parametrize("version", ["1", "2"])
def test_the_section_shows_alerts_quality_estimate_and_drift_histograms(watched, version):
    response = watched.test_client().get(f"/models/iris?version={version}")
    assert response.headers["Content-Security-Policy"] == CSP
    part = section(response.text)
    assert "PodiumDatasetDrift" in part
    assert f"iris v{version}: inputs drift (petal length (cm), petal width (cm))" in part
    assert re.search(r'data-live="accuracy">0\.\d+<', part)
    assert "Estimated accuracy" in part
    assert "Its limits" in part
    for feature in ("sepal length (cm)", "petal length (cm)", "petal width (cm)"):
        assert f'data-feature="{feature}"' in part
    assert part.count('<svg class="hist"') == 5  # four features and the answers
    assert part.count('<svg class="timeline"') == 1
    assert "style=" not in part
    assert "<script" not in part
    assert "dataset drift" in part


def test_the_ab_table_compares_the_split_versions(watched):
    part = section(watched.test_client().get("/models/iris").text)
    table = part[part.index("data-ab"):]
    assert "split traffic" in part
    assert re.search(r'<th scope="row">1</th>', table)
    assert re.search(r'<th scope="row">2</th>', table)
    assert "two proportion z test" in part or "chi square" in part


def test_the_page_is_accessible_with_the_section(watched):
    assert accessibility_problems(watched.test_client().get("/models/iris").text) == []


def test_ground_truth_by_csv_needs_a_login_then_is_recorded(watched):
    client = watched.test_client()
    answer = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=basic(USER))
    watch_of(watched).log.flush()
    rid = answer.headers["X-Podium-Request-ID"]

    def send(text: str):
        token = csrf(client.get("/models/iris").text)
        return client.post("/models/iris/feedback", data={
            "csrf_token": token, "truths": (io.BytesIO(text.encode()), "truths.csv")})

    assert "/login" in send(f"request_id,truth\n{rid},setosa\n").headers["Location"]
    login(client, USER)
    done = send(f"note,truth,request_id\nfirst,setosa,{rid}\n")
    assert done.status_code == 200
    assert "Recorded 1 truths (0 were already known)." in done.text
    assert "Recorded 0 truths (1 were already known)." in send(f"request_id,truth\n{rid},setosa\n").text
    conflict = send(f"request_id,truth\n{rid},virginica\n")
    assert conflict.status_code == 409
    assert "already has a different truth" in conflict.text
    for text, words in (("id,label\nx,setosa\n", "naming 'request_id' and 'truth'"),
                        ("request_id,truth\n", "has no truths"),
                        ("request_id,truth\nnever-seen,setosa\n", "never-seen")):
        refused = send(text)
        assert refused.status_code in (400, 404)
        assert words in html.unescape(refused.text)


def test_export_links_are_for_admins_and_download_the_log(watched):
    client = watched.test_client()
    assert "log.csv" not in client.get("/models/iris").text
    assert client.get("/models/iris/log.csv").status_code == 302  # to the login
    login(client, ADMIN)
    assert "log.parquet" in client.get("/models/iris").text
    with client.get("/models/iris/log.csv") as download:
        rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) >= 38
    assert {r["truth"] for r in rows} >= {"setosa", "virginica"}
    with client.get("/models/iris/log.parquet") as download:
        assert download.data[:4] == b"PAR1"


def test_recompute_asks_for_a_round_and_comes_back_to_the_section(watched):
    client = watched.test_client()
    token = csrf(client.get("/models/iris").text)
    response = client.post("/models/iris/monitoring", data={"csrf_token": token, "version": "1"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/models/iris?version=1#monitoring")
    assert "Recomputing drift and quality" in client.get("/models/iris?version=1").text
    assert client.post("/models/iris/monitoring", data={}).status_code == 400  # no CSRF token


def test_ops_sums_up_the_log_and_the_alerts(watched):
    client = watched.test_client()
    login(client, USER)
    page = client.get("/ops").text
    part = page[page.index("data-ops-monitoring"):]
    assert "rows written by 1 worker" in part
    assert "PodiumDatasetDrift" in part
    assert "v2: petal length (cm)" in part
    doc = client.get("/ops/stats.json").get_json()
    assert doc["log"]["dropped_total"] == 0
    assert "PodiumDatasetDrift" in {a["name"] for a in doc["monitoring"]["iris"]["alerts"]}


def test_a_database_that_does_not_answer_is_said_and_predictions_still_work(model_store, tmp_path):
    app = make_app(model_store, tmp_path / "instance",
                   DATABASE_URL="postgresql+psycopg://podium@127.0.0.1:9/nothing?connect_timeout=2")
    watch_of(app).log.start()
    client = app.test_client()
    answer = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=basic(USER))
    assert answer.status_code == 200
    assert client.get("/readyz").status_code == 200
    watch_of(app).log.flush()
    assert watch_of(app).log.stats()["dropped"]["database"] == 1
    part = section(client.get("/models/iris").text)
    assert "prediction log is unavailable" in part
    login(client, USER)
    ops = client.get("/ops").text
    assert "failing since" in ops
    watch_of(app).close()
