"""Scoring a CSV file: its header against the model's features, rows to numbers, chunks to output.

Rows that cannot be scored keep their place in the output with an `error` cell naming the file's
line number; one bad row never stops the rest. A recommender reads a `user` column and writes its
top-k (the manifest's `k_default`) as `item_1..k` and `score_1..k`; an unknown user gets the popular
items, as in the APIs. Every scored row is a request of its own in the prediction log, under the id
its `request_id` cell names (a recommender's, like any other kind's).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.inputs import Tensor
from webapp.serving.models.spec import ModelSpec
from webapp.serving.monitored import answer_record, kind_record
from webapp.serving.monitoring.records import PredictionRecord
from webapp.serving.recommend.query import RecommendQuery, RecommendRow
from webapp.serving.recommend.runtime import Recommendation
from webapp.serving.service import ModelService, Target

MAX_LISTED_ERRORS = 100
Line = tuple[int, list[str], str | None]  # (line number, cells, why it cannot be scored)
Log = Callable[[PredictionRecord], bool]  # the prediction log's submit


class RowError(ValueError):
    """One CSV row cannot be scored; the message names the column."""


def recommend_k(spec: ModelSpec) -> int:
    return int(spec.raw.get("recommendation", {}).get("k_default", 10))


def input_names(spec: ModelSpec) -> list[str]:
    return ["user"] if spec.task == "recommendation" else spec.feature_names


def output_columns(spec: ModelSpec) -> list[str]:
    """The answer's columns, `error`, and `request_id` (what feedback names a row's truth by)."""
    if spec.task == "recommendation":
        k = range(1, recommend_k(spec) + 1)
        return [*(f"item_{i}" for i in k), *(f"score_{i}" for i in k), "error", "request_id"]
    if spec.task == "classification":
        return ["predicted_label", *(f"p_{label}" for label in spec.labels), "error", "request_id"]
    return ["prediction", "error", "request_id"]


def row_request_id(job_id: str, line: int) -> str:
    """A CSV row's request id in the prediction log: the job's id and the row's line number."""
    return f"{job_id}-{line}"


def feature_columns(spec: ModelSpec, header: list[str]) -> list[int]:
    """Index of each feature in the CSV header (any order, extra columns allowed); raises InvalidInput."""
    names, needed = [h.strip() for h in header], input_names(spec)
    missing = [f for f in needed if f not in names]
    if missing:
        shown = ", ".join(repr(m) for m in missing)
        raise InvalidInput(f"The CSV header lacks {shown}. {spec.name} needs a header row naming "
                           f"its features: {', '.join(needed)} (any order; extra columns are kept)")
    doubled = [f for f in needed if names.count(f) > 1]
    if doubled:
        raise InvalidInput(f"The CSV header names {doubled[0]!r} twice")
    return [names.index(f) for f in needed]


def parse_row(spec: ModelSpec, row: list[str], columns: list[int]) -> list[float] | tuple[str]:
    if spec.task == "recommendation":
        user = row[columns[0]].strip() if columns[0] < len(row) else ""
        if not user:
            raise RowError("no value for 'user'")
        return (user,)
    values = []
    for name, index in zip(spec.feature_names, columns, strict=True):
        text = row[index].strip() if index < len(row) else ""
        if not text:
            raise RowError(f"no value for '{name}'")
        try:
            value = float(text)
        except ValueError:
            raise RowError(f"'{name}' is not a number: {text[:30]!r}") from None
        if not math.isfinite(value):
            raise RowError(f"'{name}' must be a finite number, got {text[:30]!r}")
        values.append(value)
    return values


def score_chunk(service: ModelService, spec: ModelSpec, columns: list[int], chunk: list[Line],
                writer: Any, state: dict[str, Any], caller: str | None, log: Log | None = None) -> None:
    """Score one chunk with one model call; write its rows in order, errors in place.

    The chunk's answer goes to the prediction log (`log`) as one record with a request id per row.
    """
    parsed: list[list[float] | tuple[str] | str] = []
    for _, cells, problem in chunk:
        try:
            parsed.append(problem or parse_row(spec, cells, columns))
        except RowError as exc:
            parsed.append(str(exc))
    good = [(row_request_id(state["id"], line), item)
            for (line, _, _), item in zip(chunk, parsed, strict=True) if not isinstance(item, str)]
    outputs = score_rows(service, spec, good, caller, log) if good else iter(())
    blank = [""] * (len(output_columns(spec)) - 2)
    for (line, cells, _), item in zip(chunk, parsed, strict=True):
        if isinstance(item, str):
            writer.writerow([*cells, *blank, f"line {line}: {item}", ""])
            state["rows_failed"] += 1
            if len(state["errors"]) < MAX_LISTED_ERRORS:
                state["errors"].append({"line": line, "message": item})
        else:
            writer.writerow([*cells, *next(outputs), "", row_request_id(state["id"], line)])
    state["rows_done"] += len(chunk)


def score_rows(service: ModelService, spec: ModelSpec, good: list[tuple[str, Any]], caller: str | None,
               log: Log | None) -> Iterator[list[str]]:
    """One service call for the chunk's (request id, parsed row) pairs, logged; each row's output cells."""
    ids = [rid for rid, _ in good]
    target, started = Target(spec.name, spec.version, caller=caller), time.perf_counter()
    if spec.task == "recommendation":
        k = recommend_k(spec)
        question = RecommendQuery(tuple(RecommendRow(user=row[0], k=k) for _, row in good))
        answer = service.predict(target, lambda _: question)
        record = kind_record(answer, question, ids[0], time.perf_counter() - started, "csv", caller=caller,
                             row_ids=ids)
        outputs = recommend_cells(k, answer.values)
    else:
        batch = Tensor(np.asarray([row for _, row in good], dtype=np.float32))
        answer = service.predict(target, lambda _: batch)
        record = answer_record(answer, ids[0], time.perf_counter() - started, "csv", caller=caller,
                               row_ids=ids)
        outputs = format_values(spec, answer.values)
    if log is not None:
        log(record)
    return outputs


def recommend_cells(k: int, found: list[Recommendation]) -> Iterator[list[str]]:
    """Each row's items then scores, padded to k."""
    for one in found:
        pad = [""] * (k - len(one.items))
        yield [*one.items, *pad, *(f"{s:.6g}" for s in one.scores), *pad]


def format_values(spec: ModelSpec, values: np.ndarray) -> Iterator[list[str]]:
    if spec.task == "classification":
        best = np.argmax(values, axis=1)
        for i, row in enumerate(values):
            yield [spec.labels[best[i]], *(f"{p:.6g}" for p in row.tolist())]
    else:
        for value in values.reshape(-1).tolist():
            yield [f"{value:.6g}"]


def chunks(reader: Any, size: int, width: int) -> Iterator[list[Line]]:
    """(line number, cells, problem or None) in chunks; a malformed line is an error, not a stop.

    Cells are cut or padded to the header's width so the output's columns line up; a row with
    more cells than the header is an error.
    """
    chunk: list[Line] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            chunk.append((reader.line_num, [""] * width, f"unreadable CSV ({exc})"))
            continue
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are not rows
        problem = f"{len(row)} fields where the header has {width}" if len(row) > width else None
        chunk.append((reader.line_num, (row + [""] * width)[:width], problem))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader([fh.readline(1 << 20)]), [])
    except UnicodeDecodeError:
        raise InvalidInput("The CSV file is not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise InvalidInput(f"The CSV header cannot be read: {exc}") from None
    if not any(cell.strip() for cell in header):
        raise InvalidInput("The CSV file is empty; it needs a header row and data rows")
    return header
