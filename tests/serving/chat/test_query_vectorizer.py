"""The index's query side without scikit-learn gives scikit-learn's own TF-IDF vectors, and a saved index
loads and searches without importing scikit-learn (a serving worker of converted models never does)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from webapp.serving.chat.index import QueryVectorizer, TfidfIndex, _vectorizer

from .conftest import ask

ODD = ["", "the and of", "Roll-back! roll BACK, rolled back: rollback", "déjà vu über naïve café",
       "a b c 1 22 333", "iris iris iris petal petal", "GPU/TPU: 8x H200 — 141 GiB", "x" * 5000]


def test_the_query_side_matches_scikit_learns_transform(helpdesk_folder):
    index = TfidfIndex.load(helpdesk_folder)
    assert isinstance(index.vectorizer, QueryVectorizer)
    terms = json.loads((helpdesk_folder / "index.json").read_text())["terms"]
    reference = _vectorizer({t: i for i, t in enumerate(terms)})
    reference.idf_ = index.vectorizer.idf_
    texts = [p.text for p in index.passages] + [p.title for p in index.passages] + ODD
    ours, theirs = index.vectorizer.transform(texts), reference.transform(texts)
    assert ours.shape == theirs.shape
    assert np.abs((ours - theirs).toarray()).max() < 1e-9


def test_the_helpdesk_loads_and_answers_without_importing_scikit_learn(helpdesk_folder, helpdesk):
    script = (
        "import json, sys; from pathlib import Path\n"
        "from webapp.serving.chat import ChatRequest, Message, load_chat\n"
        f"folder = Path({str(helpdesk_folder)!r})\n"
        "backend = load_chat(folder, json.loads((folder / 'model.json').read_text()))\n"
        "question = Message('user', 'How do I roll back to the previous version?')\n"
        "answer = backend.answer(ChatRequest((question,)))\n"
        "print(json.dumps([answer.sources[0].source, 'sklearn' in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         check=True)
    source, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert source == helpdesk.answer(ask("How do I roll back to the previous version?")).sources[0].source
    assert imported is False
