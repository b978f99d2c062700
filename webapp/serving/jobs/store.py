"""CSV batch scoring as jobs kept in files, so that any worker process can report on any job.

Each job is a folder `<root>/<id>/` holding `input.csv` (the upload, streamed to disk), `output.csv`
(written by a background thread in the worker that took the upload, chunk by chunk) and
`progress.json` (replaced atomically after every chunk). With a job queue (queue.py) the job is cut
into pieces scored by Celery workers instead, and its progress is summed from their marks.
gunicorn runs several workers: a progress poll or a download may reach a different process than
the upload did, and only reads files. Memory stays flat whatever the file's size: rows stream
through csv.reader/csv.writer one chunk at a time.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import IO, Any

from webapp.serving.errors import InvalidInput, JobNotFound, Overloaded, ServingError
from webapp.serving.jobs import pieces
from webapp.serving.jobs.csv_scoring import (
    Log,
    chunks,
    feature_columns,
    output_columns,
    read_header,
    score_chunk,
)
from webapp.serving.jobs.queue import JobQueue
from webapp.serving.models.spec import ModelSpec
from webapp.serving.models.store import atomic_write_json
from webapp.serving.service import ModelService, Target

log = logging.getLogger(__name__)
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PROGRESS, INPUT, OUTPUT = "progress.json", "input.csv", "output.csv"
STALE_SECONDS = 300.0  # a running job not updated for this long lost its worker


class BatchJobs:
    """Create, run, report on and clean CSV scoring jobs under `root`."""

    def __init__(self, root: str | os.PathLike[str], service: ModelService, max_jobs: int = 20,
                 keep_seconds: float = 3600.0, chunk_rows: int = 2000, log: Log | None = None,
                 queue: JobQueue | None = None) -> None:
        self.root = Path(root)
        self.queue = queue  # None: scored by a thread of the process that took the upload
        self.service = service
        self.log = log  # the prediction log's submit: every scored chunk is logged
        self.max_jobs, self.keep_seconds = max_jobs, keep_seconds
        self.chunk_rows = max(1, min(chunk_rows, service.options.max_batch_rows))

    # -- files --------------------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        if not isinstance(job_id, str) or not JOB_ID_RE.match(job_id):
            raise JobNotFound()
        folder = self.root / job_id
        if not (folder / PROGRESS).is_file():
            raise JobNotFound()
        return folder

    def progress(self, job_id: str) -> dict[str, Any]:
        """The job's latest progress document; raises JobNotFound."""
        folder = self.folder(job_id)
        try:
            doc = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise JobNotFound() from None
        return pieces.merged(folder, doc) if "pieces" in doc else doc

    def output_path(self, job_id: str) -> Path:
        """The scored CSV of a finished job; raises JobNotFound."""
        path = self.folder(job_id) / OUTPUT
        if not path.is_file():
            raise JobNotFound()
        return path

    def preview(self, job_id: str, rows: int = 20) -> tuple[list[str], list[list[str]]]:
        """The header and first rows of a finished job's output."""
        with open(self.output_path(job_id), newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            return header, [row for _, row in zip(range(rows), reader, strict=False)]

    # -- creating -----------------------------------------------------------------------------
    def create(self, name: str, stream: IO[bytes], filename: str = "", version: int | None = None,
               label: str | None = None, caller: str | None = None) -> str:
        """Save the upload, check its header and start scoring it; returns the job id.

        Raises InvalidInput for a bad file, ModelNotFound/ModelUnavailable, Overloaded when full.
        """
        status = self.service.version(Target(name, version, label, caller))
        spec = status.spec
        assert spec is not None
        if spec.image is not None or spec.task == "chat":
            raise InvalidInput(f"{name} takes {'images' if spec.image else 'conversations'}; CSV scoring "
                               "is for models with features and recommenders")
        self._make_room()
        job_id = secrets.token_urlsafe(18)
        folder = self.root / job_id
        folder.mkdir(parents=True)
        try:
            rows = _save(stream, folder / INPUT)
            columns = feature_columns(spec, read_header(folder / INPUT))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        state = {"id": job_id, "state": "queued", "model": name, "version": status.version,
                 "filename": os.path.basename(filename)[:200], "rows_total": rows, "rows_done": 0,
                 "rows_failed": 0, "errors": [], "created": time.time(), "updated": time.time(),
                 "pid": os.getpid(), "message": ""}
        if self.queue is not None:
            self.queue.submit(folder, state, columns, self.chunk_rows, caller)
            return job_id
        atomic_write_json(folder / PROGRESS, state)
        thread = threading.Thread(target=self._run, args=(folder, spec, columns, state, caller),
                                  name=f"podium-batch-{job_id[:6]}", daemon=True)
        thread.start()
        return job_id

    def _make_room(self) -> None:
        """Drop old and orphaned jobs; refuse when every kept slot holds a live job."""
        self.root.mkdir(parents=True, exist_ok=True)
        now = time.time()
        live = []
        for folder in sorted(self.root.iterdir(), key=_mtime):
            age = now - _mtime(folder)
            if age > self.keep_seconds or (age > STALE_SECONDS and _running(folder)):
                shutil.rmtree(folder, ignore_errors=True)
            else:
                live.append(folder)
        while len(live) >= self.max_jobs:
            finished = [f for f in live if not _running(f)]
            if not finished:
                raise Overloaded("Too many CSV jobs are running; try again in a minute", 30)
            shutil.rmtree(finished[0], ignore_errors=True)
            live.remove(finished[0])

    # -- scoring ------------------------------------------------------------------------------
    def _run(self, folder: Path, spec: ModelSpec, columns: list[int], state: dict[str, Any],
             caller: str | None) -> None:
        state["state"] = "running"
        tmp = folder / (OUTPUT + ".part")
        try:
            with open(folder / INPUT, newline="", encoding="utf-8-sig", errors="replace") as src, \
                    open(tmp, "w", newline="", encoding="utf-8") as dst:
                reader, writer = csv.reader(src), csv.writer(dst)
                header = next(reader)
                writer.writerow([*header, *output_columns(spec)])
                for chunk in chunks(reader, self.chunk_rows, len(header)):
                    score_chunk(self.service, spec, columns, chunk, writer, state, caller, self.log)
                    atomic_write_json(folder / PROGRESS, {**state, "updated": time.time()})
            os.replace(tmp, folder / OUTPUT)
            state.update(state="done", rows_total=state["rows_done"])
        except Exception as exc:  # the job fails with a reason; the worker lives on
            message = exc.message if isinstance(exc, ServingError) else f"{type(exc).__name__}: {exc}"
            log.warning("Batch job %s failed: %s", folder.name, message)
            state.update(state="failed", message=message)
            tmp.unlink(missing_ok=True)
        try:
            atomic_write_json(folder / PROGRESS, {**state, "updated": time.time()})
        except OSError as exc:  # the folder was cleaned away under the job: nothing left to tell
            log.warning("Batch job %s lost its folder: %s", folder.name, exc)

def _save(stream: IO[bytes], path: Path) -> int:
    """Copy the upload to disk in blocks; returns an estimate of the data rows (for progress)."""
    lines, last = 0, b"\n"
    with open(path, "wb") as out:
        while block := stream.read(1 << 20):
            out.write(block)
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines + (last != b"\n") - 1)


def _mtime(folder: Path) -> float:
    """When the job last moved (the folder's own time while its upload is still being saved)."""
    for path in (folder / PROGRESS, folder):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def _running(folder: Path) -> bool:
    try:
        return json.loads((folder / PROGRESS).read_text(encoding="utf-8"))["state"] in (
            "queued", "running")
    except (OSError, ValueError, KeyError, TypeError):
        return False
