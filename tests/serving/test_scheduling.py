"""Micro-batching, load shedding and the prediction cache, on a real converted model (iris v1).

A gate holds the first model call so that the next requests are certainly queued together: the
tests assert what merges and who gets which rows, never how long anything took.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from webapp.serving.acceleration import choose
from webapp.serving.acceleration.convert import check_rows
from webapp.serving.errors import Overloaded
from webapp.serving.scheduling.batching import Batcher
from webapp.serving.scheduling.scheduler import Policy, Scheduler
from webapp.serving.service import Target


class Gate:
    """Wraps a model call; the first call blocks until `open()`; records the rows of each call."""

    def __init__(self, call):
        self.call, self.entered, self.released, self.calls = call, threading.Event(), threading.Event(), []

    def __call__(self, batch):
        self.calls.append(len(batch))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.released.wait(30)
        return self.call(batch)

    def open(self):
        self.released.set()


@pytest.fixture
def iris(shared_app):
    """The served runtime of iris version 1 (its verified fast form) and rows to feed it."""
    spec = shared_app.extensions["podium.service"].version(Target("iris", 1)).spec
    runtime, _ = choose.load(spec, trusted=False, threads=1)
    rows, _ = check_rows(spec)
    return runtime, rows


def ask(scheduler: Scheduler, batch):
    """One request through the scheduler, as the service makes it: a queue place, then the answer."""
    with scheduler.slot():
        return scheduler.answer(batch)


def test_queued_requests_merge_into_one_call_and_each_gets_its_own_rows_in_order(iris):
    runtime, rows = iris
    gate = Gate(runtime.run)
    batcher = Batcher(gate, max_batch_size=64, max_delay=0.0)
    first = batcher.submit(rows[:1])
    assert gate.entered.wait(30)
    parts = [rows[1 + 3 * i: 4 + 3 * i] for i in range(6)]
    futures = [batcher.submit(p) for p in parts]
    gate.open()
    np.testing.assert_array_equal(first.result(30), runtime.run(rows[:1]))
    for part, future in zip(parts, futures, strict=True):
        np.testing.assert_allclose(future.result(30), runtime.run(part), rtol=1e-6, atol=1e-7)
    assert gate.calls == [1, 18]
    batcher.close()


def test_a_failed_batch_fails_each_member_with_the_real_error_and_the_next_batch_works(iris):
    runtime, rows = iris

    def flaky(batch):
        if len(batch) == 2:
            raise ValueError("the model refused this batch")
        return runtime.run(batch)

    gate = Gate(flaky)
    batcher = Batcher(gate, max_batch_size=2, max_delay=0.0)
    first = batcher.submit(rows[:3])
    assert gate.entered.wait(30)
    doomed = [batcher.submit(rows[i:i + 1]) for i in (3, 4)]
    fine = batcher.submit(rows[5:6])
    gate.open()
    assert first.result(30).shape == (3, 3)
    for future in doomed:
        with pytest.raises(ValueError, match="refused this batch"):
            future.result(30)
    np.testing.assert_allclose(fine.result(30), runtime.run(rows[5:6]), rtol=1e-6)
    batcher.close()


def test_bad_input_among_concurrent_requests_gets_its_own_400(client, user_headers):
    good = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    bad = {"instances": [[5.1, 3.5]]}
    results = {}

    def call(key, body):
        results[key] = client.post("/api/v1/models/iris:predict", json=body, headers=user_headers)

    threads = [threading.Thread(target=call, args=(i, bad if i == 3 else good)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results[3].status_code == 400
    assert all(results[i].status_code == 200 for i in range(8) if i != 3)


def test_a_full_queue_answers_overloaded_at_once(iris):
    runtime, rows = iris
    gate = Gate(runtime.run)
    scheduler = Scheduler("iris", 1, gate, Policy(max_batch_size=1, max_queue=1))
    holder = threading.Thread(target=ask, args=(scheduler, rows[:1]))
    holder.start()
    assert gate.entered.wait(30)
    with pytest.raises(Overloaded) as refused:
        ask(scheduler, rows[:1])
    assert refused.value.retry_after >= 1
    gate.open()
    holder.join(30)
    assert scheduler.info()["shed"] == 1
    np.testing.assert_array_equal(ask(scheduler, rows[:1]), runtime.run(rows[:1]))


def test_a_request_past_its_deadline_in_the_queue_is_refused(iris):
    runtime, rows = iris
    gate = Gate(runtime.run)
    scheduler = Scheduler("iris", 1, gate, Policy(max_batch_size=8, max_delay_ms=0, deadline_s=0.05))
    outcome = []

    def hold():
        try:
            ask(scheduler, rows[:1])
        except Overloaded as exc:  # the held call outlives its deadline too
            outcome.append(exc)

    holder = threading.Thread(target=hold)
    holder.start()
    assert gate.entered.wait(30)
    with pytest.raises(Overloaded, match="deadline"):
        ask(scheduler, rows[1:2])
    gate.open()
    holder.join(30)
    assert len(outcome) == 1
    assert gate.calls == [1], "the expired request must not reach the model"
    scheduler.close()


def test_the_cache_answers_repeated_inputs_only_for_deterministic_models(iris):
    runtime, rows = iris
    calls = []
    policy = Policy(cache_size=2).override({"deterministic": True})
    scheduler = Scheduler("iris", 1, lambda b: calls.append(len(b)) or runtime.run(b), policy)
    first = ask(scheduler, rows[:1])
    again = ask(scheduler, rows[:1].copy())
    np.testing.assert_array_equal(first, again)
    assert calls == [1]
    assert scheduler.info()["cache"] | {"size": 2} == {"size": 2, "entries": 1, "hits": 1, "misses": 1}
    assert Policy(cache_size=2).override({"deterministic": False}).cache_size == 0


def test_manifest_batching_overrides_the_config():
    policy = Policy().override({"batching": {"max_batch_size": 16, "max_delay_ms": 1}})
    assert (policy.max_batch_size, policy.max_delay_ms) == (16, 1.0)


def test_a_place_is_held_for_the_whole_request_and_given_back_after(iris):
    runtime, rows = iris
    scheduler = Scheduler("iris", 1, runtime.run, Policy(max_queue=1))
    with scheduler.slot():  # as the service does before the adapter decodes the body
        np.testing.assert_array_equal(scheduler.answer(rows[:1]), runtime.run(rows[:1]))
        assert scheduler.info()["waiting"] == 1
        with pytest.raises(Overloaded):
            ask(scheduler, rows[:1])
    assert scheduler.info()["waiting"] == 0
    np.testing.assert_array_equal(ask(scheduler, rows[:1]), runtime.run(rows[:1]))


def test_a_closed_batcher_still_answers_late_requests(iris):
    runtime, rows = iris
    batcher = Batcher(runtime.run, max_batch_size=8, max_delay=0.0)
    batcher.submit(rows[:1]).result(30)
    batcher.close()  # the version was replaced while this request was in flight
    np.testing.assert_array_equal(batcher.submit(rows[1:2]).result(30), runtime.run(rows[1:2]))
