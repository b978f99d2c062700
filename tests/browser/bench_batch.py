"""Measure a 100,000-row iris CSV scored through the browser flow under gunicorn (2 workers).

Run from the repository root: `.venv/bin/python -m tests.browser.bench_batch [ROWS] [STORE]`.
Prints how long the upload → scored → downloaded flow took, how many distinct progress values
the page showed, and each worker's resident memory before and at its peak (sampled every 0.1 s).
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from tests.browser.conftest import ARGS, CHROMIUM
from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn
from webapp.demos import train_demos

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def make_csv(rows: int) -> bytes:
    rng = random.Random(0)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row_id", *FEATURES])
    for i in range(rows):
        writer.writerow([i, round(rng.uniform(4.3, 7.9), 1), round(rng.uniform(2.0, 4.4), 1),
                         round(rng.uniform(1.0, 6.9), 1), round(rng.uniform(0.1, 2.5), 1)])
    return out.getvalue().encode()


class RssSampler(threading.Thread):
    """Peak RSS of each gunicorn worker (the master's children), sampled until stopped."""

    def __init__(self, master_pid: int) -> None:
        super().__init__(daemon=True)
        self.master = psutil.Process(master_pid)
        self.peak: dict[int, float] = {}
        self.stop = threading.Event()

    def sample(self) -> dict[int, float]:
        figures = {}
        for child in self.master.children():
            try:
                figures[child.pid] = child.memory_info().rss / 2**20
            except psutil.Error:
                continue
        return figures

    def run(self) -> None:
        while not self.stop.is_set():
            for pid, rss in self.sample().items():
                self.peak[pid] = max(self.peak.get(pid, 0.0), rss)
            time.sleep(0.1)


def main(rows: int, store: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    if store is None:
        store = work / "store"
        train_demos(store, only={"iris"})
    body = make_csv(rows)
    with gunicorn(store, work / "instance", {"admin": ADMIN, "user": USER}, workers=2) as server, \
            sync_playwright() as playwright:
        sampler = RssSampler(server.process.pid)
        time.sleep(3)  # let both workers finish loading
        before = sampler.sample()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(base_url=server.url, accept_downloads=True).new_page()
        page.goto("/models/iris")
        page.get_by_label("CSV file", exact=True).set_input_files(
            files=[{"name": "iris-100k.csv", "mimeType": "text/csv", "buffer": body}])
        sampler.start()
        started = time.perf_counter()
        page.get_by_role("button", name="Score the file").click()
        page.wait_for_url("**/jobs/*")
        uploaded = time.perf_counter()
        shown: set[str] = set()
        while not page.get_by_role("heading", name="Results").is_visible():
            if time.perf_counter() - started > 600:
                raise RuntimeError("the job did not finish in 10 minutes")
            with contextlib.suppress(Exception):  # the page reloads when the job is done
                shown.add(page.locator("progress").get_attribute("value", timeout=1000) or "")
            time.sleep(0.1)
        scored = time.perf_counter()
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the scored CSV").click()
        target = work / "scored.csv"
        info.value.save_as(target)
        downloaded = time.perf_counter()
        sampler.stop.set()
        sampler.join()
        with open(target, newline="") as fh:
            lines = sum(1 for _ in csv.reader(fh)) - 1
        browser.close()
    print(f"rows: {rows:,}  csv: {len(body) / 2**20:.1f} MiB  scored rows downloaded: {lines:,}")
    print(f"upload + redirect: {uploaded - started:.1f} s   "
          f"scoring seen by the page: {scored - uploaded:.1f} s   "
          f"download: {downloaded - scored:.1f} s   total: {downloaded - started:.1f} s")
    values = ", ".join(sorted(shown, key=lambda v: int(v or 0)))
    print(f"distinct progress values shown: {len(shown)} ({values})")
    print("worker   RSS before (MiB)   peak RSS during (MiB)")
    for pid in sorted(set(before) | set(sampler.peak)):
        print(f"{pid:>6}   {before.get(pid, 0):>16.1f}   {sampler.peak.get(pid, 0):>21.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
