"""Adaptive micro-batching: concurrent requests in one worker merge into one model call.

The batcher holds the model call (composition, no patching of `predict`). Each request gets a
`concurrent.futures.Future`; a daemon thread, started on the first request (so after the fork),
takes the first waiting request, then everything already queued, then waits at most `max_delay`
for more, up to `max_batch_size` rows; one model call answers them all, and each request gets its
own rows back, in order. A failed call fails every member with the same, real exception.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np


class TimedFuture(Future):
    """A member's answer, and how long it waited in the queue before its batch ran."""

    waited: float = 0.0


@dataclass
class _Request:
    batch: np.ndarray
    future: TimedFuture = field(default_factory=TimedFuture)
    enqueued: float = field(default_factory=time.perf_counter)


class Batcher:
    """Merge concurrent `run` calls into batches for `call`; thread-safe."""

    def __init__(self, call: Callable[[np.ndarray], np.ndarray], max_batch_size: int = 32,
                 max_delay: float = 0.002,
                 on_batch: Callable[[int, float, list[float]], None] | None = None) -> None:
        self.call, self.max_batch_size, self.max_delay = call, max(1, max_batch_size), max_delay
        self.on_batch = on_batch  # (rows, compute seconds, queue seconds of each member)
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.batches = 0

    def submit(self, batch: np.ndarray) -> TimedFuture:
        request = _Request(batch)
        with self._start_lock:
            closed = self._closed
            if not closed:
                self._queue.put(request)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="podium-batcher", daemon=True)
                    self._thread.start()
        if closed:  # a retired version still finishing in-flight requests: answer on this thread
            self._answer([request])
        return request.future

    def close(self) -> None:
        """Stop the thread once the queue is answered; later requests run on the caller's thread."""
        with self._start_lock:
            self._closed = True
            self._queue.put(None)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            members, stop = self._collect(first)
            self._answer(members)
            if stop:
                break
        while True:  # answer whatever was queued before close()
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return
            if request is not None:
                self._answer([request])

    def _collect(self, first: _Request) -> tuple[list[_Request], bool]:
        members, rows = [first], len(first.batch)
        deadline = time.perf_counter() + self.max_delay
        while rows < self.max_batch_size:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.perf_counter()
                if wait <= 0:
                    break
                try:
                    request = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
            if request is None:
                return members, True
            members.append(request)
            rows += len(request.batch)
        return members, False

    def _answer(self, members: list[_Request]) -> None:
        live = [m for m in members if m.future.set_running_or_notify_cancel()]
        if not live:
            return
        started = time.perf_counter()
        try:
            merged = live[0].batch if len(live) == 1 else np.concatenate([m.batch for m in live])
            out = self.call(merged)
            if len(out) != len(merged):
                raise RuntimeError(f"The model answered {len(out)} rows for {len(merged)}")
        except BaseException as exc:  # every member learns the real reason
            for m in live:
                m.future.set_exception(exc)
            return
        finished = time.perf_counter()
        self.batches += 1
        offset = 0
        for m in live:
            m.future.waited = started - m.enqueued
            m.future.set_result(out[offset:offset + len(m.batch)])
            offset += len(m.batch)
        if self.on_batch is not None:
            with contextlib.suppress(Exception):  # a metrics fault must not stop the batcher
                self.on_batch(len(merged), finished - started, [started - m.enqueued for m in live])
