"""The monitoring core wired to the model service: its settings from the app's config, what the
background monitor predicts with, and the log record of one answer or failure.

The monitor's own predictions (answers on reference rows, calibration on held-out rows) go through
`ModelService.run_batch`, which counts nothing, so they never show up as requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from webapp.serving.boundary import Answer, Question
from webapp.serving.chat.conversation import ChatAnswer, Chunk, Usage
from webapp.serving.errors import ServingError
from webapp.serving.models.spec import ModelSpec
from webapp.serving.monitoring.components import Monitoring, MonitoringSettings, create_monitoring, prepare
from webapp.serving.monitoring.database import describe_error
from webapp.serving.monitoring.prepared import VersionSource
from webapp.serving.monitoring.records import PredictionRecord
from webapp.serving.service import ModelService

log = logging.getLogger(__name__)
CHOSEN_BY = {"version": "pinned"}  # the service says "version" for a pinned one; the log says "pinned"


def monitoring_settings(config: Mapping[str, Any], instance_path: str) -> MonitoringSettings:
    """The monitoring block of the app's config as the core's settings."""
    days, rows = float(config["LOG_RETENTION_DAYS"]), int(config["LOG_RETENTION_ROWS"])
    return MonitoringSettings(
        instance_path=instance_path, database_url=config["DATABASE_URL"] or None,
        sample_rate=float(config["LOG_SAMPLE_RATE"]),
        sample_rates={str(k): float(v) for k, v in dict(config["LOG_SAMPLE_RATES"]).items()},
        queue_size=int(config["LOG_QUEUE_SIZE"]), interval_s=float(config["MONITOR_INTERVAL"]),
        retention_days=days if days > 0 else None, retention_rows=rows if rows > 0 else None,
        webhook_url=config["ALERT_WEBHOOK_URL"] or None,
        hash_key=_secret(config, "LOG_HASH_KEY"), encryption_key=_secret(config, "LOG_ENCRYPTION_KEY"))


def _secret(config: Mapping[str, Any], name: str) -> str | None:
    """A key given outright, or read from the file `<name>_FILE` names (a mounted secret)."""
    if config.get(name):
        return str(config[name])
    path = config.get(f"{name}_FILE")
    return Path(path).read_text(encoding="utf-8").strip() if path else None


def sources_of(service: ModelService) -> Any:
    """`sources(model)` for the monitor: the served versions, predicting through `run_batch`."""

    def sources(model: str) -> dict[int, VersionSource]:
        try:
            versions = service.model(model).versions
        except ServingError:
            return {}
        return {number: VersionSource(status.spec, partial(service.run_batch, model, number))
                for number, status in versions.items() if status.ready and status.spec is not None}

    return sources


def prepare_once(settings: MonitoringSettings, flag: str = "") -> None:
    """Check and upgrade the database unless this server start already did (`flag` exists).

    A database that does not answer is logged, never fatal: predictions are served regardless.
    """
    if flag and Path(flag).exists():
        return
    try:
        revision = prepare(settings)
    except Exception as exc:  # down, refusing, or a migration that cannot run: say so and serve
        log.error("Could not prepare Podium's database (%s); log writes are dropped and counted "
                  "until 'flask db upgrade' succeeds", describe_error(exc))
        return
    log.info("Podium's database is at revision %s", revision)
    if flag:
        Path(flag).touch()


def build_monitoring(config: Mapping[str, Any], instance_path: str,
                     service: ModelService) -> Monitoring | None:
    """This process's monitoring (None when MONITORING is off); threads start with `start()`."""
    if not config["MONITORING"]:
        return None
    settings = monitoring_settings(config, instance_path)
    prepare_once(settings, config["DATABASE_PREPARED_FLAG"])
    return create_monitoring(settings, sources_of(service), lambda: sorted(service.models()),
                             ready=service.ready)


def answer_record(answer: Answer, request_id: str, latency_s: float, source: str, *,
                  caller: str | None = None, client_request_id: str | None = None,
                  uploads: list[bytes] | None = None, row_ids: list[str] | None = None) -> PredictionRecord:
    """The log record of an answer: references to the batch and values, nothing copied."""
    served = answer.served
    return PredictionRecord(request_id, served.model, served.version, served.spec, answer.batch,
                            answer.values, latency_s, 200, client_request_id,
                            CHOSEN_BY.get(answer.chosen_by, answer.chosen_by), caller, source,
                            uploads, row_ids=row_ids)


def failure_record(model: str, spec: ModelSpec | None, request_id: str, latency_s: float, status: int,
                   source: str, *, chosen_by: str = "default", caller: str | None = None,
                   client_request_id: str | None = None) -> PredictionRecord:
    """The log record of a prediction that failed: status and latency, the version if one was chosen."""
    return PredictionRecord(request_id, model, spec.version if spec else None, None, None, None,
                            latency_s, status, client_request_id, chosen_by, caller, source)


def kind_record(answer: Answer, question: Question, request_id: str, latency_s: float, source: str, *,
                caller: str | None = None, client_request_id: str | None = None,
                chat: ChatAnswer | None = None, first_token_s: float | None = None,
                row_ids: list[str] | None = None) -> PredictionRecord:
    """The log record of a recommender's or a chat's answer: the question and what it answered.

    `row_ids` names each row's own request id (a CSV job's rows), as for `answer_record`.
    """
    served = answer.served
    extra = {"question": question, "answer": chat if chat is not None else answer.values,
             "first_token_s": first_token_s}
    return PredictionRecord(request_id, served.model, served.version, served.spec, None, None, latency_s,
                            200, client_request_id, CHOSEN_BY.get(answer.chosen_by, answer.chosen_by),
                            caller, source, extra=extra, row_ids=row_ids)


StreamDone = Callable[[ChatAnswer, "float | None", float], None]


class logged_stream:  # noqa: N801 - used as a function that wraps an iterator
    """The chunks as they pass, then `done(answer, first_token_s, elapsed_s)` with the text sent.

    Called exactly once: at the end, or when the caller drops the stream halfway (even before the
    first chunk; `finish_reason` "incomplete") or the backend fails mid-stream ("error").
    Closing this closes the backend's stream.
    """

    def __init__(self, chunks: Iterator[Chunk], done: StreamDone) -> None:
        self.chunks, self.done = iter(chunks), done
        self.started, self.first, self.parts, self.last = time.perf_counter(), None, [], Chunk()
        self.finished = False

    def __iter__(self) -> logged_stream:
        return self

    def __next__(self) -> Chunk:
        try:
            chunk = next(self.chunks)
        except StopIteration:
            self.close()
            raise
        except Exception:
            self.close("error")
            raise
        if chunk.text:
            self.first = self.first if self.first is not None else time.perf_counter() - self.started
            self.parts.append(chunk.text)
        self.last = chunk
        return chunk

    def close(self, reason: str = "incomplete") -> None:
        if self.finished:
            return
        self.finished = True
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        last = self.last
        answer = ChatAnswer("".join(self.parts), last.finish_reason or reason, last.usage or Usage(0, 0),
                            last.sources)
        self.done(answer, self.first, time.perf_counter() - self.started)
