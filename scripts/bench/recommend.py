"""In-process latency of the recommender: top-10 for one user over 10,000 items and 50,000 users.

For each method it builds a version folder from generated ratings (the demo's generator, scaled up),
loads it as a worker would, then times single calls: top-10 for a known user, top-10 from a list of
five items (cold start) and the ten most similar items. Prints a markdown table.

    .venv/bin/python scripts/bench/recommend.py [--users 50000] [--items 10000] [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from webapp.demos.recommender import generate  # noqa: E402
from webapp.serving.recommend import Recommender  # noqa: E402
from webapp.serving.recommend.build import build_version  # noqa: E402

METHODS = {"user_cosine": {}, "item_cosine": {}, "svd": {"components": 8}}


def timed(call: Callable[[int], object], calls: int, warm_up: int = 20) -> list[float]:
    """Milliseconds of each `call(i)` for i in range(calls), after `warm_up` calls not timed."""
    for i in range(warm_up):
        call(i)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def percentiles(call: Callable[[int], object], calls: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of `call(i)` for i in range(calls), after a short warm-up."""
    times = timed(call, calls)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def measure(method: str, params: dict, data, calls: int, eval_users: int) -> dict:
    rng = np.random.default_rng(1)
    users = [data.user_ids[u] for u in rng.integers(len(data.user_ids), size=calls + 20)]
    items = [data.item_ids[i] for i in rng.integers(len(data.item_ids), size=(calls + 20) * 5)]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        manifest = build_version(Path(tmp), data, method, params, description="bench",
                                 training_data={}, eval_users=eval_users)
        built = time.perf_counter() - start
        start = time.perf_counter()
        rec = Recommender.load(Path(tmp), json.loads((Path(tmp) / "model.json").read_text()))
        loaded = time.perf_counter() - start
    return {
        "method": method, "build_s": built, "load_s": loaded,
        "user": percentiles(lambda i: rec.recommend([users[i]], 10), calls),
        "cold": percentiles(lambda i: rec.recommend_from_items(items[i * 5:i * 5 + 5], 10), calls),
        "similar": percentiles(lambda i: rec.similar_items(items[i], 10), calls),
        "ndcg": manifest["metrics"]["ndcg@10"], "ndcg_popular": manifest["baseline"]["metrics"]["ndcg@10"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--eval-users", type=int, default=2000, help="users scored for held-out metrics")
    args = parser.parse_args()
    data, _, _ = generate(args.users, args.items)
    print(f"{args.users} users x {args.items} items, {data.matrix.nnz} interactions; "
          f"{args.calls} calls each, in process, one thread\n")
    print("| method | build s | load s | top-10 user p50 / p99 ms | top-10 from 5 items p50 / p99 ms "
          "| 10 similar items p50 / p99 ms | NDCG@10 (popular) |")
    print("|---|---|---|---|---|---|---|")
    for method, params in METHODS.items():
        with threadpool_limits(1):  # as a serving worker runs: one BLAS thread per request thread
            r = measure(method, params, data, args.calls, args.eval_users)
        cells = [f"{r[k][0]:.2f} / {r[k][1]:.2f}" for k in ("user", "cold", "similar")]
        print(f"| {method} | {r['build_s']:.1f} | {r['load_s']:.2f} | {' | '.join(cells)} "
              f"| {r['ndcg']:.3f} ({r['ndcg_popular']:.3f}) |", flush=True)


if __name__ == "__main__":
    main()
