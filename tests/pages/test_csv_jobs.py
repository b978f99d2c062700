"""CSV batch scoring: header rules, row errors by line number, progress, download, limits, cleanup."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time

import pytest

from tests.support.pages import csrf
from webapp.serving.errors import InvalidInput, Overloaded
from webapp.serving.jobs.store import BatchJobs

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def upload(client, text: str | bytes, name: str = "iris"):
    token = csrf(client.get(f"/models/{name}").text)
    data = text.encode() if isinstance(text, str) else text
    return client.post(f"/models/{name}/batch",
                       data={"csrf_token": token, "csv": (io.BytesIO(data), "in.csv")})


def finish(client, location: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = client.get(location + "/progress").get_json()
        if doc["state"] in ("done", "failed"):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"job did not finish: {doc}")


def scored(client, text: str) -> tuple[dict, list[dict[str, str]], str]:
    response = upload(client, text)
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    doc = finish(client, location)
    with client.get(location + "/scored.csv") as download:
        assert download.status_code == 200
        assert "attachment" in download.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(download.text)))
    return doc, rows, client.get(location).text


def test_any_column_order_with_extra_columns_kept(client):
    text = "id,petal width (cm),note,sepal length (cm),petal length (cm),sepal width (cm)\n" \
           "a,0.2,first,5.1,1.4,3.5\nb,1.8,\"quoted, comma\",6.3,5.6,2.9\n"
    doc, rows, page = scored(client, text)
    assert doc["state"] == "done"
    assert doc["rows_done"] == 2
    assert [r["predicted_label"] for r in rows] == ["setosa", "virginica"]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[1]["note"] == "quoted, comma"
    assert abs(sum(float(rows[0][f"p_{k}"]) for k in ("setosa", "versicolor", "virginica")) - 1) < 1e-3
    assert "Download the scored CSV" in page
    assert "virginica" in page


def test_bad_rows_are_reported_by_line_number_and_the_rest_scored(client):
    header = ",".join(f'"{f}"' for f in FEATURES)
    text = (f"{header}\n5.1,3.5,1.4,0.2\nabc,3.5,1.4,0.2\n5.1,3.5\n\n6.3,2.9,5.6,nan\n"
            "6.3,2.9,5.6,1.8\n")
    doc, rows, page = scored(client, text)
    assert doc["rows_failed"] == 3
    assert [r["predicted_label"] for r in rows] == ["setosa", "", "", "", "virginica"]
    assert rows[1]["error"].startswith("line 3: 'sepal length (cm)' is not a number")
    assert rows[2]["error"].startswith("line 4: no value for 'petal length (cm)'")
    assert rows[3]["error"].startswith("line 6:")  # the blank line 5 is skipped, numbering is the file's
    assert "line 3:" in page
    assert "line 6:" in page


def test_regression_csv_gets_a_prediction_column(client, demo_store):
    held = json.loads((demo_store / "diabetes" / "1" / "heldout.json").read_text())
    manifest = json.loads((demo_store / "diabetes" / "1" / "model.json").read_text())
    names = [f["name"] for f in manifest["inputs"]["features"]]
    text = ",".join(names) + "\n" + "\n".join(",".join(map(str, row)) for row in held["x"][:5])
    response = upload(client, text, "diabetes")
    doc = finish(client, response.headers["Location"])
    with client.get(response.headers["Location"] + "/scored.csv") as download:
        rows = list(csv.DictReader(io.StringIO(download.text)))
    assert doc["rows_done"] == 5
    assert all(float(r["prediction"]) > 0 for r in rows)


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,c\n1,2,3\n", "The CSV header lacks"),
    ("", "The CSV file is empty"),
    ("\n\n", "The CSV file is empty"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    ("sepal length (cm),sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n",
     "twice"),
])
def test_a_bad_file_is_a_friendly_error_on_the_model_page(client, text, message):
    response = upload(client, text)
    assert response.status_code == 400
    shown = re.search(r'id="csv-error">([^<]+)<', response.text).group(1)
    assert message in shown.replace("&#39;", "'")
    assert 'id="csv"' in response.text  # the form is still there


def test_a_missing_file_and_an_image_model_are_refused_plainly(client):
    token = csrf(client.get("/models/iris").text)
    assert client.post("/models/iris/batch", data={"csrf_token": token}).status_code == 400
    response = upload(client, ",".join(FEATURES) + "\n1,2,3,4\n", "digits")
    assert response.status_code == 400


def test_a_byte_order_mark_and_crlf_line_ends_are_fine(client):
    text = "\ufeff" + ",".join(FEATURES) + "\r\n5.1,3.5,1.4,0.2\r\n"
    doc, rows, _ = scored(client, text)
    assert doc["rows_failed"] == 0
    assert rows[0]["predicted_label"] == "setosa"


def test_unknown_jobs_are_404_and_ids_are_checked(client):
    assert client.get("/jobs/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/jobs/..%2F..%2Fetc").status_code == 404
    assert client.get("/jobs/short/scored.csv").status_code == 404


def test_large_file_streams_in_chunks_with_a_moving_count(shared_app, tmp_path):
    """Rows go through the model 500 at a time; the progress file moves while the job runs."""
    service = shared_app.extensions["podium.service"]
    jobs = BatchJobs(tmp_path / "jobs", service, chunk_rows=500)
    body = ",".join(FEATURES) + "\n" + "5.1,3.5,1.4,0.2\n6.3,2.9,5.6,1.8\n" * 5000
    job_id = jobs.create("iris", io.BytesIO(body.encode()), "big.csv")
    seen = set()
    deadline = time.monotonic() + 60
    while (doc := jobs.progress(job_id))["state"] not in ("done", "failed") and time.monotonic() < deadline:
        seen.add(doc["rows_done"])
        time.sleep(0.01)
    assert doc["state"] == "done"
    assert doc["rows_done"] == 10_000
    assert len(seen) >= 2  # the page's progress bar has something to show
    before = service.models()["iris"].versions[2].counters["requests"]
    assert before >= 20  # one model call per chunk, not one per row, not one for the file


def test_job_count_is_capped_and_old_jobs_are_cleaned(shared_app, tmp_path):
    service = shared_app.extensions["podium.service"]
    jobs = BatchJobs(tmp_path / "jobs", service, max_jobs=2, keep_seconds=3600)
    body = (",".join(FEATURES) + "\n5.1,3.5,1.4,0.2\n").encode()

    def wait(job: str) -> None:
        deadline = time.monotonic() + 30
        while jobs.progress(job)["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.02)

    wait(jobs.create("iris", io.BytesIO(body)))
    wait(jobs.create("iris", io.BytesIO(body)))
    wait(jobs.create("iris", io.BytesIO(body)))  # the oldest finished job makes room
    assert len(list((tmp_path / "jobs").iterdir())) == 2
    # when every slot holds a running job, a new one is refused
    for job in list((tmp_path / "jobs").iterdir()):
        progress = json.loads((job / "progress.json").read_text())
        (job / "progress.json").write_text(json.dumps({**progress, "state": "running"}))
    with pytest.raises(Overloaded):
        jobs.create("iris", io.BytesIO(body))
    # jobs untouched for longer than keep_seconds (or running with no progress: a dead worker) go
    for job in (tmp_path / "jobs").iterdir():
        os.utime(job / "progress.json", (time.time() - 7200, time.time() - 7200))
    jobs.create("iris", io.BytesIO(body))
    assert len(list((tmp_path / "jobs").iterdir())) == 1


def test_header_check_does_not_leave_a_folder_behind(shared_app, tmp_path):
    jobs = BatchJobs(tmp_path / "jobs", shared_app.extensions["podium.service"])
    with pytest.raises(InvalidInput):
        jobs.create("iris", io.BytesIO(b"x,y\n1,2\n"))
    assert list((tmp_path / "jobs").iterdir()) == []
