"""A recommender's CSV job writes each scored row to the prediction log as a request of its own, under
the id the scored file's `request_id` cell names, as a classifier's job does; sampling keeps or drops
row by row, and each kept row still holds its own user and items."""

from __future__ import annotations

import csv
import io

from tests.api.kinds.conftest import kinds_store, logging_kinds_app  # noqa: F401  (the fixtures)
from tests.conftest import make_app
from tests.pages.test_csv_jobs import finish
from tests.support.monitoring import logged_rows, watch_of
from tests.support.pages import csrf
from webapp.serving.monitoring.records import sample_fraction


def scored_job(app, body: bytes) -> tuple[str, list[dict[str, str]]]:
    """Upload a CSV of users on the recommender page; the job's id and its scored rows."""
    client = app.test_client()
    token = csrf(client.get("/recommend/movies").text)
    response = client.post("/models/movies/batch", content_type="multipart/form-data",
                           data={"csrf_token": token, "csv": (io.BytesIO(body), "users.csv")})
    location = response.headers["Location"]
    assert finish(client, location)["state"] == "done"
    with client.get(location + "/scored.csv") as download:
        return location.rsplit("/", 1)[1], list(csv.DictReader(io.StringIO(download.text)))


def test_each_scored_user_is_logged_under_the_id_its_row_names(logging_kinds_app):  # noqa: F811
    job, rows = scored_job(logging_kinds_app, b"user,note\nu0042,a\n\nnewcomer,b\n,c\n")
    assert [r["request_id"] for r in rows] == [f"{job}-2", f"{job}-4", ""]
    logged = {r.request_id: r for r in logged_rows(logging_kinds_app, source="csv")
              if r.request_id.startswith(job)}
    assert sorted(logged) == [f"{job}-2", f"{job}-4"]
    known, newcomer = logged[f"{job}-2"], logged[f"{job}-4"]
    assert (known.inputs["user"], known.row_index, known.status) == ("u0042", 0, 200)
    assert known.inputs["returned"] == [rows[0][f"item_{i}"] for i in range(1, 11)]
    assert known.label == rows[0]["item_1"]
    assert (newcomer.inputs["user"], newcomer.inputs["basis"]) == ("newcomer", "popular")


def test_a_sampled_job_keeps_whole_rows_each_with_its_own_user(kinds_store, tmp_path):  # noqa: F811
    app = make_app(kinds_store, tmp_path, LOG_SAMPLE_RATES={"movies": 0.5})
    watch_of(app).log.start()
    try:
        users = [f"u{n:04d}" for n in range(1, 41)]
        job, rows = scored_job(app, ("user\n" + "\n".join(users) + "\n").encode())
        logged = logged_rows(app, source="csv")
    finally:
        watch_of(app).close()
    user_of = {row["request_id"]: user for row, user in zip(rows, users, strict=True)}
    kept = [rid for rid in user_of if sample_fraction(rid) < 0.5]
    assert 0 < len(kept) < len(users)
    assert [r.request_id for r in logged] == kept
    assert all(r.inputs["user"] == user_of[r.request_id] for r in logged)
