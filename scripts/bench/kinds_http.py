"""Latency over HTTP of the two kinds that take no tensor, through a real gunicorn (one worker).

Builds a store with a recommender trained on generated ratings (the demo's generator, scaled up) and
the helpdesk chat, starts gunicorn on loopback, and times sequential calls on one keep-alive
connection: top-10 through `/api/v1` `:predict` and `/api/v2` infer for random known users, and the
helpdesk through `/openai/v1` (a whole answer; a streamed one's time to first token and tokens/s),
directly and through a second gunicorn Podium whose `proxy` chat forwards to the first.

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

from scripts.bench.recommend import timed  # noqa: E402
from tests.support.server import gunicorn  # noqa: E402
from webapp.demos.chat import helpdesk_v1  # noqa: E402
from webapp.demos.recommender import generate  # noqa: E402
from webapp.serving.recommend.build import build_version  # noqa: E402

USER = ("bench", "bench-password1")
QUESTION = [{"role": "user", "content": "How do I roll back to the previous version?"}]


def ms(times: list[float]) -> str:
    return f"p50 {np.percentile(times, 50):.2f} ms, p99 {np.percentile(times, 99):.2f} ms"


def stream(session: requests.Session, url: str, model: str = "helpdesk") -> tuple[float, float, int]:
    """(ms to the first content chunk, ms to the end, completion tokens) of one streamed answer."""
    body = {"model": model, "messages": QUESTION, "stream": True, "stream_options": {"include_usage": True}}
    start, first, tokens = time.perf_counter(), None, 0
    with session.post(url + "/openai/v1/chat/completions", json=body, stream=True, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                first = first or time.perf_counter()
            if line.startswith(b"data: {") and b'"usage"' in line:
                tokens = json.loads(line[6:])["usage"]["completion_tokens"]
    end = time.perf_counter()
    return ((first or end) - start) * 1000.0, (end - start) * 1000.0, tokens


def chat_figures(streams: list[tuple[float, float, int]]) -> str:
    rate = [t / (total / 1000.0) for _, total, t in streams]
    return f"{ms([s[0] for s in streams])}; {np.median(rate):.0f} completion tokens/s (median, whole stream)"


def proxy_store(root: Path, upstream: str) -> Path:
    folder = root / "proxy" / "1"
    folder.mkdir(parents=True)
    manifest = {"framework": "chat", "task": "chat", "artifact": "model.json", "description": "bench proxy",
                "chat": {"backend": "upstream", "upstream": {"base_url": upstream + "/openai/v1",
                         "model": "helpdesk", "api_key_env": "PODIUM_UPSTREAM_KEY"}}}
    (folder / "model.json").write_text(json.dumps(manifest))
    return root


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
            direct = [stream(session, server.url) for _ in range(50)]
            key = f"{USER[0]}:{USER[1]}"
            with gunicorn(proxy_store(Path(tmp) / "proxy-store", server.url), Path(tmp) / "proxy-instance",
                          {"user": USER}, workers=1, PODIUM_UPSTREAM_KEY=key) as proxy:
                proxied = [stream(session, proxy.url, "proxy") for _ in range(50)]
        print(json.dumps({"users": args.users, "items": args.items, "method": args.method}))
        print(f"/api/v1 top-10:            {ms(t1)}")
        print(f"/api/v2 top-10:            {ms(t2)}")
        print(f"/openai whole answer:      {ms(whole)}")
        print(f"/openai time to 1st token: {chat_figures(direct)}")
        print(f"... through a proxy Podium: {chat_figures(proxied)}")


if __name__ == "__main__":
    main()
