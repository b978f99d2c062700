"""In-process time per answer of the offline helpdesk (TF-IDF retrieval over the project's docs).

Builds the demo index, then times whole answers and the first chunk of streamed ones over a fixed
set of questions. Prints a markdown table.

    .venv/bin/python scripts/bench/chat.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from webapp.demos.chat import helpdesk_v1  # noqa: E402
from webapp.serving.chat import ChatRequest, Message, load_chat  # noqa: E402

QUESTIONS = ["How do I roll back to the previous version?", "What does the readiness probe return?",
             "How do I split traffic between two versions?", "How do I add a user?",
             "Which settings change the number of workers?", "How fast is TFLite compared to Keras?",
             "How do I upload a model?", "What is the weather in Lisbon?"]


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        helpdesk_v1(Path(tmp))
        built = time.perf_counter() - start
        manifest = json.loads((Path(tmp) / "model.json").read_text())
        start = time.perf_counter()
        backend = load_chat(Path(tmp), manifest)
        loaded = time.perf_counter() - start
    requests = [ChatRequest((Message("user", q),)) for q in QUESTIONS]
    for r in requests:
        backend.answer(r)
    whole = [timed(lambda r=r: backend.answer(r)) for _ in range(args.rounds) for r in requests]
    first = [timed(lambda r=r: next(iter(backend.stream(r)))) for _ in range(args.rounds) for r in requests]
    print(f"{manifest['training_data']['passages']} passages, {manifest['training_data']['terms']} terms; "
          f"build {built:.1f} s, load {loaded * 1000:.0f} ms; {len(whole)} calls each, in process\n")
    print("| call | p50 ms | p99 ms |\n|---|---|---|")
    for name, times in (("whole answer", whole), ("first streamed chunk", first)):
        print(f"| {name} | {np.percentile(times, 50):.2f} | {np.percentile(times, 99):.2f} |")


if __name__ == "__main__":
    main()
