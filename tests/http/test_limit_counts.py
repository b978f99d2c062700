"""Rate-limit counts in a worker's memory: the same verdicts as `limits`' own memory storage, old
entries still swept (memory stays bounded), and no thread started for counting."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from webapp.http import limit_counts
from webapp.http.limit_counts import SweptMemoryStorage, open_counts


def verdicts(storage, strategy, item, clients=("a", "b"), rounds=5):
    limiter = strategy(storage)
    seen = []
    for _ in range(rounds):
        for client in clients:
            allowed = limiter.hit(item, "podium", client)
            reset, remaining = limiter.get_window_stats(item, "podium", client)
            seen.append((allowed, remaining, round(reset)))
    return seen


def test_memory_counts_answer_as_limits_own_memory_storage():
    item = parse("3/minute")
    for strategy in (MovingWindowRateLimiter, FixedWindowRateLimiter):
        ours = verdicts(open_counts("memory://"), strategy, item)
        theirs = verdicts(MemoryStorage("memory://"), strategy, item)
        assert ours == theirs
        assert [allowed for allowed, _, _ in ours] == [True] * 6 + [False] * 4


def test_old_entries_are_swept_so_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr(limit_counts, "SWEEP_EVERY", 0.0)
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    second = parse("5/second")
    for client in ("gone-1", "gone-2"):
        limiter.hit(second, "podium", client)
    time.sleep(1.1)  # both windows end
    limiter.hit(second, "podium", "still-here")
    assert [events for key, events in storage.events.items() if "gone" in key] == [[], []]
    assert limiter.get_window_stats(second, "podium", "still-here").remaining == 4


def test_counting_starts_no_thread():
    storage = open_counts("")
    limiter = MovingWindowRateLimiter(storage)
    item = parse("1000/second")
    time.sleep(0.05)  # the storage's first timer has run out
    started = []
    real_start = threading.Thread.start

    def spy(self):
        started.append(self.name)
        return real_start(self)

    threading.Thread.start = spy
    try:
        for _ in range(5):
            limiter.hit(item, "podium", "client")
            time.sleep(0.02)  # limits' own storage starts a Timer again after each 10 ms one ends
    finally:
        threading.Thread.start = real_start
    assert started == []
