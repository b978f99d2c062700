"""CSV jobs on a real queue: Celery over Redis, one task per piece (pieces.py).

Tasks are acknowledged only when they return (`acks_late`) and put back when the process running
them dies (`reject_on_worker_lost`); Redis hands an unacknowledged task of a worker that vanished
whole (SIGKILL, an OOM kill, a lost node) to another after `visibility_timeout` seconds. A piece
is redone from the top, so a task may run twice, never half: its output is written aside and
renamed, and its prediction log rows carry fixed request ids (`<job>-<line>`), which the log
inserts once (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

from webapp.serving.errors import ModelUnavailable, Overloaded, ServingError
from webapp.serving.jobs import pieces
from webapp.serving.jobs.csv_scoring import Log
from webapp.serving.service import ModelService, Target

log = logging.getLogger(__name__)
TASK = "podium.score_piece"


@dataclass
class WorkerContext:
    """What a worker process scores with: its service, the jobs folder, the log and its flush."""

    service: ModelService
    root: Path
    log: Log | None
    flush: Callable[[], Any] | None


_context: Callable[[], WorkerContext] | None = None


def set_context(factory: Callable[[], WorkerContext]) -> None:
    """The worker module says how to build its context (once per worker process, lazily)."""
    global _context
    _context = factory


def make_celery(broker_url: str, visibility_timeout: float = 300.0) -> Celery:
    app = Celery("podium", broker=broker_url)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_ignore_result=True, broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False, task_default_queue="podium-jobs",
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )
    app.task(name=TASK, bind=True, max_retries=None)(_score_piece)
    return app


def _score_piece(task: Any, job: str, piece: dict[str, int], model: str, version: int,
                 columns: list[int], rows: int, caller: str | None) -> None:
    """Score one piece; the last one done puts the output together. Failures end the job."""
    assert _context is not None, "set_context() first: run `flask jobs worker`"
    context = _context()
    folder = context.root / job
    if not (folder / pieces.PROGRESS).is_file():
        return  # the job was removed meanwhile
    try:
        spec = context.service.version(Target(model, version)).spec
        assert spec is not None
        pieces.score_piece(context.service, spec, columns, folder, pieces.Piece(**piece), rows,
                           caller, context.log, context.flush)
        pieces.assemble_if_complete(folder, spec, pieces.spec_header(folder))
    except ModelUnavailable as exc:  # still loading here: try again shortly
        raise task.retry(countdown=1.0, exc=exc) from None
    except ServingError as exc:
        log.warning("Batch job %s failed: %s", job, exc.message)
        pieces.fail(folder, exc.message)
    except Exception as exc:  # the job fails with a reason; the worker lives on
        log.warning("Batch job %s failed: %s", job, exc)
        pieces.fail(folder, f"{type(exc).__name__}: {exc}")


class JobQueue:
    """The web side: cut a saved job into pieces and queue them."""

    def __init__(self, broker_url: str, visibility_timeout: float = 300.0) -> None:
        self.celery = make_celery(broker_url, visibility_timeout)

    def submit(self, folder: Path, state: dict[str, Any], columns: list[int], rows: int,
               caller: str | None) -> None:
        """Write the queued progress (with the piece count), then send one task per piece of `rows`.

        Raises Overloaded when the broker does not answer (the job is marked failed).
        """
        _, cut = pieces.split(folder / pieces.INPUT, rows)
        state.update(pieces=len(cut), updated=time.time())
        pieces.atomic_write_json(folder / pieces.PROGRESS, state)
        try:
            for piece in cut:
                self.celery.send_task(TASK, args=(folder.name, pieces.describe(piece), state["model"],
                                                  state["version"], columns, rows, caller))
        except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout
            log.error("The CSV job queue does not answer: %s", exc)
            pieces.fail(folder, "The job queue did not answer")
            raise Overloaded("The CSV job queue does not answer; try again in a minute", 30) from None
