"""Latency over HTTP of the two kinds that take no tensor, through a real gunicorn (one worker).

Builds a store with a recommender trained on generated ratings (the demo's generator, scaled up) and
the helpdesk chat, starts gunicorn on loopback, and times sequential calls on one keep-alive
connection: top-10 through `/api/v1` `:predict` and `/api/v2` infer for random known users, and the
helpdesk through `/openai/v1` (a whole answer; a streamed one's time to first token and tokens/s).

    .venv/bin/python scripts/bench/kinds_http.py [--users 50000] [--items 10000] [--method svd] [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.server import gunicorn  # noqa: E402
from webapp.demos.chat import helpdesk_v1  # noqa: E402
from webapp.demos.recommender import generate  # noqa: E402
from webapp.serving.recommend.build import build_version  # noqa: E402

USER = ("bench", "bench-password1")
QUESTION = [{"role": "user", "content": "How do I roll back to the previous version?"}]


def ms(times: list[float]) -> str:
    return f"p50 {np.percentile(times, 50):.2f} ms, p99 {np.percentile(times, 99):.2f} ms"


def timed(call, calls: int) -> list[float]:
    for i in range(10):
        call(i)
    out = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def stream(session: requests.Session, url: str) -> tuple[float, float, int]:
    """(ms to the first content chunk, ms to the end, content chunks) of one streamed answer."""
    body = {"model": "helpdesk", "messages": QUESTION, "stream": True}
    start, first, pieces = time.perf_counter(), None, 0
    with session.post(url + "/openai/v1/chat/completions", json=body, stream=True, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                first = first or time.perf_counter()
                pieces += 1
    end = time.perf_counter()
    return ((first or end) - start) * 1000.0, (end - start) * 1000.0, pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--method", default="svd")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    params = {"components": 8} if args.method == "svd" else {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        for name in ("movies", "helpdesk"):
            (store / name / "1").mkdir(parents=True)
        data, _, _ = generate(args.users, args.items)
        build_version(store / "movies" / "1", data, args.method, params, description="bench",
                      training_data={}, eval_users=200)
        helpdesk_v1(store / "helpdesk" / "1")
        rng = np.random.default_rng(1)
        users = [data.user_ids[u] for u in rng.integers(len(data.user_ids), size=args.calls + 10)]
        with gunicorn(store, Path(tmp) / "instance", {"user": USER}, workers=1) as server, \
                requests.Session() as session:
            session.auth = USER
            v1 = f"{server.url}/api/v1/models/movies:predict"
            v2 = f"{server.url}/api/v2/models/movies/infer"
            t1 = timed(lambda i: session.post(v1, json={"instances": [{"user": users[i], "k": 10}]})
                       .raise_for_status(), args.calls)
            t2 = timed(lambda i: session.post(v2, json={"parameters": {"k": 10}, "inputs": [
                {"name": "user", "datatype": "BYTES", "shape": [1], "data": [users[i]]}]}).raise_for_status(),
                args.calls)
            chat = {"model": "helpdesk", "messages": QUESTION}
            whole = timed(lambda i: session.post(f"{server.url}/openai/v1/chat/completions", json=chat)
                          .raise_for_status(), min(args.calls, 100))
            streams = [stream(session, server.url) for _ in range(50)]
        ttft = [s[0] for s in streams]
        rate = [s[2] / ((s[1] - s[0]) / 1000.0) for s in streams if s[1] > s[0]]
        print(json.dumps({"users": args.users, "items": args.items, "method": args.method}))
        print(f"/api/v1 top-10:            {ms(t1)}")
        print(f"/api/v2 top-10:            {ms(t2)}")
        print(f"/openai whole answer:      {ms(whole)}")
        print(f"/openai time to 1st token: {ms(ttft)}; {np.median(rate):.0f} chunks/s after it (median)")


if __name__ == "__main__":
    main()
