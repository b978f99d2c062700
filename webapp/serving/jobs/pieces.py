"""A CSV job cut into pieces that any worker on any machine can score, redo, and put together.

The instance that takes the upload cuts `input.csv` into pieces of `chunk_rows` records (byte
ranges, so a worker seeks to its piece instead of reading the file from the top) and queues one
task per piece. A worker scores its piece into `pieces/<n>.csv` (written aside, then renamed) and
only then writes `pieces/<n>.json`, the piece's "done" mark with its counts. A worker killed
mid-piece leaves no mark and no half-written file; the piece is delivered again and redone whole.
Whoever marks the last piece assembles `output.csv` (aside, then renamed) and says "done".
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from webapp.serving.jobs.csv_scoring import MAX_LISTED_ERRORS, Log, chunks, output_columns, score_chunk
from webapp.serving.models.spec import ModelSpec
from webapp.serving.models.store import atomic_write_json
from webapp.serving.service import ModelService

PIECES, PROGRESS, INPUT, OUTPUT = "pieces", "progress.json", "input.csv", "output.csv"


@dataclass(frozen=True)
class Piece:
    """Records `[start, end)` in bytes of input.csv; `line` physical lines come before `start`."""

    index: int
    start: int
    end: int
    line: int


class _Lines:
    """Decoded lines of a byte range that remember where they end (csv.reader never reads ahead)."""

    def __init__(self, fh: Any, end: int | None) -> None:
        self.fh, self.end, self.offset = fh, end, fh.tell()

    def __iter__(self) -> Iterator[str]:
        while self.end is None or self.offset < self.end:
            raw = self.fh.readline()
            if not raw:
                return
            self.offset += len(raw)
            yield raw.decode("utf-8", errors="replace")


class _Offset:
    """A csv.reader whose line numbers count from the piece's first line in the whole file."""

    def __init__(self, reader: Any, before: int) -> None:
        self.reader, self.before = reader, before

    def __iter__(self) -> _Offset:
        return self

    def __next__(self) -> list[str]:
        return next(self.reader)

    @property
    def line_num(self) -> int:
        return self.before + self.reader.line_num


def split(path: Path, rows: int) -> tuple[list[str], list[Piece]]:
    """The header and the pieces of `rows` records each (at least one piece, maybe empty)."""
    pieces: list[Piece] = []
    with open(path, "rb") as fh:
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        lines = _Lines(fh, None)
        reader = csv.reader(iter(lines))
        header = next(reader, [])
        start, line, count = lines.offset, reader.line_num, 0
        for _ in _records(reader):
            count += 1
            if count == rows:
                pieces.append(Piece(len(pieces), start, lines.offset, line))
                start, line, count = lines.offset, reader.line_num, 0
        if count or not pieces:
            pieces.append(Piece(len(pieces), start, lines.offset, line))
    return header, pieces


def _records(reader: Any) -> Iterator[list[str]]:
    """Every record, an unreadable one included (it is an error row later, as in one process)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield []
            continue
        if row and any(cell.strip() for cell in row):
            yield row


def score_piece(service: ModelService, spec: ModelSpec, columns: list[int], folder: Path,
                piece: Piece, rows: int, caller: str | None, log: Log | None,
                flush: Any = None) -> None:
    """Score one piece into pieces/<n>.csv, then mark it done; a repeat overwrites both whole."""
    out = folder / PIECES
    out.mkdir(exist_ok=True)
    state: dict[str, Any] = {"id": folder.name, "rows_done": 0, "rows_failed": 0, "errors": []}
    tmp = out / f".{piece.index}.csv.{os.getpid()}"
    try:
        with open(folder / INPUT, "rb") as src, open(tmp, "w", newline="", encoding="utf-8") as dst:
            src.seek(piece.start)
            reader = _Offset(csv.reader(iter(_Lines(src, piece.end))), piece.line)
            writer, width = csv.writer(dst), len(spec_header(folder))
            for chunk in chunks(reader, rows, width):
                score_chunk(service, spec, columns, chunk, writer, state, caller, log)
        if flush is not None:
            flush()  # the log holds this piece's rows before the piece counts as done
        os.replace(tmp, out / f"{piece.index}.csv")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    atomic_write_json(out / f"{piece.index}.json", {**state, "index": piece.index})


def spec_header(folder: Path) -> list[str]:
    """input.csv's header row, as `split` read it."""
    with open(folder / INPUT, "rb") as fh:
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        return next(csv.reader([fh.readline(1 << 20).decode("utf-8", errors="replace")]), [])


def marks(folder: Path) -> list[dict[str, Any]]:
    """The done marks of the pieces scored so far."""
    found = []
    for path in (folder / PIECES).glob("*.json"):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


def merged(folder: Path, state: dict[str, Any]) -> dict[str, Any]:
    """The progress document of a queued job, its counts summed from the pieces' marks."""
    if state["state"] not in ("queued", "running"):
        return state
    done = marks(folder)
    errors = sorted((e for m in done for e in m["errors"]), key=lambda e: e["line"])
    return {**state, "state": "running" if done else "queued",
            "rows_done": sum(m["rows_done"] for m in done),
            "rows_failed": sum(m["rows_failed"] for m in done),
            "errors": errors[:MAX_LISTED_ERRORS], "pieces_done": len(done)}


def assemble_if_complete(folder: Path, spec: ModelSpec, header: list[str]) -> bool:
    """When every piece is marked, write output.csv (aside, then renamed) and say "done"."""
    state = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    if state["state"] == "done":
        return True
    progress = merged(folder, state)
    if progress.get("pieces_done", 0) < state["pieces"]:
        return False
    tmp = folder / f".{OUTPUT}.{os.getpid()}"
    with open(tmp, "w", newline="", encoding="utf-8") as dst:
        csv.writer(dst).writerow([*header, *output_columns(spec)])
        for index in range(state["pieces"]):
            with open(folder / PIECES / f"{index}.csv", encoding="utf-8", newline="") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, folder / OUTPUT)
    atomic_write_json(folder / PROGRESS, {**progress, "state": "done", "updated": time.time(),
                                          "rows_total": progress["rows_done"]})
    return True


def fail(folder: Path, message: str) -> None:
    state = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    atomic_write_json(folder / PROGRESS, {**state, "state": "failed", "message": message,
                                          "updated": time.time()})


def describe(piece: Piece) -> dict[str, int]:
    return asdict(piece)
