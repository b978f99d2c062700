"""Ground truth: idempotent, 404 for what was never logged, 409 for a second opinion, 400 named."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.serving.monitoring.conftest import iris_record, manifest_spec
from tests.support.postgres import running_postgres
from webapp.serving.errors import Conflict, InvalidInput, NotFound
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.database import LogUnavailable
from webapp.serving.monitoring.feedback import Feedback
from webapp.serving.monitoring.records import PredictionRecord, Sampler
from webapp.serving.monitoring.tables import ground_truth
from webapp.serving.monitoring.writer import PredictionLog


@pytest.fixture
def feedback(db, plog) -> Feedback:
    plog.submit(iris_record("one"))
    plog.submit(iris_record("three", rows=3))
    plog.submit(PredictionRecord("failed", "iris", None, None, None, None, 0.001, status=503))
    reg = iris_record("reg", spec=manifest_spec("diabetes", task="regression"))
    reg.outputs = reg.outputs[:, :1]
    plog.submit(reg)
    digits = manifest_spec("digits", outputs={"labels": [str(d) for d in range(10)]})
    plog.submit(PredictionRecord("digit", "digits", 1, digits, None, None, 0.001))
    assert plog.flush()
    return Feedback(db)


def truths(db) -> list:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(ground_truth.c.request_id, ground_truth.c.row_index,
                                      ground_truth.c.label, ground_truth.c.value)
                            .order_by(ground_truth.c.request_id, ground_truth.c.row_index)).all()


def test_the_same_truth_twice_is_recorded_once(feedback, db):
    assert feedback.record("iris", [("one", "setosa")]) == {"recorded": 1, "unchanged": 0}
    assert feedback.record("iris", [("one", "setosa")]) == {"recorded": 0, "unchanged": 1}
    assert truths(db) == [("one", 0, "setosa", None)]


def test_many_at_once_including_a_list_for_a_multi_row_request(feedback, db):
    result = feedback.record("iris", [("one", "virginica"), ("three", ["setosa", "virginica", "setosa"])])
    assert result == {"recorded": 4, "unchanged": 0}
    assert [t[:3] for t in truths(db)] == [("one", 0, "virginica"), ("three", 0, "setosa"),
                                          ("three", 1, "virginica"), ("three", 2, "setosa")]


def test_a_regressor_takes_a_number_and_a_digit_label_its_index(feedback, db):
    feedback.record("diabetes", [("reg", 140)])
    feedback.record("digits", [("digit", 7)])
    assert ("reg", 0, None, 140.0) in truths(db)
    assert ("digit", 0, "7", None) in truths(db)


@pytest.mark.parametrize(("model", "rid", "why"), [
    ("iris", "never-made", "never-made"),
    ("iris", "failed", "failed"),
    ("wine", "one", "no logged prediction of wine"),
])
def test_an_id_without_a_logged_prediction_is_not_found(feedback, model, rid, why):
    with pytest.raises(NotFound, match=why):
        feedback.record(model, [(rid, "setosa")])


def test_a_sampled_out_request_is_not_found(db, protector):
    log = PredictionLog(db, protector, Sampler(rates={"iris": 0.0}))
    log.start()
    assert not log.submit(iris_record("sampled-out"))
    log.close()
    with pytest.raises(NotFound, match="sampled out"):
        Feedback(db).record("iris", [("sampled-out", "setosa")])


def test_a_different_second_truth_is_a_conflict(feedback, db):
    feedback.record("iris", [("one", "setosa")])
    with pytest.raises(Conflict, match="already has a different truth"):
        feedback.record("iris", [("one", "virginica")])
    with pytest.raises(Conflict, match="two different truths"):
        feedback.record("iris", [("three", ["setosa"] * 3), ("three", ["virginica"] * 3)])
    assert truths(db) == [("one", 0, "setosa", None)]


@pytest.mark.parametrize(("model", "items", "message"), [
    ("iris", [("one", "tulip")], "'tulip' is not a label of this model"),
    ("iris", [("one", 5)], "5 is not a label"),
    ("iris", [("one", True)], "True is not a valid truth"),
    ("iris", [("one", None)], "None is not a valid truth"),
    ("iris", [("three", "setosa")], "predicted 3 rows; send a list of 3"),
    ("iris", [("three", ["setosa"])], "predicted 3 rows, the truth has 1"),
    ("diabetes", [("reg", "high")], "must be a finite number"),
    ("diabetes", [("reg", float("nan"))], "must be a finite number"),
    ("iris", [], "at least one"),
    ("iris", "one", "at least one"),
    ("iris", [("one",)], "Item 0: expected a request id and a truth"),
    ("iris", [(7, "setosa")], "request id must be a string"),
    ("iris", [("x" * 129, "setosa")], "request id must be a string of 1-128"),
])
def test_a_malformed_truth_is_invalid_and_names_the_problem(feedback, db, model, items, message):
    with pytest.raises(InvalidInput, match=message):
        feedback.record(model, items)
    assert truths(db) == []


def test_one_bad_item_records_nothing(feedback, db):
    with pytest.raises(InvalidInput, match="Item 1"):
        feedback.record("iris", [("one", "setosa"), ("three", "setosa")])
    assert truths(db) == []


def test_racing_senders_of_different_truths_leave_exactly_one(feedback, db):
    outcomes: list[str] = []

    def send(label: str) -> None:
        try:
            feedback.record("iris", [("one", label)])
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except LogUnavailable:  # SQLite: the loser may find the writer lock busy
            outcomes.append("busy")

    threads = [threading.Thread(target=send, args=(label,)) for label in ("setosa", "virginica") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (stored,) = truths(db)
    assert outcomes.count("ok") >= 1
    assert stored[2] in ("setosa", "virginica")


def test_a_database_that_is_down_answers_unavailable(tmp_path):
    with running_postgres() as server:
        db = database.open_database(server.url(server.create_database()), tmp_path)
        migrate.upgrade(db)
        server.stop()
        with pytest.raises(LogUnavailable, match="prediction log is unavailable: OperationalError"):
            Feedback(db).record("iris", [("one", "setosa")])
        db.dispose()
