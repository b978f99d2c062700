"""The writer's fast encoding of tabular answers stores exactly the rows `rows.to_rows` describes."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from tests.serving.monitoring.conftest import iris_record, manifest_spec
from webapp.serving.monitoring.encode import COLUMNS, encode
from webapp.serving.monitoring.records import PredictionRecord
from webapp.serving.monitoring.rows import to_rows


def encoded_rows(batch: list[PredictionRecord], protector) -> list[dict]:
    dropped: list[PredictionRecord] = []
    out = encode(batch, protector, lambda rec, exc: dropped.append(rec))
    assert not dropped
    assert len(out.values) == out.rows * len(COLUMNS)
    rows = [dict(zip(COLUMNS, out.values[i:i + len(COLUMNS)], strict=True))
            for i in range(0, len(out.values), len(COLUMNS))]
    return [{k: orjson.loads(v) if k in ("inputs", "probabilities") and v is not None else v
             for k, v in row.items()} for row in rows]


def described_rows(batch: list[PredictionRecord], protector) -> list[dict]:
    return [row for rec in batch for row in to_rows(rec, protector)]


def awkward_floats(rows: int) -> np.ndarray:
    """Random float32 bit patterns (tiny, huge, negative) plus NaN and infinity."""
    bits = np.random.default_rng(7).integers(0, 2**32, (rows, 4), dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32).copy()
    x[~np.isfinite(x)] = 1.0  # random NaN patterns may signal; a parsed request never holds one
    x[0, :2] = [np.nan, np.inf]
    x[1] = [5.1, 3.5, 1.4, 0.2]
    return x


def test_tabular_answers_are_stored_as_the_row_description_says(protector):
    iris, wine = manifest_spec("iris"), manifest_spec("wine", outputs={"labels": ["a", "b"]})
    diabetes = manifest_spec("diabetes", task="regression")
    x = awkward_floats(200)
    p = np.random.default_rng(3).random((200, 3)).astype(np.float32)
    batch = [
        iris_record("many", rows=200, spec=iris, client_request_id="c-1", caller="x" * 300,
                    chosen_by="split", source="v2"),
        PredictionRecord("awkward", "iris", 1, iris, x, p, 0.01),
        PredictionRecord("f64", "iris", 1, iris, x[:3].astype(np.float64), p[:3], 0.01),
        PredictionRecord("ints", "iris", 1, iris, np.array([[1, 2, 3, 4]]), np.array([[0.5, 0.5, 0]]), 0.01),
        PredictionRecord("unlabelled", "wine", 1, wine, x[:2], p[:2], 0.01),  # 3 outputs, 2 labels
        PredictionRecord("value", "diabetes", 1, diabetes, x[:3], np.array([[151.5], [np.nan], [-2.25]],
                                                                          np.float32), 0.02),
        PredictionRecord("csv-1", "iris", 1, iris, x[:3], p[:3], 0.01, source="csv",
                         row_ids=["job-7", "job-8", "j" * 200]),
    ]
    assert encoded_rows(batch, protector) == described_rows(batch, protector)


def test_other_records_keep_their_place_among_tabular_ones(protector):
    image = manifest_spec("digits", inputs={"kind": "image", "height": 8, "width": 8, "scale": 16.0},
                          outputs={"labels": [str(d) for d in range(10)]})
    hidden = manifest_spec("iris", monitoring={"sensitive": ["sepal_length"]})
    failed = PredictionRecord("failed", "iris", None, None, None, None, 0.001, status=503)
    batch = [iris_record("a"), failed,
             PredictionRecord("img", "digits", 1, image, np.ones((1, 8, 8, 1), np.float32),
                              np.eye(10, dtype=np.float32)[[3]], 0.003),
             iris_record("b", rows=2), iris_record("secret", spec=hidden),
             PredictionRecord("nan", "iris", 1, manifest_spec("iris"), np.ones((1, 4), np.float32),
                              np.array([[np.nan, 0.5, 0.5]], np.float32), 0.001),
             iris_record("c")]
    rows = encoded_rows(batch, protector)
    assert [(r["request_id"], r["row_index"]) for r in rows] == [
        ("a", 0), ("failed", 0), ("img", 0), ("b", 0), ("b", 1), ("secret", 0), ("nan", 0), ("c", 0)]
    assert rows == described_rows(batch, protector)
    assert rows[5]["inputs"]["sepal_length"].startswith("hmac:")


def test_arrays_that_do_not_stack_fall_back_and_a_bad_record_alone_is_dropped(protector):
    spec = manifest_spec("iris")
    narrow = PredictionRecord("narrow", "iris", 1, spec, np.ones((1, 4), np.float32),
                              np.ones((1, 2), np.float32), 0.001)  # another width of output
    broken = PredictionRecord("broken", "iris", 1, spec, np.ones((2, 4), np.float32),
                              np.ones((2, 3), np.float32), 0.001, row_ids=["only-one"])
    listed = PredictionRecord("listed", "iris", 1, spec, [[1.0, 2.0, 3.0, 4.0]],  # type: ignore[arg-type]
                              np.ones((1, 3), np.float32), 0.001)  # not an array: not a model's batch
    dropped: list[str] = []
    out = encode([iris_record("ok"), narrow, broken, listed], protector,
                 lambda rec, exc: dropped.append(rec.request_id))
    assert dropped == ["broken", "listed"]
    assert out.rows == 2
    assert out.values[0::len(COLUMNS)] == ["ok", "narrow"]


@pytest.mark.parametrize("rows", [1, 77, 2000])
def test_every_row_of_a_large_record_is_written(db, plog, rows):
    import sqlalchemy as sa

    from webapp.serving.monitoring.tables import predictions

    assert plog.submit(iris_record("big", rows=rows))
    assert plog.flush()
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(predictions.c.row_index, predictions.c.label)
                              .order_by(predictions.c.row_index)).all()
    assert [r.row_index for r in stored] == list(range(rows))
    assert {r.label for r in stored} == {"versicolor"}


def test_feature_names_that_json_must_escape_are_stored_as_described(protector):
    names = ['say "hi"', "back\\slash", "50 % off", "naïve é", "tab\there"]
    odd = manifest_spec("odd", inputs={"features": names}, outputs={"labels": ["no", "yes"]})
    x = np.array([[1.5, np.nan, -0.0, 3e38, 1e-40], [0.1, 0.2, 0.3, 0.4, 0.5]], np.float32)
    p = np.array([[0.25, 0.75], [1.0, 0.0]], np.float32)
    batch = [PredictionRecord("odd", "odd", 1, odd, x, p, 0.01)]
    rows = encoded_rows(batch, protector)
    assert rows == described_rows(batch, protector)
    assert list(rows[0]["inputs"]) == names


def test_a_round_of_many_records_writes_each_row_once_in_order(db, plog):
    import sqlalchemy as sa

    from webapp.serving.monitoring.tables import predictions

    sizes = [1] * 70 + [100] + [3] * 30 + [1] * 40  # far more than one stretch of the writer
    for i, size in enumerate(sizes):
        assert plog.submit(iris_record(f"r-{i:03d}", rows=size))
    assert plog.flush()
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(predictions.c.request_id, predictions.c.row_index)
                              .order_by(predictions.c.id)).all()
    expected = [(f"r-{i:03d}", k) for i, size in enumerate(sizes) for k in range(size)]
    assert [tuple(r) for r in stored] == expected
